"""Virtual clusters through the live cycle (issue 18).

    python bench/vc_pools.py [--jobs 1000] [--fleet examples/sim/philly-helios.yaml]
                             [--tick-s 3600] [--no-preempt]

The first ``--jobs`` jobs (default 1,000: a few CPU minutes at most) of the scenario's
window of the Philly trace, each virtual cluster a tenant limited to its own pool
(``pools:`` in the scenario), replayed by the server's own control loop
(``sim.live.LiveReplay``, default policy). Printed: jobs, finished, average and median
JCT, average queueing and wait, makespan, preemptions, ticks, wall and CPU seconds, and
the load average before the run. ``--no-preempt`` pins running work (a preempted attempt
runs again from its start on the live platform). The old replay path (``sim/replay.py``)
this bench compared against is retired (docs/sim-fidelity.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

from suanli.sim.live import LiveReplay
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
    live = LiveReplay(setup.fleet, setup.tenants, setup.settings, tick_s=args.tick_s).run(jobs)
    # avg_queue_s: submission to first start; avg_wait_s: JCT minus the last attempt's run.
    rows.append(
        {
            "path": "live cycle (sim/live.py)",
            "jobs": live.jobs,
            "finished": live.finished,
            "avg_jct_s": live.avg_jct_s,
            "p50_jct_s": live.p50_jct_s,
            "avg_queue_s": live.avg_queue_s,
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
