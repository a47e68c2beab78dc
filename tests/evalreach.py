"""Whether a local job can run this interpreter: under the sandbox (engines/sandbox.py) a
job runs as its tenant's system user, which cannot pass a directory closed to others
(e.g. /root, where pyenv keeps this host's Python)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import suanli


def closed_to_jobs() -> str | None:
    """The first directory a tenant's job cannot pass to reach the suite, or None."""
    if os.geteuid() != 0:
        return None  # no per-tenant users: jobs run as this user
    for target in (Path(os.path.realpath(sys.executable)), Path(suanli.__file__).resolve()):
        for parent in target.parents:
            if not parent.stat().st_mode & stat.S_IXOTH:
                return str(parent)
    return None


CLOSED = closed_to_jobs()
REASON = f"jobs run as tenant users, who cannot pass {CLOSED} to this interpreter"
