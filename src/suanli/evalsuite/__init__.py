"""The evaluation suite that runs *inside* a job: micro-benchmarks, model steps, conformance.

``python -m suanli.evalsuite --suite micro|models|conformance`` measures the hardware the
job landed on and prints one line ``SUANLI-EVAL-RESULT {json}`` (format
``suanli/eval-result/v1``, read back by ``suanli.schemas.evalfile``). It imports nothing
of the platform, so it runs wherever suanli is installed: a local run, a Slurm node, a Ray
worker. NumPy is always there; PyTorch (and torch_npu, where present) is optional: items
that need it are reported ``skipped`` with the reason, never left out.
"""

from __future__ import annotations

RESULT_PREFIX = "SUANLI-EVAL-RESULT "
RESULT_FORMAT = "suanli/eval-result/v1"
SUITES = ("micro", "models", "conformance")
