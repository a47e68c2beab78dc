"""The simulator's Philly figures re-measured through the live cycle (issue 18, item 4).

    python bench/live_figures.py [--jobs 2000] [--skip 0] [--tick-s 60] [--workers 2]
                                 [--policies fifo sjf-oracle srtf-oracle default]
                                 [--cohort] [--old-src DIR] [--fleet examples/sim/philly-helios.yaml]

The README's and ``docs/sim-fidelity.md``'s Philly tables were measured through the old
path (``sim/replay.py``: ``Replay``, retired since). This replays a contiguous window of the same jobs
(the scenario's window, jobs ``--skip`` .. ``--skip + --jobs`` in submission order; 0: all
of it) through the server's own tick (``suanli.sim.live.LiveReplay``: admission, fair
queue, placement with the packing core, reservations as the scenario sets them,
preemption, dispatch, reconciliation, billing per attempt) with each policy, and with
``--old-src DIR`` the old path on the same jobs in the same run (``git archive ae2e427 src
| tar -x -C /tmp/old``, then ``--old-src /tmp/old/src``), so each difference can be read
against the old figure. ``sjf-oracle`` / ``srtf-oracle``: the trace's run time handed
over as each job's estimate (the old path's ``--estimates exact``). ``--cohort`` adds the
default on ``philly-helios-cohort.yaml`` (one cohort, borrowing). Each replay runs in a
child process of its own (``--workers`` at a time); printed per replay: policy, path,
jobs, finished, average / p50 / p99 JCT, average queueing (submission to first start),
average time not running (JCT minus the seconds
the finished attempt ran: live, a lost attempt's run counts as not running), preemptions,
CPU seconds (user + sys of the child) and, live, ticks and yuan billed.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TRACE = ROOT.parent / "shared" / "traces" / "sia-sosp23" / "traces" / "philly.csv"
FLEETS = ROOT / "examples" / "sim"
ORACLE = "-oracle"


def window(fleet: Path, skip: int, jobs: int) -> tuple[Any, list[Any]]:
    from suanli.sim.scenario import load_scenario, setup_for, windowed  # noqa: PLC0415
    from suanli.sim.traces import read_trace  # noqa: PLC0415

    scenario = load_scenario(fleet)
    loaded = read_trace("philly", TRACE)
    chosen = sorted(windowed(scenario, loaded.jobs), key=lambda j: j.submit)[skip:]
    return setup_for(scenario, loaded), chosen[:jobs] if jobs else chosen


def live(fleet: Path, policy: str, skip: int, jobs: int, tick_s: float) -> dict[str, Any]:
    import dataclasses  # noqa: PLC0415

    from suanli.domain.ids import JobId  # noqa: PLC0415
    from suanli.service import jobs as jobs_module  # noqa: PLC0415
    from suanli.sim.live import LiveReplay  # noqa: PLC0415

    # Ids in submission order: random ids break the queue's ties differently each run.
    ids = (JobId(f"j-{i:010d}") for i in itertools.count())
    jobs_module.new_job_id = lambda: next(ids)  # type: ignore[attr-defined]
    estimates = "exact" if policy.endswith(ORACLE) else "none"
    setup, chosen = window(fleet, skip, jobs)
    settings = dataclasses.replace(setup.settings, policy=policy.removesuffix(ORACLE))
    start = time.process_time()
    replay = LiveReplay(setup.fleet, setup.tenants, settings, tick_s=tick_s, estimates=estimates)
    out: dict[str, Any] = replay.run(chosen).to_dict()
    out["cpu_s"] = round(time.process_time() - start, 1)
    return out


def old(fleet: Path, policy: str, skip: int, jobs: int, src: str) -> dict[str, Any]:
    """The retired path (``sim/replay.py``) from an older source tree ``src``."""
    sys.path.insert(0, src)
    clock = importlib.import_module("suanli.domain.clock")
    replay = importlib.import_module("suanli.sim.replay")
    setup, chosen = window(fleet, skip, jobs)
    start = time.process_time()
    estimates = "exact" if policy.endswith(ORACLE) else "none"
    runner = replay.Replay(setup, policy.removesuffix(ORACLE), estimates, clock.SystemClock())
    out: dict[str, Any] = runner.run(chosen).to_dict()
    out["cpu_s"] = round(time.process_time() - start, 1)
    return out


def one(run: tuple[str, str, str, int, int, float, str]) -> dict[str, Any]:
    path, fleet, policy, skip, jobs, tick_s, src = run
    load = os.getloadavg()[0]
    if path == "live":
        out = live(Path(fleet), policy, skip, jobs, tick_s)
    else:
        out = old(Path(fleet), policy, skip, jobs, src)
    out.update(path=path, fleet=Path(fleet).name, policy=policy, load=(load, os.getloadavg()[0]))
    return out


def row(r: dict[str, Any]) -> str:
    extra = (
        f", {r['ticks']:,} ticks, billed {r['billed_yuan']} yuan" if r["path"] == "live" else ""
    )
    return (
        f"{r['path']:4} {r['fleet']:27} {r['policy']:12} jobs {r['jobs']:,} finished "
        f"{r['finished']:,}: avg JCT {r['avg_jct_s']:,.1f} s, p50 {r['p50_jct_s']:,.1f} s, "
        f"p99 {r['p99_jct_s']:,.1f} s, queue {r['avg_queue_s']:,.1f} s, not running {r['avg_wait_s']:,.1f} s, "
        f"preemptions {r['preemptions']:,}, CPU {r['cpu_s']:,.1f} s{extra} "
        f"(load {r['load'][0]:.1f}-{r['load'][1]:.1f})"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fleet", type=Path, default=FLEETS / "philly-helios.yaml")
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--skip", type=int, default=0)
    ap.add_argument("--tick-s", type=float, default=60.0)  # the CLI's (``sim replay --live``)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--policies", nargs="+", default=["fifo", "sjf-oracle", "srtf-oracle", "default"]
    )
    ap.add_argument("--cohort", action="store_true")
    ap.add_argument(
        "--old-src", help="also replay with the retired path from this source tree (src/)"
    )
    ap.add_argument("--json", type=Path, help="write every replay's figures here")
    args = ap.parse_args()
    runs = [
        ("live", str(args.fleet), p, args.skip, args.jobs, args.tick_s, "") for p in args.policies
    ]
    if args.cohort:
        cohort = str(FLEETS / "philly-helios-cohort.yaml")
        runs.append(("live", cohort, "default", args.skip, args.jobs, args.tick_s, ""))
    if args.old_src:
        runs += [("old", *r[1:6], str(Path(args.old_src).resolve())) for r in list(runs)]
    print(
        f"Philly window jobs {args.skip:,}..{args.skip + args.jobs:,} (0: all), "
        f"tick_s {args.tick_s:g}, {len(runs)} replays, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    found: list[dict[str, Any]] = []
    with ProcessPoolExecutor(args.workers, max_tasks_per_child=1) as pool:
        for r in pool.map(one, runs):
            print(row(r), flush=True)
            found.append(r)
    by = {(r["path"], r["fleet"], r["policy"]): r for r in found}
    for path in ("live", "old"):
        base = by.get((path, args.fleet.name, "default"))
        for other in ("fifo", "sjf-oracle"):
            ref = by.get((path, args.fleet.name, other))
            if base and ref and ref["avg_jct_s"]:
                ratio = base["avg_jct_s"] / ref["avg_jct_s"]
                print(f"{path}: default / {other} avg JCT = {ratio:.3f}")
    if args.json is not None:
        args.json.write_text(json.dumps(found, indent=2) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
