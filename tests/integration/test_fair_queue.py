"""Fair queues in the live server, on SQLite and PostgreSQL, with the real local engine.

Two tenants of one cohort, a quota of one T4 each, two T4 in the fleet: one borrows the
other's idle card and gives it back (preempted) when the owner asks; the preempted job
goes back to the queue with its history and service, runs again and succeeds, and every
attempt is billed once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from suanli.domain.jobs import Job, JobStatus
from suanli.schemas.specfile import parse_spec_text
from suanli.service.billing import settle
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.dispatch import dispatch_placed
from suanli.service.jobs import job_history, submit_job
from suanli.service.queues import tenant_queues
from suanli.service.reconcile import check_engines, reconcile
from suanli.service.scheduling import run_scheduling_cycle
from tests.conftest import wait_until
from tests.e2e.server import kill_leftover_runs

S = JobStatus
FLEET = """
providers:
  - name: lab
    clusters:
      - name: lab-1
        region: beijing
        engine: {type: local}
        pools:
          - {name: t4, accelerator: T4, nodes: 1, accelerators_per_node: 2,
             cpus_per_node: 8, memory_gb_per_node: 32, price_per_accelerator_hour: "3600.00"}
"""
TENANTS = """
format: suanli/tenants/v1
tenants:
  - {name: alpha, quota: {T4: 1}, cohort: lab, borrow: true}
  - {name: beta, quota: {T4: 1}, cohort: lab, borrow: true}
queue: {grace_s: 5, min_run_s: 600}
"""


def spec(name: str, gate: Path) -> str:
    return (
        f"name: {name}\nresources: {{accelerator: {{model: T4, count: 1}}}}\n"
        f"run: \"while [ ! -e '{gate}' ]; do sleep 0.1; done\"\ntime_limit_hours: 0.1\n"
    )


@pytest.fixture
def platform(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str
) -> Iterator[Platform]:
    (tmp_path / "fleet.yaml").write_text(FLEET)
    (tmp_path / "tenants.yaml").write_text(getattr(request, "param", TENANTS))
    p = open_platform(
        tmp_path / "data",
        tmp_path / "fleet.yaml",
        database_url=database_url,
        detect_gpus=False,
        tenants_file=tmp_path / "tenants.yaml",
    )
    try:
        yield p
    finally:
        p.close()
        kill_leftover_runs(tmp_path / "data")


def tick(p: Platform) -> None:
    check_engines(p)
    run_scheduling_cycle(p)
    dispatch_placed(p)
    reconcile(p)
    settle(p)


def until(p: Platform, job_id: str, *statuses: JobStatus) -> Job:
    def probe() -> Job | None:
        tick(p)
        job = p.jobs.get(job_id)  # type: ignore[arg-type]
        return job if job is not None and job.status in statuses else None

    try:
        return wait_until(probe, timeout=60)
    except AssertionError:
        job = p.jobs.get(job_id)  # type: ignore[arg-type]
        history = [(e.to_status.value, e.reason.code) for e in p.jobs.events(job_id)]  # type: ignore[arg-type]
        raise AssertionError(f"{job_id} not {statuses}: {job and job.status}, {history}") from None


def submit(p: Platform, name: str, tenant: str, gate: Path) -> str:
    return submit_job(p, parse_spec_text(spec(name, gate)), tenant=tenant).id


def test_the_owner_gets_its_quota_back_and_the_borrower_reruns(
    platform: Platform, exchange: Path
) -> None:
    p = platform
    gates = {n: exchange / f"gate-{n}" for n in ("a1", "a2", "b1")}
    a1 = submit(p, "a1", "alpha", gates["a1"])
    a2 = submit(p, "a2", "alpha", gates["a2"])  # submitted later: a2 is the one that borrows
    until(p, a1, S.RUNNING)
    borrower = until(p, a2, S.RUNNING)
    assert borrower.borrowed  # alpha holds both cards: one its own, one beta's
    [alpha] = [t for t in tenant_queues(p) if t.tenant == "alpha"]
    assert [(u.model, u.used, u.quota, u.borrowed) for u in alpha.usage] == [("T4", 2, 1, 1)]

    b1 = submit(p, "b1", "beta", gates["b1"])
    back = until(p, a2, S.QUEUED)  # beta asked for its quota: alpha's borrowed job stops
    assert back.attempt == 1
    assert back.placement is None
    assert back.attained > 0
    assert not back.borrowed
    assert back.preempt_at is None
    until(p, b1, S.RUNNING)
    waiting = until(p, a2, S.QUEUED)
    assert waiting.decision is not None
    assert waiting.decision.summary.code == "queue_cohort_full"
    [alpha] = [t for t in tenant_queues(p) if t.tenant == "alpha"]
    assert [w.job_id for w in alpha.waiting] == [a2]
    assert alpha.waiting[0].reason.code == "queue_cohort_full"

    codes = [(e.from_status, e.to_status, e.reason.code) for e in job_history(p, a2)]
    assert (S.RUNNING, S.RUNNING, "preempt_reclaim") in codes
    assert (S.RUNNING, S.RUNNING, "reason_preempt_asked") in codes
    assert (S.RUNNING, S.QUEUED, "reason_preempted") in codes

    gates["a1"].touch()  # alpha's own card comes free: a2 runs again on it and succeeds
    gates["a2"].touch()
    done = until(p, a2, S.SUCCEEDED, S.FAILED)
    assert done.status is S.SUCCEEDED
    assert done.attempt == 2
    assert not done.borrowed
    gates["b1"].touch()
    until(p, b1, S.SUCCEEDED)
    until(p, a1, S.SUCCEEDED)

    # Billed once per attempt: the preempted attempt and the one that succeeded.
    settle(p)
    assert p.billing is not None
    lines = sorted(s.line.key for s in p.billing.store.settlements("alpha"))
    assert lines == sorted([f"{a1}/a1", f"{a2}/a1", f"{a2}/a2"])
    again = settle(p)
    assert (again.metered, again.settled, again.posted) == (0, 0, 0)
    assert p.billing.ledger.verify().ok


# The queue grants 30 s; the local engine's own default would kill after 5 s.
GRACEFUL = TENANTS.replace("grace_s: 5", "grace_s: 30")


@pytest.mark.parametrize("platform", [GRACEFUL], indirect=True)
def test_a_preempted_job_gets_the_queues_grace_to_checkpoint(
    platform: Platform, exchange: Path
) -> None:
    p = platform
    saved = exchange / "checkpoint"
    gate = exchange / "gate"
    handler = f"echo checkpointing; sleep 7; echo saved > {saved}; exit 0"
    run = f"trap '{handler}' TERM; while [ ! -e {gate} ]; do sleep 0.1; done"
    a1 = submit(p, "a1", "alpha", gate)
    until(p, a1, S.RUNNING)
    a2 = submit_job(
        p,
        parse_spec_text(
            "name: a2\nresources: {accelerator: {model: T4, count: 1}}\n"
            f"run: {json.dumps(run)}\ntime_limit_hours: 0.1\n"
        ),
        tenant="alpha",
    ).id
    assert until(p, a2, S.RUNNING).borrowed

    b1 = submit(p, "b1", "beta", gate)  # beta reclaims its card: a2 is asked to stop
    back = until(p, a2, S.QUEUED)

    assert saved.read_text() == "saved\n"  # it had the time to save before it stopped
    assert back.preemptions == 1
    gate.touch()
    for job in (a1, b1):
        until(p, job, S.SUCCEEDED)


# One tenant, no quota: the fleet's two T4 (one node) bound it; reservations are on by default.
ALONE = "format: suanli/tenants/v1\ntenants:\n  - {name: alpha}\n"


def gated(name: str, gate: Path, count: int, hours: float) -> str:
    return (
        f"name: {name}\nresources: {{accelerator: {{model: T4, count: {count}}}}}\n"
        f"run: \"while [ ! -e '{gate}' ]; do sleep 0.1; done\"\n"
        f"estimated_hours: {hours}\ntime_limit_hours: 1\n"
    )


@pytest.mark.parametrize("platform", [ALONE], indirect=True)
def test_a_blocked_gang_keeps_its_start_from_longer_jobs_but_short_ones_backfill(
    platform: Platform, exchange: Path
) -> None:
    p = platform
    gate = {n: exchange / f"gate-{n}" for n in ("busy", "wide", "long", "short")}

    def put(name: str, count: int, hours: float) -> str:
        return submit_job(
            p, parse_spec_text(gated(name, gate[name], count, hours)), tenant="alpha"
        ).id

    busy = put("busy", 1, 0.01)  # one card, expected to end in about 3 min on a T4
    until(p, busy, S.RUNNING)
    wide = put("wide", 2, 0.01)  # needs both cards: waits for busy, reserves its end
    long = put("long", 1, 5.0)  # would hold the free card far past that: waits
    tick(p)
    waiting = until(p, long, S.QUEUED)
    assert waiting.decision is not None
    assert waiting.decision.summary.code == "queue_reserved"
    assert waiting.decision.summary.params["holder"] == wide
    assert waiting.decision.summary.params["need"] == 1
    short = put("short", 1, 0.0001)  # ends well before it: starts on the free card now
    until(p, short, S.RUNNING)
    assert until(p, wide, S.QUEUED).placement is None
    assert p.jobs.get(long).status is S.QUEUED  # type: ignore[arg-type,union-attr]

    gate["busy"].touch()
    gate["short"].touch()
    until(p, wide, S.RUNNING)  # the reservation is kept: the gang gets both cards first
    assert p.jobs.get(long).status is S.QUEUED  # type: ignore[arg-type,union-attr]
    gate["wide"].touch()
    gate["long"].touch()
    for job in (wide, long):
        assert until(p, job, S.SUCCEEDED, S.FAILED).status is S.SUCCEEDED
