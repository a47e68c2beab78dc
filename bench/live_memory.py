"""Memory a live replay keeps per job (issue 18: the trace x13, ~1M jobs, in <= 4 GB).

    python bench/live_memory.py [--jobs 1000 --jobs 3000] [--fleet ...] [--tick-s 3600]
                                [--baseline-src DIR] [--traced]

Each replay (``suanli.sim.live.LiveReplay``, the first N Philly jobs on the cohort fleet,
as ``bench/live_speed.py`` runs it) runs in a child process. After it, the child walks
every object reachable from the replay's memory database (jobs, events, usage records,
settlements, the ledger: what the server's stores would keep), counting each object once
(``sys.getsizeof``: a slotted instance with its fields, a plain one without the array its
attributes live in, so the census flatters a tree without slots), and prints the bytes by
type and the process's peak RSS. ``--traced``: the children also trace every allocation
(``tracemalloc``, which slows them ~3x and inflates their RSS) and print what the whole
replay still holds after it, everything counted (the figure to compare two trees by). Per window size: KB held by the stores per job; between the two
sizes: the slope (KB per extra job, which leaves out what does not grow with the jobs) and
the peak-RSS slope, and the peak RSS they extrapolate to for 1M jobs (an extrapolation
from two prefixes of one trace, not a 1M-job run). ``--baseline-src DIR`` runs the same
windows with another source tree (``git archive OLD src | tar -x -C DIR``) in the same run.
The replay's figures (avg JCT, billed yuan) are printed so that two trees can be seen to
decide the same.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import types
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TRACE = ROOT.parent / "shared" / "traces" / "sia-sosp23" / "traces" / "philly.csv"
MILLION = 1_000_000
SKIP = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType)


def census(root: object) -> dict[str, list[int]]:
    """Bytes and count per type of every object reachable from ``root``, each once."""
    seen: set[int] = set()
    by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    stack: list[Any] = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, SKIP):
            continue
        seen.add(id(obj))
        row = by_type[type(obj).__qualname__]
        row[0] += sys.getsizeof(obj)
        row[1] += 1
        stack.extend(gc.get_referents(obj))
    return dict(by_type)


def child(fleet: Path, jobs: int, tick_s: float, traced: bool) -> None:
    import itertools  # noqa: PLC0415
    import tracemalloc  # noqa: PLC0415

    from suanli.domain.ids import JobId  # noqa: PLC0415
    from suanli.service import jobs as jobs_module  # noqa: PLC0415
    from suanli.sim.live import LiveReplay  # noqa: PLC0415 (child only)
    from suanli.sim.scenario import load_scenario, setup_for  # noqa: PLC0415
    from suanli.sim.traces import read_trace  # noqa: PLC0415

    # Numbered ids as bench/live_speed.py (an older tree draws them at random otherwise).
    ids = (JobId(f"j-{i:010d}") for i in itertools.count())
    jobs_module.new_job_id = lambda: next(ids)  # type: ignore[attr-defined]
    scenario = load_scenario(fleet)
    loaded = read_trace("philly", TRACE)
    chosen = sorted(loaded.jobs, key=lambda j: j.submit)[:jobs]
    setup = setup_for(scenario, loaded)
    gc.collect()
    if traced:
        tracemalloc.start(1)
    replay = LiveReplay(setup.fleet, setup.tenants, setup.settings, tick_s=tick_s)
    report = replay.run(chosen).to_dict()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] if traced else 0
    db = replay.platform.jobs._db  # type: ignore[attr-defined] # the memory stores' tables
    out = {
        "jobs": report["jobs"],
        "avg_jct_s": report["avg_jct_s"],
        "billed_yuan": report["billed_yuan"],
        "preemptions": report["preemptions"],
        "census": census(db),
        "held": held,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(json.dumps(out))


def measure(args: argparse.Namespace, src: Path, jobs: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", "--fleet", str(args.fleet)]
    cmd += ["--jobs", str(jobs), "--tick-s", str(args.tick_s)] + (
        ["--traced"] if args.traced else []
    )
    env = dict(os.environ, PYTHONPATH=str(src))
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    kept = sum(b for b, _ in out["census"].values())
    out["kept"] = kept
    print(
        f"{src}: {out['jobs']:,} jobs, stores hold {kept / 1e6:,.2f} MB "
        f"({kept / out['jobs'] / 1e3:,.2f} KB per job), "
        + (f"replay holds {out['held'] / 1e6:,.2f} MB (tracemalloc), " if out["held"] else "")
        + "peak RSS "
        f"{out['peak_rss_kb'] / 1024:,.0f} MB; avg JCT {out['avg_jct_s']:,} s, "
        f"preemptions {out['preemptions']:,}, billed {out['billed_yuan']} yuan; "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return out


def slope(src: Path, small: dict[str, Any], large: dict[str, Any], top: int) -> float:
    extra = large["jobs"] - small["jobs"]
    kept: float = (large["kept"] - small["kept"]) / extra
    rss = (large["peak_rss_kb"] - small["peak_rss_kb"]) * 1024 / extra
    if large["held"]:
        held = (large["held"] - small["held"]) / extra
        print(f"{src}: per extra job {held:,.0f} B held by the whole replay (tracemalloc)")
    at_million = large["peak_rss_kb"] * 1024 + rss * (MILLION - large["jobs"])
    print(
        f"{src}: per extra job {kept:,.0f} B held by the stores, {rss:,.0f} B of peak RSS; "
        f"1M jobs extrapolated: stores {kept * MILLION / 1e9:,.2f} GB, "
        f"peak RSS {at_million / 1e9:,.2f} GB (target <= 4 GB; an extrapolation)"
    )
    rows = []
    for name in large["census"].keys() | small["census"].keys():
        b1, n1 = large["census"].get(name, (0, 0))
        b0, n0 = small["census"].get(name, (0, 0))
        rows.append(((b1 - b0) / extra, (n1 - n0) / extra, name))
    for b, n, name in sorted(rows, reverse=True)[:top]:
        print(f"    {b:8,.0f} B {n:6.2f} objects per job  {name}")
    return kept


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--fleet", type=Path, default=ROOT / "examples" / "sim" / "philly-helios-cohort.yaml"
    )
    ap.add_argument("--jobs", type=int, action="append")
    ap.add_argument("--tick-s", type=float, default=3600.0)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--baseline-src", type=Path)
    ap.add_argument("--traced", action="store_true")
    ap.add_argument("--child", action="store_true")
    args = ap.parse_args()
    sizes = sorted(args.jobs or [1000, 3000])
    if args.child:
        child(args.fleet, sizes[0], args.tick_s, args.traced)
        return
    if len(sizes) != 2:
        ap.error("--jobs twice (two window sizes) or not at all")
    trees = ([args.baseline_src] if args.baseline_src else []) + [ROOT / "src"]
    runs = {src: [measure(args, src, n) for n in sizes] for src in trees}
    per_job = {src: slope(src, runs[src][0], runs[src][1], args.top) for src in trees}
    if args.baseline_src:
        base, now = runs[args.baseline_src], runs[ROOT / "src"]
        same = all(
            b[k] == n[k]
            for b, n in zip(base, now, strict=True)
            for k in ("avg_jct_s", "billed_yuan")
        )
        print(
            f"ratio held per extra job baseline / now = "
            f"{per_job[args.baseline_src] / per_job[ROOT / 'src']:.2f}; "
            f"figures {'identical' if same else 'DIFFER'}"
        )


if __name__ == "__main__":
    main()
