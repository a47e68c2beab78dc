"""Virtual clusters through the live cycle (issue 18): the old replay and the live one.

    python bench/vc_pools.py [--jobs 1000] [--fleet examples/sim/philly-helios.yaml]
                             [--tick-s 3600] [--no-preempt]

The first ``--jobs`` jobs of the scenario's window of the Philly trace, each virtual
cluster a tenant limited to its own pool (``pools:`` in the scenario), replayed by the old
path (``sim.replay.Replay``, default policy) and by the server's own control loop
(``sim.live.LiveReplay``) in the same process, one after the other. Printed per path:
jobs, finished, average and median JCT, average wait, makespan, preemptions, wall and CPU
seconds, and the load average before each run. ``--no-preempt`` pins running work in
both paths (the two paths treat a preempted attempt differently: the old one resumes it
from a checkpoint, the live engine runs it again from the start).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

from suanli.domain.clock import SystemClock
from suanli.sim.live import LiveReplay
from suanli.sim.replay import Replay
from suanli.sim.scenario import load_scenario, setup_for, windowed
from suanli.sim.traces import read_trace

ROOT = Path(__file__).resolve().parents[1]
NEVER_S = 10 * 365 * 86400.0
TRACE = ROOT.parent / "shared" / "traces" / "sia-sosp23" / "traces" / "philly.csv"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--fleet", type=Path, default=ROOT / "examples/sim/philly-helios.yaml")
    ap.add_argument("--tick-s", type=float, default=3600.0)
    ap.add_argument(
        "--no-preempt",
        action="store_true",
        help="min_run_s of ten years in both paths: running work is never asked to stop",
    )
    args = ap.parse_args()
    scenario = load_scenario(args.fleet)
    loaded = read_trace("philly", TRACE)
    jobs = windowed(scenario, loaded.jobs)[: args.jobs]
    setup = setup_for(scenario, loaded)
    if args.no_preempt:
        settings = dataclasses.replace(setup.settings, min_run_s=NEVER_S)
        setup = dataclasses.replace(setup, settings=settings)
    rows: list[dict[str, object]] = []

    load = os.getloadavg()[0]
    wall, cpu = time.monotonic(), time.process_time()
    old = Replay(setup, "default", "none", SystemClock()).run(jobs)
    rows.append(
        {
            "path": "Replay (sim/replay.py)",
            "jobs": old.jobs,
            "finished": old.finished,
            "avg_jct_s": old.avg_jct_s,
            "p50_jct_s": old.p50_jct_s,
            "avg_wait_s": old.avg_queue_s,
            "makespan_s": old.makespan_s,
            "preemptions": old.preemptions,
            "moves": old.moves,
            "wall_s": round(time.monotonic() - wall, 1),
            "cpu_s": round(time.process_time() - cpu, 1),
            "load": round(load, 1),
        }
    )
    load = os.getloadavg()[0]
    wall, cpu = time.monotonic(), time.process_time()
    live = LiveReplay(setup.fleet, setup.tenants, setup.settings, tick_s=args.tick_s).run(jobs)
    rows.append(
        {
            "path": "live cycle (sim/live.py)",
            "jobs": live.jobs,
            "finished": live.finished,
            "avg_jct_s": live.avg_jct_s,
            "p50_jct_s": live.p50_jct_s,
            "avg_wait_s": live.avg_wait_s,
            "makespan_s": live.makespan_s,
            "preemptions": live.preemptions,
            "ticks": live.ticks,
            "wall_s": round(time.monotonic() - wall, 1),
            "cpu_s": round(time.process_time() - cpu, 1),
            "load": round(load, 1),
        }
    )
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
