"""Tune the default queue policy on the first half of Philly, report on the second (issue 18).

    nice -n 10 python bench/queue_heldout.py [--jobs 1500] [--scale 0.25] [--workers 3]
        [--fleet examples/sim/philly-helios-cohort.yaml] [--tick-s 3600] [--skip-tuning]

Every run goes through the live cycle (``sim.live.LiveReplay``: the server's own tick over
memory stores and simulated engines), each in a child process.

The split: the whole Philly trace (82,247 jobs, 2017-09-04 to 2017-12-22) sorted by submit
time and cut at its median submit time, 2017-10-21 22:37:59: the first 41,123 jobs are the
tuning half, the other 41,124 the held-out half, never looked at while tuning.

The window: the live cycle replays ~25-110 jobs per CPU second on this shared 2-core
machine, so a whole half (~41k jobs) would take 7-25 CPU minutes per run, times 5 tuning
runs and 7 policies: it does not fit in a session. ``--jobs N`` takes a contiguous window
of each half instead: the last N jobs before the cut (tuning) and the first N after it
(held out): adjacent days with a similar mix, neither seeing the other's jobs
(``--jobs 0``: the whole halves). A few thousand Philly jobs span hours to a day and offer
the cohort's 650 GPUs ~200-300 GPUs of work: no queue forms and every policy ties. So
``--scale`` shrinks the scenario's fleet and quotas alike (default x0.25: 162 GPUs), so
that the window meets contention (roughly 1.5-2x the GPUs offered while it arrives) as the
whole trace does on the whole fleet.

(a) Tuning: the default's constants over a small grid on the tuning window only (``GRID``:
``preempt_gain`` x ``guard_s``, the two the previous sessions found to move average JCT;
``levels_s`` and ``guard_gain`` stay at their defaults), the lowest average JCT kept (the
shipped setting on a tie).
(b) Held out: on the held-out window, in the same run, the tuned default (and the shipped
one if they differ), oracle SJF (the trace's run times handed over as estimates), FIFO,
``las`` (suanli's levels and aging), ``las-plain``, ``las2d`` (Tiresias) and ``qssf``
(Helios); printed: jobs finished, average / p50 / p95 JCT, makespan, preemptions, CPU
seconds, the ratio of the default's average JCT to each, default / oracle SJF, default /
FIFO, and whether the default's average JCT is below every blind baseline's.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from suanli.domain.jobs import JobStatus
from suanli.domain.spec import JobSpec
from suanli.scheduler.queueing import QueueSettings
from suanli.sim.live import EPOCH, LiveReplay, LiveReport
from suanli.sim.scenario import load_scenario, setup_for
from suanli.sim.traces import TraceJob, read_trace

ROOT = Path(__file__).resolve().parents[1]

TRACE = ROOT.parent / "shared" / "traces" / "sia-sosp23" / "traces" / "philly.csv"
# The shipped constants first (kept on a tie), then the corners around them.
GRID = (
    {"preempt_gain": 4.0, "guard_s": 14_400.0},
    {"preempt_gain": 2.0, "guard_s": 7_200.0},
    {"preempt_gain": 2.0, "guard_s": 28_800.0},
    {"preempt_gain": 8.0, "guard_s": 7_200.0},
    {"preempt_gain": 8.0, "guard_s": 28_800.0},
)
BLIND = ("fifo", "las", "las-plain", "las2d", "qssf")


class Measured(LiveReplay):
    """The live replay, keeping each finished job's JCT (for p95) and, for the oracle,
    handing the trace's run time over as the job's estimate."""

    def __init__(self, *args: Any, oracle: bool = False, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.oracle = oracle
        self.jct: list[float] = []

    def _spec(self, job: TraceJob, per_node: int) -> JobSpec:
        spec = super()._spec(job, per_node)
        if not self.oracle:
            return spec
        hours = min(max(job.work / 3600.0, 1e-6), 8760.0)
        return spec.model_copy(update={"estimated_hours": hours})

    def _report(self, submitted: dict[str, float], rejected: int, ticks: int) -> LiveReport:
        done = self.platform.jobs.list([JobStatus.SUCCEEDED], limit=len(submitted) + 1)
        self.jct = [
            (j.finished_at - EPOCH).total_seconds() - submitted[j.id]
            for j in done
            if j.finished_at is not None and j.started_at is not None
        ]
        return super()._report(submitted, rejected, ticks)


def halves(jobs: list[TraceJob]) -> tuple[list[TraceJob], list[TraceJob]]:
    """The trace cut at its median submit time: (tuning half, held-out half)."""
    ordered = sorted(jobs, key=lambda j: (j.submit, j.id))
    cut = len(ordered) // 2
    return ordered[:cut], ordered[cut:]


def window(jobs: list[TraceJob], n: int, last: bool) -> list[TraceJob]:
    if n <= 0 or n >= len(jobs):
        return jobs
    return jobs[-n:] if last else jobs[:n]


def scaled(fleet: Path, scale: float, into: Path) -> Path:
    """The scenario with its pools' nodes and its tenants' quotas times ``scale`` (each at
    least 1): the same VCs and mix on a smaller fleet, so that a window of a few thousand
    jobs meets the contention the whole trace meets on the whole fleet."""
    if scale == 1.0:
        return fleet
    data = yaml.safe_load(fleet.read_text())
    for provider in data["fleet"]["providers"]:
        for cluster in provider["clusters"]:
            for pool in cluster["pools"]:
                pool["nodes"] = max(1, round(pool["nodes"] * scale))
    for tenant in data.get("tenants", []):
        tenant["quota"] = {k: max(1, round(v * scale)) for k, v in tenant["quota"].items()}
    into.write_text(yaml.safe_dump(data, sort_keys=False))
    return into


def run_one(
    fleet: str, part: str, n: int, tick_s: float, policy: str, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """One live replay in this (child) process; its figures and CPU seconds."""
    scenario = load_scenario(Path(fleet))
    loaded = read_trace("philly", TRACE)
    tune, held = halves(loaded.jobs)
    jobs = window(tune, n, last=True) if part == "tune" else window(held, n, last=False)
    setup = setup_for(scenario, loaded)
    oracle = policy == "sjf-oracle"
    settings = dataclasses.replace(
        setup.settings, policy="sjf" if oracle else policy, **dict(overrides)
    )
    start = time.process_time()
    replay = Measured(setup.fleet, setup.tenants, settings, tick_s=tick_s, oracle=oracle)
    report = replay.run(jobs)
    jct = replay.jct
    return {
        "policy": policy,
        "overrides": dict(overrides),
        "jobs": report.jobs,
        "finished": report.finished,
        "avg_jct_s": report.avg_jct_s,
        "p50_jct_s": report.p50_jct_s,
        "p95_jct_s": round(statistics.quantiles(jct, n=20)[-1], 1) if len(jct) > 1 else 0.0,
        "makespan_s": report.makespan_s,
        "preemptions": report.preemptions,
        "cpu_s": round(time.process_time() - start, 1),
        "first_submit": jobs[0].submit if jobs else 0.0,
        "last_submit": jobs[-1].submit if jobs else 0.0,
    }


def run_all(
    args: argparse.Namespace, part: str, runs: Iterable[tuple[str, Mapping[str, Any]]]
) -> list[dict[str, Any]]:
    todo = list(runs)
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = [
            pool.submit(run_one, str(args.fleet), part, args.jobs, args.tick_s, name, over)
            for name, over in todo
        ]
        out = []
        for f in futures:
            row = f.result()
            out.append(row)
            print(f"  {part}: {json.dumps(row)}", flush=True)
    return out


def table(rows: list[dict[str, Any]], base: dict[str, Any]) -> None:
    head = "| policy | finished | avg JCT s | p50 JCT s | p95 JCT s | makespan s | preemptions "
    print(head + "| CPU s | default (tuned) / this |")
    print("|" + "---|" * 10)
    for r in rows:
        ratio = base["avg_jct_s"] / r["avg_jct_s"] if r["avg_jct_s"] else float("nan")
        print(
            f"| {r['label']} | {r['finished']:,}/{r['jobs']:,} | {r['avg_jct_s']:,.1f} | "
            f"{r['p50_jct_s']:,.1f} | {r['p95_jct_s']:,.1f} | {r['makespan_s']:,.1f} | "
            f"{r['preemptions']:,} | {r['cpu_s']:.1f} | {ratio:.3f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--fleet", type=Path, default=ROOT / "examples" / "sim" / "philly-helios-cohort.yaml"
    )
    ap.add_argument("--jobs", type=int, default=1500, help="window of each half; 0: whole")
    ap.add_argument(
        "--scale", type=float, default=0.25, help="the fleet's nodes and quotas times this"
    )
    ap.add_argument("--tick-s", type=float, default=3600.0)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument(
        "--skip-tuning", action="store_true", help="report with the shipped constants only"
    )
    ap.add_argument(
        "--skip", action="append", default=[], choices=BLIND, help="a blind baseline not run"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        args.fleet = scaled(args.fleet, args.scale, Path(tmp) / "scenario.yaml")
        report(args)


def report(args: argparse.Namespace) -> None:
    d = QueueSettings()
    print(
        f"load average {os.getloadavg()[0]:.1f}; fleet x{args.scale:g}; window {args.jobs} "
        f"jobs of each half; tick {args.tick_s:g} s; workers {args.workers}",
        flush=True,
    )
    wall = time.monotonic()
    best: dict[str, Any] = {}
    if not args.skip_tuning:
        grid = list(GRID)
        print(f"(a) tuning the default on the tuning window: {len(grid)} settings", flush=True)
        tuned = run_all(args, "tune", [("default", over) for over in grid])
        winner = min(tuned, key=lambda r: r["avg_jct_s"])
        best = winner["overrides"]
        print(
            f"tuning window: {winner['jobs']:,} jobs, trace seconds "
            f"{winner['first_submit']:,.0f}-{winner['last_submit']:,.0f}"
        )
        for r in sorted(tuned, key=lambda r: r["avg_jct_s"]):
            print(
                f"  {r['overrides']}: avg JCT {r['avg_jct_s']:,.1f} s, "
                f"p95 {r['p95_jct_s']:,.1f} s, preemptions {r['preemptions']:,}"
            )
        print(f"kept: {best} (shipped: preempt_gain {d.preempt_gain:g}, guard_s {d.guard_s:g})")
    print(f"(b) held-out window, load average {os.getloadavg()[0]:.1f}", flush=True)
    runs: list[tuple[str, Mapping[str, Any]]] = [("default", best)]
    if best and best != {"preempt_gain": d.preempt_gain, "guard_s": d.guard_s}:
        runs.append(("default", {}))
    runs += [("sjf-oracle", {})] + [(name, {}) for name in BLIND if name not in args.skip]
    rows = run_all(args, "held", runs)
    rows[0]["label"] = "default (tuned)" if best else "default"
    for r in rows[1:]:
        r["label"] = "default (shipped)" if r["policy"] == "default" else r["policy"]
    print(
        f"held-out window: {rows[0]['jobs']:,} jobs, trace seconds "
        f"{rows[0]['first_submit']:,.0f}-{rows[0]['last_submit']:,.0f}"
    )
    base = rows[0]
    table(rows, base)
    by = {r["label"]: r for r in rows}
    sjf = by["sjf-oracle"]
    print(f"ratio default / oracle SJF avg JCT = {base['avg_jct_s'] / sjf['avg_jct_s']:.3f}")
    if "fifo" in by:
        print(f"ratio default / FIFO avg JCT = {base['avg_jct_s'] / by['fifo']['avg_jct_s']:.3f}")
    lost = [
        r["label"] for r in rows if r["policy"] in BLIND and r["avg_jct_s"] <= base["avg_jct_s"]
    ]
    print("default below every blind baseline: " + ("yes" if not lost else f"NO ({lost})"))
    print(f"wall {time.monotonic() - wall:.0f} s; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
