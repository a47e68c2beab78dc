"""Benchmark: submit-to-running and submit-to-done latency on the embedded default.

Runs the real platform in-process (SQLite, control loop, local engine) and submits N small
jobs one after another, then runs the same script N times directly with subprocess as the
baseline measured in the same process. Prints p50/p95 and the ratio to the baseline.

    .venv/bin/python bench/submit_latency.py [--jobs 20] [--interval 0.1]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import threading
from pathlib import Path

from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.domain.clock import SystemClock
from suanli.service.access import ensure_operator_token
from suanli.service.bootstrap import open_platform

SPEC = "name: tick\nresources: {accelerator: {model: T4}}\nrun: echo tick\n"
CLOCK = SystemClock()


def _wait_status(client: TestClient, job_id: str, wanted: set[str]) -> str:
    pause = threading.Event()
    while True:
        status = client.get(f"/api/v1/jobs/{job_id}").json()["status"]
        if status in wanted:
            return str(status)
        pause.wait(0.005)


def through_suanli(jobs: int, interval: float) -> tuple[list[float], list[float]]:
    to_running, to_done = [], []
    with tempfile.TemporaryDirectory() as tmp:
        platform = open_platform(Path(tmp), detect_gpus=False)
        token_file, _ = ensure_operator_token(platform, platform.data_dir)
        with TestClient(create_app(platform, interval_s=interval)) as client:
            client.headers["Authorization"] = f"Bearer {token_file.read_text().strip()}"
            for _ in range(jobs):
                start = CLOCK.monotonic()
                job_id = client.post("/api/v1/jobs", json={"spec_yaml": SPEC}).json()["id"]
                _wait_status(client, job_id, {"running", "succeeded", "failed"})
                to_running.append(CLOCK.monotonic() - start)
                _wait_status(client, job_id, {"succeeded", "failed"})
                to_done.append(CLOCK.monotonic() - start)
        platform.close()
    return to_running, to_done


def direct(jobs: int) -> list[float]:
    times = []
    for _ in range(jobs):
        start = CLOCK.monotonic()
        subprocess.run(["/bin/bash", "-c", "echo tick"], check=True, capture_output=True)
        times.append(CLOCK.monotonic() - start)
    return times


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.1, help="control loop period, s")
    args = parser.parse_args()
    running, done = through_suanli(args.jobs, args.interval)
    base = direct(args.jobs)
    for name, values in (
        ("submit->running", running),
        ("submit->succeeded", done),
        ("direct bash run (baseline)", base),
    ):
        print(
            f"{name:28s} p50={pct(values, 50) * 1000:8.1f} ms  "
            f"p95={pct(values, 95) * 1000:8.1f} ms"
        )
    print(
        f"ratio submit->succeeded / direct (p50): {pct(done, 50) / pct(base, 50):.1f}x "
        f"(control loop period {args.interval * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
