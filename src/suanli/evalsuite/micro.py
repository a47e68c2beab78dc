"""Micro-benchmarks: dense GEMM (FP32/FP16/BF16), memory bandwidth, host<->device copy,
all-reduce across the cards of a node.

Sizes are fixed per backend (below) so that figures of one backend compare across runs;
on the CPU they are kept small enough for the whole suite to finish in minutes on a
two-core host. FLOPs of a GEMM are ``2 n^3``; bandwidth counts the bytes each pass reads
and writes (STREAM's convention).
"""

from __future__ import annotations

import functools
import os
import socket
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from suanli.evalsuite.device import Backend, cpu_kernel
from suanli.evalsuite.timing import Clock, Timing, failed, item, measure, skipped

KIND = "micro"
GEMM_N = {"cpu": 1024, "cuda": 8192, "npu": 8192}
# Half precision on a CPU without FP16/BF16 instructions runs a slow path (NumPy's FP16
# matmul loops in C; PyTorch's measured 0.2 GFLOPS at 1024 on this repo's 2-core EPYC CI
# host): a smaller matrix keeps it to seconds there. The size goes with every figure.
CPU_HALF_N = 256
# GEMM windows: 7 of at least 0.5 s each after 0.5 s of warm-up (tuned on this repo's 2-core
# EPYC CI host at load 11-15, FP32 1024: 0.2 s windows of 5 gave 12-15% CV across runs).
GEMM_WINDOWS = 7
GEMM_WINDOW_S = 0.5
GEMM_WARMUP_S = 0.5
TRIAD_ELEMENTS = {"cpu": 1 << 23, "cuda": 1 << 28, "npu": 1 << 28}
COPY_BYTES = 1 << 28
ALLREDUCE_BYTES = {"cpu": 1 << 24, "cuda": 1 << 28, "npu": 1 << 28}
CPU_ALLREDUCE_RANKS = 2  # the CPU has no cards: gloo between two processes of the host
ALLREDUCE_REPEATS = 3
ALLREDUCE_CALLS = 5


def run(backend: Backend, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Every micro item, or those named in ``only`` (unknown names: a ValueError)."""
    steps: dict[str, Callable[[], list[dict[str, Any]]]] = {
        f"gemm_{d}": functools.partial(lambda d: [gemm(backend, d)], d)
        for d in ("fp32", "fp16", "bf16")
    }
    steps["memory_bandwidth"] = lambda: [triad(backend)]
    steps["copies"] = lambda: copies(backend)
    steps["all_reduce"] = lambda: [all_reduce(backend)]
    unknown = sorted(set(only or ()) - set(steps))
    if unknown:
        raise ValueError(f"no micro item {', '.join(unknown)}; items: {', '.join(steps)}")
    return [i for name, step in steps.items() if only is None or name in only for i in step()]


def gemm(backend: Backend, dtype: str) -> dict[str, Any]:
    """TFLOPS of an ``n x n`` by ``n x n`` product in ``dtype``: the median of
    ``GEMM_WINDOWS`` windows of ``GEMM_WINDOW_S`` each after a timed warm-up (``timing``
    says how, and why the CPU backend counts CPU time)."""
    name = f"gemm_{dtype}"
    torch = backend.torch
    clock: Clock = "cpu" if backend.kind == "cpu" else "wall"
    timed = functools.partial(
        measure,
        repeats=GEMM_WINDOWS,
        min_repeat_s=GEMM_WINDOW_S,
        clock=clock,
        threads=backend.threads,
        warmup_s=GEMM_WARMUP_S,
    )
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
            timing = timed(lambda: np.matmul(a, b, out=out))
            framework, kernel = "numpy", None
        else:
            n = GEMM_N.get(backend.kind, GEMM_N["cpu"])
            if backend.kind == "cpu" and dtype != "fp32":
                n = CPU_HALF_N
            kinds = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
            gen = torch.Generator(device="cpu").manual_seed(0)
            a = torch.randn(n, n, generator=gen).to(backend.torch_device, kinds[dtype])
            b = torch.randn(n, n, generator=gen).to(backend.torch_device, kinds[dtype])
            out = torch.empty_like(a)
            timing = timed(lambda: torch.matmul(a, b, out=out), backend.synchronize)
            framework = "pytorch"
            kernel = cpu_kernel(torch) if backend.kind == "cpu" else None
        flops = 2 * n**3
        tflops = flops / timing.median / 1e12
        best = flops / min(timing.seconds) / 1e12  # the least-disturbed window
        wall = flops / statistics.median(timing.wall or timing.seconds) / 1e12
        share = f", {timing.share:.0%} of its CPUs" if timing.share is not None else ""
        detail = (
            f"{n}x{n}, median of {len(timing.seconds)} windows >= {GEMM_WINDOW_S} s "
            f"({timing.clock} clock{share}), CV {timing.cv:.1%}, spread {timing.spread:.1%}"
            + (f", {kernel} kernels" if kernel else "")
        )
        return item(
            name,
            KIND,
            framework,
            "passed",
            value=round(tflops, 6),
            unit="TFLOPS",
            timing=timing,
            detail=detail,
            size=n,
            dtype=dtype,
            best=round(best, 6),
            wall_value=round(wall, 6),
            kernel=kernel,
        )
    except Exception as exc:  # noqa: BLE001 - an unsupported dtype is a finding, not a crash
        return failed(name, KIND, "pytorch" if torch else "numpy", exc, dtype=dtype)


def triad(backend: Backend) -> dict[str, Any]:
    """Device memory bandwidth, GB/s, of ``a = b + s * c`` on FP32 arrays."""
    name = "memory_bandwidth"
    n = TRIAD_ELEMENTS.get(backend.kind, TRIAD_ELEMENTS["cpu"])
    torch = backend.torch
    try:
        if torch is None:
            a, b, c = (np.full(n, v, dtype=np.float32) for v in (0.0, 1.0, 2.0))

            def step() -> None:  # two passes: 2 + 3 arrays touched
                np.multiply(c, 3.0, out=a)
                np.add(a, b, out=a)

            passes, framework, sync = 5, "numpy", _nothing
        else:
            a, b, c = (
                torch.full((n,), v, dtype=torch.float32, device=backend.torch_device)
                for v in (0.0, 1.0, 2.0)
            )

            def step() -> None:  # one fused pass: read b and c, write a
                torch.add(b, c, alpha=3.0, out=a)

            passes, framework, sync = 3, "pytorch", backend.synchronize
        timing = measure(step, sync)
        gbps = passes * n * 4 / timing.median / 1e9
        return item(
            name,
            KIND,
            framework,
            "passed",
            value=round(gbps, 3),
            unit="GB/s",
            timing=timing,
            size=n,
        )
    except Exception as exc:  # noqa: BLE001 - out of memory on a small card is a finding
        return failed(name, KIND, "pytorch" if torch else "numpy", exc)


def copies(backend: Backend) -> list[dict[str, Any]]:
    """Host to device and device to host, GB/s, from pinned host memory."""
    names = ("copy_host_to_device", "copy_device_to_host")
    torch = backend.torch
    framework = "pytorch" if torch else "numpy"
    if backend.kind == "cpu" or torch is None:
        why = "not applicable: the CPU backend has no device memory to copy to"
        return [skipped(n, KIND, framework, why) for n in names]
    found = []
    try:
        host = torch.empty(COPY_BYTES, dtype=torch.uint8).pin_memory()
        dev = torch.empty(COPY_BYTES, dtype=torch.uint8, device=backend.torch_device)
        for name, call in (
            (names[0], lambda: dev.copy_(host, non_blocking=True)),
            (names[1], lambda: host.copy_(dev, non_blocking=True)),
        ):
            timing = measure(call, backend.synchronize)
            found.append(
                item(
                    name,
                    KIND,
                    framework,
                    "passed",
                    value=round(COPY_BYTES / timing.median / 1e9, 3),
                    unit="GB/s",
                    timing=timing,
                    size=COPY_BYTES,
                )
            )
    except Exception as exc:  # noqa: BLE001 - reported, the suite goes on
        found = [failed(n, KIND, framework, exc) for n in names]
    return found


def all_reduce(backend: Backend) -> dict[str, Any]:
    """Bus bandwidth, GB/s, of an all-reduce across the node's cards (nccl-tests' busbw)."""
    name = "all_reduce"
    torch = backend.torch
    if torch is None:
        return skipped(name, KIND, "numpy", "PyTorch is not installed (torch.distributed)")
    ranks = CPU_ALLREDUCE_RANKS if backend.kind == "cpu" else backend.count
    if ranks < 2:
        return skipped(
            name, KIND, "pytorch", f"{ranks} card on this node: nothing to reduce across"
        )
    comm = {"cpu": "gloo", "cuda": "nccl", "npu": "hccl"}[backend.kind]
    size = ALLREDUCE_BYTES.get(backend.kind, ALLREDUCE_BYTES["cpu"])
    try:
        ctx = torch.multiprocessing.get_context("spawn")
        results = ctx.SimpleQueue()
        port = _free_port()
        procs = [
            ctx.Process(
                target=_reduce_rank,
                args=(r, ranks, port, comm, backend.kind, size, backend.threads, results),
            )
            for r in range(ranks)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=300)
        seconds = (
            [results.get() for _ in range(ranks)] if all(p.exitcode == 0 for p in procs) else []
        )
        if not seconds:
            codes = [p.exitcode for p in procs]
            return item(name, KIND, "pytorch", "failed", detail=f"ranks exited with {codes}")
        per_call = max(statistics_median(s) for s in seconds)
        busbw = 2 * (ranks - 1) / ranks * size / per_call / 1e9
        return item(
            name,
            KIND,
            "pytorch",
            "passed",
            value=round(busbw, 3),
            unit="GB/s",
            detail=f"{comm}, {ranks} ranks, {size >> 20} MiB FP32",
            size=size,
            ranks=ranks,
        )
    except Exception as exc:  # noqa: BLE001 - a missing backend (no NCCL) is a finding
        return failed(name, KIND, "pytorch", exc)


def _reduce_rank(
    rank: int,
    ranks: int,
    port: int,
    comm: str,
    kind: str,
    size: int,
    threads: int,
    results: Any,
) -> None:
    import torch  # noqa: PLC0415 - in the spawned rank
    import torch.distributed as dist  # noqa: PLC0415 - ditto

    torch.set_num_threads(max(1, threads // ranks))
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group(comm, rank=rank, world_size=ranks)
    try:
        device = "cpu" if kind == "cpu" else f"{kind}:{rank}"
        if kind != "cpu":
            getattr(torch, kind).set_device(rank)
        data = torch.ones(size // 4, dtype=torch.float32, device=device)
        sync: Callable[[], None] = _nothing if kind == "cpu" else getattr(torch, kind).synchronize
        # A fixed count on every rank (not sized from a rank's own first call): ranks that
        # disagree on how many collectives to run leave one waiting on a closed group.
        dist.all_reduce(data)
        sync()
        seconds = []
        for _ in range(ALLREDUCE_REPEATS):
            dist.barrier()
            start = time.perf_counter()
            for _ in range(ALLREDUCE_CALLS):
                dist.all_reduce(data)
            sync()
            seconds.append((time.perf_counter() - start) / ALLREDUCE_CALLS)
        timing = Timing(seconds)
        results.put(timing.seconds)
    finally:
        dist.destroy_process_group()


def statistics_median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _nothing() -> None:
    return None
