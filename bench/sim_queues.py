"""Queueing targets of issue 8, each measured side by side in one run (prints figures and ratios).

    python bench/sim_queues.py [--traces DIR] [--only philly|cohort|gavel|speed] [--load L]
                               [--jobs 2000]

Every replay runs through the live cycle (``sim.live.LiveReplay``, ~100 jobs per CPU
second): only the first ``--jobs`` jobs of each window (default 2,000, a few CPU minutes
per scenario; 0: the whole window, hours) are replayed. The figures in docs/ measured on
whole windows came from the retired old path (docs/sim-fidelity.md says which).

- philly: Helios window, isolated VCs (examples/sim/philly-helios.yaml): FIFO, oracle SJF
  and SRTF (--estimates exact) and suanli's default with no estimates; Helios' figures beside.
- cohort: the same fleet as one cohort with borrowing (philly-helios-cohort.yaml) vs FIFO
  isolated: average queueing ratio.
- gavel: 36 V100 + 36 P100 + 36 K80, each seed=0 msr trace of >= 500 jobs alone and all
  of them together, arrivals squeezed or stretched to offered load ``--load`` (default 1.0,
  ``suanli sim replay --load``; 0: the traces' own times): default vs
  heterogeneity-agnostic FIFO, and a markdown table of the figures.
- speed: the cohort window's first ``--jobs`` jobs under the default policy, wall seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

from suanli.sim.live_report import LiveReport
from suanli.sim.load import at_load
from suanli.sim.report import write_report
from suanli.sim.scenario import load_scenario, setup_for, windowed
from suanli.sim.traces import read_trace

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "sim"
HELIOS = {"fifo": (86_072, 56_531), "sjf": (34_272, 4_731), "srtf": (30_683, 1_138)}


REPORTS: dict[str, list[LiveReport]] = {}
WINDOW = {"jobs": 2000}  # set from --jobs


def run(
    scenario: str, fmt: str, path: Path, policy: str, estimates: str = "none", load: float = 0
) -> dict[str, Any]:
    scen = load_scenario(EXAMPLES / scenario)
    trace = read_trace(fmt, path)
    setup = setup_for(scen, trace)
    jobs = windowed(scen, trace.jobs)
    if WINDOW["jobs"] > 0:
        jobs = jobs[: WINDOW["jobs"]]
    offered = stretch = 1.0
    if load > 0:
        jobs, offered, stretch = at_load(jobs, load, setup.fleet, setup.throughput)
    cpu = time.process_time()
    report = setup.replay(policy, estimates).run(jobs)
    out = report.to_dict()
    out["cpu_s"] = round(time.process_time() - cpu, 1)
    if load > 0:
        out["load"] = {"offered": round(offered, 3), "asked": load, "stretch": round(stretch, 4)}
    # No policy beats every job on its fastest model with no wait (for heterogeneity).
    table = setup.throughput
    if table is not None:
        models = {p.accelerator for _, p in setup.fleet.pools() if p.accelerator}
        best = [j.work / max(table.rate(j.job_class, m) for m in models) for j in jobs]
        out["bound_avg_jct_s"] = round(sum(best) / max(len(best), 1), 1)
    out.pop("per_tenant")
    print(json.dumps({"scenario": scenario, "estimates": estimates, **out}), flush=True)
    if estimates == "exact":
        report = dataclasses.replace(report, policy=f"{policy} (exact estimates)")
    REPORTS.setdefault(f"{scenario} {path.name}", []).append(report)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", type=Path, default=ROOT.parent / "shared" / "traces")
    ap.add_argument("--only", choices=["philly", "cohort", "gavel", "speed"])
    ap.add_argument("--report", type=Path, help="one plot report per scenario in this folder")
    ap.add_argument("--load", type=float, default=1.0, help="gavel: offered load (0: as traced)")
    ap.add_argument("--jobs", type=int, default=2000, help="first N jobs of each window")
    ap.add_argument("--alone", action="store_true", help="gavel: each trace alone, not all too")
    args = ap.parse_args()
    WINDOW["jobs"] = args.jobs
    philly = args.traces / "sia-sosp23" / "traces" / "philly.csv"
    fifo: dict[str, Any] = {}
    if args.only in (None, "philly", "cohort"):
        fifo = run("philly-helios.yaml", "philly", philly, "fifo")
    if args.only in (None, "philly"):
        sjf = run("philly-helios.yaml", "philly", philly, "sjf", "exact")
        srtf = run("philly-helios.yaml", "philly", philly, "srtf", "exact")
        default = run("philly-helios.yaml", "philly", philly, "default")
        for name, r in (("fifo", fifo), ("sjf", sjf), ("srtf", srtf)):
            jct, queue = HELIOS[name]
            print(
                f"{name}: avg JCT {r['avg_jct_s']:,.0f} s (Helios {jct:,}), "
                f"avg queue {r['avg_queue_s']:,.0f} s (Helios {queue:,})"
            )
        print(
            f"default: avg JCT {default['avg_jct_s']:,.0f} s, queue {default['avg_queue_s']:,.0f}"
            f" s, worst tenant {default['worst_tenant']} "
            f"{default['worst_tenant_avg_queue_s']:,.0f} s"
        )
        mean_run = fifo["avg_jct_s"] - fifo["avg_wait_s"]
        print(
            f"contention: fifo avg queue / mean run = {fifo['avg_queue_s'] / mean_run:.2f}"
            f" ({fifo['avg_queue_s']:,.0f} / {mean_run:,.0f} s; target >= 5)"
        )
        print(
            f"default: preemptions {default['preemptions']:,}, avg time not running "
            f"{default['avg_wait_s']:,.0f} s, quota met (worst tenant) "
            f"{default['quota_met_worst']:.3f} ({default['quota_met_worst_tenant']})"
        )
        print(
            f"ratio default/sjf-oracle avg JCT = {default['avg_jct_s'] / sjf['avg_jct_s']:.3f}"
            " (target <= 1)"
        )
        print(
            f"ratio default/fifo avg JCT = {default['avg_jct_s'] / fifo['avg_jct_s']:.3f}"
            " (target <= 0.4)"
        )
    if args.only in (None, "cohort"):
        cohort = run("philly-helios-cohort.yaml", "philly", philly, "default")
        print(
            f"ratio cohort-default/fifo-isolated avg queue = "
            f"{cohort['avg_queue_s'] / max(fifo['avg_queue_s'], 1e-9):.4f} (target <= 0.05)"
        )
        print(
            f"cohort: each VC's share of the time it asked for its quota that it held it, "
            f"worst {cohort['quota_met_worst']:.3f} ({cohort['quota_met_worst_tenant']})"
        )
    if args.only in (None, "gavel"):
        folder = args.traces / "gavel-osdi20" / "traces" / "msr" / "seed=0"
        ratios = []
        rows = []
        # Each VC's trace alone on the 36x3 cluster (the ones with >= 500 jobs), then all.
        big = [f for f in sorted(folder.glob("*.trace")) if len(f.read_text().splitlines()) >= 500]
        for path in big if args.alone else [*big, folder]:
            agnostic = run("gavel-36x3.yaml", "gavel", path, "fifo-agnostic", load=args.load)
            aware = run("gavel-36x3.yaml", "gavel", path, "default", load=args.load)
            ratio = agnostic["avg_jct_s"] / aware["avg_jct_s"]
            ratios.append(ratio)
            print(
                f"gavel {path.name}: {aware['jobs']} jobs, fifo-agnostic/default avg JCT = "
                f"{ratio:.2f} (target >= 2)",
                flush=True,
            )
            traced = agnostic.get("load", {}).get("offered", "")
            rows.append(
                f"| {path.stem if path.is_file() else 'all'} | {aware['jobs']:,} | {traced} | "
                f"{agnostic['avg_jct_s']:,.0f} | {agnostic['avg_queue_s']:,.0f} | "
                f"{aware['avg_jct_s']:,.0f} | {aware['avg_queue_s']:,.0f} | "
                f"{aware['preemptions']:,} | {aware['bound_avg_jct_s']:,.0f} | "
                f"**{ratio:.2f}x** |"
            )
        geo = math.prod(ratios) ** (1 / len(ratios))
        print(f"gavel: min ratio {min(ratios):.2f}, geometric mean {geo:.2f} over {len(ratios)}")
        print(
            "| trace | jobs | offered load as traced | fifo-agnostic avg JCT (s) | "
            "avg queue (s) | default avg JCT (s) | avg queue (s) | preemptions | "
            "no-wait bound (s) | ratio |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        print("\n".join(rows))
    if args.only in (None, "speed"):
        start = time.monotonic()
        r = run("philly-helios-cohort.yaml", "philly", philly, "default")
        print(f"cohort window under default: {r['jobs']} jobs in {time.monotonic() - start:.1f} s")
    if args.report is not None:
        for i, (name, reports) in enumerate(REPORTS.items()):
            write_report(reports, args.report / f"{i}-{name.split()[0]}", name)
        print(f"reports in {args.report}")


if __name__ == "__main__":
    main()
