"""Tenants limited to their own pools (virtual clusters), in the live control loop.

Memory stores, simulated engines and a fixed clock: the tenants file says which pools each
tenant may use; the queue counts only those for its turn, placement never goes elsewhere,
and a waiting job's explanation says why the other pools were not used.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from suanli.domain.clock import FixedClock
from suanli.domain.errors import InvalidInput
from suanli.domain.jobs import JobStatus
from suanli.domain.spec import JobSpec
from suanli.domain.tenants import TenantTerms
from suanli.scheduler.queueing import QueueSettings
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.jobs import get_job, submit_job
from suanli.sim.live import LiveReplay
from suanli.sim.traces import TraceJob
from suanli.store.stores import MEMORY_URL
from tests.builders import make_fleet, make_pool, make_spec
from tests.service.test_simulated_platform import run_for

S = JobStatus
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)

FLEET = """
providers:
  - name: lab
    clusters:
      - name: lab
        region: beijing
        engine: {type: local}
        pools:
          - {name: vc-a, accelerator: A100, nodes: 1, accelerators_per_node: 2,
             cpus_per_node: 16, memory_gb_per_node: 128, price_per_accelerator_hour: "10.00"}
          - {name: vc-b, accelerator: A100, nodes: 1, accelerators_per_node: 4,
             cpus_per_node: 16, memory_gb_per_node: 128, price_per_accelerator_hour: "10.00"}
"""

TENANTS = """
format: suanli/tenants/v1
tenants:
  - {name: team-a, pools: [vc-a]}
  - {name: team-b, pools: [lab/vc-b]}
  - {name: free}
"""


def platform(tmp_path: Path, tenants: str = TENANTS) -> tuple[Platform, FixedClock]:
    (tmp_path / "fleet.yaml").write_text(FLEET)
    (tmp_path / "tenants.yaml").write_text(tenants)
    clock = FixedClock(T0)
    p = open_platform(
        tmp_path / "data",
        tmp_path / "fleet.yaml",
        clock=clock,
        database_url=MEMORY_URL,
        detect_gpus=False,
        tenants_file=tmp_path / "tenants.yaml",
        simulated_engines=True,
    )
    return p, clock


def two_cards(seconds: int = 3600, count: int = 2) -> JobSpec:
    return make_spec(
        resources={"accelerator": {"model": "A100", "count": count}},
        env={"SUANLI_SIM_RUN_S": str(seconds)},
    )


def test_a_tenant_waits_for_its_own_pool_while_another_pool_is_free(tmp_path: Path) -> None:
    p, clock = platform(tmp_path)
    first = submit_job(p, two_cards(), tenant="team-a")
    clock.advance(1)
    second = submit_job(p, two_cards(), tenant="team-a")
    run_for(p, clock, 5)
    running, waiting = get_job(p, first.id), get_job(p, second.id)
    assert running.status is S.RUNNING
    assert running.placement is not None
    assert running.placement.pool == "vc-a"
    # vc-b is idle all along, and the second job still waits for vc-a.
    assert waiting.status is S.QUEUED
    assert waiting.decision is not None
    summary = waiting.decision.summary.render("en")
    assert "vc-a" in summary
    assert "vc-b" not in summary
    (line,) = [v for v in waiting.decision.verdicts if v.pool == "vc-b"]
    assert line.reason is not None
    assert line.reason.code == "pool_tenant_excluded"
    assert line.reason.render("en") == "not among the pools team-a may use (vc-a)"
    assert "team-a" in line.reason.render("zh")
    # The other virtual cluster's tenant gets vc-b at once (named as cluster/pool).
    other = submit_job(p, two_cards(), tenant="team-b")
    run_for(p, clock, 5)
    placed = get_job(p, other.id).placement
    assert placed is not None
    assert placed.pool == "vc-b"
    # When the first ends, the second starts on vc-a, never on vc-b.
    run_for(p, clock, 3720, step=60)
    assert get_job(p, first.id).status is S.SUCCEEDED
    after = get_job(p, second.id)
    assert after.status is S.RUNNING
    assert after.placement is not None
    assert after.placement.pool == "vc-a"


def test_a_tenant_without_pools_may_use_any(tmp_path: Path) -> None:
    p, clock = platform(tmp_path)
    jobs = [submit_job(p, two_cards(), tenant="free") for _ in range(2)]
    run_for(p, clock, 5)
    placed = [get_job(p, j.id).placement for j in jobs]
    assert {pl.pool for pl in placed if pl is not None} == {"vc-a", "vc-b"}


def test_a_job_none_of_its_tenants_pools_can_run_is_refused_at_submission(
    tmp_path: Path,
) -> None:
    p, _ = platform(tmp_path)
    with pytest.raises(InvalidInput) as caught:
        submit_job(p, two_cards(count=4), tenant="team-a")  # vc-a has 2 per node, vc-b 4
    (error,) = caught.value.errors
    assert error.field == "resources"
    assert "no pool that team-a may use can run this job" in error.message("en")
    assert "team-a" in error.message("zh")
    assert p.jobs.count(list(S)) == 0  # nothing half-written
    submit_job(p, two_cards(count=4), tenant="team-b")  # its own vc-b can


@pytest.mark.parametrize(
    ("pools", "field", "value"),
    [
        ("[vc-z]", "tenants[0].pools[0]", "vc-z"),
        ("[vc-a, vc-a]", "tenants[0].pools[1]", "vc-a"),
        ("[other/vc-a]", "tenants[0].pools[0]", "other/vc-a"),
    ],
)
def test_the_tenants_file_refuses_pools_the_fleet_has_not(
    tmp_path: Path, pools: str, field: str, value: str
) -> None:
    bad = f"format: suanli/tenants/v1\ntenants:\n  - {{name: team-a, pools: {pools}}}\n"
    with pytest.raises(InvalidInput) as caught:
        platform(tmp_path, bad)
    (error,) = caught.value.errors
    assert (error.field, error.value) == (field, value)
    if error.code == "not_allowed":
        assert "vc-a" in str(error.allowed)
        assert "lab/vc-b" in str(error.allowed)


def test_an_empty_pool_list_is_refused(tmp_path: Path) -> None:
    bad = "format: suanli/tenants/v1\ntenants:\n  - {name: team-a, pools: []}\n"
    with pytest.raises(InvalidInput) as caught:
        platform(tmp_path, bad)
    assert [e.field for e in caught.value.errors] == ["tenants[0].pools"]
    assert "at least 1" in caught.value.errors[0].message("en")


def test_virtual_clusters_replay_through_the_live_cycle() -> None:
    fleet = make_fleet(
        (
            "c",
            "beijing",
            [make_pool("vc-a", "A100", nodes=1, per_node=2), make_pool("vc-b", "A100", 1, 2)],
        )
    )
    terms = {
        "a": TenantTerms("a", quota={"A100": 2}, pools=frozenset({"vc-a"})),
        "b": TenantTerms("b", quota={"A100": 2}, pools=frozenset({"vc-b"})),
    }
    # Three two-card jobs of "a": one at a time on vc-a, though vc-b stays idle.
    jobs = [TraceJob(f"t{i}", "a", float(i), 2, 3600.0) for i in range(3)]
    report = LiveReplay(fleet, terms, QueueSettings(), tick_s=60).run(jobs)
    assert (report.jobs, report.finished) == (3, 3)
    assert report.makespan_s >= 3 * 3600
    # Each start comes at the server's next tick (0.5 s) after the end that freed vc-a.
    assert report.makespan_s == pytest.approx(3 * 3600 + 2 * 0.5, abs=0.01)
