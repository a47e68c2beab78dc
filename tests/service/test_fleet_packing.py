"""The fleet file's ``packing:`` section reaches the packing policy in the live cycle.

Two platforms on memory stores, simulated engines and a fixed clock, with the same fleet
but for ``packing: {spread_shares: true}``: the same queue is placed differently, and each
as ``SuanliDefault`` says for its options (issue 18, item 5).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from suanli.domain.clock import FixedClock
from suanli.domain.errors import InvalidInput
from suanli.domain.jobs import JobStatus
from suanli.domain.packing import PackingOptions
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.fleet import load_fleet
from suanli.service.jobs import get_job, submit_job
from suanli.store.stores import MEMORY_URL
from suanli.workers.control_loop import tick
from tests.builders import make_spec

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
FLEET = """
providers:
  - name: lab
    clusters:
      - name: lab-1
        region: local
        engine: {type: local}
        pools:
          - {name: t4, accelerator: T4, nodes: 1, accelerators_per_node: 4,
             cpus_per_node: 64, memory_gb_per_node: 256, price_per_accelerator_hour: "2.00"}
"""
SPREAD = "packing:\n  spread_shares: true\n"


def platform(tmp_path: Path, packing: str) -> Platform:
    tmp_path.mkdir()
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(packing + FLEET)
    return open_platform(
        tmp_path / "data",
        fleet_file=fleet_file,
        clock=FixedClock(T0),
        database_url=MEMORY_URL,
        detect_gpus=False,
        simulated_engines=True,
    )


def slots_of_two_shares(p: Platform) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A large share (0.6) then a small one (0.3), decided in one live cycle: their slots."""
    run = {"SUANLI_SIM_RUN_S": "3600"}
    large = submit_job(p, make_spec(name="large", env=run, resources=share(0.6)))
    small = submit_job(p, make_spec(name="small", env=run, resources=share(0.3)))
    tick(p)
    slots = []
    for job in (large, small):
        after = get_job(p, job.id)
        assert after.status is not JobStatus.QUEUED, after.status
        assert after.placement is not None
        (node,) = after.placement.nodes
        slots.append(node.slots)
    return slots[0], slots[1]


def share(count: float) -> dict[str, object]:
    return {"accelerator": {"model": "T4", "count": count}, "cpus": 1, "memory_gb": 1}


def test_the_fleet_files_packing_section_is_read_into_the_fleet(tmp_path: Path) -> None:
    (tmp_path / "spread.yaml").write_text(SPREAD + FLEET)
    (tmp_path / "plain.yaml").write_text(FLEET)
    assert load_fleet(tmp_path / "spread.yaml").packing == PackingOptions(spread_shares=True)
    assert load_fleet(tmp_path / "plain.yaml").packing == PackingOptions()


def test_an_unknown_packing_option_is_refused_with_its_field(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("packing:\n  spread: true\n" + FLEET)
    with pytest.raises(InvalidInput) as caught:
        load_fleet(tmp_path / "bad.yaml")
    assert [e.field for e in caught.value.errors] == ["packing.spread"]


def test_spread_shares_in_the_fleet_file_changes_where_the_live_cycle_puts_a_share(
    tmp_path: Path,
) -> None:
    plain = slots_of_two_shares(platform(tmp_path / "plain", ""))
    spread = slots_of_two_shares(platform(tmp_path / "spread", SPREAD))
    # Without the option the small share fills up the large one's accelerator (the least
    # fragmentation growth); with it, the small share takes an untouched accelerator, as
    # SuanliDefault.choose spreads shares while whole accelerators are to spare.
    assert plain[1] == plain[0]
    assert spread[1] != spread[0]
    assert len(set(spread[0] + spread[1])) == 2
