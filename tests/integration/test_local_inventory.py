"""The local engine's inventory: its pools as nodes, slots taken by live runs only."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.fleet import Pool
from suanli.engines.base import RunState, inventory_source
from suanli.engines.local import LocalEngine
from suanli.engines.local_inventory import emulated_nodes
from tests.integration.test_local_engine import _final, _request, _started, _stop_runs

T4 = Pool("t4", "T4", 2, 4, 32, 128, Decimal("1.60"))
CPU = Pool("cpu", None, 1, 0, 16, 64, Decimal("0.50"))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[LocalEngine]:
    eng = LocalEngine(tmp_path / "runs", SystemClock(), nodes=emulated_nodes([T4, CPU]))
    try:
        yield eng
    finally:
        _stop_runs(eng)


def test_an_idle_cluster_reports_every_pool_node_free(engine: LocalEngine) -> None:
    assert inventory_source(engine) is engine
    nodes = engine.inventory().nodes
    assert [n.name for n in nodes] == ["t4-n0", "t4-n1", "cpu-n0"]
    assert nodes[0].accelerators == nodes[0].free_accelerators == {"T4": 4}
    assert (nodes[2].cpus, nodes[2].free_cpus, nodes[2].accelerators) == (16, 16, {})
    assert engine.live_runs() == []


def test_a_live_run_takes_its_slots_until_it_ends(engine: LocalEngine) -> None:
    # (The job's /tmp is its own under the sandbox: it is ended by a cancel, not a file.)
    engine.launch(_request("k1", "sleep 300", slots=(0, 1)))
    _started(engine, "k1")
    held = engine.inventory()
    assert held.nodes[0].free_accelerators == {"T4": 2}
    assert held.nodes[0].state == "mixed"
    assert held.nodes[0].free_cpus == 16  # half the slots: half the CPUs
    assert held.nodes[1].free_accelerators == {"T4": 4}
    assert held.free_accelerators() == {"T4": 6}
    assert engine.live_runs() == ["k1"]
    engine.cancel("k1")
    assert _final(engine, "k1").state is RunState.CANCELLED
    assert engine.inventory().free_accelerators() == {"T4": 8}
    assert engine.live_runs() == []
