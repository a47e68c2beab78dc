"""Provider subsidy (seed 004 §2): server purchases and their subsidies — through the API."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from suanli.billing.ledger import provider_receivable
from suanli.service import purchases as purchase_service
from suanli.service.billing import settle
from suanli.service.deps import Platform
from tests.integration.fixed_platform import open_test_platform

SUBSIDY = "beijing-etown-provider-subsidy-2024"
PROVIDER = "bj-etown-aic"  # the demo fleet's E-Town provider: eligible


def purchase(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider": PROVIDER,
        "project": "etown-ascend-2026",
        "accelerator": "Ascend910B",
        "servers": 200,
        "amount": "50000000.00",
        "evidence": "CG-2026-017; 国产智算芯片服务器采购合同",
        "listed_cluster": "bj-etown-1",
        "signed": "2026-09-01",
    }
    body.update(overrides)
    return body


def add(api: TestClient, **overrides: Any) -> dict[str, Any]:
    r = api.post("/api/v1/purchases", json=purchase(**overrides))
    assert r.status_code == 201, r.text
    return dict(r.json())


def subsidise(api: TestClient, pid: str, lang: str = "en") -> dict[str, Any]:
    r = api.post(f"/api/v1/purchases/{pid}/subsidy", headers={"Accept-Language": lang})
    assert r.status_code == 200, r.text
    return dict(r.json())


def fields(r: Any) -> dict[str, str]:
    return {e["field"].removeprefix("body."): e["message"] for e in r.json()["error"]["errors"]}


def test_a_listed_domestic_purchase_earns_ten_percent_once(
    api: TestClient, platform_db: Platform
) -> None:
    x = add(api)
    assert x["purchase_id"].startswith("sp-")
    assert (x["listed"], x["subsidised"], x["subsidy"]) == (True, False, "0.00")
    s = subsidise(api, x["purchase_id"])
    assert (s["gross"], s["deduction"], s["programme"], s["rate"]) == (
        "50000000.00",
        "5000000.00",
        SUBSIDY,
        "0.1",
    )
    assert s["project_cap_left"] == "10000000.00"
    assert s["posted"] is True
    assert any("10%" in line for line in s["explanation"])
    zh = subsidise(api, x["purchase_id"], "zh")
    assert zh["settled_at"] == s["settled_at"]  # the stored decision, not a new one
    assert any("抵扣 ¥5,000,000.00" in line for line in zh["explanation"]), zh["explanation"]
    b = platform_db.billing
    assert b is not None
    assert b.ledger.balance(provider_receivable(PROVIDER)) == Decimal("5000000.00")
    assert settle(platform_db).posted == 0  # posting twice changes nothing
    assert b.ledger.balance(provider_receivable(PROVIDER)) == Decimal("5000000.00")
    assert api.get("/api/v1/ledger/verify").json()["ok"] is True
    listed = api.get("/api/v1/purchases", params={"provider": PROVIDER}).json()
    assert [(p["purchase_id"], p["subsidy"]) for p in listed] == [(x["purchase_id"], "5000000.00")]
    assert api.get("/api/v1/purchases", params={"provider": "tj-cloud"}).json() == []
    report = api.get("/api/v1/reports/vouchers").json()
    spend = [r for r in report["voucher_spend"] if r["programme"] == SUBSIDY]
    assert [(r["month"], r["tenant"], r["deduction"]) for r in spend] == [
        ("2026-09", PROVIDER, "5000000.00")
    ]


def test_the_project_cap_of_ten_million_bounds_the_subsidy(api: TestClient) -> None:
    big = add(api, amount="150000000.00")
    s = subsidise(api, big["purchase_id"])
    assert (s["deduction"], s["programme"]) == ("10000000.00", SUBSIDY)
    assert any("project cap" in line for line in s["explanation"])
    more = add(api, amount="20000000.00", evidence="CG-2026-018")
    again = subsidise(api, more["purchase_id"])
    assert (again["deduction"], again["programme"]) == ("0.00", None)
    assert any("project" in line for line in again["explanation"]), again["explanation"]
    other = add(api, project="etown-ascend-2027", amount="20000000.00")
    assert subsidise(api, other["purchase_id"])["deduction"] == "2000000.00"
    assert api.get("/api/v1/ledger/verify").json()["ok"] is True


def test_an_unlisted_purchase_or_an_ineligible_provider_gets_nothing_and_why(
    api: TestClient,
) -> None:
    unlisted = add(api, listed_cluster=None)
    assert unlisted["listed"] is False
    s = subsidise(api, unlisted["purchase_id"])
    assert (s["deduction"], s["programme"]) == ("0.00", None)
    assert any("listed_on_platform" in line for line in s["explanation"])
    # Listed, but the provider is not registered in E-Town (no attributes in the demo fleet).
    hebei = add(
        api,
        provider="hebei-zjk-green",
        project="zjk-mlu",
        accelerator="MLU370-X8",
        listed_cluster="zjk-1",
    )
    t = subsidise(api, hebei["purchase_id"], "zh")
    assert (t["deduction"], t["programme"]) == ("0.00", None)
    assert any("注册地" in line and "要求" in line for line in t["explanation"])


@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"accelerator": "H100"}, "accelerator", "not a domestic AI chip"),
        ({"accelerator": "NoSuchChip"}, "accelerator", "unknown accelerator"),
        ({"listed_cluster": "nowhere-1"}, "listed_cluster", "unknown cluster"),
        ({"listed_cluster": "tj-binhai-1"}, "listed_cluster", "belongs to provider tj-cloud"),
        ({"accelerator": "K100"}, "listed_cluster", "has no K100 pool"),
        ({"provider": "nobody"}, "provider", "unknown provider"),
        ({"amount": "0.00"}, "amount", "greater than 0"),
        ({"servers": 0}, "servers", "greater than or equal to 1"),
        ({"evidence": ""}, "evidence", "at least 1"),
        ({"signed": "2027-01-01"}, "signed", "2026-11-23"),
    ],
)
def test_a_bad_purchase_is_refused_naming_the_field(
    api: TestClient, overrides: dict[str, Any], field: str, says: str
) -> None:
    r = api.post("/api/v1/purchases", json=purchase(**overrides))
    assert r.status_code == 422, r.text
    errors = fields(r)
    assert field in errors, errors
    assert says in errors[field], errors
    assert api.get("/api/v1/purchases").json() == []


def test_a_project_belongs_to_one_provider(api: TestClient) -> None:
    add(api)
    r = api.post(
        "/api/v1/purchases", json=purchase(provider="tj-cloud", listed_cluster="tj-binhai-1")
    )
    assert r.status_code == 422
    errors = fields(r)
    assert "already a project of provider bj-etown-aic" in errors["project"], errors
    assert "listed_cluster" not in errors or "A100" in errors["listed_cluster"]
    assert "accelerator" not in errors


def test_an_unknown_purchase_is_not_found(api: TestClient) -> None:
    r = api.post("/api/v1/purchases/sp-nothing/subsidy")
    assert r.status_code == 404
    assert "sp-nothing" in r.text


def test_a_crash_after_the_decision_is_stored_is_posted_on_restart(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = open_test_platform(tmp_path, database_url)
    x = purchase_service.add_purchase(
        p,
        PROVIDER,
        "etown-crash",
        "Ascend910B",
        10,
        Decimal("3000000.00"),
        "CG-9",
        "bj-etown-1",
    )
    pid = x.purchase.purchase_id
    monkeypatch.setattr(purchase_service, "post_subsidies", lambda _p: 0)  # "crash"
    s = purchase_service.subsidise(p, pid)
    assert s.entry_key is not None
    assert p.billing is not None
    assert not p.billing.ledger.has(s.entry_key)
    p.close()
    monkeypatch.undo()
    again = open_test_platform(tmp_path, database_url)
    try:
        assert settle(again).posted == 1  # the control loop's settle step catches up
        assert settle(again).posted == 0
        b = again.billing
        assert b is not None
        assert b.ledger.balance(provider_receivable(PROVIDER)) == Decimal("300000.00")
        same = purchase_service.subsidise(again, pid)
        assert (same.entry_key, same.deduction.amount) == (s.entry_key, Decimal("300000.00"))
        assert b.ledger.balance(provider_receivable(PROVIDER)) == Decimal("300000.00")
        assert b.ledger.verify().ok
    finally:
        again.close()
