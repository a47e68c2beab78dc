"""Processes as /proc sees them: for tests that check what runs, and clean up by PID."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of ``pid``, or None when it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[2])


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as gone)."""
    found = stat(pid)
    return found is not None and found[0] != "Z"


def pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def group_members(group: int) -> list[int]:
    """Live processes of the process group ``group``."""
    found = []
    for pid in pids():
        st = stat(pid)
        if st is not None and st[1] == group and st[0] != "Z":
            found.append(pid)
    return found


def is_runner(pid: int, run_dir: Path | None = None) -> bool:
    """Whether ``pid`` is a local-engine runner (for ``run_dir``, when given)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    if b"suanli.engines.local_runner" not in argv:
        return False
    return run_dir is None or str(run_dir).encode() in argv


def kill(pid: int, group: bool = False) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)
