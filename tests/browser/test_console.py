"""A person with only a browser: submit, watch, follow logs, see placement and cost; both
languages; every role's pages. Real server, real engine, real Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import JOB_TIMEOUT_S, Server

pytestmark = pytest.mark.e2e
MS = int(JOB_TIMEOUT_S * 1000)
CJK = re.compile(r"[\u4e00-\u9fff]")


def _page(
    browser: Any,
    server: Server,
    lang: str = "en-US",
    zone: str = "Asia/Shanghai",
    token: str | None = None,
) -> Any:
    """A browser tab signed in with ``token`` (default: the operator's, from the data dir)."""
    context = browser.new_context(
        base_url=server.url,
        locale=lang,
        timezone_id=zone,
        viewport={"width": 1360, "height": 900},
        extra_http_headers={"Accept-Language": lang},
    )
    page = context.new_page()
    page.goto("/console/sign-in")
    page.fill("#token", token or (server.data_dir / "operator.token").read_text().strip())
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_url(re.compile(r"/console(/|$)"))
    assert "sign-in" not in page.url
    return page


@pytest.fixture(scope="module")
def tenant_token(server: Server) -> str:
    """A member of the demo tenant, made through the API as a person would."""
    with server.http() as client:
        orgs = {o["name"] for o in client.get("/api/v1/organisations").json()}
        if "demo" not in orgs:
            r = client.post("/api/v1/organisations", json={"name": "demo", "kind": "tenant"})
            assert r.status_code == 201, r.text
        r = client.post(
            "/api/v1/users",
            json={"name": "demo-web", "organisation": "demo", "role": "tenant_member"},
        )
        assert r.status_code == 201, r.text
        r = client.post("/api/v1/tokens", json={"user": "demo-web"})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])


def test_submit_watch_logs_placement_and_cost(
    browser: Any, server: Server, shots: Path, tenant_token: str
) -> None:
    page = _page(browser, server, token=tenant_token)
    page.goto("/console/tenant/demo/submit")
    page.click("#load-example")
    page.screenshot(path=str(shots / "tenant-submit.png"), full_page=True)
    page.click("#submit-button")
    page.wait_for_url(re.compile(r"/console/jobs/j-"))
    job_id = page.url.rsplit("/", 1)[1]

    # The status panel refreshes itself until the job has finished and been settled.
    page.wait_for_selector('#job-panel[data-status="succeeded"]', timeout=MS)
    page.wait_for_selector("#cost-net", timeout=MS)
    # The log is followed to its end: every line, then the end marker.
    page.wait_for_selector('#job-log[data-ended="true"]', timeout=MS)
    log = page.inner_text("#job-log")
    assert "step 8/8" in log
    assert log.rstrip().endswith("done")
    assert page.inner_text("#log-state") == "end of log"

    job = server.job(job_id)
    placed = job["placement"]
    assert f"{placed['cluster']} / {placed['pool']}" in page.inner_text("#placement")
    assert job["decision"]["summary"]["message"] in page.inner_text("#why")
    assert page.locator("#verdicts tr.chosen").count() == 1
    with server.http() as client:
        cost = client.get(f"/api/v1/jobs/{job_id}/cost").json()
    assert page.inner_text("#cost-net") == f"¥{cost['net']}"
    assert "succeeded" in page.inner_text("#history")
    # Times are shown in the viewer's zone (Asia/Shanghai here), not in UTC.
    assert page.inner_text("footer").endswith("Asia/Shanghai")
    assert "UTC" not in page.inner_text("#history")
    page.screenshot(path=str(shots / "tenant-job.png"), full_page=True)

    page.goto("/console/tenant/demo/jobs")
    assert job_id in page.inner_text("#job-table")
    page.goto("/console/tenant/demo/bills")
    assert job_id in page.inner_text("#bill-lines")
    page.screenshot(path=str(shots / "tenant-bills.png"), full_page=True)
    page.context.close()


def test_bad_spec_gets_the_cli_messages(
    browser: Any, server: Server, shots: Path, tmp_path: Path, tenant_token: str
) -> None:
    bad = "name: Bad Name\nresources:\n  accelerator: {model: H999, count: 1}\nrun: echo\n"
    spec = tmp_path / "bad.yaml"
    spec.write_text(bad)
    cli = server.cli("submit", str(spec))
    assert cli.returncode == 2
    cli_lines = [line.strip() for line in cli.stderr.splitlines() if line.startswith("  ")]
    assert cli_lines  # one "field: message" line per error

    page = _page(browser, server, token=tenant_token)
    page.goto("/console/tenant/demo/submit")
    page.fill("#spec-yaml", bad)
    page.click("#submit-button")
    page.wait_for_selector("#submit-errors:not([hidden])")
    shown = page.inner_text("#submit-errors")
    for line in cli_lines:
        assert line in shown
    page.screenshot(path=str(shots / "tenant-submit-errors.png"), full_page=True)
    page.context.close()


def test_cancel_from_the_job_page(browser: Any, server: Server, tmp_path: Path) -> None:
    spec = tmp_path / "long.yaml"
    spec.write_text(
        "name: long\nresources: {accelerator: {model: T4, count: 1}}\n"
        "run: echo started; sleep 120\ntime_limit_hours: 0.1\n"
    )
    job_id = server.submit(spec)["id"]
    server.wait_for(job_id, "running")
    page = _page(browser, server)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"/console/jobs/{job_id}")
    page.wait_for_selector("#job-log:has-text('started')", timeout=MS)
    page.click("#cancel-job")
    page.wait_for_selector('#job-panel[data-status="cancelled"]', timeout=MS)
    page.wait_for_selector('#job-log[data-ended="true"]', timeout=MS)
    assert server.job(job_id)["status"] == "cancelled"
    page.context.close()


def test_language_follows_the_browser_and_the_switch(browser: Any, server: Server) -> None:
    page = _page(browser, server, lang="zh-CN")
    page.goto("/console")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert "算力调度平台控制台" in page.inner_text("h1")
    page.click("#lang-switch")
    assert page.get_attribute("html", "lang") == "en"
    assert "suanli console" in page.inner_text("h1")
    page.goto("/console/operator")  # the choice is remembered
    assert not CJK.search(page.inner_text("h1"))
    page.click("#lang-switch")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert "北京" in page.inner_text("#region-grid")
    page.context.close()


@pytest.mark.parametrize("lang", ["en-US", "zh-CN"])
def test_every_role_page_opens(browser: Any, server: Server, shots: Path, lang: str) -> None:
    page = _page(browser, server, lang=lang)
    tag = lang[:2]
    pages = {
        "home": "/console",
        "tenant-jobs": "/console/tenant/demo/jobs",
        "provider": "/console/provider/tj-cloud",
        "operator": "/console/operator",
        "operator-jobs": "/console/operator/jobs",
    }
    for name, url in pages.items():
        response = page.goto(url)
        assert response is not None
        assert response.status == 200, url
        assert (CJK.search(page.title()) is not None) == (tag == "zh"), url
        page.screenshot(path=str(shots / f"{name}-{tag}.png"), full_page=True)
    page.goto("/console/operator")
    grid = page.inner_text("#region-grid")
    names = {
        "en": ("Beijing", "Tianjin", "Hebei", "Shanxi", "Inner Mongolia", "Ningxia"),
        "zh": ("北京", "天津", "河北", "山西", "内蒙古", "宁夏"),
    }
    for region in names[tag]:
        assert region in grid
    assert page.locator("#use-chart svg").count() == 1  # ECharts drew the utilisation chart
    page.context.close()


def test_a_tenant_sees_only_its_own(browser: Any, server: Server, tenant_token: str) -> None:
    anonymous = browser.new_context(base_url=server.url).new_page()
    anonymous.goto("/console/operator")
    assert "/console/sign-in" in anonymous.url  # no page without signing in
    anonymous.context.close()

    page = _page(browser, server, token=tenant_token)
    page.goto("/console")
    assert page.url.endswith("/console/tenant/demo/jobs")  # its own home
    assert page.inner_text("#viewer") == "demo-web"
    for url in ("/console/operator", "/console/operator/jobs", "/console/provider/tj-cloud"):
        response = page.goto(url)
        assert response is not None
        assert response.status == 403, url
    response = page.goto("/console/tenant/etown-robotics/bills")
    assert response is not None
    assert response.status == 404  # another tenant's bill: not even said to exist
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/console/sign-in"))
    page.goto("/console/tenant/demo/jobs")
    assert "/console/sign-in" in page.url
    page.context.close()
