"""House rule: one module, one reason to change, under 600 lines (STYLE.md)."""

from __future__ import annotations

from pathlib import Path

import suanli

LIMIT = 600


def test_no_module_in_src_is_over_600_lines() -> None:
    root = Path(suanli.__file__).parent
    over = {
        str(path.relative_to(root)): n
        for path in sorted(root.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert over == {}, f"modules over {LIMIT} lines: {over}"
