"""Benchmark: GPU allocation of every packing policy on the openb traces (FGD, ATC'23).

Replays a pod list at load 1.3 for seeds 42-51 and prints, per policy, the mean / min / max
GPU allocation ratio and seconds per replay, then default's mean over best-fit's, both
measured in this process. ``--protocol fgd`` (the default here) replays as the FGD
artifact's simulator does (``docs/packing-fgd-protocol.md``: GPU nodes only, the list
shuffled, draws appended within 130 %, the figure averaged at 130 %, ``best-fit`` and
``fgd`` with the artifact's integer scores and node order); ``--protocol suanli`` is
suanli's own (trace order onto every node given, figure after the last pod).

``--all-traces`` runs every pod list of the folder (default, cpu050, gpushare100,
multigpu50) and ends with one table: per trace each policy, the published BestFit and FGD
(the artifact's expected results, seeds 42-51 at 130 %) and ours minus published, and with
``--bound`` an upper bound on what any policy could reach (``sim.packbound``).
``--packing FILE`` sets the policies' options from a fleet file's ``packing:`` section
(``examples/sim/packing-saturating.yaml``: what a replay where pods never leave should use).
``--jobs 2`` replays two seeds at a time.

    .venv/bin/python bench/pack_openb.py [--seeds 10] [--load 1.3] [--policy fgd ...]
    .venv/bin/python bench/pack_openb.py --all-traces --packing examples/sim/packing-saturating.yaml
    .venv/bin/python bench/pack_openb.py --held-out --bound [--write DIR]

``--held-out`` replays variants of the default pod list that are not in the folder, made
the way the FGD artifact resampled its published lists (``sim.openb_variants``: share of
CPU-only pods, of GPU-sharing pods, of GPUs in multi-GPU pods, of GPU pods with a GPU-type
constraint) with ``--variant-seed``; ``--variant NAME`` picks others (e.g. gpushare70).
They are lists we generate ourselves, not held-out data in the strict sense, but nothing is
tuned on them. ``--write DIR`` also saves each variant as an openb CSV for
``suanli sim pack --pods``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from suanli.domain.clock import SystemClock
from suanli.scheduler.packing import POLICIES, NodeSpec, PackingOptions, PodRequest
from suanli.schemas.fleetfile import PackingEntry, load_packing_entry
from suanli.sim.fgd_protocol import artifact_cluster
from suanli.sim.openb import read_nodes, read_pods
from suanli.sim.openb_variants import Variant, make_variant
from suanli.sim.pack import PROTOCOLS, PackReport, arrived_pods, replay_pack
from suanli.sim.packbound import allocation_bound

OPENB = Path(__file__).resolve().parents[2] / "shared" / "traces" / "alibaba-gpu-v2023-openb"
TRACES = ("default", "cpu050", "gpushare100", "multigpu50")
HELD_OUT = (
    "cpu000",
    "cpu100",
    "cpu300",
    "gpushare20",
    "gpushare40",
    "gpushare60",
    "gpushare80",
    "multigpu20",
    "multigpu30",
    "multigpu40",
    "gpuspec10",
    "gpuspec33",
)
"""Published names whose lists are not in the folder (cpu in tenths of a percent)."""
PUBLISHED = {
    "default": {"random": 0.8747, "best-fit": 0.9308, "fgd": 0.9539},
    "cpu050": {"random": 0.9124, "best-fit": 0.9379, "fgd": 0.9521},
    "gpushare100": {"random": 0.7944, "best-fit": 0.8501, "fgd": 0.8690},
    "multigpu50": {"random": 0.9028, "best-fit": 0.9574, "fgd": 0.9718},
}
"""The FGD artifact's expected results (commit 8f3d641, analysis_allo_discrete.csv, column
130: mean of seeds 42-51), as listed in ../shared/traces/README.md."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=Path, default=OPENB / "openb_node_list_all_node.csv")
    parser.add_argument("--pods", type=Path, default=OPENB / "openb_pod_list_default.csv")
    parser.add_argument("--all-traces", action="store_true", help=f"pod lists {TRACES}")
    parser.add_argument("--bound", action="store_true", help="also the upper bound per trace")
    parser.add_argument("--held-out", action="store_true", help=f"variants {HELD_OUT}")
    parser.add_argument("--variant", action="append", help="a variant of --pods, e.g. cpu300")
    parser.add_argument("--variant-seed", type=int, default=1)
    parser.add_argument("--write", type=Path, help="save the variants as CSV here")
    parser.add_argument("--load", type=float, default=1.3)
    parser.add_argument("--seeds", type=int, default=10, help="seeds 42, 43, ...")
    parser.add_argument("--policy", action="append", choices=sorted(POLICIES))
    parser.add_argument("--protocol", choices=PROTOCOLS, default="fgd")
    parser.add_argument("--packing", type=Path, help="file with a packing: section")
    parser.add_argument("--jobs", type=int, choices=(1, 2), default=1)
    args = parser.parse_args()
    entry = load_packing_entry(args.packing) if args.packing else PackingEntry()
    run = _Run(args.load, args.protocol, PackingOptions(entry.spread_shares), args.jobs)
    nodes = read_nodes(args.nodes)
    paths = (
        [args.nodes.parent / f"openb_pod_list_{t}.csv" for t in TRACES]
        if args.all_traces
        else [args.pods]
    )
    pod_lists = [(p.stem.removeprefix("openb_pod_list_"), read_pods(p)) for p in paths]
    names = args.variant or (list(HELD_OUT) if args.held_out else [])
    variants = [Variant.parse(v) for v in names]
    if variants:
        base = read_pods(args.pods)
        pod_lists = [(v.name, make_variant(base, v, nodes, args.variant_seed)) for v in variants]
        if args.write:
            args.write.mkdir(parents=True, exist_ok=True)
            for name, pods in pod_lists:
                _write(args.write / f"openb_pod_list_{name}.csv", pods)
    several = args.all_traces or len(pod_lists) > 1
    policies = args.policy or (["default", "best-fit", "fgd"] if several else list(POLICIES))
    rows = []
    for name, pods in pod_lists:
        means = _trace(nodes, name, pods, policies, run, args.seeds)
        if args.bound:
            means["bound"] = _bound(nodes, pods, run, args.seeds)
        rows.append((name, means))
    if len(rows) > 1:
        _table(rows, policies)


def _write(path: Path, pods: list[PodRequest]) -> None:
    lines = ["name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec"]
    for p in pods:
        spec = "|".join(sorted(p.gpu_spec))
        lines.append(f"{p.name},{p.cpu_milli},{p.memory_mib},{p.gpus},{p.gpu_milli},{spec}")
    path.write_text("\n".join(lines) + "\n")


@dataclass(frozen=True)
class _Run:
    load: float
    protocol: str
    options: PackingOptions
    jobs: int


def _replay(args: tuple[list[NodeSpec], list[PodRequest], str, int, _Run]) -> PackReport:
    nodes, pods, policy, seed, run = args
    return replay_pack(
        nodes,
        pods,
        policy=policy,
        load=run.load,
        seed=seed,
        clock=SystemClock(),
        protocol=run.protocol,
        options=run.options,
    )


def _trace(
    nodes: list[NodeSpec],
    name: str,
    pods: list[PodRequest],
    policies: list[str],
    run: _Run,
    count: int,
) -> dict[str, float]:
    seeds = range(42, 42 + count)
    cluster = artifact_cluster(nodes) if run.protocol == "fgd" else nodes
    print(
        f"{name}: {len(pods)} pods on {len(cluster)} nodes, load {run.load}, {run.protocol} "
        f"protocol, {run.options}, seeds {seeds[0]}-{seeds[-1]}"
    )
    means: dict[str, float] = {}
    for policy in policies:
        cpu = time.process_time()
        work = [(nodes, pods, policy, s, run) for s in seeds]
        if run.jobs > 1:
            with multiprocessing.Pool(run.jobs) as pool:
                runs = pool.map(_replay, work)
        else:
            runs = [_replay(w) for w in work]
        means[policy] = _report(policy, runs, (time.process_time() - cpu) / len(runs))
    if {"default", "best-fit"} <= set(means):
        print(f"default / best-fit mean allocation: {means['default'] / means['best-fit']:.4f}")
    return means


def _bound(nodes: list[NodeSpec], pods: list[PodRequest], run: _Run, count: int) -> float:
    bounds = []
    for s in range(42, 42 + count):
        arrived = arrived_pods(pods, nodes, load=run.load, seed=s, protocol=run.protocol)
        cluster = artifact_cluster(nodes) if run.protocol == "fgd" else nodes
        bounds.append(allocation_bound(cluster, arrived))
    ratios = [b.ratio for b in bounds]
    tight = min(bounds, key=lambda b: b.ratio)
    print(
        f"bound     mean={statistics.mean(ratios):7.2%} min={min(ratios):7.2%} "
        f"max={max(ratios):7.2%} (capacity {tight.capacity:.2%}, must-place "
        f"{tight.must_place:.2%}: {tight.must_place_pods} pods of "
        f"{tight.must_place_milli} milli-GPU placed by any policy)"
    )
    return statistics.mean(ratios)


def _report(policy: str, runs: list[PackReport], cpu_seconds: float) -> float:
    ratios = [r.gpu_allocation_ratio for r in runs]
    mean = statistics.mean(ratios)
    print(
        f"{policy:9s} mean={mean:7.2%} min={min(ratios):7.2%} max={max(ratios):7.2%} "
        f"failed_pods={statistics.mean(r.failed_pods for r in runs):7.1f} "
        f"s/replay={statistics.mean(r.seconds for r in runs):6.2f} (CPU {cpu_seconds:5.2f})",
        flush=True,
    )
    return mean


def _table(rows: list[tuple[str, dict[str, float]]], policies: list[str]) -> None:
    """Ours per policy, the published BestFit and FGD, ours minus published where both are
    known, and the bound."""
    compared = [p for p in ("best-fit", "fgd") if p in policies]
    columns = [*policies, "published best-fit", "published fgd"]
    columns += [f"{p} - published" for p in compared]
    columns += ["default - published fgd"] if "default" in policies else []
    columns.append("bound")
    print("\n| trace | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for trace, means in rows:
        published = PUBLISHED.get(trace, {})
        cells = [_percent(means.get(p)) for p in policies]
        cells += [_percent(published.get("best-fit")), _percent(published.get("fgd"))]
        for p in compared:
            cells.append(_points(means.get(p), published.get(p)))
        if "default" in policies:
            cells.append(_points(means.get("default"), published.get("fgd")))
        cells.append(_percent(means.get("bound")))
        print(f"| {trace} | " + " | ".join(cells) + " |")


def _percent(value: float | None) -> str:
    return f"{value:.2%}" if value is not None else "-"


def _points(ours: float | None, published: float | None) -> str:
    if ours is None or published is None:
        return "-"
    return f"{100 * (ours - published):+.2f}"


if __name__ == "__main__":
    main()
