"""Benchmark: suanli on a real Ray cluster: submit-to-running latency and N jobs accounted for.

1. Latency: the same one-line job (it stamps the wall-clock time it starts) submitted one at
   a time (a) through suanli (the real platform and control loop in-process, HTTP API,
   Ray engine), (b) with `ray job submit --no-wait` (Ray's own CLI), (c) with one POST to the
   Ray Jobs API (what the Ray SDK sends). Submit-to-running = the job's own start stamp minus
   the moment the submit began; methods alternate so drift hits all alike.
2. Volume: N jobs through suanli onto Ray, then every job checked in suanli (all succeeded,
   each with exactly one attempt) and in Ray's own job list (exactly one Ray job per suanli
   job, under its key, SUCCEEDED): lost and duplicated are counted, not assumed.

Needs a Ray head (scripts/ray-up.sh as root) and its CLI:

    set -a; . /var/tmp/suanli-ci/ray/env; set +a
    .venv/bin/python bench/ray_engine.py [--samples 10] [--jobs 1000] [--interval 0.5]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import subprocess
import tempfile
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.api.limits import ApiLimits
from suanli.domain.clock import SystemClock
from suanli.engines.ray import RayEngine
from suanli.service.access import ensure_operator_token
from suanli.service.bootstrap import open_platform

CLOCK = SystemClock()
# The bench polls hard and submits thousands: no per-token rate or active-job limit.
UNLIMITED = ApiLimits(rate_per_token=1e9, burst=1e9, max_active_jobs=0)
FLEET = """\
providers:
  - name: ai-cloud
    clusters:
      - name: ray-1
        region: guizhou
        engine: {{type: ray, endpoint: "{url}", options: {{reserve_cpus: "{reserve}"}}}}
        pools:
          - {{name: h100, accelerator: H100, nodes: 1, accelerators_per_node: 8,
             cpus_per_node: 16, memory_gb_per_node: 16, price_per_accelerator_hour: "15.00"}}
"""
STAMP = "date +%s.%N > {path}"  # the job's first act: when it started running
FINAL = {"succeeded", "failed", "cancelled"}
RAY_FINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def _wait(probe: Any, every: float = 0.02, timeout: float = 600.0) -> Any:
    pause, end = threading.Event(), CLOCK.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if CLOCK.monotonic() > end:
            raise TimeoutError("gave up waiting")
        pause.wait(every)


def _stamp(path: Path) -> float | None:
    try:
        return float(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _spec(run: str) -> str:
    return (
        "name: bench\nresources: {accelerator: {model: H100, count: 1}, cpus: 1, memory_gb: 0}\n"
        f"run: {json.dumps(run)}\n"
    )


class Bench:
    def __init__(
        self, ray_url: str, ray_cli: str, client: TestClient, tmp: Path, cpus: int
    ) -> None:
        self.ray_url, self.ray_cli, self.client, self.tmp = ray_url, ray_cli, client, tmp
        self.cpus = cpus  # what every method's entrypoint reserves of Ray's CPUs
        self.ray = RayEngine(ray_url, CLOCK)
        self.http = httpx.Client(base_url=ray_url, timeout=30)

    # 1. latency, one method at a time --------------------------------------------------
    def via_suanli(self, stamp: Path) -> float:
        start = CLOCK.now().timestamp()
        body = {"spec_yaml": _spec(STAMP.format(path=stamp))}
        job_id = self.client.post("/api/v1/jobs", json=body).json()["id"]
        job = _wait(lambda: self._suanli_final(job_id))
        started = _stamp(stamp)
        if job["status"] != "succeeded" or started is None:
            raise RuntimeError(f"{job_id}: {job['status']}")
        return started - start

    def _suanli_final(self, job_id: str) -> dict[str, Any] | None:
        job: dict[str, Any] = self.client.get(f"/api/v1/jobs/{job_id}").json()
        return job if job["status"] in FINAL else None

    def via_ray_cli(self, stamp: Path) -> float:
        key = f"bench-cli-{uuid.uuid4().hex[:10]}"
        start = CLOCK.now().timestamp()
        subprocess.run(
            [
                self.ray_cli, "job", "submit", "--no-wait", "--submission-id", key,
                "--entrypoint-num-cpus", str(self.cpus), "--entrypoint-resources", '{"H100": 1}',
                "--", "bash", "-c", STAMP.format(path=stamp),
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "RAY_ADDRESS": self.ray_url},
        )  # fmt: skip
        return self._finish(key, stamp, start)

    def via_ray_rest(self, stamp: Path) -> float:
        key = f"bench-rest-{uuid.uuid4().hex[:10]}"
        start = CLOCK.now().timestamp()
        body = {
            "entrypoint": shlex.join(["bash", "-c", STAMP.format(path=stamp)]),
            "submission_id": key,
            "entrypoint_num_cpus": self.cpus,
            "entrypoint_resources": {"H100": 1},
        }
        self.http.post("/api/jobs/", json=body).raise_for_status()
        return self._finish(key, stamp, start)

    def _finish(self, key: str, stamp: Path, start: float) -> float:
        info = _wait(lambda: self._ray_final(key))
        started = _stamp(stamp)
        if info["status"] != "SUCCEEDED" or started is None:
            raise RuntimeError(f"{key}: {info['status']}: {info.get('message')}")
        return started - start

    def _ray_final(self, key: str) -> dict[str, Any] | None:
        info: dict[str, Any] = self.http.get(f"/api/jobs/{key}").json()
        return info if info["status"] in RAY_FINAL else None

    def latency(self, samples: int) -> dict[str, list[float]]:
        methods = {
            "suanli (HTTP API -> Ray)": self.via_suanli,
            "ray job submit (CLI)": self.via_ray_cli,
            "Ray Jobs API POST (SDK)": self.via_ray_rest,
        }
        out: dict[str, list[float]] = {name: [] for name in methods}
        for _ in range(samples):
            for name, method in methods.items():
                out[name].append(method(self.tmp / f"stamp-{uuid.uuid4().hex}"))
        return out

    # 2. volume -------------------------------------------------------------------------
    def volume(self, jobs: int, minutes: float) -> dict[str, Any]:
        before = self._count_final()  # the latency samples' jobs, if any
        start = CLOCK.monotonic()
        ids = []
        for _ in range(jobs):
            response = self.client.post("/api/v1/jobs", json={"spec_yaml": _spec("true")})
            response.raise_for_status()
            ids.append(response.json()["id"])
        submitted_s = CLOCK.monotonic() - start
        deadline = start + minutes * 60 if minutes else math.inf
        pause = threading.Event()
        while self._count_final() - before < len(ids) and CLOCK.monotonic() < deadline:
            pause.wait(2.0)
        finished = self._count_final() - before
        elapsed = CLOCK.monotonic() - start
        if finished < len(ids):  # out of time: cancel the rest, then account for every job
            for job_id in ids:
                self.client.post(f"/api/v1/jobs/{job_id}/cancel")  # a final one: refused
            _wait(lambda: self._count_final() - before == len(ids), every=2.0, timeout=600)
        return {
            "submitted_s": submitted_s,
            "elapsed_s": elapsed,
            "finished_in_time": finished,
            **self._account(ids),
        }

    def _count_final(self) -> int:
        params = [("status", s) for s in sorted(FINAL)] + [("limit", "1")]
        return int(self.client.get("/api/v1/jobs", params=params).json()["total"])

    def _job(self, job_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/jobs/{job_id}")
        response.raise_for_status()
        return dict(response.json())

    def _account(self, ids: list[str]) -> dict[str, Any]:
        suanli = {i: self._job(i) for i in ids}
        ray_jobs = [
            j
            for j in self.ray.list_jobs()
            if (j.get("metadata") or {}).get("suanli_job_id") in suanli
        ]
        per_job = Counter(j["metadata"]["suanli_job_id"] for j in ray_jobs)
        per_key = Counter(j["submission_id"] for j in ray_jobs)
        keys_match = sum(
            1
            for j in ray_jobs
            if suanli[j["metadata"]["suanli_job_id"]]["engine_key"] == j["submission_id"]
        )
        dispatched = [i for i in ids if suanli[i]["attempt"] >= 1]
        return {
            "suanli_statuses": dict(Counter(j["status"] for j in suanli.values())),
            "suanli_attempts": dict(Counter(j["attempt"] for j in suanli.values())),
            "dispatched": len(dispatched),
            "ray_jobs": len(ray_jobs),
            "ray_statuses": dict(Counter(j["status"] for j in ray_jobs)),
            # Lost: handed to Ray (an attempt was dispatched) and unknown to Ray.
            "lost": sum(1 for i in dispatched if per_job[i] == 0),
            # Duplicated: a key Ray ran twice, or more Ray jobs than attempts for a job.
            "duplicated": sum(n - 1 for n in per_key.values() if n > 1)
            + sum(1 for i, n in per_job.items() if n > suanli[i]["attempt"]),
            "key_is_submission_id": keys_match,
        }


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=10, help="latency samples per method")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs for the volume run")
    parser.add_argument("--interval", type=float, default=0.5, help="control loop period, s")
    parser.add_argument(
        "--minutes",
        type=float,
        default=0,
        help="volume: stop waiting after this long, cancel what is left and account for "
        "every job (0: wait for all)",
    )
    parser.add_argument(
        "--entrypoint-cpus",
        type=int,
        choices=[0, 1],
        default=0,
        help="Ray CPUs each job's entrypoint reserves, every method alike (0: the 8 H100 "
        "resources bound the jobs, not the head's 2 CPUs; suanli: reserve_cpus false)",
    )
    # ray-up.sh names its CLI in the env file; else `ray` from PATH.
    parser.add_argument("--ray-cli", default=os.environ.get("SUANLI_TEST_RAY_CLI", "ray"))
    args = parser.parse_args()
    ray_url = os.environ.get("SUANLI_TEST_RAY_ADDRESS", "http://127.0.0.1:8265")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        reserve = "true" if args.entrypoint_cpus else "false"
        (tmp / "fleet.yaml").write_text(FLEET.format(url=ray_url, reserve=reserve))
        platform = open_platform(tmp / "data", tmp / "fleet.yaml", detect_gpus=False)
        token_file, _ = ensure_operator_token(platform, platform.data_dir)
        with TestClient(
            create_app(platform, interval_s=args.interval, limits=UNLIMITED)
        ) as client:
            client.headers["Authorization"] = f"Bearer {token_file.read_text().strip()}"
            bench = Bench(ray_url, args.ray_cli, client, tmp, args.entrypoint_cpus)
            if args.samples:
                report_latency(bench.latency(args.samples), args.interval)
            if args.jobs:
                report_volume(bench.volume(args.jobs, args.minutes), args.jobs)
        platform.close()


def report_latency(results: dict[str, list[float]], interval: float) -> None:
    print(f"submit -> running (the job's own start stamp), control loop period {interval} s")
    for name, values in results.items():
        print(
            f"  {name:26s} n={len(values):3d}  p50={pct(values, 50) * 1000:7.0f} ms  "
            f"p90={pct(values, 90) * 1000:7.0f} ms  mean={statistics.mean(values) * 1000:7.0f} ms"
        )
    names = list(results)
    suanli = pct(results[names[0]], 50)
    for other in names[1:]:
        ratio = suanli / pct(results[other], 50)
        print(f"  ratio suanli / {other} (p50): {ratio:.2f}x ({(ratio - 1) * 100:+.0f}%)")


def report_volume(result: dict[str, Any], jobs: int) -> None:
    done = result["finished_in_time"]
    rate = done / result["elapsed_s"]
    print(
        f"{jobs} jobs through suanli onto Ray: submitted in {result['submitted_s']:.1f} s, "
        f"{done} final after {result['elapsed_s']:.1f} s ({rate:.2f} jobs/s)"
        + ("" if done == jobs else "; out of time: the rest cancelled, then accounted")
    )
    print(f"  dispatched to Ray (attempt >= 1): {result['dispatched']}")
    print(f"  suanli statuses {result['suanli_statuses']}, attempts {result['suanli_attempts']}")
    print(f"  Ray's job list: {result['ray_jobs']} jobs, statuses {result['ray_statuses']}")
    print(
        f"  lost {result['lost']}, duplicated {result['duplicated']}, "
        f"suanli key == Ray submission id for {result['key_is_submission_id']}"
    )


if __name__ == "__main__":
    main()
