"""Benchmark: GPU allocation of every packing policy on the openb traces (FGD, ATC'23 protocol).

Replays a pod list onto the 1,523-node cluster at load 1.3 for seeds 42-51 and prints, per
policy, the mean / min / max GPU allocation ratio and seconds per replay, then default's mean
over best-fit's, both measured in this process. Published (default trace, mean of 10 seeds):
Random 87.47%, BestFit 93.08%, FGD 95.39%.

``--all-traces`` runs every pod list of the folder (default, cpu050, gpushare100,
multigpu50) and ends with one table: per trace default, best-fit, the published figures
where known, and ``--bound``'s upper bound on what any policy could reach (``sim.packbound``:
mean over the seeds of the smaller of the capacity and must-place bounds).

    .venv/bin/python bench/pack_openb.py [--seeds 10] [--load 1.3] [--policy fgd ...]
    .venv/bin/python bench/pack_openb.py --all-traces --bound
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from suanli.domain.clock import SystemClock
from suanli.scheduler.packing import POLICIES, NodeSpec, PodRequest
from suanli.sim.openb import read_nodes, read_pods
from suanli.sim.pack import PackReport, arrived_pods, replay_pack
from suanli.sim.packbound import allocation_bound

OPENB = Path(__file__).resolve().parents[2] / "shared" / "traces" / "alibaba-gpu-v2023-openb"
TRACES = ("default", "cpu050", "gpushare100", "multigpu50")
PUBLISHED = {"default": {"best-fit": 0.9308, "fgd": 0.9539}}
"""FGD (ATC'23) figures for the default trace; the paper plots the others without a table."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=Path, default=OPENB / "openb_node_list_all_node.csv")
    parser.add_argument("--pods", type=Path, default=OPENB / "openb_pod_list_default.csv")
    parser.add_argument("--all-traces", action="store_true", help=f"pod lists {TRACES}")
    parser.add_argument("--bound", action="store_true", help="also the upper bound per trace")
    parser.add_argument("--load", type=float, default=1.3)
    parser.add_argument("--seeds", type=int, default=10, help="seeds 42, 43, ...")
    parser.add_argument("--policy", action="append", choices=sorted(POLICIES))
    args = parser.parse_args()
    nodes = read_nodes(args.nodes)
    pod_lists = (
        [args.nodes.parent / f"openb_pod_list_{t}.csv" for t in TRACES]
        if args.all_traces
        else [args.pods]
    )
    default_policies = ["default", "best-fit"] if args.all_traces else list(POLICIES)
    policies = args.policy or default_policies
    rows = []
    for path in pod_lists:
        means = _trace(nodes, path, policies, args.load, args.seeds)
        if args.bound:
            means["bound"] = _bound(nodes, read_pods(path), args.load, args.seeds)
        rows.append((path.stem.removeprefix("openb_pod_list_"), means))
    if len(rows) > 1:
        _table(rows, policies)


def _trace(
    nodes: list[NodeSpec], path: Path, policies: list[str], load: float, count: int
) -> dict[str, float]:
    pods = read_pods(path)
    seeds = range(42, 42 + count)
    print(f"{path.name} on {len(nodes)} nodes, load {load}, seeds {seeds[0]}-{seeds[-1]}")
    means: dict[str, float] = {}
    for policy in policies:
        runs = [
            replay_pack(nodes, pods, policy=policy, load=load, seed=s, clock=SystemClock())
            for s in seeds
        ]
        means[policy] = _report(policy, runs)
    if {"default", "best-fit"} <= set(means):
        print(f"default / best-fit mean allocation: {means['default'] / means['best-fit']:.4f}")
    return means


def _bound(nodes: list[NodeSpec], pods: list[PodRequest], load: float, count: int) -> float:
    bounds = [
        allocation_bound(nodes, arrived_pods(pods, nodes, load=load, seed=s))
        for s in range(42, 42 + count)
    ]
    ratios = [b.ratio for b in bounds]
    tight = min(bounds, key=lambda b: b.ratio)
    print(
        f"bound     mean={statistics.mean(ratios):7.2%} min={min(ratios):7.2%} "
        f"max={max(ratios):7.2%} (capacity {tight.capacity:.2%}, must-place "
        f"{tight.must_place:.2%}: {tight.must_place_pods} pods of "
        f"{tight.must_place_milli} milli-GPU placed by any policy)"
    )
    return statistics.mean(ratios)


def _report(policy: str, runs: list[PackReport]) -> float:
    ratios = [r.gpu_allocation_ratio for r in runs]
    mean = statistics.mean(ratios)
    print(
        f"{policy:9s} mean={mean:7.2%} min={min(ratios):7.2%} max={max(ratios):7.2%} "
        f"failed_pods={statistics.mean(r.failed_pods for r in runs):7.1f} "
        f"s/replay={statistics.mean(r.seconds for r in runs):6.2f}",
        flush=True,
    )
    return mean


def _table(rows: list[tuple[str, dict[str, float]]], policies: list[str]) -> None:
    columns = [*policies, "published best-fit", "published fgd", "bound"]
    print("\n| trace | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for trace, means in rows:
        published = PUBLISHED.get(trace, {})
        cells = [means.get(p) for p in policies]
        cells += [published.get("best-fit"), published.get("fgd"), means.get("bound")]
        text = [f"{c:.2%}" if c is not None else "-" for c in cells]
        print(f"| {trace} | " + " | ".join(text) + " |")


if __name__ == "__main__":
    main()
