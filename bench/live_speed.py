"""Speed of the live cycle's replay (issue 18): trace jobs through the server's own tick.

    python bench/live_speed.py [--jobs 2000] [--fleet examples/sim/philly-helios-cohort.yaml]
                               [--tick-s 3600] [--repeat 1] [--baseline-src DIR]

Each replay (``suanli.sim.live.LiveReplay``) runs in a child process so that its CPU
seconds and peak RSS are its own; printed per run: jobs, ticks, wall and CPU seconds (user
+ sys: the figure that does not depend on what else the machine runs), jobs per CPU second,
peak RSS, and the replay's figures (which a speed-up must leave unchanged). ``--jobs 0``:
the whole trace (``--repeat`` times, shifted). ``--baseline-src DIR`` replays the same jobs
with another source tree first (e.g. ``git archive OLD src | tar -x -C /tmp/old``), in the
same run, and prints the ratio. The default fleet is the cohort scenario (the figures
below were measured on it); ``philly-helios.yaml`` (each VC its own pool) runs too, see
``bench/vc_pools.py``. Targets (issue 18): the whole Philly trace (82k jobs) in
<= 60 s and the trace x13 in <= 15 min and <= 4 GB, on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRACE = ROOT.parent / "shared" / "traces" / "sia-sosp23" / "traces" / "philly.csv"
WHOLE_JOBS = 82_247  # the Philly trace's jobs (the target's size)


def child(fleet: Path, jobs: int, tick_s: float, repeat: int) -> None:
    import itertools  # noqa: PLC0415

    from suanli.domain.ids import JobId  # noqa: PLC0415
    from suanli.service import jobs as jobs_module  # noqa: PLC0415
    from suanli.sim.live import LiveReplay  # noqa: PLC0415 (child only)
    from suanli.sim.scenario import load_scenario, repeated, setup_for  # noqa: PLC0415
    from suanli.sim.traces import read_trace  # noqa: PLC0415

    # Job ids are drawn at random and break ties in the queue's order: two runs of one
    # source differ by their ids alone (avg JCT 37,094.5 to 37,117.0 s on 5,000 jobs). The
    # bench numbers them in submission order so that two sources are compared on one input.
    ids = (JobId(f"j-{i:010d}") for i in itertools.count())
    jobs_module.new_job_id = lambda: next(ids)  # type: ignore[attr-defined]
    scenario = load_scenario(fleet)
    loaded = read_trace("philly", TRACE)
    chosen = repeated(loaded.jobs, repeat)
    chosen = chosen[:jobs] if jobs else chosen
    setup = setup_for(scenario, loaded)
    start = time.process_time()
    report = LiveReplay(setup.fleet, setup.tenants, setup.settings, tick_s=tick_s).run(chosen)
    out = report.to_dict()
    out["replay_cpu_s"] = round(time.process_time() - start, 2)
    print(json.dumps(out))


def measure(args: argparse.Namespace, src: Path) -> dict[str, float]:
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    cmd = [sys.executable, __file__, "--child", "--fleet", str(args.fleet)]
    cmd += ["--jobs", str(args.jobs), "--tick-s", str(args.tick_s), "--repeat", str(args.repeat)]
    env = dict(os.environ, PYTHONPATH=str(src))
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out.update(wall_s=round(wall, 1), cpu_s=round(cpu, 1), peak_rss_mb=after.ru_maxrss // 1024)
    rate = out["jobs"] / out["replay_cpu_s"] if out["replay_cpu_s"] else float("inf")
    print(
        f"{src}: {out['jobs']:,} jobs, {out['ticks']:,} ticks, wall {wall:.1f} s, "
        f"cpu {cpu:.1f} s (replay {out['replay_cpu_s']:.1f} s: {rate:,.0f} jobs per CPU s), "
        f"peak RSS {out['peak_rss_mb']:,} MB; avg JCT {out['avg_jct_s']:,} s, "
        f"p50 {out['p50_jct_s']:,} s, finished {out['finished']:,}, "
        f"preemptions {out['preemptions']:,}, billed {out['billed_yuan']} yuan; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after",
        flush=True,
    )
    out["rate"] = rate
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--fleet", type=Path, default=ROOT / "examples" / "sim" / "philly-helios-cohort.yaml"
    )
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--tick-s", type=float, default=3600.0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--baseline-src", type=Path)
    ap.add_argument("--child", action="store_true")
    args = ap.parse_args()
    if args.child:
        child(args.fleet, args.jobs, args.tick_s, args.repeat)
        return
    base = measure(args, args.baseline_src) if args.baseline_src else None
    now = measure(args, ROOT / "src")
    if base is not None:
        same = all(base[k] == now[k] for k in ("avg_jct_s", "p50_jct_s", "billed_yuan"))
        print(
            f"ratio replay CPU baseline / now = {base['replay_cpu_s'] / now['replay_cpu_s']:.1f}"
            f"; figures {'identical' if same else 'DIFFER'}"
        )
    print(
        f"ratio whole-trace target 60 s / CPU s at this rate ({WHOLE_JOBS:,} jobs) = "
        f"{60 / (WHOLE_JOBS / now['rate']):.3f} (a rate on a prefix, not a whole-trace run)"
    )


if __name__ == "__main__":
    main()
