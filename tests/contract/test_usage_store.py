"""The usage store's contract: memory, SQLite and PostgreSQL keep metered requests and token
settlements the same way (PostgreSQL with SUANLI_TEST_POSTGRES_URL, as scripts/test sets)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.billing.ledger import Entry, Posting, external, tenant_cash
from suanli.billing.tokens import TokenLine, charge_for_tokens, token_settlement_entry
from suanli.billing.vouchers import VoucherUsage, decide
from suanli.domain.serving import UsageEvent
from suanli.store.sql.database import open_database, sqlite_url
from suanli.store.stores import Stores, memory_stores, sql_stores
from suanli.store.usage import PricedUsage, TokenSettlement, UsageFilter, UsageStore
from tests.conftest import postgres_url, reset_postgres
from tests.unit.billing.make import ELIGIBLE, MODEL, POLICIES

T0 = dt.datetime(2026, 11, 23, 9, 0, 5, tzinfo=dt.UTC)
IN, OUT = Decimal("0.50"), Decimal("1.00")


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "memory":
        yield memory_stores()
        return
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "usage.db")
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


def usage_of(stores: Stores) -> UsageStore:
    assert stores.usage is not None
    return stores.usage


def event(
    rid: str,
    *,
    seconds: int = 0,
    caller: str = "acme",
    key: str | None = "k-1",
    service: str = "svc-1",
    prompt: int = 100,
    completion: int = 20,
    status: int = 200,
    payer: str = "caller",
) -> PricedUsage:
    e = UsageEvent(
        request_id=rid,
        at=T0 + dt.timedelta(seconds=seconds),
        caller=caller,
        api_key_id=key,
        service_id=service,
        service_name=f"name-{service}",
        owner="pub",
        model="tiny-llama",
        prompt_tokens=prompt,
        completion_tokens=completion,
        counted_by="server",
        status=status,
    )
    return PricedUsage(e, payer, IN, OUT, True, "tiny-llama-random", T0)  # type: ignore[arg-type]


def test_an_event_is_kept_once_and_reads_back(stores: Stores) -> None:
    store = usage_of(stores)
    first = event("r-1")
    assert store.add(first) is True
    assert store.add(event("r-1", prompt=999)) is False  # a replay changes nothing
    assert store.get("r-1") == first
    assert store.get("r-none") is None


def test_totals_per_minute_caller_key_and_service(stores: Stores) -> None:
    store = usage_of(stores)
    store.add(event("r-1", seconds=0))
    store.add(event("r-2", seconds=30, prompt=50, completion=5))
    store.add(event("r-3", seconds=61))  # next minute
    store.add(event("r-4", seconds=1, key="k-2", caller="beta"))
    store.add(event("r-5", seconds=2, service="svc-2"))
    rows = store.totals()
    got = {(r.minute.minute - T0.minute, r.caller, r.api_key_id, r.service_id): r for r in rows}
    first = got[(0, "acme", "k-1", "svc-1")]
    assert (first.requests, first.prompt_tokens, first.completion_tokens) == (2, 150, 25)
    # 150 x 0.50 + 25 x 1.00 per million, exact
    assert first.cost == Decimal("0.0001")
    assert first.service_name == "name-svc-1"
    assert first.owner == "pub"
    assert got[(1, "acme", "k-1", "svc-1")].requests == 1
    assert got[(0, "beta", "k-2", "svc-1")].requests == 1
    assert got[(0, "acme", "k-1", "svc-2")].requests == 1
    assert len(rows) == 4
    assert [r.caller for r in store.totals(UsageFilter(caller="beta"))] == ["beta"]
    assert {r.service_id for r in store.totals(UsageFilter(service_id="svc-2"))} == {"svc-2"}
    assert len(store.totals(UsageFilter(api_key_id="k-2"))) == 1
    late = store.totals(UsageFilter(since=T0 + dt.timedelta(seconds=60)))
    assert [r.requests for r in late] == [1]
    assert store.totals(UsageFilter(until=T0)) == []


def test_only_answered_requests_to_callers_paying_are_unsettled(stores: Stores) -> None:
    store = usage_of(stores)
    store.add(event("r-ok"))
    store.add(event("r-err", status=500))
    store.add(event("r-own", payer="owner"))
    store.add(event("r-self", caller="pub"))  # the publisher calling its own service
    assert [u.request_id for u in store.unsettled()] == ["r-ok"]
    errored = store.totals(UsageFilter(caller="acme"))
    assert sum(r.requests for r in errored) == 3  # counted, though not billed
    assert sum((r.cost for r in errored), Decimal(0)) == Decimal("0.00007")


def settlement(seq: int, cost: str, before: str, requests: int = 1) -> TokenSettlement:
    line = TokenLine(
        service_id="svc-1",
        service_name="name-svc-1",
        caller="acme",
        owner="pub",
        month="2026-11",
        seq=seq,
        requests=requests,
        prompt_tokens=100,
        completion_tokens=20,
        cost_to_date=Decimal(cost),
        billed_before=Decimal(before),
        domestic=True,
        base_model="tiny-llama-random",
        on=dt.date(2026, 11, 23),
    )
    deduction = decide(charge_for_tokens(line), ELIGIBLE, [POLICIES[MODEL]], VoucherUsage())
    entry = token_settlement_entry(line, deduction, T0, Decimal("0.05"))
    return TokenSettlement(line, deduction, T0, entry.key if entry else None)


def test_a_settlement_covers_its_requests_once_all_or_nothing(stores: Stores) -> None:
    store = usage_of(stores)
    for i in range(3):
        store.add(event(f"r-{i}"))
    first = settlement(1, "12.3456", "0.00", requests=2)
    assert store.add_settlement(first, ["r-0", "r-1"]) is True
    assert [u.request_id for u in store.unsettled()] == ["r-2"]
    # the same key again, or a request already covered: refused, nothing written
    assert store.add_settlement(first, ["r-2"]) is False
    assert store.add_settlement(settlement(2, "13", "12.34"), ["r-1", "r-2"]) is False
    assert [u.request_id for u in store.unsettled()] == ["r-2"]
    last = store.last_settlement("svc-1", "acme", "2026-11")
    assert last == first
    assert last.line.gross == Decimal("12.34")
    assert last.deduction.amount == Decimal("6.17")  # 50 % model voucher
    assert store.last_settlement("svc-1", "acme", "2026-10") is None
    # the voucher drawn counts against the programme's pool and the company's cap
    used = stores.billing.voucher_usage()
    assert used.pool_used[(MODEL, 2026)] == Decimal("6.17")
    second = settlement(2, "13.0009", "12.34")
    assert store.add_settlement(second, ["r-2"]) is True
    assert store.unsettled() == []
    assert store.last_settlement("svc-1", "acme", "2026-11") == second
    assert [s.line.seq for s in store.settlements(caller="acme")] == [1, 2]
    assert store.settlements(owner="pub", month="2026-12") == []


def test_unposted_settlements_are_those_the_ledger_lacks(stores: Stores) -> None:
    store = usage_of(stores)
    store.add(event("r-1"))
    s = settlement(1, "1.00", "0.00")
    store.add_settlement(s, ["r-1"])
    assert [u.line.key for u in store.unposted()] == [s.line.key]
    top_up = Entry(
        "top-up:x", (Posting(external(), Decimal("-1")), Posting(tenant_cash("acme"), D1)), T0
    )
    stores.ledger.post(top_up)
    assert len(store.unposted()) == 1
    entry = token_settlement_entry(s.line, s.deduction, s.settled_at, Decimal("0.05"))
    assert entry is not None
    stores.ledger.post(entry)
    assert store.unposted() == []


D1 = Decimal("1.00")
