"""Money end to end: real jobs on the local engine, metered, settled, posted, billed."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.service.billing import meter_ended, post_settlements, settle, settle_usage
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.dispatch import dispatch_placed
from suanli.service.reconcile import check_engines, reconcile
from suanli.service.scheduling import run_scheduling_cycle
from tests.access import signed_in
from tests.conftest import wait_until

COMPUTE = "beijing-etown-compute-2024"
# 36,000 yuan per accelerator-hour is 10.00 yuan per second: a job of a second or two
# makes a bill line big enough that 30 % and 40 % differ to the fen.
FLEET = """
providers:
  - name: etown-test
    display_name: E-Town test provider
    clusters:
      - name: etown-1
        region: beijing
        engine: {type: local}
        pools:
          - {name: ascend, accelerator: Ascend910B, nodes: 1, accelerators_per_node: 8,
             cpus_per_node: 16, memory_gb_per_node: 64, price_per_accelerator_hour: "36000.00"}
  - name: ningxia-test
    display_name: Ningxia test provider
    clusters:
      - name: nx-1
        region: ningxia
        engine: {type: local}
        pools:
          - {name: a100, accelerator: A100, nodes: 1, accelerators_per_node: 8,
             cpus_per_node: 16, memory_gb_per_node: 64, price_per_accelerator_hour: "36000.00"}
"""


def job_yaml(name: str, model: str, count: int = 1, run: str = "sleep 1.2") -> str:
    return (
        f"name: {name}\nresources: {{accelerator: {{model: {model}, count: {count}}},"
        f" cpus: 1, memory_gb: 1}}\nrun: {run}\ntime_limit_hours: 0.1\n"
    )


@pytest.fixture
def fleet_file(tmp_path: Path) -> Path:
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET)
    return path


def open_test_platform(tmp_path: Path, fleet_file: Path, database_url: str) -> Platform:
    return open_platform(
        tmp_path / "data", fleet_file, database_url=database_url, detect_gpus=False
    )


@pytest.fixture
def api(tmp_path: Path, fleet_file: Path, database_url: str) -> Iterator[TestClient]:
    platform = open_test_platform(tmp_path, fleet_file, database_url)
    try:
        with TestClient(create_app(platform, interval_s=0.1)) as client:
            signed_in(client, platform)
            yield client
    finally:
        platform.close()


def run_job(api: TestClient, text: str, tenant: str = "demo") -> dict[str, Any]:
    r = api.post("/api/v1/jobs", json={"spec_yaml": text, "tenant": tenant})
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]

    def done() -> dict[str, Any] | None:
        body = api.get(f"/api/v1/jobs/{job_id}").json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_until(done)


def bill_line(api: TestClient, tenant: str, job_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        bill = api.get(f"/api/v1/bills/{tenant}").json()
        lines = [x for x in bill["lines"] if x["job_id"] == job_id and x["posted"]]
        return lines[0] if lines else None

    return wait_until(probe)


def floor_fen(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_DOWN)


class TestBillsForRealJobs:
    @pytest.mark.parametrize(
        ("model", "want_rate", "want_domestic"),
        [("Ascend910B", "0.40", True), ("A100", "0.30", False)],
        ids=["domestic-pool-40-percent", "non-domestic-pool-30-percent"],
    )
    def test_an_eligible_etown_tenant_gets_the_compute_voucher(
        self, api: TestClient, model: str, want_rate: str, want_domestic: bool
    ) -> None:
        job = run_job(api, job_yaml("train", model, count=2))
        assert job["status"] == "succeeded"
        assert job["tenant"] == "demo"
        line = bill_line(api, "demo", job["id"])
        seconds = line["seconds"]
        assert seconds >= 1
        gross = Decimal(line["gross"])
        assert gross == Decimal(10 * 2 * seconds).quantize(Decimal("0.01"))
        assert line["domestic"] is want_domestic
        assert line["programme"] == COMPUTE
        assert Decimal(line["rate"]) == Decimal(want_rate)
        assert Decimal(line["deduction"]) == floor_fen(gross * Decimal(want_rate))
        assert Decimal(line["net"]) == gross - Decimal(line["deduction"])
        assert Decimal(line["cap_left"]) == Decimal("20000000.00")
        assert line["key"] == f"{job['id']}/a1"
        assert COMPUTE in line["explanation"][0]
        outcomes = {c["programme"]: c["outcome"] for c in line["considered"]}
        assert outcomes[COMPUTE] == "applied"
        assert outcomes["beijing-etown-model-2024"] == "wrong_kind"
        assert api.get("/api/v1/ledger/verify").json()["ok"] is True

    @pytest.mark.parametrize(
        ("tenant", "want_attribute"),
        # said in words (issue 21): "registered zone", "not on the serious dishonesty list"
        [("haidian-vision", "registered zone"), ("etown-robotics", "dishonesty list")],
        ids=["registered-outside-etown", "on-the-dishonesty-list"],
    )
    def test_an_ineligible_tenant_gets_none_with_the_reason(
        self, api: TestClient, tenant: str, want_attribute: str
    ) -> None:
        job = run_job(api, job_yaml("train", "Ascend910B"), tenant=tenant)
        line = bill_line(api, tenant, job["id"])
        assert line["programme"] is None
        assert line["deduction"] == "0.00"
        assert line["net"] == line["gross"]
        why = next(c for c in line["considered"] if c["programme"] == COMPUTE)
        assert why["outcome"] == "ineligible"
        assert want_attribute in why["why"]
        zh = api.get(f"/api/v1/bills/{tenant}", headers={"Accept-Language": "zh-CN"}).json()
        assert "没有适用的政策" in zh["lines"][0]["explanation"][0]
        assert api.get("/api/v1/ledger/verify").json()["ok"] is True

    def test_report_counts_domestic_and_non_domestic_compute(self, api: TestClient) -> None:
        run_job(api, job_yaml("dom", "Ascend910B"))
        foreign = run_job(api, job_yaml("foreign", "A100"), tenant="haidian-vision")
        bill_line(api, "haidian-vision", foreign["id"])
        wait_until(lambda: len(api.get("/api/v1/bills/demo").json()["lines"]) == 1)
        report = api.get("/api/v1/reports/vouchers").json()
        assert [(v["programme"], v["tenant"]) for v in report["voucher_spend"]] == [
            (COMPUTE, "demo")
        ]
        assert report["compute"]["domestic"]["lines"] == 1
        assert report["compute"]["non_domestic"]["lines"] == 1
        assert {r["region"] for r in report["by_region"]} == {"beijing", "ningxia"}
        pool = report["pools"][0]
        assert pool["programme"] == COMPUTE
        assert Decimal(pool["used"]) + Decimal(pool["left"]) == Decimal("100000000.00")
        csv_text = api.get("/api/v1/reports/vouchers", params={"format": "csv"}).text
        rows = csv_text.splitlines()
        assert rows[0].startswith("section,programme,month,tenant,region,domestic")
        assert sum(r.startswith("compute,") for r in rows) == 2
        assert sum(r.startswith("voucher_spend,") for r in rows) == 1


class TestVoucherApi:
    @pytest.mark.parametrize(
        ("domestic", "want_net"),
        [(True, "600.00"), (False, "700.00")],
        ids=["domestic-1000-nets-600", "foreign-1000-nets-700"],
    )
    def test_quote(self, api: TestClient, domestic: bool, want_net: str) -> None:
        r = api.post("/api/v1/vouchers/quote", json={"amount": "1000.00", "domestic": domestic})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["net"] == want_net
        assert body["programme"] == COMPUTE
        assert body["explanation"]

    @pytest.mark.parametrize("domestic", [0, 1, "true", "no"])
    def test_domestic_is_a_json_boolean_only(self, api: TestClient, domestic: object) -> None:
        # The schema says boolean: 0 or "no" would otherwise be read as False (schemathesis ST201).
        r = api.post("/api/v1/vouchers/quote", json={"amount": "1.00", "domestic": domestic})
        assert r.status_code == 422, r.text
        assert "domestic" in r.text

    def test_quote_for_an_ineligible_tenant_nets_the_whole_amount(self, api: TestClient) -> None:
        body = api.post(
            "/api/v1/vouchers/quote",
            json={"amount": "1000.00", "domestic": True, "tenant": "haidian-vision"},
        ).json()
        assert body["net"] == "1000.00"
        assert body["programme"] is None

    def test_bad_requests_name_the_field(self, api: TestClient) -> None:
        r = api.post("/api/v1/vouchers/quote", json={"amount": "1.001", "domestic": True})
        assert r.status_code == 422
        assert r.json()["error"]["errors"][0]["field"] == "body.amount"
        assert api.get("/api/v1/bills/demo", params={"month": "2026-13"}).status_code == 422
        assert api.get("/api/v1/bills/nobody").status_code == 404
        r = api.post("/api/v1/jobs", json={"spec_yaml": job_yaml("x", "A100"), "tenant": "nobody"})
        assert r.status_code == 422
        assert r.json()["error"]["errors"][0]["field"] == "tenant"

    def test_policies_are_the_shipped_programmes(self, api: TestClient) -> None:
        policies = {p["programme"]: p for p in api.get("/api/v1/voucher-policies").json()}
        assert Decimal(policies[COMPUTE]["rate_domestic"]) == Decimal("0.40")
        assert policies[COMPUTE]["annual_pool"] == "100000000.00"
        assert not any(p["illustrative"] for p in policies.values())


# --- crash safety, driving the service steps by hand ------------------------------------


def drive_until_finished(p: Platform, job_id: str) -> None:
    """The control loop's steps without the billing step: the 'crash' comes before it."""

    def step() -> bool:
        check_engines(p)
        run_scheduling_cycle(p)
        dispatch_placed(p)
        reconcile(p)
        job = p.jobs.get(job_id)  # type: ignore[arg-type]
        return job is not None and job.status.is_terminal

    wait_until(step)


def submit(p: Platform, text: str, tenant: str = "demo") -> str:
    from suanli.schemas.specfile import parse_spec_text
    from suanli.service.jobs import submit_job

    return submit_job(p, parse_spec_text(text), tenant=tenant).id


def entries(p: Platform) -> int:
    assert p.billing is not None
    report = p.billing.ledger.verify()
    assert report.ok, report.problems
    return report.entries


class TestCrashSafety:
    def test_settling_twice_posts_once(
        self, tmp_path: Path, fleet_file: Path, database_url: str
    ) -> None:
        p = open_test_platform(tmp_path, fleet_file, database_url)
        try:
            job_id = submit(p, job_yaml("once", "Ascend910B"))
            drive_until_finished(p, job_id)
            first = settle(p)
            assert (first.settled, first.posted) == (1, 1)
            assert entries(p) == 2  # the programme's pool opening and the settlement
            again = settle(p)
            assert (again.metered, again.settled, again.posted) == (0, 0, 0)
            assert entries(p) == 2
        finally:
            p.close()

    def test_a_crash_after_metering_bills_exactly_once_after_restart(
        self, tmp_path: Path, fleet_file: Path, database_url: str
    ) -> None:
        p = open_test_platform(tmp_path, fleet_file, database_url)
        job_id = submit(p, job_yaml("crash", "Ascend910B"))
        drive_until_finished(p, job_id)
        assert p.billing is not None
        assert [m.usage.key for m in p.billing.store.unsettled()] == [f"{job_id}/a1"]
        p.close()  # crash: nothing settled, the objects are gone

        p = open_test_platform(tmp_path, fleet_file, database_url)
        try:
            assert settle_usage(p) == 1
            p.close()  # crash between storing the settlement and posting it
            p = open_test_platform(tmp_path, fleet_file, database_url)
            assert p.billing is not None
            stored = p.billing.store.settlements("demo")
            assert post_settlements(p) == 1
            assert settle(p).posted == 0
            bill = p.billing.store.settlements("demo")
            assert [s.line.key for s in bill] == [f"{job_id}/a1"]
            assert bill[0].deduction.amount == stored[0].deduction.amount  # not recomputed
            assert entries(p) == 2
        finally:
            p.close()

    def test_an_attempt_that_ended_unmetered_is_metered_after_restart(
        self, tmp_path: Path, fleet_file: Path, database_url: str
    ) -> None:
        p = open_test_platform(tmp_path, fleet_file, database_url)
        billing, p.billing = p.billing, None  # a server that ended the job but never metered
        job_id = submit(p, job_yaml("late", "A100"))
        drive_until_finished(p, job_id)
        p.billing = billing
        assert billing is not None
        assert billing.store.unsettled() == []
        p.close()

        p = open_test_platform(tmp_path, fleet_file, database_url)
        try:
            assert meter_ended(p) == 1
            assert meter_ended(p) == 0
            report = settle(p)
            assert (report.settled, report.posted) == (1, 1)
            assert p.billing is not None
            (line,) = p.billing.store.settlements("demo")
            assert line.line.usage.domestic is False
            assert line.deduction.programme == COMPUTE
        finally:
            p.close()
