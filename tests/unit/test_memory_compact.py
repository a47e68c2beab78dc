"""The memory stores keep equal values once (``store.memory_compact``): what is read back
equals what was written, and two values that differ in any observable way stay apart."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.billing.ledger import Account, AccountKind, Entry, Posting, tenant_cash
from suanli.billing.verdicts import Consideration, Outcome
from suanli.billing.vouchers import Deduction
from suanli.domain.ids import JobId
from suanli.domain.jobs import (
    Decision,
    Estimate,
    JobEvent,
    JobStatus,
    NodeAssignment,
    Placement,
    PoolVerdict,
    Reason,
    Verdicts,
)
from suanli.store import memory_compact
from suanli.store.base import Settlement
from suanli.store.memory_compact import KeptTags, SharedValues
from suanli.store.stores import memory_stores
from tests.builders import make_job
from tests.unit.billing.make import make_charge, make_line

T0 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def _refusal(programme: str, **params: object) -> Consideration:
    return Consideration(programme, 1, Outcome.WRONG_KIND, params=params)


def _event(job: str, reason: Reason) -> JobEvent:
    return JobEvent(JobId(job), T0, None, JobStatus.PENDING, reason)


def test_equal_reasons_are_kept_once_and_read_back_equal() -> None:
    stores = memory_stores()
    written = {}
    names = ("j-1", "j-2", "j-3")
    for name in names:
        job = make_job(job_id=name, status=JobStatus.PENDING)
        events = [_event(name, Reason("reason_submitted")), _event(name, Reason("x", {"k": 1}))]
        stores.jobs.add(job, events)
        written[name] = events
    one, two, three = (stores.jobs.events(JobId(n)) for n in names)
    assert [one, two, three] == [written[n] for n in names]
    assert [repr(e) for e in one] == [repr(e) for e in written["j-1"]]
    assert one[0].reason is two[0].reason is three[0].reason
    # The first reason with parameters is packed in its row (made again when read, equal);
    # every later equal one is the kept instance.
    assert two[1].reason is three[1].reason


def test_values_that_differ_in_form_are_not_shared() -> None:
    pairs = [
        (Reason("r", {"v": Decimal("0")}), Reason("r", {"v": Decimal("0.00")})),
        (Reason("r", {"v": 1}), Reason("r", {"v": 1.0})),
        (Reason("r", {"v": 1}), Reason("r", {"v": True})),
        (Reason("r", {"v": 0.0}), Reason("r", {"v": -0.0})),
        (Reason("r", {"a": 1, "b": 2}), Reason("r", {"b": 2, "a": 1})),
    ]
    for a, b in pairs:
        shared = SharedValues()
        assert shared.one(a) is a
        kept = shared.one(b)
        assert kept is b
        assert repr(kept) == repr(b)


def test_a_value_with_a_datetime_is_kept_as_it_came() -> None:
    shared = SharedValues()
    a, b = Reason("r", {"at": T0}), Reason("r", {"at": T0})
    assert shared.one(a) is a
    assert shared.one(b) is b


def test_a_settlement_reads_back_equal_with_its_refusals_shared() -> None:
    shared = SharedValues()
    out = []
    for gross in ("10.00", "20.00"):
        considered = (_refusal("p-a", policy_kind="kind.model"), _refusal("p-b", zone="x"))
        d = Deduction(make_charge(gross), considered)
        kept = shared.deduction(d)
        assert kept == d
        assert kept.net == d.net
        assert kept.explain() == d.explain()
        out.append(kept)
    assert out[0].considered is out[1].considered
    assert out[0].charge.attributes is out[1].charge.attributes


def test_a_ledger_entry_reads_back_equal_with_its_accounts_shared() -> None:
    shared = SharedValues()
    entries = []
    for n in range(2):
        postings = (
            Posting(tenant_cash("t"), Decimal("-1.00")),
            Posting(Account(AccountKind.PLATFORM_REVENUE), Decimal("1.00")),
        )
        e = Entry(f"settle:j-{n}/a1", postings, T0, memo="m", tags={"charge": f"j-{n}"})
        kept = shared.entry(e)
        assert kept == e
        entries.append(kept)
    assert entries[0].postings[0].account is entries[1].postings[0].account


def test_the_table_is_bounded_and_starts_again() -> None:
    shared = SharedValues()
    bound = memory_compact.KEPT_AT_MOST
    first = shared.one(Reason("same"))
    for n in range(bound + 10):  # values unique to one job each
        shared.one(Reason("dispatching", {"key": f"j-{n}"}))
    assert len(shared._kept) <= bound
    again = Reason("same")
    assert shared.one(again) is again  # the table started again: kept anew, still equal
    assert dataclasses.asdict(again) == dataclasses.asdict(first)


def test_amounts_are_shared_only_in_the_same_exact_form() -> None:
    shared = SharedValues()
    zero = Decimal("0.00")
    assert shared.amount(zero) is zero
    same, bare, negative = Decimal("0.00"), Decimal("0"), Decimal("-0.00")
    assert shared.amount(same) is zero
    assert shared.amount(bare) is bare
    assert shared.amount(negative) is negative


def _verdict(pool: str) -> PoolVerdict:
    estimate = Estimate(
        2.5, 0.4, Decimal("159.74"), Decimal("0.00"), Decimal("0.00"), 0.0, Decimal("159.74"), T0
    )
    return PoolVerdict("c", pool, True, Decimal("64.00"), None, estimate)


def test_a_finished_job_reads_back_equal_and_lines_shared_by_jobs_stay_shared() -> None:
    shared = SharedValues()
    lines = (_verdict("p1"), _verdict("p2"))  # one cycle's lines, shared by two decisions
    jobs = [
        make_job(
            job_id=f"j-{n}",
            status=JobStatus.SUCCEEDED,
            decision=Decision(Reason("placed", {"net": "159.74"}), Verdicts((lines, 0, 2))),
        )
        for n in range(2)
    ]
    kept = [shared.finished(j) for j in jobs]
    assert kept == jobs
    # Every line in the same form; the lines are kept as a tuple (equal to the Verdicts).
    decisions = [j.decision for j in (kept[0], jobs[0]) if j.decision is not None]
    assert [repr(list(d.verdicts)) for d in decisions] == [repr(list(lines))] * 2
    assert repr(dataclasses.replace(kept[0], decision=None)) == repr(
        dataclasses.replace(jobs[0], decision=None)
    )
    first, second = (list(k.decision.verdicts) for k in kept if k.decision is not None)
    assert all(a is b for a, b in zip(first, second, strict=True))
    estimate = first[0].estimate
    assert estimate is not None
    assert estimate.voucher is estimate.data_cost
    assert estimate.gross is estimate.net


def test_a_settlement_reads_back_equal_with_its_price_kept_once() -> None:
    shared = SharedValues()
    kept = []
    for n in range(2):
        line = make_line("12.50", job=f"j-{n}")
        d = Deduction(make_charge("12.50"), (_refusal("p-a", zone="x"),))
        s = Settlement(line, d, T0, f"settle:j-{n}/a1")
        out = shared.settlement(s)
        assert out == s
        assert repr(out) == repr(s)
        kept.append(out)
    assert kept[0].line.price_per_accelerator_hour is kept[1].line.price_per_accelerator_hour
    assert kept[0].line.gross is kept[0].deduction.charge.gross


def test_finished_jobs_on_the_same_nodes_share_their_placement_shape() -> None:
    shared = SharedValues()
    kept = []
    for n in range(2):
        nodes = (NodeAssignment("n1", (0, 1)), NodeAssignment("n2", (0, 1)))
        placement = Placement("c", "p", "V100", nodes, Decimal("64.00"))
        job = make_job(job_id=f"j-{n}", status=JobStatus.SUCCEEDED, placement=placement)
        out = shared.finished(job)
        assert out == job
        assert repr(out) == repr(job)
        kept.append(out)
    first, second = (k.placement for k in kept)
    assert first is not None
    assert second is not None
    assert first.nodes is second.nodes
    assert first.price_per_hour is second.price_per_hour


def test_an_attempts_keys_are_one_string_across_settlement_and_entry() -> None:
    """The usage key and the entry key, made anew wherever they are needed, are kept once:
    the settlement's entry key is the ledger entry's key, the charge's key its tag."""
    shared = SharedValues()
    usage_key, entry_key = "".join(["j-7", "/a1"]), "".join(["settle:", "j-7/a1"])
    d = Deduction(dataclasses.replace(make_charge("12.50"), key=usage_key), ())
    s = Settlement(make_line("12.50", job="j-7"), d, T0, entry_key)
    postings = (
        Posting(tenant_cash("t"), Decimal("-12.50")),
        Posting(Account(AccountKind.PLATFORM_REVENUE), Decimal("12.50")),
    )
    tags = {"charge": "".join(["j-7", "/a1"]), "company": "t"}
    e = Entry("".join(["settle:", "j-7/a1"]), postings, T0, memo="m", tags=tags)
    kept_s, kept_e = shared.settlement(s), shared.entry(e)
    assert (kept_s, kept_e) == (s, e)
    assert repr(kept_e) == repr(e)
    assert kept_s.entry_key is kept_e.key
    assert kept_s.deduction.charge.key is kept_e.tags["charge"]
    assert shared.key("".join(["settle:", "j-7/a1"])) is kept_e.key
    for n in range(memory_compact.KEPT_AT_MOST):  # the table starts over: equal, kept anew
        shared.key(f"j-{n}/a1")
    again = "".join(["settle:", "j-7/a1"])
    assert shared.key(again) == kept_e.key
    assert shared.key(again) is again


_names = st.sampled_from(("charge", "company", "project", "键"))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(_names, st.text(max_size=4), max_size=4), max_size=5))
def test_kept_tags_are_equal_to_the_map_they_were_made_from(maps: list[dict[str, str]]) -> None:
    shared = SharedValues()
    for tags in maps:
        kept = shared.tags(tags)
        assert kept == tags
        assert tags == kept
        assert dict(kept) == tags
        assert list(kept.items()) == list(tags.items())  # the same order
        assert repr(kept) == repr(tags)
        assert len(kept) == len(tags)
        assert kept.get("missing") is None
        for name in tags:
            assert kept[name] == tags[name]
    with pytest.raises(KeyError):
        shared.tags({"charge": "j-1/a1"})["company"]


def test_entries_with_the_same_tag_names_share_them() -> None:
    shared = SharedValues()
    one, two = (shared.tags({"charge": f"j-{n}/a1", "company": "t"}) for n in range(2))
    assert isinstance(one, KeptTags)
    assert isinstance(two, KeptTags)
    assert one._names is two._names


def test_postings_and_summaries_that_repeat_are_kept_once() -> None:
    shared = SharedValues()
    entries, jobs = [], []
    for n in range(2):
        postings = (
            Posting(tenant_cash("t"), Decimal("-0.47")),
            Posting(Account(AccountKind.PROVIDER_RECEIVABLE, "philly"), Decimal("0.47")),
        )
        e = Entry(f"settle:j-{n}/a1", postings, T0, memo="m")
        entries.append(shared.entry(e))
        assert entries[-1] == e
        summary = Reason("placed_lowest_cost", {"net": "0.47", "hours": "0.08"})
        job = make_job(job_id=f"j-{n}", status=JobStatus.SUCCEEDED, decision=Decision(summary))
        jobs.append(shared.finished(job))
        assert jobs[-1] == job
    assert entries[0].postings is entries[1].postings
    first, second = (j.decision for j in jobs)
    assert first is not None
    assert second is not None
    assert first.summary is second.summary


_zones = st.sampled_from(
    (dt.UTC, dt.timezone(dt.timedelta(0)), dt.timezone(dt.timedelta(hours=8)))
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), _zones, st.integers(0, 1), st.booleans()), max_size=12)
)
def test_instants_are_shared_only_when_the_same_in_every_way(
    picks: list[tuple[int, dt.timezone, int, bool]],
) -> None:
    shared = SharedValues()
    for seconds, zone, fold, day in picks:
        at = (T0 + dt.timedelta(seconds=seconds)).astimezone(zone).replace(fold=fold)
        value: dt.date = at.date() if day else at
        kept = shared.instant(value)
        assert kept == value
        assert type(kept) is type(value)
        assert repr(kept) == repr(value)  # the zone spelled the same, the same fold


def test_placements_are_shared_only_at_the_same_price_on_the_same_nodes() -> None:
    shared = SharedValues()
    out: list[Placement | None] = []
    for price, node in (("64.00", "n1"), ("64.00", "n1"), ("64.0", "n1"), ("64.00", "n2")):
        nodes = (NodeAssignment(node, (0, 1)),)
        placement = Placement("c", "p", "V100", nodes, Decimal(price))
        job = make_job(job_id=f"j-{len(out)}", status=JobStatus.SUCCEEDED, placement=placement)
        kept = shared.finished(job)
        assert kept == job
        assert repr(kept) == repr(job)
        out.append(kept.placement)
    assert out[0] is out[1]
    assert len({id(p) for p in out}) == 3
