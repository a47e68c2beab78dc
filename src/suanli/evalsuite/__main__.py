"""``python -m suanli.evalsuite --suite micro|models|conformance|all``: measure, print one line.

Runs on one host at a time: suites that land on the same host (the local engine's pools
are all this machine) take turns on a file lock, so one never measures another's load.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from suanli.evalsuite import RESULT_FORMAT, RESULT_PREFIX, SUITES
from suanli.evalsuite.device import detect, pin_threads, software, threads_wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suanli.evalsuite")
    parser.add_argument("--suite", choices=(*SUITES, "all"), default="all")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "npu"), default="auto")
    parser.add_argument("--out", type=Path, help="also write the result here (JSON)")
    parser.add_argument(
        "--only", help="micro items to run, comma-separated (e.g. gemm_fp32,gemm_bf16)"
    )
    args = parser.parse_args(argv)
    pin_threads(threads_wanted())
    lock = Path(
        os.environ.get("SUANLI_EVAL_LOCK") or Path(tempfile.gettempdir()) / "suanli-eval.lock"
    )
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # released when the process ends, even on a kill
        result = measure(args.suite, args.device, args.only)
    line = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    if args.out is not None:
        args.out.write_text(line + "\n")
    sys.stdout.write(RESULT_PREFIX + line + "\n")
    sys.stdout.flush()
    return 0


def measure(suite: str, device: str = "auto", only: str | None = None) -> dict[str, Any]:
    """Run ``suite`` (or all three) on the detected backend: the result document
    (``only``: just these micro items, e.g. the GEMMs of a repeatability check)."""
    from suanli.evalsuite import conformance, micro, models  # noqa: PLC0415 - after pin_threads

    start = time.perf_counter()
    backend, missing = detect(device)
    chosen = SUITES if suite == "all" else (suite,)
    items: list[dict[str, Any]] = []
    for name in chosen:
        if name == "micro":
            items += micro.run(backend, only.split(",") if only else None)
        elif name == "models":
            items += models.run(backend)
        else:
            items += conformance.run(backend, missing)
    return {
        "format": RESULT_FORMAT,
        "suites": list(chosen),
        "hardware": {
            "backend": backend.kind,
            "device": backend.device,
            "count": backend.count,
            "threads": backend.threads,
            "driver": backend.driver,
            "notes": backend.notes,
        },
        "software": software(backend),
        "job": {k: os.environ.get(v) for k, v in _JOB_ENV.items()},
        "items": items,
        "seconds": round(time.perf_counter() - start, 3),
    }


_JOB_ENV = {
    "id": "SUANLI_JOB_ID",
    "cluster": "SUANLI_CLUSTER",
    "pool": "SUANLI_POOL",
    "accelerator": "SUANLI_ACCELERATOR_MODEL",
}

if __name__ == "__main__":
    raise SystemExit(main())
