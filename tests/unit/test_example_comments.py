"""Every example a user copies says what it does in both languages: each block of comments
in examples/ (lines starting with #, in a row) has Chinese beside the English."""

from __future__ import annotations

import re
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HAN = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORDS = re.compile(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}")  # prose, not a lone name


def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            current.append(line.strip().lstrip("#").strip())
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def test_every_comment_block_in_the_examples_has_chinese_beside_the_english() -> None:
    files = sorted(EXAMPLES.rglob("*.yaml"))
    assert len(files) > 10
    untranslated = [
        f"{path.relative_to(EXAMPLES)}: {block[0]}"
        for path in files
        for block in _blocks(path.read_text())
        if any(LATIN_WORDS.search(x) for x in block) and not any(HAN.search(x) for x in block)
    ]
    assert untranslated == []
