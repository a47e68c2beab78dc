"""One contract for every store: memory, SQLite and PostgreSQL keep the same protocols.

Each test runs against each kind (PostgreSQL only with SUANLI_TEST_POSTGRES_URL set, as
scripts/test sets it): what a service may rely on, whichever store it was given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.billing.ledger import (
    AlreadyReversed,
    Entry,
    IdempotencyConflict,
    Posting,
    UnknownEntry,
    external,
    tenant_cash,
)
from suanli.billing.metering import UsageRecord
from suanli.billing.pricing import BillLine
from suanli.billing.vouchers import VoucherUsage, charge_for_line, decide
from suanli.domain.access import ApiToken, AuditEvent, Organisation, OrgKind, Role, Scope, User
from suanli.domain.jobs import Job, JobEvent, JobStatus, NodeAssignment, Placement, Reason
from suanli.domain.lifecycle import transition
from suanli.store.base import MeteredUsage, Outcome, Settlement, Submission
from suanli.store.sql.database import open_database, sqlite_url
from suanli.store.stores import Stores, memory_stores, sql_stores
from tests.builders import T0, make_job, make_spec
from tests.conftest import postgres_url, reset_postgres
from tests.unit.billing.make import ELIGIBLE, POLICIES, make_usage
from tests.unit.billing.make import T0 as BILLED

S = JobStatus
D = Decimal
D1 = Decimal("1.00")
PRICE = Decimal("10.00")


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "memory":
        yield memory_stores()
        return
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "contract.db")
    else:
        found = postgres_url()
        if not found:
            pytest.skip("SUANLI_TEST_POSTGRES_URL is unset (scripts/test sets it)")
        reset_postgres(found)
        url = found
    engine = open_database(url)
    try:
        yield sql_stores(engine)
    finally:
        engine.dispose()


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def billed(minutes: int) -> dt.datetime:
    return BILLED + dt.timedelta(minutes=minutes)


# -- jobs ---------------------------------------------------------------------------------


def test_a_job_reads_back_with_its_history(stores: Stores) -> None:
    job = make_job(job_id="j-1", status=S.PENDING)
    event = JobEvent(job.id, T0, None, S.PENDING, Reason("reason_submitted"))
    stores.jobs.add(job, [event])
    assert stores.jobs.get(job.id) == job
    assert stores.jobs.get(make_job(job_id="j-none").id) is None
    assert stores.jobs.events(job.id) == [event]


def test_a_stale_write_is_refused_and_writes_nothing(stores: Stores) -> None:
    job = make_job(job_id="j-1", status=S.PENDING)
    stores.jobs.add(job, [])
    after, event = transition(job, S.QUEUED, at(1), Reason("reason_admitted"))
    assert stores.jobs.save(job, after, [event]) is Outcome.APPLIED
    stored = stores.jobs.get(job.id)
    assert stored is not None
    assert (stored.status, stored.version) == (S.QUEUED, job.version + 1)
    # The same "before" again: somebody moved first.
    other, note = transition(job, S.CANCELLED, at(2), Reason("reason_cancelled"))
    assert stores.jobs.save(job, other, [note]) is Outcome.STALE
    assert stores.jobs.get(job.id) == stored
    assert stores.jobs.events(job.id) == [event]


def test_listing_is_newest_first_filtered_paged_and_counted(stores: Stores) -> None:
    placement = Placement("east", "p", "T4", (NodeAssignment("p-n0", (0,)),), Decimal(1))
    for i in range(6):
        stores.jobs.add(
            make_job(
                job_id=f"j-{i}",
                at=at(i),
                status=S.RUNNING if i % 2 else S.QUEUED,
                tenant="a" if i < 3 else "b",
                placement=placement if i % 2 else None,
            ),
            [],
        )
    assert [j.id for j in stores.jobs.list()] == [f"j-{i}" for i in range(5, -1, -1)]
    assert [j.id for j in stores.jobs.list(limit=2, offset=1)] == ["j-4", "j-3"]
    assert [j.id for j in stores.jobs.list([S.QUEUED])] == ["j-4", "j-2", "j-0"]
    assert [j.id for j in stores.jobs.list(tenant="a")] == ["j-2", "j-1", "j-0"]
    assert [j.id for j in stores.jobs.list(clusters=["east"])] == ["j-5", "j-3", "j-1"]
    assert stores.jobs.list(clusters=[]) == []
    assert stores.jobs.count() == 6
    assert stores.jobs.count([S.RUNNING], tenant="b") == 2
    assert stores.jobs.count(clusters=["west"]) == 0
    assert stores.jobs.status_counts([S.QUEUED, S.RUNNING, S.FAILED]) == {
        S.QUEUED: 3,
        S.RUNNING: 3,
        S.FAILED: 0,
    }
    assert [j.id for j in stores.jobs.active()] == [f"j-{i}" for i in range(6)]  # oldest first
    assert [j.id for j in stores.jobs.holding()] == ["j-1", "j-3", "j-5"]


def test_unfinished_jobs_per_tenant_follow_every_change(stores: Stores) -> None:
    job = make_job(job_id="j-1", tenant="a")
    stores.jobs.add(job, [])
    stores.jobs.add(make_job(job_id="j-2", tenant="a", status=S.SUCCEEDED), [])
    assert stores.jobs.active_count("a", 10) == 1
    done, event = transition(job, S.CANCELLED, at(1), Reason("reason_cancelled"))
    assert stores.jobs.save(job, done, [event]) is Outcome.APPLIED
    assert stores.jobs.active_count("a", 10) == 0
    assert stores.jobs.active_count("nobody", 10) == 0


def test_a_group_of_submissions_keeps_to_the_active_limit(stores: Stores) -> None:
    stores.jobs.add(make_job(job_id="j-0", tenant="a"), [])
    group = [
        Submission(
            make_job(job_id=f"j-{i}", tenant=t, status=S.PENDING, at=at(i)),
            [JobEvent(make_job(job_id=f"j-{i}").id, at(i), None, S.PENDING, Reason("r"))],
            AuditEvent(at(i), "u", "tenant_admin", t, "tok", "POST /jobs", "/jobs", 201, "::1"),
        )
        for i, t in enumerate(["a", "b", "a", "a"], start=1)
    ]
    assert stores.jobs.add_submitted(group, active_limit=2) == [None, None, 2, 2]
    assert stores.jobs.count() == 3
    assert stores.jobs.get(group[2].job.id) is None
    assert stores.jobs.active_count("a", 10) == 2
    assert [e.organisation for e in stores.audit.events()] == ["b", "a"]  # newest first
    assert stores.jobs.add_submitted(group[2:], active_limit=0) == [None, None]
    assert stores.jobs.active_count("a", 10) == 4


def test_waiting_jobs_group_by_their_decision(stores: Stores) -> None:
    for i in range(3):
        stores.jobs.add(make_job(job_id=f"j-{i}", at=at(i)), [])
    groups = stores.jobs.waiting_groups([S.QUEUED])
    assert [(g.decision, g.jobs, g.oldest) for g in groups] == [(None, 3, T0)]
    assert stores.jobs.waiting_groups([S.RUNNING]) == []


def test_notes_are_appended_in_order(stores: Stores) -> None:
    job = make_job(job_id="j-1")
    stores.jobs.add(job, [])
    notes = [JobEvent(job.id, at(i), S.QUEUED, S.QUEUED, Reason(f"n{i}")) for i in range(3)]
    stores.jobs.add_events(notes[:2])
    stores.jobs.add_events(notes[2:])
    assert stores.jobs.events(job.id) == notes


# -- billing ------------------------------------------------------------------------------


def finished(job_id: str, attempt: int = 1, minutes: int = 60) -> Job:
    placement = Placement("c1", "p1", "T4", (NodeAssignment("p1-n0", (0,)),), PRICE)
    return make_job(
        make_spec(),
        job_id=job_id,
        status=S.SUCCEEDED,
        attempt=attempt,
        placement=placement,
        started_at=T0,
        finished_at=at(minutes),
    )


def settlement_of(usage: UsageRecord, entry_key: str | None = "settle:1") -> Settlement:
    line = BillLine(usage, PRICE, Decimal("100.00"))
    deduction = decide(charge_for_line(line), ELIGIBLE, list(POLICIES.values()), VoucherUsage())
    return Settlement(line, deduction, usage.ended_at, entry_key)


def test_usage_is_recorded_once_and_finished_jobs_wait_for_it(stores: Stores) -> None:
    for i, minutes in ((1, 90), (2, 30)):
        stores.jobs.add(finished(f"j-{i}", minutes=minutes), [])
    stores.jobs.add(make_job(job_id="j-3", status=S.FAILED), [])  # never ran: nothing to meter
    assert [j.id for j in stores.billing.unmetered_jobs()] == ["j-2", "j-1"]  # by end
    reading = MeteredUsage(make_usage("j-2"), PRICE)
    assert stores.billing.add_usage(reading, at(100))
    assert not stores.billing.add_usage(MeteredUsage(make_usage("j-2"), Decimal(1)), at(101))
    assert [j.id for j in stores.billing.unmetered_jobs()] == ["j-1"]
    assert stores.billing.unsettled() == [reading]


def metered(stores: Stores, u: UsageRecord) -> None:
    """Store ``u``'s job (a reading belongs to a stored job) and ``u``."""
    stores.jobs.add(finished(u.job_id), [])
    assert stores.billing.add_usage(MeteredUsage(u, PRICE), u.ended_at)


def test_a_settled_reading_is_never_forgotten(stores: Stores) -> None:
    first, second = make_usage("j-1"), make_usage("j-2", start=BILLED + dt.timedelta(minutes=5))
    for u in (first, second):
        stores.jobs.add(finished(u.job_id), [])
        stores.billing.add_usage(MeteredUsage(u, PRICE), u.ended_at)
    assert stores.billing.add_settlement(settlement_of(first))
    assert not stores.billing.add_settlement(settlement_of(first, "settle:other"))
    assert stores.billing.forget_usage(first.key) is None
    forgotten = stores.billing.forget_usage(second.key)
    assert forgotten == MeteredUsage(second, PRICE)
    assert stores.billing.forget_usage(second.key) is None
    assert stores.billing.unsettled() == []


def test_settlements_read_back_filtered_paged_and_summed(stores: Stores) -> None:
    usages = [
        make_usage("j-1", tenant="acme"),
        make_usage("j-2", tenant="acme", start=billed(10), provider="other"),
        make_usage("j-3", tenant="beta", start=billed(20)),
    ]
    for i, u in enumerate(usages):
        metered(stores, u)
        stores.billing.add_settlement(settlement_of(u, f"settle:{i}"))
    month = usages[0].month
    got = stores.billing.settlements("acme", month)
    assert [s.line.key for s in got] == [usages[0].key, usages[1].key]
    assert got[0] == settlement_of(usages[0], "settle:0")
    page, total = stores.billing.settlement_page(limit=1, offset=1)
    assert (total, [s.line.key for s in page]) == (3, [usages[1].key])
    page, total = stores.billing.settlement_page(provider="other")
    assert (total, [s.line.key for s in page]) == (1, [usages[1].key])
    page, total = stores.billing.settlement_page(job_id="j-3")
    assert total == 1
    gross, deduction, net = stores.billing.settlement_totals("acme", month)
    assert gross == Decimal("200.00")
    assert deduction + net == gross
    assert deduction > 0
    used = stores.billing.voucher_usage()
    assert sum(used.pool_used.values()) == sum(
        s.deduction.amount for s in stores.billing.settlements()
    )
    assert [s.line.key for s in stores.billing.unposted()] == [u.key for u in usages]
    stores.ledger.post(
        Entry("settle:0", (Posting(external(), D("-1.00")), Posting(tenant_cash("acme"), D1)), T0)
    )
    assert [s.line.key for s in stores.billing.unposted()] == [usages[1].key, usages[2].key]
    between = stores.billing.usage_between(billed(15), billed(200), provider="prov")
    assert [u.key for u in between] == [usages[0].key, usages[2].key]


# -- ledger -------------------------------------------------------------------------------


def entry(key: str, amount: str = "1.00", tenant: str = "acme") -> Entry:
    return Entry(
        key, (Posting(external(), -D(amount)), Posting(tenant_cash(tenant), D(amount))), T0
    )


def test_the_ledger_applies_a_key_once_and_refuses_a_changed_one(stores: Stores) -> None:
    assert stores.ledger.post(entry("k1")).applied
    assert not stores.ledger.post(entry("k1")).applied
    with pytest.raises(IdempotencyConflict):
        stores.ledger.post(entry("k1", "2.00"))
    stores.ledger.post(entry("k2", "2.50"))
    assert stores.ledger.balance(tenant_cash("acme")) == D("3.50")
    assert stores.ledger.balance(tenant_cash("nobody")) == 0
    assert stores.ledger.has("k1")
    assert not stores.ledger.has("k3")
    assert stores.ledger.posted_keys(["k1", "k3", "k2"]) == {"k1", "k2"}
    report = stores.ledger.verify()
    assert report.ok
    assert report.entries == 2


def test_a_reversal_names_a_posted_entry_once(stores: Stores) -> None:
    stores.ledger.post(entry("k1"))
    mirror = (Posting(external(), D1), Posting(tenant_cash("acme"), -D1))
    with pytest.raises(UnknownEntry):
        stores.ledger.post(Entry("r0", mirror, T0, reverses="nope"))
    stores.ledger.post(Entry("r1", mirror, T0, reverses="k1"))
    with pytest.raises(AlreadyReversed):
        stores.ledger.post(Entry("r2", mirror, T0, reverses="k1"))
    assert stores.ledger.balance(tenant_cash("acme")) == 0
    assert stores.ledger.verify().ok


# -- access, audit, health ----------------------------------------------------------------


def test_organisations_users_and_tokens(stores: Stores) -> None:
    a = stores.access
    assert a.add_organisation(Organisation("acme", OrgKind.TENANT, T0))
    assert not a.add_organisation(Organisation("acme", OrgKind.PROVIDER, T0))
    a.add_organisation(Organisation("beta", OrgKind.TENANT, T0))
    assert [o.name for o in a.organisations()] == ["acme", "beta"]
    assert a.add_user(User("li", "acme", Role.TENANT_ADMIN, T0))
    assert not a.add_user(User("li", "beta", Role.OPERATOR, T0))
    a.add_user(User("wang", "beta", Role.TENANT_MEMBER, T0))
    assert [u.name for u in a.users("beta")] == ["wang"]
    user = a.user("li")
    assert user is not None
    assert user.organisation == "acme"
    tokens = [
        ApiToken(f"t{i}", name, "h" * 64, frozenset({Scope.READ}), at(i), at(600))
        for i, name in enumerate(["li", "wang", "li"])
    ]
    for t in tokens:
        a.add_token(t)
    assert a.token("t1") == (tokens[1], a.user("wang"))
    assert a.token("t9") is None
    assert [t.id for t in a.tokens(user="li")] == ["t2", "t0"]  # newest first
    assert [t.id for t in a.tokens(organisation="beta")] == ["t1"]
    assert a.revoke_token("t0", at(5))
    assert not a.revoke_token("t0", at(6))
    assert not a.revoke_token("t9", at(6))
    revoked = a.token("t0")
    assert revoked is not None
    assert revoked[0].revoked_at == at(5)


def test_the_audit_log_is_newest_first_and_filtered(stores: Stores) -> None:
    for i, actor in enumerate(["li", "wang", "li"]):
        stores.audit.record(
            AuditEvent(at(i), actor, "r", "acme", "t", "POST /x", "/x", 200, "::1")
        )
    assert [e.at for e in stores.audit.events(actor="li")] == [at(2), at(0)]
    assert [e.actor for e in stores.audit.events(since=at(1))] == ["li", "wang"]
    assert len(stores.audit.events(limit=1)) == 1
    ids = [e.id for e in stores.audit.events()]
    assert None not in ids
    assert ids == sorted(ids, key=lambda n: -(n or 0))


def test_cluster_health_keeps_the_first_time_down(stores: Stores) -> None:
    assert stores.health.down() == {}
    assert stores.health.mark_down("east", at(1)) == at(1)
    assert stores.health.mark_down("east", at(5)) == at(1)
    stores.health.mark_down("west", at(2))
    assert stores.health.down() == {"east": at(1), "west": at(2)}
    stores.health.mark_up("east")
    stores.health.mark_up("nowhere")
    assert stores.health.down() == {"west": at(2)}


def test_jobs_are_frozen_values_so_a_read_cannot_change_the_store(stores: Stores) -> None:
    job = make_job(job_id="j-1")
    stores.jobs.add(job, [])
    read = stores.jobs.get(job.id)
    assert read is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        read.status = S.FAILED  # type: ignore[misc]
