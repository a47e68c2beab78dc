"""Which Python an evaluation job runs the suite with, so that a sandboxed job can run it.

Under the local engine's sandbox (``engines/sandbox.py``) a job runs as its tenant's system
user, which cannot pass a directory closed to others: a server whose interpreter lives
under /root (pyenv) or whose editable tree sits in a private home cannot lend its own
Python to the job. ``scripts/tenant-python.sh eval "[eval]"`` installs a snapshot of suanli
(with NumPy and PyTorch) in a venv under ``SUANLI_TENANT_PREFIX`` (``/opt/suanli``), root's
and read-only to everyone else; the choice, in order:

1. ``SUANLI_EVAL_PYTHON`` in the server's environment (an operator's explicit choice;
   Slurm or Ray nodes with their own installation);
2. the server's own interpreter, when a tenant's job can execute it and import suanli
   from it (a non-root server: jobs run as the server's user; or an open installation);
3. ``<prefix>/eval/bin/python`` when the script made it;
4. the server's own interpreter again: the job then fails with the reason in its output.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import suanli

DEFAULT_PREFIX = "/opt/suanli"
PURPOSE = "eval"


def tenant_python(purpose: str = PURPOSE) -> Path:
    """Where ``scripts/tenant-python.sh PURPOSE`` puts its interpreter."""
    prefix = os.environ.get("SUANLI_TENANT_PREFIX") or DEFAULT_PREFIX
    return Path(prefix) / purpose / "bin" / "python"


def suite_python() -> str:
    """The interpreter an evaluation job runs ``python -m suanli.evalsuite`` with."""
    chosen = os.environ.get("SUANLI_EVAL_PYTHON")
    if chosen:
        return chosen
    if closed_to_jobs(sys.executable, suanli.__file__) is None:
        return sys.executable
    made = tenant_python()
    return str(made) if os.access(made, os.X_OK) else sys.executable


def closed_to_jobs(*targets: str) -> str | None:
    """The first directory on the way to ``targets`` that a tenant's job cannot pass, or
    None (also None when the server is not root: jobs then run as its own user)."""
    if os.geteuid() != 0:
        return None
    for target in targets:
        for parent in Path(os.path.realpath(target)).parents:
            if not parent.stat().st_mode & stat.S_IXOTH:
                return str(parent)
    return None
