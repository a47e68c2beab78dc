"""Benchmark: suanli over a real Slurm (the one scripts/slurm-up.sh starts; run as root).

1. latency: submit -> running through suanli (API, control loop, Slurm engine) against plain
   ``sbatch`` + ``squeue`` polling, side by side, one job at a time; p50/p95 and the ratio.
2. many: N jobs through suanli to Slurm; then every job is checked in suanli's status and in
   Slurm's own view (squeue --states=all, and the jobcomp log): 0 lost, 0 duplicated.
3. recovery: slurmctld is killed mid-run; time until the job runs on the local cluster
   (with the cluster grace given; the figure minus the grace is suanli's own share).

    set -a; . /var/tmp/suanli-ci/slurm/env; set +a
    .venv/bin/python bench/slurm_engine.py [--latency-jobs 20] [--jobs 1000] [--grace 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.api.limits import ApiLimits
from suanli.domain.clock import SystemClock
from suanli.domain.ids import engine_key
from suanli.service.access import ensure_operator_token
from suanli.service.bootstrap import open_platform

CLOCK = SystemClock()
# The bench polls hard and submits thousands: no per-token rate or active-job limit.
UNLIMITED = ApiLimits(rate_per_token=1e9, burst=1e9, max_active_jobs=0)
PAUSE = threading.Event()
POLL_S = 0.01


def fleet(conf: str, local: bool) -> str:
    text = f"""
providers:
  - name: hpc
    clusters:
      - name: slurm-bench
        region: hebei
        engine: {{type: slurm, options: {{conf: "{conf}"}}}}
        pools:
          - {{name: h100, accelerator: H100, nodes: 2, accelerators_per_node: 4,
             cpus_per_node: 16, memory_gb_per_node: 16, price_per_accelerator_hour: "5.00"}}
          - {{name: cpu, nodes: 2, cpus_per_node: 16, memory_gb_per_node: 16,
             price_per_accelerator_hour: "0.10"}}
"""
    if local:
        text += """  - name: fallback
    clusters:
      - name: local-bench
        region: tianjin
        engine: {type: local}
        pools:
          - {name: h100, accelerator: H100, nodes: 2, accelerators_per_node: 4,
             cpus_per_node: 16, memory_gb_per_node: 16, price_per_accelerator_hour: "20.00"}
"""
    return text


def slurm(conf: str, *argv: str) -> str:
    env = {**os.environ, "SLURM_CONF": conf}
    env.pop("SLURM_JWT", None)
    return subprocess.run(
        list(argv), capture_output=True, text=True, env=env, check=True, timeout=60
    ).stdout


def wait_status(
    client: TestClient | httpx.Client, job_id: str, wanted: set[str], timeout: float = 300
) -> Any:
    end = CLOCK.monotonic() + timeout
    while CLOCK.monotonic() < end:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in wanted:
            return job
        PAUSE.wait(POLL_S)
    raise SystemExit(f"job {job_id} never reached {wanted}")


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def show(name: str, values: list[float], raw: bool = False) -> None:
    print(
        f"  {name:34s} p50={pct(values, 50) * 1000:8.1f} ms  p95={pct(values, 95) * 1000:8.1f} ms"
        f"  mean={statistics.mean(values) * 1000:8.1f} ms"
    )
    if raw:
        print("    ", " ".join(f"{v * 1000:.0f}" for v in values))


# --- 1. latency --------------------------------------------------------------------------

# The job's first act stamps the wall-clock time it starts; both sides run the same line.
STAMPED = "date +%s.%N > {stamp}; sleep 5"


def stamped_spec(stamp: Path) -> str:
    run = STAMPED.format(stamp=stamp)
    return f"name: lat\nresources: {{accelerator: {{model: H100, count: 1}}}}\nrun: {run!r}\n"


def observe(conf: str, name: str, stamp: Path, seen: dict[str, float], api: Any = None) -> None:
    """Poll until the job's stamp exists and squeue shows it RUNNING (and the API, if given).

    ``seen`` gets the wall-clock time each was first observed: "stamp" (the job's own start,
    read from the file), "squeue" and "api". Both sides are watched by this same loop.
    squeue is polled as fast as it answers (each call takes tens of ms).
    """
    end = CLOCK.monotonic() + 300
    while CLOCK.monotonic() < end:
        if "stamp" not in seen and stamp.exists() and stamp.read_text().strip():
            seen["stamp"] = float(stamp.read_text())
        if "squeue" not in seen:
            state = slurm(conf, "squeue", "-h", "-t", "all", "-n", name, "-o", "%T").strip()
            if state == "RUNNING":
                seen["squeue"] = CLOCK.now().timestamp()
        # The API is asked only once Slurm runs the job (it cannot know earlier): polling it
        # all along would take the control loop's CPU in this process, a cost sbatch is spared.
        if api is not None and "squeue" in seen and "api" not in seen and api() == "running":
            seen["api"] = CLOCK.now().timestamp()
        if {"stamp", "squeue"} <= set(seen) and (api is None or "api" in seen):
            return
        PAUSE.wait(POLL_S)
    raise SystemExit(f"{name} never ran: saw {sorted(seen)}")


class Server:
    """``suanli up`` in its own process (as deployed), so the bench's own polling in this
    process never competes with the control loop for the interpreter."""

    def __init__(self, tmp: Path, fleet_file: Path, interval: float) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.data = tmp / "server-data"
        self.log = (tmp / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("suanli")), "up", "--port", str(port),
             "--data-dir", str(self.data), "--fleet", str(fleet_file),
             "--interval", str(interval), "--rate-limit", "1000"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        end = CLOCK.monotonic() + 60
        while True:
            try:
                if self.http.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or CLOCK.monotonic() > end:
                raise SystemExit(f"suanli up did not start: see {tmp / 'server.log'}")
            PAUSE.wait(0.2)
        token = (self.data / "operator.token").read_text().strip()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def idle_cluster(conf: str) -> None:
    """Wait until every node is idle again (a cancelled job's node goes through COMPLETING
    first, and Slurm holds new work back meanwhile), then a moment more: each sample, on
    either side, starts from the same quiet cluster."""
    while slurm(conf, "squeue", "-h", "-o", "%i").strip() or any(
        state != "idle" for state in slurm(conf, "sinfo", "-h", "-N", "-o", "%T").split()
    ):
        PAUSE.wait(0.1)
    PAUSE.wait(0.5)


def at_phase(phase: float) -> None:
    """Sleep until the wall clock's fraction of a second is ``phase``.

    slurmctld here starts pending jobs on its own scheduling pass, about once a second (its
    log shows "sched: Allocate" at a near-fixed fraction of each second), so a job's start
    latency depends on when within that second it was submitted. Pair i submits both of its
    jobs at the same phase i/N: both sides see the same spread of phases, and suanli pays
    for its own delay (a hand-off that misses a pass waits for the next one).
    """
    now = CLOCK.now().timestamp()
    wait = (phase - now % 1.0) % 1.0
    PAUSE.wait(wait if wait > 0.05 else wait + 1.0)


def latency(conf: str, jobs: int, interval: float) -> None:
    plain: dict[str, list[float]] = {"stamp": [], "squeue": []}
    through: dict[str, list[float]] = {"stamp": [], "squeue": [], "api": []}
    with tempfile.TemporaryDirectory() as tmp:
        fleet_file = Path(tmp) / "fleet.yaml"
        fleet_file.write_text(fleet(conf, local=False))
        server = Server(Path(tmp), fleet_file, interval)
        client = server.http
        try:
            for i in range(jobs):
                # Side by side: one plain sbatch, then one through suanli, alternating.
                stamp = Path(tmp) / f"plain-{i}"
                name = f"bench-plain-{i}-{os.getpid()}"
                seen: dict[str, float] = {}
                at_phase(i / jobs)
                start = CLOCK.now().timestamp()
                job_id = slurm(
                    conf,
                    "sbatch",
                    "--parsable",
                    "-J",
                    name,
                    "-o",
                    "/dev/null",
                    "--gres=gpu:h100:1",
                    "--wrap",
                    STAMPED.format(stamp=stamp),
                ).strip()
                observe(conf, name, stamp, seen)
                for what, at in seen.items():
                    plain[what].append(at - start)
                slurm(conf, "scancel", job_id)
                idle_cluster(conf)

                stamp = Path(tmp) / f"suanli-{i}"
                seen = {}
                body = {"spec_yaml": stamped_spec(stamp)}
                at_phase(i / jobs)
                start = CLOCK.now().timestamp()
                sid = client.post("/api/v1/jobs", json=body).json()["id"]

                def api(sid: str = sid) -> str:
                    return str(client.get(f"/api/v1/jobs/{sid}").json()["status"])

                # The Slurm job name of its first attempt (not asked of the API meanwhile).
                observe(conf, engine_key(sid, 1), stamp, seen, api)
                for what, at in seen.items():
                    through[what].append(at - start)
                client.post(f"/api/v1/jobs/{sid}/cancel")
                wait_status(client, sid, {"cancelled", "succeeded", "failed"})
                idle_cluster(conf)
        finally:
            server.stop()
    print(
        f"1. submit -> running, {jobs} jobs each, one at a time, alternating, pair i "
        f"submitted at second-phase i/{jobs} (control loop period {interval * 1000:.0f} ms)"
    )
    show("sbatch: job's own start stamp", plain["stamp"], raw=True)
    show("suanli: job's own start stamp", through["stamp"], raw=True)
    show("sbatch: squeue first shows RUNNING", plain["squeue"])
    show("suanli: squeue first shows RUNNING", through["squeue"])
    show("suanli: its API reports running", through["api"])
    for label, a, b in (
        ("start stamp", through["stamp"], plain["stamp"]),
        ("squeue RUNNING", through["squeue"], plain["squeue"]),
        ("suanli API vs sbatch squeue", through["api"], plain["squeue"]),
    ):
        ratio, mean = pct(a, 50) / pct(b, 50), statistics.mean(a) / statistics.mean(b)
        print(f"  ratio suanli / sbatch, {label}: p50 {ratio:.2f}x, mean {mean:.2f}x")


# --- 2. many jobs ------------------------------------------------------------------------

QUICK_SPEC = "name: many\nresources: {cpus: 1, memory_gb: 0}\nrun: echo $SUANLI_JOB_ID\n"


def many(conf: str, jobs: int, interval: float) -> None:
    state_dir = Path(conf).parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        fleet_file = Path(tmp) / "fleet.yaml"
        fleet_file.write_text(fleet(conf, local=False))
        platform = open_platform(Path(tmp) / "data", fleet_file, detect_gpus=False)
        token_file, _ = ensure_operator_token(platform, platform.data_dir)
        with TestClient(create_app(platform, interval_s=interval, limits=UNLIMITED)) as client:
            client.headers["Authorization"] = f"Bearer {token_file.read_text().strip()}"
            start = CLOCK.monotonic()
            ids = [
                client.post("/api/v1/jobs", json={"spec_yaml": QUICK_SPEC}).json()["id"]
                for _ in range(jobs)
            ]
            submitted = CLOCK.monotonic() - start
            final = {}
            for job_id in ids:
                final[job_id] = wait_status(
                    client, job_id, {"succeeded", "failed", "cancelled"}, 3600
                )
            elapsed = CLOCK.monotonic() - start
            listed = client.get("/api/v1/jobs", params={"limit": 1}).json()["total"]
        platform.close()
    keys = {j["engine_key"]: j for j in final.values()}
    statuses = Counter(j["status"] for j in final.values())
    attempts = Counter(j["attempt"] for j in final.values())
    # Slurm's view: every job it knows by one of these names, finished ones included.
    seen: Counter[str] = Counter()
    states: Counter[str] = Counter()
    for line in slurm(conf, "squeue", "-h", "-t", "all", "-o", "%j|%T").splitlines():
        name, _, state = line.partition("|")
        if name in keys:
            seen[name] += 1
            states[state] += 1
    comp: Counter[str] = Counter()
    jobcomp = state_dir / "log" / "jobcomp.log"
    if jobcomp.exists():
        for line in jobcomp.read_text().splitlines():
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            if fields.get("Name") in keys:
                comp[fields["Name"]] += 1
    lost = [k for k in keys if seen[k] == 0]
    duplicated = [k for k, n in seen.items() if n > 1] + [k for k, n in comp.items() if n > 1]
    print(f"2. {jobs} jobs through suanli to Slurm")
    print(
        f"  submitted in {submitted:.1f} s, all final after {elapsed:.1f} s ({jobs / elapsed:.1f} jobs/s)"
    )
    print(f"  suanli status: {dict(statuses)}, attempts {dict(attempts)}, jobs listed {listed}")
    print(f"  squeue --states=all: {sum(seen.values())} jobs for {len(keys)} keys {dict(states)}")
    print(f"  jobcomp log: {sum(comp.values())} records for these keys")
    print(f"  lost: {len(lost)}  duplicated: {len(duplicated)}")


# --- 3. recovery -------------------------------------------------------------------------

HOLD_SPEC = (
    "name: hold\nresources: {accelerator: {model: H100, count: 1}}\n"
    'run: if [ "$SUANLI_CLUSTER" = slurm-bench ]; then sleep 600; fi; sleep 2\n'
)


def recovery(conf: str, grace: float, interval: float) -> None:
    state_dir = Path(conf).parent.parent
    pid_file = state_dir / "run" / "slurmctld.pid"
    with tempfile.TemporaryDirectory() as tmp:
        fleet_file = Path(tmp) / "fleet.yaml"
        fleet_file.write_text(fleet(conf, local=True))
        platform = open_platform(
            Path(tmp) / "data", fleet_file, detect_gpus=False, cluster_grace_s=grace
        )
        token_file, _ = ensure_operator_token(platform, platform.data_dir)
        with TestClient(create_app(platform, interval_s=interval, limits=UNLIMITED)) as client:
            client.headers["Authorization"] = f"Bearer {token_file.read_text().strip()}"
            job_id = client.post("/api/v1/jobs", json={"spec_yaml": HOLD_SPEC}).json()["id"]
            job = wait_status(client, job_id, {"running"})
            if job["placement"]["cluster"] != "slurm-bench":
                raise SystemExit(f"expected a Slurm placement, got {job['placement']}")
            # Let slurmctld save the running job first (it does a few seconds after a change).
            started = dt.datetime.fromisoformat(job["started_at"]).timestamp()
            saved = state_dir / "state" / "job_state"
            while saved.stat().st_mtime <= started + 1:  # start times are whole seconds
                PAUSE.wait(0.1)
            t0 = CLOCK.monotonic()
            os.kill(int(pid_file.read_text()), signal.SIGKILL)

            def moved() -> bool:
                job = client.get(f"/api/v1/jobs/{job_id}").json()
                pl = job.get("placement") or {}
                return job["status"] == "running" and pl.get("cluster") == "local-bench"

            while not moved():
                if CLOCK.monotonic() - t0 > grace + 300:
                    raise SystemExit("the job never ran elsewhere")
                PAUSE.wait(POLL_S)
            took = CLOCK.monotonic() - t0
            subprocess.run(
                ["slurmctld", "-f", conf], check=True, env={**os.environ, "SLURM_CONF": conf}
            )
            wait_status(client, job_id, {"succeeded", "failed"})
            # Let the control loop see Slurm back and cancel the run it gave up on.
            end = CLOCK.monotonic() + 60
            codes: list[str] = []
            while CLOCK.monotonic() < end and "reason_stray_run_cancelled" not in codes:
                PAUSE.wait(0.2)
                codes = [
                    e["reason"]["code"]
                    for e in client.get(f"/api/v1/jobs/{job_id}").json()["history"]
                ]
        platform.close()
    print("3. recovery: slurmctld killed mid-run -> job running on the local cluster")
    print(
        f"  {took:.1f} s with a cluster grace of {grace:.0f} s (suanli's own share {took - grace:.1f} s)"
    )
    print(
        f"  stray Slurm run cancelled when slurmctld came back: {'reason_stray_run_cancelled' in codes}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conf", default=os.environ.get("SUANLI_TEST_SLURM_CONF"))
    parser.add_argument("--latency-jobs", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--grace", type=float, default=10.0, help="cluster grace, s")
    parser.add_argument("--interval", type=float, default=0.1, help="control loop period, s")
    parser.add_argument("--only", choices=["latency", "many", "recovery"])
    args = parser.parse_args()
    if not args.conf:
        raise SystemExit("start Slurm (scripts/slurm-up.sh) and set SUANLI_TEST_SLURM_CONF")
    if args.only in (None, "latency"):
        latency(args.conf, args.latency_jobs, args.interval)
    if args.only in (None, "many"):
        many(args.conf, args.jobs, args.interval)
    if args.only in (None, "recovery"):
        recovery(args.conf, args.grace, args.interval)


if __name__ == "__main__":
    main()
