"""定期兑付 through the API and on the console's bill page (zh-CN and en)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from suanli.api.auth import TOKEN_COOKIE
from suanli.service.deps import Platform
from suanli.web.app import create_app
from tests.access import operator_token, signed_in
from tests.integration.test_contracts import MODEL, add, redeem


@pytest.fixture
def api(platform_db: Platform) -> Iterator[TestClient]:
    """The API and the console over ``platform_db``, signed in as the operator."""
    with TestClient(create_app(platform_db, run_loop=False)) as client:
        signed_in(client, platform_db)
        yield client


def test_a_closed_month_is_redeemed_once_reported_and_shown_on_the_bill(
    api: TestClient, platform_db: Platform
) -> None:
    c = add(api)  # demo's domestic base-model contract, signed 2026-06-01
    redeem(api, c["contract_id"], "2026-10", "1000000.00")  # the voucher: 500,000.00
    still_open = api.post("/api/v1/voucher-redemptions", json={"period": "2026-11"})
    assert still_open.status_code == 422, still_open.text
    [error] = still_open.json()["error"]["errors"]
    assert error["field"] == "period"
    assert "2026-10" in error["message"]
    run = api.post("/api/v1/voucher-redemptions", json={"period": "2026-10"})
    assert run.status_code == 200, run.text
    body = run.json()
    assert (body["new"], body["posted"], body["redeemed"], body["pending"]) == (
        1,
        1,
        "500000.00",
        "0.00",
    )
    [row] = body["redemptions"]
    assert (row["programme"], row["company"], row["seller"], row["run"]) == (
        MODEL,
        "demo",
        "Zhipu AI",
        1,
    )
    assert (row["claimed"], row["withheld"], row["posted"]) == ("500000.00", "0.00", True)
    assert row["key"] == f"redeem-period:{MODEL}:2026-10:demo:Zhipu AI:1"
    again = api.post("/api/v1/voucher-redemptions", json={"period": "2026-10"}).json()
    assert (again["new"], again["posted"], again["redemptions"]) == (0, 0, body["redemptions"])
    listed = api.get("/api/v1/voucher-redemptions", params={"tenant": "demo"}).json()
    assert [r["key"] for r in listed["redemptions"]] == [row["key"]]
    assert listed["pending"] is None  # every period: no single period's pending figure
    zh = api.get(
        "/api/v1/voucher-redemptions",
        params={"period": "2026-10"},
        headers={"Accept-Language": "zh-CN"},
    ).json()
    assert "全额兑付" in zh["redemptions"][0]["why"]
    assert api.get("/api/v1/ledger/verify").json()["ok"] is True
    api.cookies.set(TOKEN_COOKIE, operator_token(platform_db))
    page = api.get("/console/tenant/demo/bills", params={"month": "2026-10", "lang": "zh"})
    assert page.status_code == 200, page.text[:3000]
    assert 'id="bill-redemptions"' in page.text
    assert "模型券定期兑付" in page.text
    assert "Zhipu AI" in page.text
    en = api.get("/console/tenant/demo/bills", params={"month": "2026-10", "lang": "en"})
    assert "Model-voucher redemptions" in en.text
    quiet = api.get("/console/tenant/demo/bills", params={"month": "2026-09", "lang": "en"})
    assert 'id="bill-redemptions"' not in quiet.text


def test_bad_periods_and_other_tenants_are_refused(api: TestClient) -> None:
    for bad in ("2026-13", "2026-1", "x" * 500, ""):
        r = api.post("/api/v1/voucher-redemptions", json={"period": bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["errors"][0]["field"].removeprefix("body.") == "period"
    assert api.post("/api/v1/voucher-redemptions", json={}).status_code == 422
    r = api.get("/api/v1/voucher-redemptions", params={"period": "2026-1O"})
    assert r.status_code == 422
