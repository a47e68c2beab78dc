"""The control plane of model services on memory stores, simulated engines and a fixed
clock: deploy, readiness, rolling updates, rollback, failover, autoscaling, delete.

Readiness is decided by a fake probe (a replica answers ``READY_AFTER_S`` seconds after it
is first probed), so every decision is checked without processes or sockets.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from suanli.domain.clock import FixedClock
from suanli.domain.errors import InvalidInput, NotFound
from suanli.domain.ids import JobId
from suanli.domain.jobs import JobStatus
from suanli.domain.service_spec import ServiceSpec
from suanli.domain.services import FLOOR_ENV, Replica, ReplicaStatus, holds_floor
from suanli.domain.serving import LoadSample
from suanli.engines.simulated import SimulatedEngine
from suanli.service import services as svc
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.jobs import job_history
from suanli.service.services_control import MISSES_TO_FAIL
from suanli.service.services_probe import ProbeTarget
from suanli.store.stores import MEMORY_URL
from suanli.workers.control_loop import tick

R = ReplicaStatus
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
OWNER = "demo"
READY_AFTER_S = 20.0


class ReadyAfter:
    """A replica answers its readiness path ``delay`` seconds after its first probe."""

    def __init__(self, delay: float = READY_AFTER_S) -> None:
        self.delay = delay
        self.first: dict[str, float] = {}
        self.never: set[str] = set()  # replicas that never answer

    def check(self, targets: Sequence[ProbeTarget], now: float) -> dict[str, bool]:
        found: dict[str, bool] = {}
        for t in targets:
            first = self.first.setdefault(t.replica_id, now)
            found[t.replica_id] = t.replica_id not in self.never and now - first >= self.delay
        return found


def spec(**overrides: Any) -> ServiceSpec:
    data: dict[str, Any] = {
        "name": "chat",
        "resources": {"accelerator": {"model": "T4", "count": 1}},
        "run": "server --port $PORT",
        "replicas": {"min": 1, "max": 4},
        "scaling": {"metric": "rps", "target": 10, "down_delay_s": 60, "idle_s": 120},
    }
    data.update(overrides)
    return ServiceSpec.model_validate(data)


def platform(tmp_path: Path) -> tuple[Platform, FixedClock, ReadyAfter]:
    clock = FixedClock(T0)
    p = open_platform(
        tmp_path / "data",
        clock=clock,
        database_url=MEMORY_URL,
        detect_gpus=False,
        simulated_engines=True,
    )
    probe = ReadyAfter()
    p.readiness = probe
    return p, clock, probe


def run_for(p: Platform, clock: FixedClock, seconds: float, step: float = 1.0) -> None:
    for _ in range(round(seconds / step)):
        tick(p)
        clock.advance(step)
    tick(p)


def live(p: Platform, status: ReplicaStatus | None = None) -> list[Replica]:
    return [r for r in p.services.replicas(live=True) if status in (None, r.status)]


def test_a_service_starts_its_replicas_as_jobs_and_routes_them_once_ready(
    tmp_path: Path,
) -> None:
    p, clock, _ = platform(tmp_path)
    done = svc.deploy(p, OWNER, spec(replicas={"min": 2, "max": 4}))
    assert done.created
    assert done.service.desired == 2
    run_for(p, clock, 5)
    starting = live(p)
    assert [r.status for r in starting] == [R.STARTING, R.STARTING]
    jobs = [p.jobs.get(JobId(r.job_id)) for r in starting]
    assert all(j is not None and j.status is JobStatus.RUNNING for j in jobs)
    assert all(j is not None and j.spec.priority == svc.SERVICE_PRIORITY for j in jobs)
    assert all(j is not None and holds_floor(j.spec) for j in jobs)  # within min: kept
    assert all(r.url.startswith("http://") and r.cluster for r in starting)
    [route] = p.route_table.routes()
    assert not any(e.ready for e in route.replicas)  # addressed, not ready: no traffic yet
    run_for(p, clock, READY_AFTER_S + 5)
    ready = live(p, R.READY)
    assert len(ready) == 2
    [route] = p.route_table.routes()
    assert sorted(e.url for e in route.replicas if e.ready) == sorted(r.url for r in ready)


def test_an_invalid_or_unplaceable_spec_leaves_nothing_behind(tmp_path: Path) -> None:
    p, _, _ = platform(tmp_path)
    with pytest.raises(InvalidInput) as caught:
        svc.deploy(p, OWNER, spec(resources={"accelerator": {"model": "Z9000", "count": 1}}))
    assert "resources.accelerator" in caught.value.errors[0].field
    with pytest.raises(InvalidInput):
        svc.deploy(p, "nobody-knows-me", spec())  # an unknown tenant
    assert p.services.services() == []
    assert p.jobs.active() == []


def test_the_same_spec_again_changes_nothing_and_a_changed_one_is_a_new_revision(
    tmp_path: Path,
) -> None:
    p, _, _ = platform(tmp_path)
    svc.deploy(p, OWNER, spec())
    again = svc.deploy(p, OWNER, spec())
    assert not again.changed
    assert again.service.revision == 1
    changed = svc.deploy(p, OWNER, spec(env={"MODE": "fast"}))
    assert changed.changed
    assert (changed.service.revision, changed.service.latest) == (2, 2)
    with pytest.raises(NotFound):
        svc.rollout(p, OWNER, spec(name="other"))


def _ready_counts_during(p: Platform, clock: FixedClock, seconds: int) -> list[int]:
    counts = []
    for _ in range(seconds):
        tick(p)
        counts.append(len(live(p, R.READY)))
        clock.advance(1)
    return counts


def test_a_rolling_update_never_drops_below_the_ready_count_and_ends_on_the_new_revision(
    tmp_path: Path,
) -> None:
    p, clock, _ = platform(tmp_path)
    svc.deploy(p, OWNER, spec(replicas={"min": 3, "max": 3}))
    run_for(p, clock, 40)
    assert len(live(p, R.READY)) == 3
    svc.deploy(p, OWNER, spec(replicas={"min": 3, "max": 3}, env={"MODE": "v2"}))
    counts = _ready_counts_during(p, clock, 300)
    assert min(counts) >= 3  # max_unavailable 0: a ready replica goes only once replaced
    ready = live(p, R.READY)
    assert [r.revision for r in ready] == [2, 2, 2]
    assert len(live(p)) == 3
    old = [r for r in p.services.replicas() if r.revision == 1]
    assert {r.status for r in old} == {R.STOPPED}
    old_jobs = [p.jobs.get(JobId(r.job_id)) for r in old]
    assert all(j is not None and j.status is JobStatus.CANCELLED for j in old_jobs)


def test_surge_bounds_the_replicas_alive_during_a_rollout(tmp_path: Path) -> None:
    p, clock, _ = platform(tmp_path)
    rollout = {"surge": 1, "max_unavailable": 0, "drain_s": 0}
    svc.deploy(p, OWNER, spec(replicas={"min": 3, "max": 3}, rollout=rollout))
    run_for(p, clock, 40)
    svc.deploy(p, OWNER, spec(replicas={"min": 3, "max": 3}, rollout=rollout, env={"V": "2"}))
    peak = 0
    for _ in range(200):
        tick(p)
        peak = max(peak, sum(r.status.is_live for r in live(p)))
        clock.advance(1)
    assert peak == 4  # desired 3 + surge 1 starting or ready, never more (draining aside)
    assert [r.revision for r in live(p, R.READY)] == [2, 2, 2]


def test_a_rollback_puts_the_old_revision_back(tmp_path: Path) -> None:
    p, clock, _ = platform(tmp_path)
    svc.deploy(p, OWNER, spec())
    svc.deploy(p, OWNER, spec(env={"V": "2"}))
    run_for(p, clock, 60)
    assert [r.revision for r in live(p, R.READY)] == [2]
    back = svc.rollback(p, OWNER, "chat")
    assert (back.revision, back.latest) == (1, 2)
    run_for(p, clock, 60)
    assert [r.revision for r in live(p, R.READY)] == [1]
    with pytest.raises(InvalidInput):
        svc.rollback(p, OWNER, "chat", 7)


def test_a_new_revision_that_never_gets_ready_keeps_the_old_replicas_serving(
    tmp_path: Path,
) -> None:
    p, clock, probe = platform(tmp_path)
    svc.deploy(p, OWNER, spec(readiness={"timeout_s": 30}))
    run_for(p, clock, 30)
    [old] = live(p, R.READY)
    svc.deploy(p, OWNER, spec(readiness={"timeout_s": 30}, env={"V": "broken"}))
    for _ in range(120):  # every new replica never answers
        probe.never |= {r.id for r in live(p) if r.revision == 2}
        tick(p)
        clock.advance(1)
    assert [r.id for r in live(p, R.READY)] == [old.id]
    failed = [r for r in p.services.replicas() if r.status is R.FAILED]
    assert failed
    assert all("readiness" in r.detail for r in failed)


def test_a_replica_that_dies_is_replaced(tmp_path: Path) -> None:
    p, clock, _ = platform(tmp_path)
    dying = {"SUANLI_SIM_RUN_S": "60", "SUANLI_SIM_EXIT_CODE": "137"}
    svc.deploy(p, OWNER, spec(env=dying))
    run_for(p, clock, 90)
    failed = [r for r in p.services.replicas() if r.status is R.FAILED]
    assert failed
    assert "137" in failed[0].detail
    assert len(live(p)) == 1  # its successor
    assert live(p)[0].id != failed[0].id


def test_a_ready_replica_that_stops_answering_leaves_the_routes_and_is_replaced(
    tmp_path: Path,
) -> None:
    p, clock, probe = platform(tmp_path)
    svc.deploy(p, OWNER, spec())
    run_for(p, clock, 30)
    [first] = live(p, R.READY)
    probe.never.add(first.id)  # its server is gone; its job still runs, as far as we know
    for _ in range(MISSES_TO_FAIL - 1):  # a probe each cycle (the fake has no period)
        tick(p)
    assert [r.id for r in live(p, R.READY)] == [first.id]  # a miss or two: kept
    tick(p)
    [route] = p.route_table.routes()
    assert first.url not in [e.url for e in route.replicas if e.ready]  # out at once
    run_for(p, clock, READY_AFTER_S + 5)
    [gone] = [r for r in p.services.replicas() if r.id == first.id]
    assert gone.status is R.FAILED
    assert "stopped answering" in gone.detail
    job = p.jobs.get(JobId(first.job_id))
    assert job is not None
    assert job.status is JobStatus.CANCELLED
    [successor] = live(p, R.READY)
    assert successor.id != first.id


def test_a_ready_replica_that_misses_a_probe_now_and_then_stays(tmp_path: Path) -> None:
    p, clock, probe = platform(tmp_path)
    svc.deploy(p, OWNER, spec())
    run_for(p, clock, 30)
    [first] = live(p, R.READY)
    for _ in range(5):  # a probe each cycle, every other one failing
        probe.never.add(first.id)
        tick(p)
        probe.never.discard(first.id)
        tick(p)
    assert [r.id for r in live(p, R.READY)] == [first.id]


def test_a_replica_on_a_cluster_that_goes_down_is_replaced_on_another(tmp_path: Path) -> None:
    p, clock, _ = platform(tmp_path)
    svc.deploy(p, OWNER, spec(resources={"accelerator": {"model": ["T4", "RTX4090"]}}))
    run_for(p, clock, 30)
    [first] = live(p, R.READY)
    engine = p.engines[first.cluster]
    assert isinstance(engine, SimulatedEngine)
    engine.state.answering = False
    run_for(p, clock, p.cluster_grace.total_seconds() + 60, step=2)
    [now_serving] = live(p, R.READY)
    assert now_serving.cluster != first.cluster
    [gone] = [r for r in p.services.replicas() if r.id == first.id]
    assert gone.status is R.FAILED


def _load(p: Platform, service_id: str, rps: float, seconds: int, start: float) -> None:
    for i in range(0, seconds, 5):
        end = T0 + dt.timedelta(seconds=start + i + 5)
        sample = LoadSample(
            service_id, "gw:1", end - dt.timedelta(seconds=5), end, 0, int(rps * 5), 0, 0
        )
        p.load_sink.observe(sample)


def test_the_autoscaler_follows_the_gateways_load_and_scales_to_zero(tmp_path: Path) -> None:
    p, clock, _ = platform(tmp_path)
    service = svc.deploy(p, OWNER, spec(replicas={"min": 0, "max": 4})).service
    run_for(p, clock, 10)
    assert live(p) == []  # min 0 and no request: nothing runs
    p.route_table.want_replica(service.id, clock.now())  # a request waits
    run_for(p, clock, 2)
    assert len(live(p)) == 1  # at once
    # 25 requests a second against a target of 10 each (headroom 1.25): 4 replicas.
    _load(p, service.id, 25, 120, (clock.now() - T0).total_seconds())
    run_for(p, clock, 120)
    got = p.services.get(service.id)
    assert got is not None
    assert got.desired == 4
    assert len(live(p)) == 4
    # Quiet: the gateway reports no request; after the down delay and idle time, zero.
    _load(p, service.id, 0, 400, (clock.now() - T0).total_seconds())
    run_for(p, clock, 400, step=5)
    got = p.services.get(service.id)
    assert got is not None
    assert got.desired == 0
    assert live(p) == []
    assert p.services.samples(service.id, T0) != []  # kept while needed, pruned beyond
    assert len(p.services.samples(service.id, T0)) < 100


def test_manual_scale_stays_within_bounds(tmp_path: Path) -> None:
    p, clock, _ = platform(tmp_path)
    svc.deploy(p, OWNER, spec())
    svc.scale(p, OWNER, "chat", 3)
    run_for(p, clock, 30)
    assert len(live(p, R.READY)) == 3
    floors = [r for r in live(p) if r.floor]
    assert len(floors) == 1  # min 1: one replica is the floor, the others preemptible
    jobs = [p.jobs.get(JobId(r.job_id)) for r in live(p)]
    assert sum(j is not None and FLOOR_ENV in j.spec.env for j in jobs) == 1
    with pytest.raises(InvalidInput):
        svc.scale(p, OWNER, "chat", 9)


def test_scaled_to_zero_by_its_owner_it_stays_there_until_a_request_waits(
    tmp_path: Path,
) -> None:
    p, clock, _ = platform(tmp_path)
    service = svc.deploy(p, OWNER, spec(replicas={"min": 0, "max": 4})).service
    p.route_table.want_replica(service.id, clock.now())  # scale from zero, then traffic
    _load(p, service.id, 5, 60, 0)
    run_for(p, clock, 60)
    assert len(live(p, R.READY)) == 1
    svc.scale(p, OWNER, "chat", 0)  # the traffic of the last minute does not hold it
    run_for(p, clock, 30)
    assert live(p) == []
    got = p.services.get(service.id)
    assert got is not None
    assert got.desired == 0
    p.route_table.want_replica(service.id, clock.now())  # a new request: one again
    run_for(p, clock, 2)
    assert len(live(p)) == 1


def test_a_deleted_service_leaves_the_routes_at_once_and_its_replicas_stop(
    tmp_path: Path,
) -> None:
    p, clock, _ = platform(tmp_path)
    svc.deploy(p, OWNER, spec(replicas={"min": 2, "max": 2}))
    run_for(p, clock, 30)
    jobs = [r.job_id for r in live(p)]
    svc.delete(p, OWNER, "chat")
    assert p.route_table.routes() == []
    run_for(p, clock, 60)
    assert p.services.services() == []
    assert all(
        (j := p.jobs.get(JobId(job_id))) is not None and j.status is JobStatus.CANCELLED
        for job_id in jobs
    )
    again = svc.deploy(p, OWNER, spec())  # the name is free again
    assert again.created


def test_replica_views_are_plain_data() -> None:
    r = Replica("r-1", "s-1", 1, R.READY, "j-1", T0, T0)
    assert dataclasses.replace(r, url="http://x").ready


def test_a_crash_looping_service_is_restarted_ever_more_slowly(tmp_path: Path) -> None:
    p, clock, _ = platform(tmp_path)
    svc.deploy(p, OWNER, spec(env={"SUANLI_SIM_RUN_S": "1", "SUANLI_SIM_EXIT_CODE": "1"}))
    run_for(p, clock, 300)
    # Without a back-off a replica a second; with it 10, 20, 40, 80, 160 s apart.
    started = p.services.replicas()
    assert 4 <= len(started) <= 7
    assert all(r.status is R.FAILED for r in started[:-1])


def test_a_replica_leaves_the_routes_a_drain_time_before_its_job_is_stopped(
    tmp_path: Path,
) -> None:
    p, clock, _ = platform(tmp_path)
    svc.deploy(p, OWNER, spec(rollout={"drain_s": 15}))
    run_for(p, clock, 30)
    [old] = live(p, R.READY)
    svc.deploy(p, OWNER, spec(rollout={"drain_s": 15}, env={"V": "2"}))
    for _ in range(120):
        tick(p)
        [route] = p.route_table.routes()
        now_old = next(r for r in p.services.replicas() if r.id == old.id)
        if now_old.status is not R.READY:  # draining or stopped: never routed again
            assert old.id not in {e.replica_id for e in route.replicas}
        clock.advance(1)
    gone = next(r for r in p.services.replicas() if r.id == old.id)
    assert gone.status is R.STOPPED
    assert gone.drain_at is not None
    asked = [e for e in job_history(p, old.job_id) if e.reason.code == "reason_cancel_requested"]
    assert asked
    assert asked[0].at - gone.drain_at >= dt.timedelta(seconds=15)


def test_a_waiting_request_makes_the_first_replica_probed_at_once(tmp_path: Path) -> None:
    p, clock, probe = platform(tmp_path)
    periods: list[float] = []
    check = probe.check

    def recording(targets: Sequence[ProbeTarget], now: float) -> dict[str, bool]:
        periods.extend(t.period_s for t in targets)
        return check(targets, now)

    probe.check = recording  # type: ignore[method-assign]
    quiet = svc.deploy(p, OWNER, spec(replicas={"min": 0, "max": 2})).service
    p.route_table.want_replica(quiet.id, clock.now())
    run_for(p, clock, 5)
    assert periods
    assert max(periods) <= 0.25  # not readiness.period_s (5 s): the request is held
    svc.deploy(p, OWNER, spec(name="other", replicas={"min": 1, "max": 1}))
    periods.clear()
    run_for(p, clock, 5)
    assert 5.0 in periods  # nobody waits for this one: its own period
