"""What the local engine holds: its cluster's pools as emulated nodes, with the slots its
live runs take.

A run is live from its launch file until its result file. Its slots are read from the launch
file's environment (SUANLI_NODES, SUANLI_SLOTS: one count per node, as placement gives every
node of a gang the same number). The local engine does not meter CPUs or memory: a run is
taken to hold its slots' share of the node's CPUs and memory (all of them on a CPU-only node).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from suanli.domain.clock import Clock
from suanli.domain.fleet import Pool
from suanli.engines.base import Inventory, NodeInventory
from suanli.engines.local_runner import LAUNCH, RESULT


@dataclass(frozen=True)
class EmulatedNode:
    """One node of a pool the local engine runs: a name and its size."""

    name: str
    accelerator: str | None
    slots: int
    cpus: int
    memory_mb: int


def emulated_nodes(pools: tuple[Pool, ...] | list[Pool]) -> tuple[EmulatedNode, ...]:
    """The nodes the scheduler places on (``Pool.node_names``), one per pool node."""
    return tuple(
        EmulatedNode(
            name,
            pool.accelerator,
            pool.accelerators_per_node if pool.accelerator else 0,
            pool.cpus_per_node,
            pool.memory_gb_per_node * 1024,
        )
        for pool in pools
        for name in pool.node_names()
    )


def live_launches(root: Path) -> Iterator[tuple[str, dict[str, object]]]:
    """(key, launch file) of every run launched here and not ended."""
    if not root.is_dir():
        return
    for run_dir in sorted(root.iterdir()):
        if not (run_dir / LAUNCH).exists() or (run_dir / RESULT).exists():
            continue
        try:
            launch = json.loads((run_dir / LAUNCH).read_text())
        except (OSError, ValueError):
            continue  # being written: the next read sees it
        if isinstance(launch, dict):
            yield run_dir.name, launch


def read_inventory(root: Path, nodes: tuple[EmulatedNode, ...], clock: Clock) -> Inventory:
    taken: dict[str, int] = {}
    whole: set[str] = set()  # nodes a CPU-only run holds
    for _, launch in live_launches(root):
        env = launch.get("env")
        if not isinstance(env, dict):
            continue
        names = [n for n in str(env.get("SUANLI_NODES", "")).split(",") if n]
        count = len([s for s in str(env.get("SUANLI_SLOTS", "")).split(",") if s])
        for name in names:
            taken[name] = taken.get(name, 0) + count
            if count == 0:
                whole.add(name)
    found = []
    for node in nodes:
        used = min(taken.get(node.name, 0), node.slots)
        share = 1.0 if node.name in whole else (used / node.slots if node.slots else 0.0)
        kinds = {node.accelerator: node.slots} if node.accelerator else {}
        free = {node.accelerator: node.slots - used} if node.accelerator else {}
        found.append(
            NodeInventory(
                name=node.name,
                state="mixed" if used or node.name in whole else "idle",
                available=True,
                cpus=node.cpus,
                free_cpus=round(node.cpus * (1 - share)),
                memory_mb=node.memory_mb,
                free_memory_mb=round(node.memory_mb * (1 - share)),
                accelerators=kinds,
                free_accelerators=free,
            )
        )
    return Inventory(tuple(found), clock.now())
