"""Tune the default queue policy on the first half of Philly, report on the second (issue 18).

    nice -n 10 python bench/queue_heldout.py [--jobs 1000] [--windows 3] [--scale 0.125]
        [--workers 2] [--fleet examples/sim/philly-helios-cohort.yaml] [--tick-s 3600]
        [--skip-tuning] [--skip-held] [--skip las-plain] [--checkpoint-minutes M]

Every run goes through the live cycle (``sim.live.LiveReplay``: the server's own tick over
memory stores and simulated engines), each in a child process.

The split: the whole Philly trace (82,247 jobs, 2017-09-04 to 2017-12-22) sorted by submit
time and cut at its median submit time, 2017-10-21 22:37:59: the first 41,123 jobs are the
tuning half, the other 41,124 the held-out half, never looked at while tuning.

The windows: the live cycle replays ~25-130 jobs per CPU second on this shared 2-core
machine, so a whole half (~41k jobs) would take 7-25 CPU minutes per run, times every
setting and every policy: it does not fit in a session. One window is one sample, so
``--windows K`` windows of ``--jobs N`` contiguous jobs are taken from each half at fixed
positions (centred in each of its K equal parts, ``window``), chosen by position alone
before any result was seen; the tuning windows from the first half, the held-out ones
from the second. A thousand Philly jobs offer the cohort's 650 GPUs a few hundred GPUs of
work: little queue forms and every policy ties. So ``--scale`` shrinks the scenario's
fleet and quotas alike (default x0.125: 82 GPUs), where each window's jobs offer ~200-700
GPUs of work (GPU-seconds over its span) while they arrive.

(a) Tuning: the default with each setting of ``GRID`` on every tuning window; kept: the
lowest mean over windows of its average JCT over the shipped setting's (the shipped one on
a tie).
(b) Held out, in the same run (one pool of workers): the default with the kept setting
(and the shipped one if they differ), oracle SJF (the trace's run times handed over as
estimates), FIFO, ``las`` (suanli's levels and aging), ``las-plain``, ``las2d``
(Tiresias) and ``qssf`` (Helios) on every held-out window; printed per window and as the
mean: jobs finished, average / p50 / p95 JCT, preemptions, CPU seconds, the ratio of the
default's average JCT to each (default / oracle SJF, default / FIFO among them), and
whether the default's average JCT is below every blind baseline's on each window and on
the mean ratio.

``--checkpoint-minutes M``: every trace job checkpoints every M minutes (the scenario's
``jobs: {checkpoint: {every_minutes: M}}``): a preempted attempt resumes from its last
checkpoint, and preemptive policies may outrank running work. Without it no trace job
checkpoints: a preempted attempt would restart from zero, so running work is stopped only
to reclaim lent quota. Either is a modelling choice (the Philly trace does not say).
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
from suanli.sim.live import LiveReplay, LiveReport
from suanli.sim.scenario import load_scenario, setup_for
from suanli.sim.traces import TraceJob, read_trace

ROOT = Path(__file__).resolve().parents[1]

TRACE = ROOT.parent / "shared" / "traces" / "sia-sosp23" / "traces" / "philly.csv"
# The shipped constants first (kept on a tie), then the alternatives, each grid fixed
# before its run. Now (2026-12-08, trace jobs not checkpointing): the default's
# starvation guard (``model.GUARD_S`` / ``GUARD_GAIN``: a fresh job's index x4 per 4 h
# waited), which Helios' QSSF, the blind baseline that ranks fresh work alike (by its
# class's mean service), does not have: off (gain 1), half as strong (gain 2), every 8 h
# and every 16 h. Earlier grids: the price of a restart (``model.RESTART_PRICE``) with
# the tail learnt from unfinished work (4 / never / 0.25 / 0.5 / 1, 2026-12-08: never
# kept) and from finished jobs only (2026-12-07: 4 kept by 0.15%); ``quanta`` (False
# since 2026-12-07); ``preempt_gain`` and ``guard_s`` with checkpoints (under 0.1%).
# Small because each setting costs three live replays of this shared machine's CPU.
GRID: tuple[dict[str, Any], ...] = (
    {},
    {"guard_gain": 1.0},
    {"guard_gain": 2.0},
    {"guard_s": 28_800.0},
    {"guard_s": 57_600.0},
)
BLIND = ("qssf", "las2d", "fifo", "las", "las-plain")  # the strongest first


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
            (j.finished_at - self.start).total_seconds() - submitted[j.id]
            for j in done
            if j.finished_at is not None and j.started_at is not None
        ]
        return super()._report(submitted, rejected, ticks)


def halves(jobs: list[TraceJob]) -> tuple[list[TraceJob], list[TraceJob]]:
    """The trace cut at its median submit time: (tuning half, held-out half)."""
    ordered = sorted(jobs, key=lambda j: (j.submit, j.id))
    cut = len(ordered) // 2
    return ordered[:cut], ordered[cut:]


def window(jobs: list[TraceJob], n: int, k: int, count: int) -> list[TraceJob]:
    """The ``k``-th of ``count`` contiguous windows of ``n`` jobs, centred in the ``k``-th
    of ``count`` equal parts of ``jobs``: fixed positions, chosen before any result was
    seen, away from the trace's sparse start and draining end (windows at both ends were
    the first rule: the held-out half's last 1,000 jobs offer ~42 GPUs of work to the x0.125
    fleet's 82, no queue). ``n`` 0: all of ``jobs``."""
    if n <= 0 or n >= len(jobs):
        return jobs
    centre = round((2 * k + 1) * len(jobs) / (2 * count))
    first = min(max(centre - n // 2, 0), len(jobs) - n)
    return jobs[first : first + n]


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
    fleet: str,
    part: str,
    k: int,
    args: tuple[int, int, float],
    policy: str,
    overrides: Mapping[str, Any],
) -> dict[str, Any]:
    """One live replay of window ``k`` of ``part`` in this (child) process; its figures."""
    n, count, tick_s = args
    scenario = load_scenario(Path(fleet))
    loaded = read_trace("philly", TRACE)
    tune, held = halves(loaded.jobs)
    jobs = window(tune if part == "tune" else held, n, k, count)
    setup = setup_for(scenario, loaded)
    oracle = policy == "sjf-oracle"
    fields: dict[str, Any] = {
        a: tuple(v) if isinstance(v, list) else v for a, v in overrides.items()
    }
    settings = dataclasses.replace(setup.settings, policy="sjf" if oracle else policy, **fields)
    start = time.process_time()
    replay = Measured(
        setup.fleet,
        setup.tenants,
        settings,
        tick_s=tick_s,
        oracle=oracle,
        checkpoint=setup.checkpoint,
    )
    report = replay.run(jobs)
    jct = replay.jct
    return {
        "part": part,
        "window": k,
        "policy": policy,
        "overrides": {a: list(v) if isinstance(v, tuple) else v for a, v in overrides.items()},
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


Run = tuple[str, Mapping[str, Any]]
Futures = list[concurrent.futures.Future[dict[str, Any]]]


def submit(
    pool: concurrent.futures.ProcessPoolExecutor,
    args: argparse.Namespace,
    part: str,
    runs: Iterable[Run],
) -> Futures:
    """Every run on every window of ``part``."""
    shape = (args.jobs, args.windows, args.tick_s)
    return [
        pool.submit(run_one, str(args.fleet), part, k, shape, name, over)
        for name, over in runs
        for k in range(args.windows)
    ]


def gather(futures: Futures) -> list[dict[str, Any]]:
    out = []
    for f in futures:
        row = f.result()
        out.append(row)
        print(f"  {row['part']}: {json.dumps(row)}", flush=True)
    return out


def mean_ratio(rows: list[dict[str, Any]], base: list[dict[str, Any]]) -> float:
    """Mean over windows of ``base``'s average JCT over ``rows``' (same windows)."""
    by = {r["window"]: r["avg_jct_s"] for r in rows}
    return statistics.fmean(b["avg_jct_s"] / by[b["window"]] for b in base)


def table(label: str, rows: list[dict[str, Any]], base: list[dict[str, Any]]) -> None:
    """One line per window (and the mean) for ``label``'s rows; ratio: ``base`` over it."""
    ref = {b["window"]: b["avg_jct_s"] for b in base}
    for r in rows:
        ratio = ref[r["window"]] / r["avg_jct_s"] if r["avg_jct_s"] else float("nan")
        print(
            f"| {label} | {r['window'] + 1} | {r['finished']:,}/{r['jobs']:,} | "
            f"{r['avg_jct_s']:,.1f} | {r['p50_jct_s']:,.1f} | {r['p95_jct_s']:,.1f} | "
            f"{r['preemptions']:,} | {r['cpu_s']:.1f} | {ratio:.3f} |"
        )
    avg = statistics.fmean(r["avg_jct_s"] for r in rows)
    print(f"| {label} | mean | | {avg:,.1f} | | | | | {mean_ratio(rows, base):.3f} |")


def key_of(over: Mapping[str, Any]) -> str:
    return json.dumps(dict(over), sort_keys=True, default=list)


def tune(tuned: list[dict[str, Any]]) -> Mapping[str, Any]:
    """(a): the setting with the lowest mean ratio of its average JCT to the shipped
    setting's over the tuning windows (the shipped one on a tie); the table printed."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in tuned:
        groups.setdefault(key_of(r["overrides"]), []).append(r)
    shipped = groups[key_of(GRID[0])]
    scores = {k: mean_ratio(shipped, g) for k, g in groups.items()}  # this / shipped
    print(f"(a) tuning windows, {len(GRID)} settings")
    for r in shipped:
        print(
            f"tuning window {r['window'] + 1}: {r['jobs']:,} jobs, trace seconds "
            f"{r['first_submit']:,.0f}-{r['last_submit']:,.0f}"
        )
    print(
        "| setting | window | finished | avg JCT s | p50 | p95 | preemptions | CPU s "
        "| shipped / this |"
    )
    print("|" + "---|" * 9)
    for k, g in sorted(groups.items(), key=lambda kv: scores[kv[0]]):
        table(k, g, shipped)
    winner = min(groups, key=lambda k: (scores[k], k != key_of(GRID[0])))
    best: Mapping[str, Any] = json.loads(winner)
    print(f"kept (lowest mean ratio to the shipped setting): {best}", flush=True)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--fleet", type=Path, default=ROOT / "examples" / "sim" / "philly-helios-cohort.yaml"
    )
    ap.add_argument("--jobs", type=int, default=1000, help="jobs per window; 0: whole halves")
    ap.add_argument("--windows", type=int, default=3, help="windows of each half")
    ap.add_argument(
        "--scale", type=float, default=0.125, help="the fleet's nodes and quotas times this"
    )
    ap.add_argument("--tick-s", type=float, default=3600.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--skip-tuning", action="store_true", help="report with the shipped constants only"
    )
    ap.add_argument("--skip-held", action="store_true", help="the tuning windows only")
    ap.add_argument(
        "--checkpoint-minutes", type=float, default=0.0, help="trace jobs checkpoint (0: none)"
    )
    ap.add_argument(
        "--skip", action="append", default=[], choices=BLIND, help="a blind baseline not run"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        args.fleet = scaled(args.fleet, args.scale, Path(tmp) / "scenario.yaml")
        if args.checkpoint_minutes > 0:
            data = yaml.safe_load(args.fleet.read_text())
            data["jobs"] = {"checkpoint": {"every_minutes": args.checkpoint_minutes}}
            args.fleet = Path(tmp) / "scenario-checkpoint.yaml"
            args.fleet.write_text(yaml.safe_dump(data, sort_keys=False))
        report(args)


def report(args: argparse.Namespace) -> None:
    print(
        f"load average {os.getloadavg()[0]:.1f}; fleet x{args.scale:g}; {args.windows} "
        f"windows of {args.jobs} jobs in each half; tick {args.tick_s:g} s; "
        f"workers {args.workers}; trace jobs checkpoint every "
        f"{args.checkpoint_minutes:g} min (0: never)",
        flush=True,
    )
    wall = time.monotonic()
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.workers) as pool:
        # The tuning runs first, then the shipped default's held-out runs (they keep the
        # workers busy while the last tuning runs end), then the tuned default's (if it
        # differs), then the baselines, which depend on no setting.
        tuning = (
            [] if args.skip_tuning else submit(pool, args, "tune", [("default", o) for o in GRID])
        )
        held: list[Run] = [(n, {}) for n in BLIND if n not in args.skip]
        held = [] if args.skip_held else [*held, ("sjf-oracle", {})]
        shipped = submit(pool, args, "held", [("default", {})] if held else [])
        best = tune(gather(tuning)) if tuning else {}
        extra = submit(pool, args, "held", [("default", best)]) if best and held else []
        fixed = submit(pool, args, "held", held)
        rows = gather(shipped) + gather(fixed) + gather(extra)
    if args.skip_held:
        print(f"wall {time.monotonic() - wall:.0f} s; load average {os.getloadavg()[0]:.1f}")
        return
    print(f"(b) held-out windows, load average {os.getloadavg()[0]:.1f}", flush=True)
    per: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        label = r["policy"]
        if label == "default":
            label = "default (shipped)" if best and not r["overrides"] else "default"
        per.setdefault(label, []).append(r)
    base = per["default"]
    for b in base:
        print(
            f"held-out window {b['window'] + 1}: {b['jobs']:,} jobs, trace seconds "
            f"{b['first_submit']:,.0f}-{b['last_submit']:,.0f}"
        )
    print(
        "| policy | window | finished | avg JCT s | p50 JCT s | p95 JCT s | preemptions "
        "| CPU s | default / this |"
    )
    print("|" + "---|" * 9)
    for label, g in per.items():
        table(label, g, base)
    sjf, fifo = per["sjf-oracle"], per.get("fifo")
    print(f"default / oracle SJF, mean over windows = {mean_ratio(sjf, base):.3f}")
    if fifo:
        print(f"default / FIFO, mean over windows = {mean_ratio(fifo, base):.3f}")
    blind = [label for label in per if label in BLIND]
    for k in range(args.windows):
        lost = [label for label in blind if per[label][k]["avg_jct_s"] <= base[k]["avg_jct_s"]]
        print(
            f"window {k + 1}: default below every blind baseline: "
            + ("yes" if not lost else f"NO ({', '.join(lost)})")
        )
    lost = [label for label in blind if mean_ratio(per[label], base) >= 1.0]
    print(
        "mean over windows: default below every blind baseline: "
        + ("yes" if not lost else f"NO ({', '.join(lost)})")
    )
    print(f"wall {time.monotonic() - wall:.0f} s; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
