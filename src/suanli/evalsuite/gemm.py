"""Dense GEMM at FP32, FP16 and BF16, in TFLOPS (``2 n^3`` FLOPs per product).

The precisions are measured together, in interleaved rounds of one window each
(``timing.measure_rounds``), and every figure carries how far its median may be off and a
flag when the host was not steady enough to take it as the hardware's (``host``).

Sizes are fixed per backend so that figures of one backend compare across runs; on the
CPU they are kept small enough for the whole suite to finish in minutes on a two-core host.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from suanli.evalsuite.device import Backend, cpu_kernel
from suanli.evalsuite.host import steadiness
from suanli.evalsuite.timing import Clock, Timing, failed, item, measure_rounds, skipped

KIND = "micro"
DTYPES = ("fp32", "fp16", "bf16")
GEMM_N = {"cpu": 1024, "cuda": 8192, "npu": 8192}
# Half precision on a CPU without FP16/BF16 instructions runs a slow path (NumPy's FP16
# matmul loops in C; PyTorch's measured 0.2 GFLOPS at 1024 on this repo's 2-core EPYC CI
# host): a smaller matrix keeps it to seconds there. The size goes with every figure.
CPU_HALF_N = 256
# Windows: 15 of at least 0.25 s each per precision, in rounds, after 0.5 s of warm-up each.
# Chosen on this repo's 2-core EPYC KVM CI host (Dec 2026, load 8-12): the per-window FP32
# figure moved 10-13% (CV) with the host's speed whatever the size or thread count, so the
# median needs many windows spread over the whole measurement rather than a few long ones
# (7 of 0.5 s one precision after the other: FP32 6.7% CV across 3 runs). 15 x 0.25 s keeps
# the CPU time per precision that 7 x 0.5 s had (~3.75 s), so the suite's length holds.
GEMM_WINDOWS = 15
GEMM_WINDOW_S = 0.25
GEMM_WARMUP_S = 0.5


@dataclass(frozen=True)
class Windows:
    """How a GEMM is timed: ``count`` windows of at least ``seconds`` each, after
    ``warmup_s`` of warm-up. The suite measures with ``GEMM``; a check of the method's
    plumbing (which items run, what a figure says) may time fewer, shorter windows."""

    count: int = GEMM_WINDOWS
    seconds: float = GEMM_WINDOW_S
    warmup_s: float = GEMM_WARMUP_S


GEMM = Windows()


@dataclass(frozen=True)
class Product:
    """One precision's product, ready to time: the call, its size and what runs it."""

    dtype: str
    call: Callable[[], Any]
    n: int
    framework: str
    kernel: str | None


def gemm(backend: Backend, dtype: str, windows: Windows = GEMM) -> dict[str, Any]:
    """One precision alone (``gemms`` measures several together)."""
    return gemms(backend, [dtype], windows)[0]


def gemms(
    backend: Backend,
    dtypes: list[str] | tuple[str, ...] = DTYPES,
    windows: Windows = GEMM,
) -> list[dict[str, Any]]:
    """TFLOPS of an ``n x n`` by ``n x n`` product in each of ``dtypes``: the median of
    ``windows.count`` windows of ``windows.seconds`` each, the precisions interleaved
    (``timing`` says how, and why the CPU backend counts CPU time)."""
    found: dict[str, dict[str, Any]] = {}
    products: dict[str, Product] = {}
    for dtype in dtypes:
        ready = _product(backend, dtype)
        if isinstance(ready, Product):
            products[dtype] = ready
        else:
            found[dtype] = ready
    clock: Clock = "cpu" if backend.kind == "cpu" else "wall"
    try:
        timings = measure_rounds(
            {d: p.call for d, p in products.items()},
            backend.synchronize,
            windows.count,
            windows.seconds,
            clock=clock,
            threads=backend.threads,
            warmup_s=windows.warmup_s,
        )
    except Exception as exc:  # noqa: BLE001 - a kernel that fails mid-run is a finding
        # Which precision failed is not known here: each is tried alone to find out.
        if len(products) == 1:
            (dtype,) = products
            return [_failed(backend, dtype, exc)]
        return [i for d in dtypes for i in gemms(backend, [d], windows)]
    for dtype, product in products.items():
        found[dtype] = _figure(product, timings[dtype], windows)
    return [found[d] for d in dtypes]


def _product(backend: Backend, dtype: str) -> Product | dict[str, Any]:
    """The product to time, or the item saying why there is none."""
    name, torch = f"gemm_{dtype}", backend.torch
    try:
        if torch is None:
            if dtype == "bf16":
                return skipped(
                    name, KIND, "numpy", "NumPy has no bfloat16 type and PyTorch is not installed"
                )
            n = GEMM_N["cpu"] if dtype == "fp32" else CPU_HALF_N
            rng = np.random.default_rng(0)
            kind = np.float32 if dtype == "fp32" else np.float16
            a = rng.standard_normal((n, n)).astype(kind)
            b = rng.standard_normal((n, n)).astype(kind)
            out = np.empty((n, n), dtype=kind)
            return Product(dtype, lambda: np.matmul(a, b, out=out), n, "numpy", None)
        n = GEMM_N.get(backend.kind, GEMM_N["cpu"])
        if backend.kind == "cpu" and dtype != "fp32":
            n = CPU_HALF_N
        kinds = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
        gen = torch.Generator(device="cpu").manual_seed(0)
        ta = torch.randn(n, n, generator=gen).to(backend.torch_device, kinds[dtype])
        tb = torch.randn(n, n, generator=gen).to(backend.torch_device, kinds[dtype])
        tout = torch.empty_like(ta)
        torch.matmul(ta, tb, out=tout)  # an unsupported dtype fails here, alone
        backend.synchronize()
        kernel = cpu_kernel(torch) if backend.kind == "cpu" else None
        return Product(dtype, lambda: torch.matmul(ta, tb, out=tout), n, "pytorch", kernel)
    except Exception as exc:  # noqa: BLE001 - an unsupported dtype is a finding, not a crash
        return _failed(backend, dtype, exc)


def _failed(backend: Backend, dtype: str, exc: BaseException) -> dict[str, Any]:
    framework = "pytorch" if backend.torch else "numpy"
    return failed(f"gemm_{dtype}", KIND, framework, exc, dtype=dtype)


def _figure(product: Product, timing: Timing, windows: Windows) -> dict[str, Any]:
    n, flops = product.n, 2 * product.n**3
    tflops = flops / timing.median / 1e12
    best = flops / min(timing.seconds) / 1e12  # the least-disturbed window
    wall = flops / statistics.median(timing.wall or timing.seconds) / 1e12
    steady = steadiness(timing.cv, len(timing.seconds), timing.steal)
    share = f", {timing.share:.0%} of its CPUs" if timing.share is not None else ""
    steal = f", {timing.steal:.1%} stolen" if timing.steal is not None else ""
    detail = (
        f"{n}x{n}, median of {len(timing.seconds)} windows >= {windows.seconds} s interleaved "
        f"with the other precisions ({timing.clock} clock{share}{steal}), CV {timing.cv:.1%}, "
        f"spread {timing.spread:.1%}, median ±{steady.error:.1%}"
        + (f", {product.kernel} kernels" if product.kernel else "")
        + ("" if steady.steady else f"; UNSTEADY: {steady.why} / 不稳定：{steady.why_zh}")
    )
    return item(
        f"gemm_{product.dtype}",
        KIND,
        product.framework,
        "passed",
        value=round(tflops, 6),
        unit="TFLOPS",
        timing=timing,
        detail=detail,
        size=n,
        dtype=product.dtype,
        best=round(best, 6),
        wall_value=round(wall, 6),
        kernel=product.kernel,
        error=round(steady.error, 5),
        steady=steady.steady,
    )
