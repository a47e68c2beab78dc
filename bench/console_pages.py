"""Benchmark: console page load times with 10,000 jobs in the database on the demo fleet.

Fills a fresh SQLite platform with jobs of three tenants over the last three weeks (most
finished, metered and settled by the real billing code; some running, some waiting with the
scheduler's reason), serves the real application with uvicorn on 127.0.0.1, and fetches
every main console page over HTTP as a browser would (the HTML; its static files are cached
by a browser). Prints median and p95 per page against the 300 ms target.

    .venv/bin/python bench/console_pages.py [--jobs 10000] [--rounds 15] [--data-dir DIR]

Filling takes minutes on a small machine; with --data-dir the filled database is kept there
and reused by the next run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from suanli.api.auth import TOKEN_COOKIE
from suanli.api.limits import ApiLimits
from suanli.domain.clock import SystemClock
from suanli.domain.ids import JobId
from suanli.domain.jobs import (
    Decision,
    Job,
    JobEvent,
    JobStatus,
    NodeAssignment,
    Placement,
    Reason,
)
from suanli.schemas.specfile import parse_spec_data
from suanli.service.access import ensure_operator_token
from suanli.service.billing import settle
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.web.app import create_app

# Pages are fetched back to back, faster than a person clicks: no per-token rate limit here.
UNLIMITED = ApiLimits(rate_per_token=1e9, burst=1e9)

S = JobStatus
CLOCK = SystemClock()
TARGET_MS = 300.0
TENANTS = ("demo", "etown-robotics", "haidian-vision")


def fill(p: Platform, count: int, seed: int) -> str:
    """``count`` jobs; returns the id of a finished, settled one for the job page."""
    rng = random.Random(seed)
    now = p.clock.now()
    pools = [(c, q) for c, q in p.fleet.pools() if q.accelerator is not None]
    sample = ""
    for i in range(count):
        cluster, pool = rng.choice(pools)
        cards = rng.choice((1, 2, 4, 8))
        cards = min(cards, pool.accelerators_per_node)
        spec = parse_spec_data(
            {
                "name": f"bench-{i}",
                "resources": {"accelerator": {"model": pool.accelerator, "count": cards}},
                "run": "echo bench",
            },
            "bench",
        )
        roll = rng.random()
        status = (
            S.QUEUED
            if roll < 0.03
            else S.RUNNING
            if roll < 0.05
            else S.FAILED
            if roll < 0.12
            else S.CANCELLED
            if roll < 0.15
            else S.SUCCEEDED
        )
        submitted = now - dt.timedelta(minutes=rng.uniform(5, 21 * 24 * 60))
        started = submitted + dt.timedelta(seconds=rng.uniform(1, 120))
        ended = min(now, started + dt.timedelta(minutes=rng.uniform(1, 240)))
        placement = Placement(
            cluster.name,
            pool.name,
            pool.accelerator,
            (NodeAssignment(f"{pool.name}-n0", tuple(range(cards))),),
            pool.price_per_accelerator_hour * cards,
        )
        waiting = status is S.QUEUED
        job = Job(
            id=JobId(f"j-bench{i:06d}"),
            spec=spec,
            status=status,
            submitted_at=submitted,
            updated_at=ended,
            attempt=0 if waiting else 1,
            placement=None if waiting else placement,
            decision=Decision(
                Reason("waiting_for_capacity", {"count": 1})
                if waiting
                else Reason("placed_cheapest", {"cluster": cluster.name, "pool": pool.name}),
                (),
                None if waiting else (cluster.name, pool.name),
            ),
            started_at=None if waiting else started,
            finished_at=ended if status.is_terminal else None,
            exit_code=0 if status is S.SUCCEEDED else None,
            engine_key=None if waiting else f"bench-{i}",
            tenant=TENANTS[i % len(TENANTS)],
        )
        events = [JobEvent(job.id, submitted, None, S.PENDING, Reason("reason_submitted"))]
        if not waiting:
            events.append(
                JobEvent(job.id, started, S.PENDING, S.RUNNING, Reason("reason_running"))
            )
        if status.is_terminal:
            events.append(JobEvent(job.id, ended, S.RUNNING, status, Reason("reason_exit_ok")))
        p.jobs.add(job, events)
        if status is S.SUCCEEDED and job.tenant == "demo" and not sample:
            sample = job.id
    while settle(p).metered:
        pass
    return sample


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(
    url: str, pages: dict[str, str], rounds: int, token: str
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock ms per page, and CPU ms of this process (server and client) per page: on a
    shared machine the wall clock also counts other work's turns, the CPU time does not."""
    times: dict[str, list[float]] = {name: [] for name in pages}
    cpu: dict[str, list[float]] = {name: [] for name in pages}
    # Signed in as the console is: the operator's token in the console's cookie.
    cookies = {TOKEN_COOKIE: token}
    with httpx.Client(base_url=url, trust_env=False, timeout=30, cookies=cookies) as client:
        for path in pages.values():  # warm up (template compilation, caches)
            client.get(path).raise_for_status()
        for _ in range(rounds):
            for name, path in pages.items():
                start, start_cpu = CLOCK.monotonic(), time.process_time()
                response = client.get(path)
                times[name].append((CLOCK.monotonic() - start) * 1000)
                cpu[name].append((time.process_time() - start_cpu) * 1000)
                response.raise_for_status()
    return times, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", type=Path, default=None, help="keep and reuse the data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        p = open_platform(args.data_dir or Path(tmp) / "data", detect_gpus=False)
        start = CLOCK.monotonic()
        if p.jobs.count() >= args.jobs:
            sample: str = next(j.id for j in p.jobs.list([S.SUCCEEDED], 1, tenant="demo"))
            how = f"reused {args.data_dir}"
        else:
            sample = fill(p, args.jobs - p.jobs.count(), args.seed)
            how = f"filled in {CLOCK.monotonic() - start:.1f} s"
        print(
            f"{p.jobs.count()} jobs ({how}): {p.jobs.count([S.QUEUED])} waiting, "
            f"{p.jobs.count([S.RUNNING])} running"
        )
        token_file, _ = ensure_operator_token(p, p.data_dir)
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(p, run_loop=False, limits=UNLIMITED),
                host="127.0.0.1",
                port=port,
                log_level="warning",
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            threading.Event().wait(0.05)
        listed = [j.id for j in p.jobs.list(None, 20, tenant="demo")]
        pages = {
            "home": "/console",
            "tenant jobs": "/console/tenant/demo/jobs",
            "tenant jobs, page 100": "/console/tenant/demo/jobs?page=100",
            "tenant jobs, failed": "/console/tenant/demo/jobs?status=failed",
            "tenant bill": "/console/tenant/demo/bills",
            "tenant bill, page 50": "/console/tenant/demo/bills?page=50",
            "submit": "/console/tenant/demo/submit",
            "job": f"/console/jobs/{sample}",
            "job panel (htmx)": f"/console/jobs/{sample}/panel",
            "provider": "/console/provider/bj-etown-aic",
            "operator": "/console/operator",
            "operator jobs": "/console/operator/jobs",
            "tenant vouchers": "/console/tenant/demo/vouchers",
            "tenants": "/console/tenants",
            "users": "/console/users",
            "tokens": "/console/tokens",
            "audit log": "/console/audit",
            # the two API calls behind a job list page: its rows, and their costs at once
            "api: 20 jobs": "/api/v1/jobs?tenant=demo&limit=20",
            "api: their costs": "/api/v1/job-costs?" + "&".join(f"job={i}" for i in listed),
        }
        try:
            times, cpu = measure(
                f"http://127.0.0.1:{port}", pages, args.rounds, token_file.read_text().strip()
            )
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            p.close()
    print(f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"\n{'page':<24}{'median ms':>11}{'p95 ms':>9}{'/ target':>10}{'CPU ms':>9}")
    worst = 0.0
    for name, ms in times.items():
        median = statistics.median(ms)
        p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) > 1 else ms[0]
        worst = max(worst, p95)
        print(
            f"{name:<24}{median:>11.1f}{p95:>9.1f}{median / TARGET_MS:>10.2f}"
            f"{statistics.median(cpu[name]):>9.1f}"
        )
    print(
        f"\nworst p95 {worst:.1f} ms; target {TARGET_MS:.0f} ms; {args.jobs} jobs, {args.rounds} rounds"
        "\n(CPU ms: median CPU time of this process, server and client, per page)"
    )


if __name__ == "__main__":
    main()
