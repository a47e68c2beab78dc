"""Another city's programmes in a running platform: claims filed, approved and redeemed,
city + district stacking on real settlements, each programme counted at its own amount."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.billing.ledger import voucher_pool
from suanli.domain.clock import FixedClock
from suanli.domain.jobs import JobStatus, NodeAssignment, Placement
from suanli.schemas.voucherfile import resolve_policy_dir
from suanli.service.billing import meter_attempt, settle
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from tests.access import signed_in
from tests.builders import make_job, make_spec

D = Decimal
NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
CITY = "shanghai-municipal-compute-2025"
DISTRICT = "shanghai-district-compute-illustrative"
TENANTS = """
format: suanli/tenants/v1
tenants:
  - name: sh-ai
    display_name: Shanghai AI (test)
    attributes: {registered_city: shanghai, registered_district: example-district}
  - name: sh-other
    display_name: Shanghai other district (test)
    attributes: {registered_city: shanghai, registered_district: elsewhere}
"""


@pytest.fixture
def platform(tmp_path: Path, database_url: str) -> Iterator[Platform]:
    # The shipped Shanghai folder, with the made-up district adopted as if real (a live
    # platform never loads an illustrative programme).
    folder = tmp_path / "vouchers"
    shutil.copytree(resolve_policy_dir("library:shanghai"), folder)
    district = folder / f"{DISTRICT}.yaml"
    district.write_text(district.read_text().replace("illustrative: true", "illustrative: false"))
    (tmp_path / "tenants.yaml").write_text(TENANTS)
    p = open_platform(
        tmp_path / "data",
        clock=FixedClock(NOW),
        database_url=database_url,
        detect_gpus=False,
        tenants_file=tmp_path / "tenants.yaml",
        vouchers=str(folder),
    )
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def api(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform, run_loop=False)) as client:
        signed_in(client, platform)
        yield client


def claim(api: TestClient, **changes: Any) -> dict[str, Any]:
    body = {
        "tenant": "sh-ai",
        "programme": DISTRICT,
        "contract": "HT-2026-001",
        "amount": "100000.00",
        "starts": "2026-11-01",
        "ends": "2027-10-31",
        "evidence": ["contract"],
        **changes,
    }
    r = api.post("/api/v1/programme-claims", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def finished_job(p: Platform, i: int, tenant: str, seconds: int) -> None:
    placement = Placement("c", "p", "Ascend910B", (NodeAssignment("n-0", (0,)),), D("36.00"))
    started = NOW - dt.timedelta(hours=2) + dt.timedelta(seconds=i)
    job = make_job(
        make_spec(resources={"accelerator": {"model": "Ascend910B", "count": 1}}),
        job_id=f"j-sh{i:04d}",
        status=JobStatus.SUCCEEDED,
        attempt=1,
        placement=placement,
        started_at=started,
        finished_at=started + dt.timedelta(seconds=seconds),
        tenant=tenant,
    )
    p.jobs.add(job, [])
    assert meter_attempt(p, job, job.finished_at or NOW)


def test_a_claim_is_filed_approved_and_then_city_and_district_stack(api: TestClient) -> None:
    before = api.post(
        "/api/v1/vouchers/quote", json={"amount": "1000.00", "domestic": True, "tenant": "sh-ai"}
    )
    assert before.json()["deduction"] == "300.00"  # the city alone: no approved claim yet
    why = {c["programme"]: c["outcome"] for c in before.json()["considered"]}
    assert why[DISTRICT] == "not_claimed"
    filed = claim(api)
    assert filed["status"] == "pending"
    pending = api.post(
        "/api/v1/vouchers/quote", json={"amount": "1000.00", "domestic": True, "tenant": "sh-ai"}
    )
    assert {c["programme"]: c["outcome"] for c in pending.json()["considered"]}[
        DISTRICT
    ] == "claim_pending"
    decided = api.post(
        f"/api/v1/programme-claims/{filed['claim_id']}/decision", json={"approve": True}
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"
    assert decided.json()["approved_amount"] == "70000.00"  # 70 % of the contract
    assert decided.json()["expires_on"] == "2027-10-31"
    quoted = api.post(
        "/api/v1/vouchers/quote",
        json={"amount": "1000.00", "domestic": True, "tenant": "sh-ai"},
        headers={"Accept-Language": "zh-CN"},
    ).json()
    assert quoted["deduction"] == "1000.00"
    assert [(a["order"], a["programme"], a["deduction"]) for a in quoted["applied"]] == [
        (1, CITY, "300.00"),
        (2, DISTRICT, "700.00"),
    ]
    assert "叠加" in quoted["explanation"][0]
    again = api.post(
        f"/api/v1/programme-claims/{filed['claim_id']}/decision", json={"approve": False}
    )
    assert again.status_code == 409


def test_a_claim_outside_the_rules_is_refused_with_the_rule(api: TestClient) -> None:
    long = claim(api, contract="HT-LONG", ends="2027-12-31")
    r = api.post(
        f"/api/v1/programme-claims/{long['claim_id']}/decision",
        json={"approve": True},
        headers={"Accept-Language": "zh-CN"},
    )
    assert r.status_code == 422, r.text
    errors = r.json()["error"]["errors"]
    assert errors[0]["code"] == "claim.contract_too_long"
    assert "14" in errors[0]["message"]
    assert "12" in errors[0]["message"]
    bad = api.post(
        "/api/v1/programme-claims",
        json={
            "tenant": "sh-ai",
            "programme": CITY,  # the city's share takes no claims
            "contract": "x",
            "amount": "-1",
            "starts": "2026-11-01",
            "ends": "2026-10-01",
            "evidence": ["receipt"],
        },
    )
    assert bad.status_code == 422, bad.text
    fields = {e["field"] for e in bad.json()["error"]["errors"]}
    assert fields == {"body.amount", "body.evidence[0]"}


def test_stacked_settlements_count_each_programme_at_its_own_amount(
    api: TestClient, platform: Platform
) -> None:
    filed = claim(api)
    api.post(f"/api/v1/programme-claims/{filed['claim_id']}/decision", json={"approve": True})
    finished_job(platform, 1, "sh-ai", 100)  # 36 yuan/h x 100 s = 1.00 yuan
    finished_job(platform, 2, "sh-other", 100)  # another district: the city only
    settle(platform)
    b = platform.billing
    assert b is not None
    usage = b.store.voucher_usage()
    assert usage.pool_used[(CITY, 2026)] == D("0.60")  # 30 % of both lines
    assert usage.pool_used[(DISTRICT, 2026)] == D("0.70")  # 70 % of the district's line
    assert usage.claim_used[filed["claim_id"]] == D("0.70")
    assert b.ledger.balance(voucher_pool(DISTRICT, 2026)) == D("50000000.00") - D("0.70")
    assert b.ledger.verify().ok
    line = next(x for x in api.get("/api/v1/bills/sh-ai").json()["lines"])
    assert [a["programme"] for a in line["applied"]] == [CITY, DISTRICT]
    assert line["net"] == "0.00"
    listed = api.get("/api/v1/programme-claims", params={"tenant": "sh-ai"}).json()
    assert [c["claim_id"] for c in listed] == [filed["claim_id"]]


SZ_MODEL = "shenzhen-municipal-model-2024"
SZ_TENANTS = """
format: suanli/tenants/v1
tenants:
  - name: sz-ai
    display_name: Shenzhen AI (test)
    attributes: {registered_city: shenzhen, trains_large_models: true}
"""


@pytest.fixture
def sz_api(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    (tmp_path / "tenants.yaml").write_text(SZ_TENANTS)
    p = open_platform(
        tmp_path / "data",
        clock=FixedClock(NOW),
        database_url=database_url,
        detect_gpus=False,
        tenants_file=tmp_path / "tenants.yaml",
        vouchers="library:shenzhen",
    )
    try:
        with TestClient(create_app(p, run_loop=False)) as client:
            signed_in(client, p)
            yield client
    finally:
        p.close()


def test_a_model_voucher_pays_only_for_a_registered_model(sz_api: TestClient) -> None:
    """依托经国家网信办备案的生成式人工智能模型…以"模型券"抵扣不超过模型购买费用的30%"""

    def contract(registered: bool) -> str:
        body = {
            "tenant": "sz-ai",
            "vendor": "v",
            "model": "m",
            "kind": "api_calls",
            "amount": "1000000.00",
            "evidence": "HT-9",
            "facts": {"model_registered": registered},  # not domestic: Shenzhen does not ask
        }
        r = sz_api.post("/api/v1/contracts", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["contract_id"])

    registered, unregistered = contract(True), contract(False)
    filed = sz_api.post(
        "/api/v1/programme-claims",
        json={
            "tenant": "sz-ai",
            "programme": SZ_MODEL,
            "contract": "HT-9",
            "amount": "1000000.00",
            "starts": "2026-11-01",
            "ends": "2026-12-17",
            "evidence": ["contract"],
        },
    ).json()
    sz_api.post(f"/api/v1/programme-claims/{filed['claim_id']}/decision", json={"approve": True})
    paid = sz_api.post(
        f"/api/v1/contracts/{registered}/redemptions",
        json={"period": "2026-11", "completed": "100000.00"},
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["deduction"] == "30000.00"
    refused = sz_api.post(
        f"/api/v1/contracts/{unregistered}/redemptions",
        json={"period": "2026-11", "completed": "100000.00"},
    ).json()
    assert refused["deduction"] == "0.00"
    why = next(c for c in refused["considered"] if c["programme"] == SZ_MODEL)
    assert why["outcome"] == "ineligible"
    assert "网信办备案" in why["why"]


def test_upgrading_to_0008_vouchers_back_fills_each_charge_s_programme(
    tmp_path: Path, database_url: str
) -> None:
    """Charges settled before stacking keep counting against their programme's pool."""
    from alembic import command
    from alembic.config import Config

    from suanli.store.sql.database import MIGRATIONS, open_database

    folder = tmp_path / "vouchers"
    shutil.copytree(resolve_policy_dir("library:shanghai"), folder)
    (tmp_path / "tenants.yaml").write_text(TENANTS)

    def opened() -> Platform:
        return open_platform(
            tmp_path / "data",
            clock=FixedClock(NOW),
            database_url=database_url,
            detect_gpus=False,
            tenants_file=tmp_path / "tenants.yaml",
            vouchers=str(folder),
        )

    p = opened()
    finished_job(p, 1, "sh-other", 100)  # the city alone: 0.30 of 1.00
    settle(p)
    assert p.billing is not None
    before = p.billing.store.voucher_usage()
    p.close()
    engine = open_database(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008_console")  # no voucher_draws any more
    engine.dispose()
    p = opened()  # opening migrates to head: draws back-filled from the settlements
    try:
        assert p.billing is not None
        after = p.billing.store.voucher_usage()
        assert after.pool_used == before.pool_used == {(CITY, 2026): D("0.30")}
        assert after.company_used == before.company_used
    finally:
        p.close()
