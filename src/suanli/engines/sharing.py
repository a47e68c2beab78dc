"""What a job that shares an accelerator sees in its environment (HAMi-style sharing).

A job asking ``count: 0.5`` gets one accelerator slot that other shares may use too. It is
told its share, and the limits in the variables HAMi-core (the CUDA interception library
HAMi injects) reads, so the same job runs confined on a node where HAMi-core is preloaded
and merely informed elsewhere:

* ``SUANLI_ACCELERATOR_SHARE``: the share of each accelerator, ``1`` when whole;
* ``SUANLI_ACCELERATOR_MEMORY_MB``: device memory the job may use per accelerator;
* ``CUDA_DEVICE_MEMORY_LIMIT`` (e.g. ``8192m``) and ``CUDA_DEVICE_SM_LIMIT`` (percent).
"""

from __future__ import annotations

from suanli.domain.spec import MILLI, JobSpec


def share_env(spec: JobSpec, memory_gb: float | None) -> dict[str, str]:
    """The sharing variables for ``spec`` on an accelerator with ``memory_gb`` (None: unknown)."""
    milli = spec.share_milli
    if not milli:
        return {}
    if milli >= MILLI:
        return {"SUANLI_ACCELERATOR_SHARE": "1"}
    env = {
        "SUANLI_ACCELERATOR_SHARE": f"{milli / MILLI:g}",
        "CUDA_DEVICE_SM_LIMIT": str(max(1, milli // 10)),
    }
    if memory_gb:
        mb = int(memory_gb * 1024 * milli // MILLI)
        env["SUANLI_ACCELERATOR_MEMORY_MB"] = str(mb)
        env["CUDA_DEVICE_MEMORY_LIMIT"] = f"{mb}m"
    return env
