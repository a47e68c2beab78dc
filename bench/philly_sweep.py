"""Contention settings for the Philly replay (issue 8): FIFO / oracle SJF / oracle SRTF /
default side by side on fleets derived from ``examples/sim/philly-helios.yaml``.

    python bench/philly_sweep.py --fraction 0.25 --node 4 [--days 21] [--jobs 2000]
                                 [--policies ...]

Every replay runs through the live cycle (``sim.live.LiveReplay``, ~100 jobs per CPU
second): only the window's first ``--jobs`` jobs (default 2,000, a few CPU minutes per
policy; 0: the whole window, hours) are replayed. The sweep's table in
docs/sim-fidelity.md was measured on whole windows through the retired old path.

Each VC keeps Helios' shape (``philly_vc.csv``: nodes x 8 GPUs) scaled by ``--fraction``, on
nodes of ``--node`` accelerators (rounded to whole nodes), and never below the widest job
the VC gets in the whole Helios window (every job must fit its VC). ``--days`` cuts the
window to its first N days (the shipped figures use the whole window). Prints one JSON line
per replay, then a markdown row: FIFO queueing / mean run, SJF/FIFO, SRTF/SJF,
default/SJF, default/FIFO (Helios: 0.40, 0.90, 4.8x with the Sia copy's mean run).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from suanli.sim.scenario import load_scenario, setup_for, windowed
from suanli.sim.traces import read_trace

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "examples" / "sim" / "philly-helios.yaml"
DAY = 86_400.0


def helios_nodes(traces: Path) -> dict[str, int]:
    rows = (traces / "helios-aggregates" / "philly_vc.csv").read_text().splitlines()[1:]
    return {vc: int(n) for vc, n in (r.split(",") for r in rows if r.strip())}


def fleet_yaml(nodes8: dict[str, int], widest: dict[str, int], fraction: float, node: int) -> str:
    """philly-helios.yaml with each VC at ``fraction`` of Helios' GPUs on ``node``-GPU nodes."""
    data = yaml.safe_load(BASE.read_text())
    pools = data["fleet"]["providers"][0]["clusters"][0]["pools"]
    sizes: dict[str, int] = {}
    for pool in pools:
        vc = pool["name"].removeprefix("vc-")
        want = max(1, round(nodes8[vc] * 8 * fraction / node))
        n = max(want, math.ceil(widest.get(vc, 1) / node))
        pool["nodes"], pool["accelerators_per_node"] = n, node
        sizes[vc] = n * node
    for tenant in data["tenants"]:
        tenant["quota"] = {"V100": sizes[tenant["name"]]}
    data["description"] = f"Philly, isolated VCs, {fraction:g} of Helios' GPUs, {node}-GPU nodes"
    return yaml.safe_dump(data, sort_keys=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", type=Path, default=ROOT.parent / "shared" / "traces")
    ap.add_argument("--fraction", type=float, default=0.25)
    ap.add_argument("--node", type=int, default=4, help="accelerators per node")
    ap.add_argument("--days", type=float, default=0, help="first N days of the window (0: all)")
    ap.add_argument("--jobs", type=int, default=2000, help="the window's first N (0: all)")
    ap.add_argument("--policies", nargs="+", default=["fifo", "sjf", "srtf", "default"])
    args = ap.parse_args()
    trace = read_trace("philly", args.traces / "sia-sosp23" / "traces" / "philly.csv")
    base = load_scenario(BASE)
    widest: dict[str, int] = {}
    for j in windowed(base, trace.jobs):
        widest[j.tenant] = max(widest.get(j.tenant, 0), j.accelerators)
    text = fleet_yaml(helios_nodes(args.traces), widest, args.fraction, args.node)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    scen = load_scenario(Path(f.name))
    Path(f.name).unlink()
    jobs = windowed(scen, trace.jobs)
    if args.days > 0 and scen.since is not None:
        jobs = [j for j in jobs if j.submit < scen.since + args.days * DAY]
    if args.jobs > 0:
        jobs = jobs[: args.jobs]
    setup = setup_for(scen, trace)
    gpus = sum(p.nodes * p.accelerators_per_node for _, p in scen.fleet.pools())
    out: dict[str, dict[str, Any]] = {}
    for policy in args.policies:
        estimates = "exact" if policy in ("sjf", "srtf") else "none"
        cpu = time.process_time()
        r = setup.replay(policy, estimates).run(jobs).to_dict()
        r["cpu_s"] = round(time.process_time() - cpu, 1)
        r.pop("per_tenant")
        out[policy] = r
        print(
            json.dumps({"fraction": args.fraction, "node": args.node, "run": policy, **r}),
            flush=True,
        )
    jct = {p: r["avg_jct_s"] for p, r in out.items()}

    def ratio(a: str, b: str) -> str:
        return f"{jct[a] / jct[b]:.3f}" if a in jct and b in jct else ""

    contention = ""
    if "fifo" in out:
        fifo = out["fifo"]
        mean_run = fifo["avg_jct_s"] - fifo["avg_wait_s"]
        contention = f"{fifo['avg_queue_s'] / mean_run:.2f}"
    rejected = max(r["rejected"] for r in out.values())
    print(
        "| fraction | node GPUs | GPUs | jobs | rejected | FIFO queue / mean run | FIFO | SJF | "
        "SRTF | default | SJF/FIFO | SRTF/SJF | default/SJF | default/FIFO |",
        file=sys.stderr,
    )
    cells = [
        f"{args.fraction:g}",
        str(args.node),
        f"{gpus:,}",
        f"{len(jobs):,}",
        str(rejected),
        contention,
        *(f"{jct[p]:,.0f}" if p in jct else "" for p in ("fifo", "sjf", "srtf", "default")),
        ratio("sjf", "fifo"),
        ratio("srtf", "sjf"),
        ratio("default", "sjf"),
        ratio("default", "fifo"),
    ]
    print("| " + " | ".join(cells) + " |", flush=True)
    if "known-distribution" in jct:
        print(
            f"known-distribution: {jct['known-distribution']:,.0f} s"
            + (f", /SJF {ratio('known-distribution', 'sjf')}" if "sjf" in jct else "")
            + (f", /default {ratio('known-distribution', 'default')}" if "default" in jct else ""),
            flush=True,
        )


if __name__ == "__main__":
    main()
