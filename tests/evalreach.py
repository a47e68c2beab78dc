"""Whether a local job can run the interpreter ``suanli eval`` gives it: under the sandbox
(engines/sandbox.py) a job runs as its tenant's system user, which cannot pass a directory
closed to others (e.g. /root, where pyenv keeps this host's Python). ``./scripts/test``
runs ``scripts/tenant-python.sh eval "[eval]"`` first, so there the tests run; they skip
only where neither the server's interpreter nor a tenant-executable one is at hand."""

from __future__ import annotations

import sys

import suanli
from suanli.service.eval_python import closed_to_jobs, suite_python

PYTHON = suite_python()
CLOSED = (
    closed_to_jobs(sys.executable, suanli.__file__)
    if sys.executable == PYTHON
    else closed_to_jobs(PYTHON)
)
REASON = (
    f"jobs run as tenant users, who cannot pass {CLOSED} to {PYTHON}; "
    'run scripts/tenant-python.sh eval "[eval]"'
)
