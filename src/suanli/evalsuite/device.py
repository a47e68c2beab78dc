"""What the suite runs on: the backend (cpu, cuda, npu), the device's name, driver, software."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Backend:
    """Where tensors live: ``cpu`` (NumPy / PyTorch on the host), ``cuda`` or ``npu``."""

    kind: str
    device: str  # the hardware's own name (CPU model, or what the driver calls the card)
    count: int  # cards on this node (CPU: 1 socket-set, threads in ``threads``)
    threads: int
    driver: str | None = None
    torch: ModuleType | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def torch_device(self) -> str:
        return {"cuda": "cuda", "npu": "npu"}.get(self.kind, "cpu")

    def synchronize(self) -> None:
        """Wait for queued device work (a no-op on the CPU)."""
        if self.torch is None or self.kind == "cpu":
            return
        getattr(self.torch, self.kind).synchronize()


def threads_wanted() -> int:
    """Threads the suite uses: SUANLI_EVAL_THREADS, else the CPUs this process may run on."""
    asked = os.environ.get("SUANLI_EVAL_THREADS", "")
    if asked.isdigit() and int(asked) > 0:
        return int(asked)
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


# Set before the BLAS loads, unless the host set them: the same threads and kernel each run.
FIXED_ENV = {
    "MKL_DYNAMIC": "FALSE",  # MKL may otherwise use fewer threads than asked, call by call
    "OMP_DYNAMIC": "FALSE",  # ditto for the OpenMP runtime
    "OMP_WAIT_POLICY": "PASSIVE",  # idle threads sleep: CPU time counts work, not spinning
}


def pin_threads(threads: int) -> None:
    """Fix BLAS/OpenMP thread counts before NumPy loads: repeatable GEMM figures need it."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))
    for name, value in FIXED_ENV.items():
        os.environ.setdefault(name, value)


def cpu_kernel(torch: ModuleType | None) -> str | None:
    """The SIMD level PyTorch's CPU kernels dispatched to (e.g. ``AVX2``), else None."""
    backends = getattr(torch, "backends", None)
    get = getattr(getattr(backends, "cpu", None), "get_cpu_capability", None)
    return str(get())[:32] if callable(get) else None


def load_torch() -> tuple[ModuleType | None, str | None]:
    """PyTorch if installed (and torch_npu beside it), else None and why."""
    try:
        import torch  # noqa: PLC0415 - optional: the suite runs without it
    except ImportError as exc:
        return None, f"PyTorch is not installed ({exc})"
    with contextlib.suppress(ImportError):  # Ascend's PyTorch adapter registers torch.npu
        import torch_npu  # noqa: F401, PLC0415 - Ascend only
    return torch, None


def detect(wanted: str = "auto") -> tuple[Backend, str | None]:
    """The backend to measure (``auto``: an accelerator when one is visible, else the CPU)."""
    threads = threads_wanted()
    torch, missing = load_torch()
    if torch is not None:
        torch.set_num_threads(threads)
        if wanted in ("auto", "cuda") and torch.cuda.is_available():
            name = torch.cuda.get_device_name(0)
            return Backend(
                "cuda", name, torch.cuda.device_count(), threads, _nvidia_driver(), torch
            ), missing
        npu = getattr(torch, "npu", None)
        if wanted in ("auto", "npu") and npu is not None and npu.is_available():
            return Backend(
                "npu", str(npu.get_device_name(0)), npu.device_count(), threads, None, torch
            ), missing
    if wanted not in ("auto", "cpu"):
        note = missing or f"no {wanted} device is visible to PyTorch"
        return Backend("cpu", cpu_name(), 1, threads, None, torch, [note]), missing
    return Backend("cpu", cpu_name(), 1, threads, None, torch), missing


def cpu_name() -> str:
    """The host CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()[:200]
    return (platform.processor() or platform.machine() or "unknown CPU")[:200]


def _nvidia_driver() -> str | None:
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = done.stdout.strip().splitlines()
    return first[0].strip()[:64] if done.returncode == 0 and first else None


def software(backend: Backend) -> dict[str, Any]:
    """Versions of what was measured: Python, NumPy and its BLAS, PyTorch, CUDA/CANN."""
    import numpy as np  # noqa: PLC0415 - after pin_threads

    found: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": _blas(np),
        "os": f"{platform.system()} {platform.release()}"[:120],
        "machine": platform.machine(),
    }
    torch = backend.torch
    found["torch"] = torch.__version__ if torch is not None else None
    found["cuda"] = getattr(getattr(torch, "version", None), "cuda", None) if torch else None
    found["torch_npu"] = _version("torch_npu")
    return found


def _blas(np: ModuleType) -> str | None:
    try:
        config = np.show_config(mode="dicts")
    except (TypeError, ValueError):
        return None
    blas = (config or {}).get("Build Dependencies", {}).get("blas", {})
    name = blas.get("name")
    return f"{name} {blas.get('version', '')}".strip()[:100] if name else None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
