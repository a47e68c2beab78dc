"""模型券 contracts and redemptions, a tenant's voucher standing, claims — through the API."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from suanli.billing.ledger import tenant_cash
from suanli.billing.model_contracts import ModelUse
from suanli.service import contracts as contract_service
from suanli.service.billing import settle
from suanli.service.deps import Platform
from tests.integration.fixed_platform import open_test_platform

MODEL = "beijing-etown-model-2024"
COMPUTE = "beijing-etown-compute-2024"


def contract(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tenant": "demo",
        "vendor": "Zhipu AI",
        "model": "GLM-4",
        "kind": "private_deployment",
        "domestic": True,
        "amount": "2000000.00",
        "evidence": "HT-2026-001; 生成式人工智能服务备案 Beijing-GLM-2024",
        "signed": "2026-06-01",
    }
    body.update(overrides)
    return body


def add(api: TestClient, **overrides: Any) -> dict[str, Any]:
    r = api.post("/api/v1/contracts", json=contract(**overrides))
    assert r.status_code == 201, r.text
    return dict(r.json())


def redeem(api: TestClient, cid: str, period: str, completed: str) -> dict[str, Any]:
    r = api.post(
        f"/api/v1/contracts/{cid}/redemptions", json={"period": period, "completed": completed}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def fields(r: Any) -> dict[str, str]:
    # Wire-level checks name "body.<field>"; the service's own checks name the field.
    return {e["field"].removeprefix("body."): e["message"] for e in r.json()["error"]["errors"]}


def test_a_contract_is_recorded_and_listed(api: TestClient) -> None:
    c = add(api, kind="all_in_one")
    assert c["contract_id"].startswith("mc-")
    assert (c["kind"], c["amount"], c["left"], c["domestic"]) == (
        "all_in_one_model_part",
        "2000000.00",
        "2000000.00",
        True,
    )
    add(api, tenant="haidian-vision")
    listed = api.get("/api/v1/contracts", params={"tenant": "demo"}).json()
    assert [x["contract_id"] for x in listed] == [c["contract_id"]]
    assert len(api.get("/api/v1/contracts").json()) == 2


@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"amount": "0.00"}, "amount", "greater than 0"),
        ({"amount": "12.345"}, "amount", "decimal"),
        ({"amount": "-5"}, "amount", "greater than 0"),
        ({"tenant": "nobody"}, "tenant", "unknown tenant"),
        ({"kind": "training"}, "kind", "private_deployment"),
        ({"vendor": ""}, "vendor", "at least 1"),
        ({"evidence": ""}, "evidence", "at least 1"),
        ({"domestic": False}, "domestic", "技术自主可控"),
        ({"signed": "2027-01-01"}, "signed", "2026-11-23"),
    ],
)
def test_a_bad_contract_is_refused_naming_the_field(
    api: TestClient, overrides: dict[str, Any], field: str, says: str
) -> None:
    r = api.post("/api/v1/contracts", json=contract(**overrides))
    assert r.status_code == 422, r.text
    errors = fields(r)
    assert field in errors, errors
    assert says in errors[field], errors
    assert api.get("/api/v1/contracts").json() == []


def test_redeeming_pays_half_once_and_shows_on_bill_report_and_ledger(
    api: TestClient, platform_db: Platform
) -> None:
    c = add(api)
    r = redeem(api, c["contract_id"], "2026-10", "1000000.00")
    assert (r["gross"], r["deduction"], r["programme"], r["rate"]) == (
        "1000000.00",
        "500000.00",
        MODEL,
        "0.5",
    )
    assert r["posted"] is True
    assert any("50%" in line for line in r["explanation"])
    assert any(x["outcome"] == "wrong_kind" for x in r["considered"])  # 从优不重复: one only
    again = redeem(api, c["contract_id"], "2026-10", "1000000.00")
    assert again["settled_at"] == r["settled_at"]
    conflict = api.post(
        f"/api/v1/contracts/{c['contract_id']}/redemptions",
        json={"period": "2026-10", "completed": "999.00"},
    )
    assert conflict.status_code == 409, conflict.text
    bill = api.get("/api/v1/bills/demo", params={"month": "2026-10"}).json()
    assert bill["totals"]["model_voucher"] == "500000.00"
    assert [m["contract_id"] for m in bill["model_vouchers"]] == [c["contract_id"]]
    report = api.get("/api/v1/reports/vouchers").json()
    spend = [s for s in report["voucher_spend"] if s["programme"] == MODEL]
    assert [(s["month"], s["tenant"], s["deduction"]) for s in spend] == [
        ("2026-10", "demo", "500000.00")
    ]
    pool = next(x for x in report["pools"] if x["programme"] == MODEL)
    assert (pool["used"], pool["left"]) == ("500000.00", "99500000.00")
    listed = api.get("/api/v1/contracts").json()[0]
    assert (listed["completed"], listed["left"], listed["model_voucher"]) == (
        "1000000.00",
        "1000000.00",
        "500000.00",
    )
    assert api.get("/api/v1/ledger/verify").json()["ok"] is True
    assert platform_db.billing is not None
    assert platform_db.billing.ledger.balance(tenant_cash("demo")) == 500000


def test_the_company_cap_of_five_million_bounds_redemptions(api: TestClient) -> None:
    c = add(api, amount="30000000.00")
    first = redeem(api, c["contract_id"], "2026-09", "12000000.00")
    assert (first["deduction"], first["cap_left"]) == ("5000000.00", "5000000.00")
    second = redeem(api, c["contract_id"], "2026-10", "2000000.00")
    assert second["deduction"] == "0.00"
    assert any("whole cap" in line for line in second["explanation"])
    other = add(api, amount="1000000.00")
    third = redeem(api, other["contract_id"], "2026-10", "100.00")
    assert third["deduction"] == "0.00"  # the cap is per company, across contracts


def test_a_redemption_is_checked_against_the_contract_and_the_calendar(
    api: TestClient,
) -> None:
    c = add(api)
    redeem(api, c["contract_id"], "2026-07", "1500000.00")
    cid = c["contract_id"]
    cases = [
        ({"period": "2026-08", "completed": "600000.00"}, "completed", "500000.00"),
        ({"period": "2026-12", "completed": "1.00"}, "period", "has not begun"),
        ({"period": "2026-05", "completed": "1.00"}, "period", "before the contract"),
        ({"period": "2026-13", "completed": "1.00"}, "period", "pattern"),
        ({"period": "2026-08", "completed": "0"}, "completed", "greater than 0"),
    ]
    for body, field, says in cases:
        r = api.post(f"/api/v1/contracts/{cid}/redemptions", json=body)
        assert r.status_code == 422, r.text
        assert says in fields(r).get(field, ""), fields(r)
    missing = api.post("/api/v1/contracts/mc-none/redemptions", json=cases[0][0])
    assert missing.status_code == 404


def test_an_ineligible_company_gets_no_model_voucher_and_is_told_why(api: TestClient) -> None:
    c = add(api, tenant="etown-robotics")
    r = redeem(api, c["contract_id"], "2026-10", "100000.00")
    assert (r["deduction"], r["programme"]) == ("0.00", None)
    assert any("serious dishonesty list" in line for line in r["explanation"])  # in words


def test_a_crash_after_the_decision_is_stored_is_posted_on_restart(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = open_test_platform(tmp_path, database_url)
    c = contract_service.add_contract(
        p,
        "demo",
        "Baichuan",
        "Baichuan-4",
        ModelUse.API_CALLS,
        True,
        Decimal("80000.00"),
        "HT-9",
    )
    monkeypatch.setattr(contract_service, "post_redemptions", lambda _p: 0)  # "crash"
    r = contract_service.redeem(p, c.contract_id, "2026-11", Decimal("80000.00"))
    assert p.billing is not None
    assert r.entry_key is not None
    assert not p.billing.ledger.has(r.entry_key)
    p.close()
    monkeypatch.undo()
    again = open_test_platform(tmp_path, database_url)
    try:
        assert settle(again).posted == 1
        assert settle(again).posted == 0
        b = again.billing
        assert b is not None
        assert b.ledger.has(r.entry_key)
        assert b.ledger.balance(tenant_cash("demo")) == 40000
        assert b.ledger.verify().ok
        same = contract_service.redeem(again, c.contract_id, "2026-11", Decimal("80000.00"))
        assert same.deduction == r.deduction
    finally:
        again.close()


def test_voucher_show_gives_eligibility_caps_and_pools(api: TestClient) -> None:
    c = add(api)
    redeem(api, c["contract_id"], "2026-10", "1000000.00")
    shown = api.get("/api/v1/vouchers/demo").json()
    assert shown["on"] == "2026-11-23"
    by = {x["programme"]: x for x in shown["programmes"]}
    assert set(by) >= {COMPUTE, MODEL}
    m = by[MODEL]
    assert (m["eligible"], m["why_not"], m["used"], m["cap_left"], m["pool_left"]) == (
        True,
        None,
        "500000.00",
        "4500000.00",
        "99500000.00",
    )
    comp = by[COMPUTE]
    assert (comp["cap_period"], comp["used"], comp["cap_left"]) == (
        "2026",
        "0.00",
        "20000000.00",
    )
    assert comp["claim_required"] is False
    assert comp["claimed_at"] is None
    bad = api.get("/api/v1/vouchers/etown-robotics").json()
    reasons = {x["programme"]: x["why_not"] for x in bad["programmes"]}
    assert "serious dishonesty list" in reasons[COMPUTE]  # the rule in words (issue 21)
    assert api.get("/api/v1/vouchers/nobody").status_code == 404


def test_voucher_issue_records_a_claim_once(api: TestClient) -> None:
    body = {"tenant": "demo", "programme": COMPUTE}
    first = api.post("/api/v1/voucher-claims", json=body).json()
    second = api.post("/api/v1/voucher-claims", json=body).json()
    assert (first["new"], second["new"]) == (True, False)
    assert first["claimed_at"] == second["claimed_at"] == "2026-11-23T02:00:00Z"
    assert first["claim_required"] is False
    shown = api.get("/api/v1/vouchers/demo").json()
    claimed = {x["programme"]: x["claimed_at"] for x in shown["programmes"]}
    assert claimed[COMPUTE] is not None
    r = api.post("/api/v1/voucher-claims", json={"tenant": "demo", "programme": "nope"})
    assert r.status_code == 422
    assert "programme" in fields(r)
    r = api.post("/api/v1/voucher-claims", json={"tenant": "ghost", "programme": COMPUTE})
    assert r.status_code == 422
    assert "tenant" in fields(r)


def test_a_programme_that_requires_a_claim_deducts_only_after_it(
    api: TestClient, platform_db: Platform
) -> None:
    b = platform_db.billing
    assert b is not None
    b.policies = tuple(dataclasses.replace(x, claim_required=True) for x in b.policies)
    quote = {"amount": "1000.00", "domestic": True, "tenant": "demo"}
    before = api.post("/api/v1/vouchers/quote", json=quote).json()
    assert before["deduction"] == "0.00"
    assert any("must be claimed" in line for line in before["explanation"])
    api.post("/api/v1/voucher-claims", json={"tenant": "demo", "programme": COMPUTE})
    after = api.post("/api/v1/vouchers/quote", json=quote).json()
    assert (after["deduction"], after["net"]) == ("400.00", "600.00")
