"""Micro-benchmarks: dense GEMM (FP32/FP16/BF16, in ``gemm``), memory bandwidth,
host<->device copy, all-reduce across the cards of a node.

Sizes are fixed per backend (below) so that figures of one backend compare across runs;
on the CPU they are kept small enough for the whole suite to finish in minutes on a
two-core host. FLOPs of a GEMM are ``2 n^3``; bandwidth counts the bytes each pass reads
and writes (STREAM's convention).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from suanli.evalsuite.device import Backend
from suanli.evalsuite.gemm import DTYPES, GEMM, Windows, gemms
from suanli.evalsuite.timing import Timing, failed, item, measure, skipped

KIND = "micro"
TRIAD_ELEMENTS = {"cpu": 1 << 23, "cuda": 1 << 28, "npu": 1 << 28}
COPY_BYTES = 1 << 28
ALLREDUCE_BYTES = {"cpu": 1 << 24, "cuda": 1 << 28, "npu": 1 << 28}
CPU_ALLREDUCE_RANKS = 2  # the CPU has no cards: gloo between two processes of the host
ALLREDUCE_REPEATS = 3
ALLREDUCE_CALLS = 5


def run(
    backend: Backend, only: list[str] | None = None, windows: Windows = GEMM
) -> list[dict[str, Any]]:
    """Every micro item, or those named in ``only`` (unknown names: a ValueError).

    The GEMMs asked for are measured together, interleaved (``gemm.gemms``, timed in
    ``windows``)."""
    names = [f"gemm_{d}" for d in DTYPES] + ["memory_bandwidth", "copies", "all_reduce"]
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise ValueError(f"no micro item {', '.join(unknown)}; items: {', '.join(names)}")
    wanted = [n for n in names if only is None or n in only]
    found: list[dict[str, Any]] = []
    dtypes = [n.removeprefix("gemm_") for n in wanted if n.startswith("gemm_")]
    if dtypes:
        found += gemms(backend, dtypes, windows)
    steps: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "memory_bandwidth": lambda: [triad(backend)],
        "copies": lambda: copies(backend),
        "all_reduce": lambda: [all_reduce(backend)],
    }
    return found + [i for name, step in steps.items() if name in wanted for i in step()]


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
