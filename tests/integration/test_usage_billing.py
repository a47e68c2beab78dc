"""Token spend end to end on a real platform (SQLite, and PostgreSQL in CI): the gateway's
events metered once, settled per caller and month, posted once, with the 50 % model voucher
on a domestic base model, whatever stops between the steps."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.billing.ledger import platform_revenue, tenant_cash, tenant_voucher, voucher_pool
from suanli.domain.clock import FixedClock
from suanli.domain.errors import InvalidInput
from suanli.domain.serving import ServiceRoute, UsageEvent
from suanli.domain.tenants import Tenant
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.usage import (
    MeteringSink,
    bill_tokens,
    check_event,
    post_tokens,
    settle_tokens,
)
from tests.unit.billing.make import ELIGIBLE

MODEL = "beijing-etown-model-2024"
D0, C1, C2, C3 = Decimal(0), Decimal("0.01"), Decimal("0.02"), Decimal("0.03")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
# 10,000 yuan per million input tokens, 20,000 per million output: one request of 100 + 20
# tokens costs 1.40 yuan, so the voucher's half and the platform's fee show to the fen.
ROUTE = ServiceRoute(
    service_id="svc-1",
    name="tiny-llama",
    owner="pub",
    revision=1,
    served_name="tiny-llama",
    visibility="public",
    tenants=(),
    payer="caller",
    base_model="tiny-llama-random",
    publisher="suanli demo",
    domestic=True,
    input_price_per_million_yuan=Decimal("10000"),
    output_price_per_million_yuan=Decimal("20000"),
    replicas=(),
    min_replicas=0,
    max_replicas=1,
)


class Routes:
    """The control plane's table as the sink sees it (a fixed one)."""

    def __init__(self, routes: Sequence[ServiceRoute]) -> None:
        self._routes = tuple(routes)

    def routes(self) -> Sequence[ServiceRoute]:
        return self._routes

    def want_replica(self, service_id: str, at: dt.datetime) -> None:
        return None


def open_test(tmp_path: Path, database_url: str) -> Platform:
    p = open_platform(tmp_path / "data", database_url=database_url, detect_gpus=False)
    p.clock = FixedClock(NOW)
    assert p.billing is not None
    p.billing.tenants.add(Tenant("acme", "Acme", attributes=ELIGIBLE))
    p.billing.tenants.add(Tenant("pub", "Publisher"))
    p.billing.tenants.add(Tenant("far", "Far away", attributes={"registered_zone": "other"}))
    return p


@pytest.fixture
def platform(tmp_path: Path, database_url: str) -> Iterator[Platform]:
    p = open_test(tmp_path, database_url)
    try:
        yield p
    finally:
        p.close()


def sink_of(p: Platform, routes: Sequence[ServiceRoute] = (ROUTE,)) -> MeteringSink:
    assert p.usage is not None
    return MeteringSink(p.usage, Routes(routes), p.clock)


def event(rid: str, caller: str = "acme", prompt: int = 100, completion: int = 20) -> UsageEvent:
    return UsageEvent(
        request_id=rid,
        at=NOW,
        caller=caller,
        api_key_id="key-1",
        service_id="svc-1",
        service_name="tiny-llama",
        owner="pub",
        model="tiny-llama",
        prompt_tokens=prompt,
        completion_tokens=completion,
        counted_by="server",
        status=200,
    )


def cash(p: Platform, tenant: str) -> Decimal:
    assert p.billing is not None
    return p.billing.ledger.balance(tenant_cash(tenant))


def test_callers_pay_per_token_the_publisher_is_credited_the_voucher_takes_half(
    platform: Platform,
) -> None:
    p = platform
    assert p.billing is not None
    sink = sink_of(p)
    for i in range(3):
        sink.record(event(f"r-{i}"))
    report = bill_tokens(p)
    assert (report.settled, report.posted) == (1, 1)
    gross = Decimal("4.20")  # 3 x 1.40
    fee = (gross * p.billing.platform_fee_rate).quantize(Decimal("0.01"), "ROUND_DOWN")
    assert cash(p, "acme") == Decimal("-2.10")  # pays half: the model voucher the other half
    assert cash(p, "pub") == gross - fee
    assert p.billing.ledger.balance(platform_revenue()) == fee
    assert p.billing.ledger.balance(tenant_voucher("acme", MODEL, 2026)) == 0
    assert p.billing.ledger.balance(voucher_pool(MODEL, 2026)) == Decimal(
        "100000000.00"
    ) - Decimal("2.10")
    assert p.billing.ledger.verify().ok
    # nothing new: nothing more is billed
    assert bill_tokens(p).settled == 0
    assert cash(p, "acme") == Decimal("-2.10")


def test_an_ineligible_caller_pays_all(platform: Platform) -> None:
    sink_of(platform).record(event("r-far", caller="far"))
    bill_tokens(platform)
    assert cash(platform, "far") == Decimal("-1.40")


def test_a_replayed_event_bills_once(platform: Platform) -> None:
    sink = sink_of(platform)
    sink.record(event("r-1"))
    bill_tokens(platform)
    sink.record(event("r-1"))  # the gateway retried after a timeout on its side
    sink.record(dataclasses.replace(event("r-1"), completion_tokens=9999))
    assert bill_tokens(platform).settled == 0
    assert cash(platform, "acme") == Decimal("-0.70")


def test_a_crash_between_record_and_bill_bills_once(tmp_path: Path, database_url: str) -> None:
    first = open_test(tmp_path, database_url)
    sink_of(first).record(event("r-1"))
    first.close()  # the process dies before its control loop billed
    again = open_test(tmp_path, database_url)
    sink_of(again).record(event("r-1"))  # and the gateway hands the event over again
    assert bill_tokens(again).settled == 1
    assert bill_tokens(again).settled == 0
    assert cash(again, "acme") == Decimal("-0.70")
    again.close()


def test_a_crash_between_settle_and_post_posts_once(tmp_path: Path, database_url: str) -> None:
    first = open_test(tmp_path, database_url)
    assert first.usage is not None
    sink_of(first).record(event("r-1"))
    assert settle_tokens(first, first.usage) == 1  # stored, then the process dies
    assert cash(first, "acme") == 0
    first.close()
    again = open_test(tmp_path, database_url)
    assert again.usage is not None
    assert settle_tokens(again, again.usage) == 0  # the stored decision stands
    assert post_tokens(again, again.usage) == 1
    assert post_tokens(again, again.usage) == 0
    assert cash(again, "acme") == Decimal("-0.70")
    again.close()


def test_fractions_of_a_fen_add_up_over_the_month_never_billed_twice(platform: Platform) -> None:
    # 1 prompt token at 10,000 yuan per million is 0.01 yuan; 1 token at 0.50 is 0.0000005
    cheap = dataclasses.replace(
        ROUTE,
        input_price_per_million_yuan=Decimal("3000"),
        output_price_per_million_yuan=Decimal(0),
    )
    sink = sink_of(platform, (cheap,))
    billed: list[Decimal] = []
    for i in range(10):  # each request 0.003 yuan: nothing until a fen is reached
        sink.record(event(f"r-{i}", prompt=1, completion=0))
        bill_tokens(platform)
        billed.append(cash(platform, "acme"))
    # the month's exact cost is 0.030: billed 0.03 in total, one fen at a time; the model
    # voucher takes half the month's gross so far, rounded down once (0.00, 0.01, 0.01), so
    # the caller pays 0.01, 0.01, 0.02: never more than the rate, never a fen lost per line
    assert billed == [D0, D0, D0, -C1, -C1, -C1, -C1, -C1, -C1, -C2]
    assert platform.usage is not None
    lines = platform.usage.settlements(caller="acme")
    assert sum((s.line.gross for s in lines), Decimal(0)) == Decimal("0.03")
    assert [s.line.seq for s in lines] == list(range(1, len(lines) + 1))


def test_the_months_model_voucher_is_its_rate_on_the_months_gross_rounded_once(
    platform: Platform,
) -> None:
    # 1,000 requests of 0.0071 yuan each (1 prompt token at 7,100 yuan per million), each
    # settled on its own: 1,000 ticks, most billing one fen or nothing. The month's cost is
    # 7.1000: billed 7.10, and the model voucher's half is 3.55, rounded once on the month
    # (rounded per settlement, half of each one-fen line would round down to none).
    cheap = dataclasses.replace(
        ROUTE,
        input_price_per_million_yuan=Decimal("7100"),
        output_price_per_million_yuan=Decimal(0),
    )
    assert platform.billing is not None
    assert platform.usage is not None
    sink = sink_of(platform, (cheap,))
    for i in range(1000):
        sink.record(event(f"r-{i}", prompt=1, completion=0))
        bill_tokens(platform)
    lines = platform.usage.settlements(caller="acme")
    gross = sum((s.line.gross for s in lines), Decimal(0))
    voucher = sum((s.deduction.amount for s in lines), Decimal(0))
    assert len(lines) == 1000  # one settlement a request: the voucher is really split up
    assert gross == Decimal("7.10")
    assert voucher == (gross * Decimal("0.5")).quantize(C1, "ROUND_DOWN") == Decimal("3.55")
    assert cash(platform, "acme") == -(gross - voucher)
    assert platform.billing.ledger.balance(voucher_pool(MODEL, 2026)) == Decimal(
        "100000000.00"
    ) - Decimal("3.55")
    # a settlement that reached a new fen is one balanced entry under its own key (710 of
    # them, one fen each); one that reached none posts nothing
    keys = [s.entry_key for s in lines if s.entry_key is not None]
    assert len(set(keys)) == len(keys) == 710
    assert all(s.entry_key is None for s in lines if s.line.gross == 0)
    assert platform.billing.ledger.verify().ok


def test_owner_paid_services_bill_callers_nothing_but_count_their_tokens(
    platform: Platform,
) -> None:
    private = dataclasses.replace(ROUTE, payer="owner")
    sink_of(platform, (private,)).record(event("r-1"))
    assert bill_tokens(platform).settled == 0
    assert cash(platform, "acme") == 0
    assert platform.usage is not None
    [row] = platform.usage.totals()
    assert (row.requests, row.prompt_tokens, row.completion_tokens) == (1, 100, 20)


def test_impossible_counts_are_refused_naming_the_field(platform: Platform) -> None:
    sink = sink_of(platform)
    sink.record(event("r-bad", prompt=-1))  # a replica's lie: refused, never raised
    assert sink.refused == 1
    assert platform.usage is not None
    assert platform.usage.get("r-bad") is None
    with pytest.raises(InvalidInput) as caught:
        check_event(event("r-bad", prompt=-1))
    assert "prompt_tokens" in caught.value.message("en")
    assert "prompt_tokens" in caught.value.message("zh")
    huge = dataclasses.replace(event("x" * 129), completion_tokens=10**9)
    with pytest.raises(InvalidInput) as both:
        check_event(huge)
    assert {e.field for e in both.value.errors} == {"request_id", "completion_tokens"}


def test_the_usage_api_shows_tokens_charges_and_the_model_voucher(platform: Platform) -> None:
    from fastapi.testclient import TestClient

    from suanli.api.auth import TOKEN_COOKIE
    from suanli.domain.access import Role
    from suanli.web.app import create_app
    from tests.access import bearer, operator_token, signed_in, token_for

    sink = sink_of(platform)
    sink.record(event("r-1"))
    sink.record(dataclasses.replace(event("r-2"), api_key_id="key-2", prompt_tokens=200))
    bill_tokens(platform)
    with TestClient(create_app(platform, run_loop=False)) as client:
        signed_in(client, platform)
        found = client.get("/api/v1/usage", params={"tenant": "acme", "month": "2026-11"})
        assert found.status_code == 200, found.text
        body = found.json()
        assert (body["requests"], body["prompt_tokens"], body["completion_tokens"]) == (
            2,
            300,
            40,
        )
        assert (body["gross"], body["voucher"], body["net"]) == ("3.80", "1.90", "1.90")
        [charge] = body["charges"]
        assert charge["programme"] == MODEL
        assert charge["posted"] is True
        assert any("50" in why for why in charge["why"])
        keys = client.get("/api/v1/usage", params={"tenant": "acme", "key": "key-2"}).json()
        assert [r["api_key_id"] for r in keys["rows"]] == ["key-2"]
        earned = client.get(
            "/api/v1/usage", params={"tenant": "pub", "side": "publisher", "by": "minute"}
        ).json()
        assert earned["gross"] == "3.80"
        assert [r["period"] for r in earned["rows"]] == ["2026-11-23 17:00"] * 2  # China time
        # another tenant's usage is refused as if it did not exist; bad input names the field
        far = token_for(platform, "far-user", Role.TENANT_ADMIN, "far")
        refused = client.get("/api/v1/usage", params={"tenant": "acme"}, headers=bearer(far))
        assert refused.status_code == 404
        own = client.get("/api/v1/usage", headers=bearer(far)).json()
        assert (own["tenant"], own["requests"]) == ("far", 0)
        bad = client.get("/api/v1/usage", params={"month": "2026-13"})
        assert bad.status_code == 422
        assert "month" in bad.text
        # the console's usage page: the token charge and its 模型券 deduction, zh and en
        client.cookies.set(TOKEN_COOKIE, operator_token(platform))
        zh = client.get("/console/tenant/acme/usage?month=2026-11&lang=zh")
        assert zh.status_code == 200, zh.text
        assert "模型券" in zh.text
        assert "1.90" in zh.text
        en = client.get("/console/tenant/acme/usage?month=2026-11&lang=en")
        assert "Model voucher" in en.text
        assert 'id="token-charges"' in en.text
        earned = client.get("/console/tenant/pub/usage?month=2026-11&side=publisher&lang=en")
        assert "Credited" in earned.text
