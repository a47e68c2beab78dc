"""Issue 21's console items, each as a person meets it in Chromium: a provider's job links,
the API docs with no network, a gang's log by node, 16 busy H100 on the chart, a tenant
added without a restart, another tenant's pages, the words of zh-CN, the sign-in form, and
the pages users of such platforms expect (tokens, users, audit, vouchers, re-submit, job
list columns, cost so far)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.session import (
    RAW_API,
    member,
    operator_token,
    provider_of,
    run_job,
    shown_text,
    submit,
    tab,
)
from tests.e2e.server import JOB_TIMEOUT_S, Server

pytestmark = pytest.mark.e2e
MS = int(JOB_TIMEOUT_S * 1000)
PAID = (
    "name: {name}\nresources: {{accelerator: {{model: A100, count: 8}}}}\n"
    "run: echo {name}; sleep 3\n"
)
# 16 H100: both nodes of the demo fleet's only H100 pool; the runner heads each node's lines.
GANG = (
    "name: gang16\nresources: {accelerator: {model: H100, count: 8}, nodes: 2}\n"
    'run: for i in 1 2 3; do echo "step $i"; done; sleep 2\n'
)


@pytest.fixture(scope="module")
def jobs(server: Server) -> dict[str, str]:
    return {
        # long enough on 8 cards to cost more than a fen, so a voucher applies
        "mine": run_job(server, PAID.format(name="mine")),
        "theirs": run_job(server, PAID.format(name="theirs"), tenant="etown-robotics"),
    }


@pytest.fixture(scope="module")
def demo_admin(server: Server) -> str:
    return member(server, "items-admin", "demo", "tenant_admin", "tenant")


def test_a_provider_opens_the_jobs_on_its_capacity(
    browser: Any, server: Server, jobs: dict[str, str], shots: Path
) -> None:
    host = provider_of(server, jobs["mine"])
    page = tab(browser, server, member(server, "items-host", host, "provider_admin", "provider"))
    assert page.url.endswith(f"/console/provider/{host}")
    with page.expect_navigation():
        page.click(f"#job-table a[href='/console/jobs/{jobs['mine']}']")
    assert page.url.endswith(f"/console/jobs/{jobs['mine']}")
    with server.http() as client:
        job = client.get(f"/api/v1/jobs/{jobs['mine']}").json()
        net = client.get(f"/api/v1/jobs/{jobs['mine']}/cost").json()["net"]
    assert job["placement"]["cluster"] in page.inner_text("#placement")
    assert page.inner_text("#cost-net") == f"¥{net}"  # what its capacity earned
    assert page.locator("#no-log").count() == 1  # the output is the tenant's
    for absent in ("#job-log", "#cancel-job", "#clone-job"):
        assert page.locator(absent).count() == 0, absent
    page.screenshot(path=str(shots / "provider-job.png"), full_page=True)
    page.click("#back")
    assert page.url.endswith(f"/console/provider/{host}")
    # a job elsewhere: not said to exist, in words, never an API path
    response = page.goto(f"/console/jobs/{jobs['theirs']}?lang=zh")
    assert response is not None
    if provider_of(server, jobs["theirs"]) != host:
        assert response.status == 404
        assert "不存在" in page.inner_text("#error-message")
    assert RAW_API.search(shown_text(page)) is None
    page.context.close()


def test_the_api_docs_need_no_network(browser: Any, server: Server, shots: Path) -> None:
    page = tab(browser, server, operator_token(server))
    with page.expect_navigation():
        page.click("#api-docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=MS)
    assert "suanli" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock").count() > 20  # every route listed
    assert page.outside == []  # Swagger UI came from the server itself
    page.screenshot(path=str(shots / "api-docs.png"))
    page.context.close()


def test_a_gangs_log_by_node_search_and_download_and_16_cards_busy(
    browser: Any, server: Server, demo_admin: str, shots: Path
) -> None:
    job_id = run_job(server, GANG)
    page = tab(browser, server, demo_admin, "zh-CN")
    page.goto(f"/console/jobs/{job_id}")
    page.wait_for_selector('#job-log[data-ended="true"]', timeout=MS)
    assert page.eval_on_selector_all("#log-rank option", "os => os.map(o => o.value)") == [
        "",
        "0",
        "1",
    ]
    page.select_option("#log-rank", "1")
    lines = page.inner_text("#job-log").strip().splitlines()
    assert lines == ["[rank 1] step 1", "[rank 1] step 2", "[rank 1] step 3"]
    page.select_option("#log-rank", "")
    page.fill("#log-search", "step 2")
    found = sorted(page.inner_text("#job-log").strip().splitlines())
    assert found == ["[rank 0] step 2", "[rank 1] step 2"]
    assert page.inner_text("#log-count") == "2 行"
    page.screenshot(path=str(shots / "job-log-search.png"), full_page=True)
    with page.expect_download() as saved:
        page.click("#log-download")
    with server.http() as client:
        whole = client.get(f"/api/v1/jobs/{job_id}/logs").text
    assert Path(saved.value.path()).read_text() == whole
    assert whole.count("step") == 6
    page.context.close()

    # Both H100 nodes were busy at once: the chart's figure says 16 (not a half-hour average).
    operator = tab(browser, server, operator_token(server))
    operator.goto(f"/console/provider/{provider_of(server, job_id)}")
    assert operator.inner_text("#busy-peak") == "16"
    operator.context.close()


def test_a_tenant_is_added_without_a_restart(browser: Any, server: Server, shots: Path) -> None:
    page = tab(browser, server, operator_token(server), "zh-CN")
    page.goto("/console/tenants")
    page.fill("#tenant-form [name=name]", "acme")
    page.fill("#tenant-form [name=display_name]", "亦庄阿克米科技")
    page.fill(
        "#tenant-form [name=attributes]",
        "registered_zone=yizhuang-new-town\nnot_on_dishonesty_list=true",
    )
    with page.expect_navigation():
        page.click("#tenant-form button[type=submit]")
    row = page.inner_text("#tenant-table tr[data-tenant=acme]")
    assert "亦庄阿克米科技" in row
    assert "注册地: 亦庄新城" in row  # attributes in words
    # a taken name: the API's own message, in the page's language
    page.fill("#tenant-form [name=name]", "acme")
    page.click("#tenant-form button[type=submit]")
    page.wait_for_selector("#tenant-form .errors:not([hidden])")
    assert "已存在" in page.inner_text("#tenant-form .errors")
    page.screenshot(path=str(shots / "operator-tenants.png"), full_page=True)
    # what the CLI asks, `suanli org add acme2 --kind tenant`, against the running server
    done = server.cli("org", "add", "acme2", "--kind", "tenant")
    assert done.returncode == 0, done.stderr
    page.reload()
    assert page.locator("#tenant-table tr[data-tenant=acme2]").count() == 1
    page.context.close()
    newcomer = tab(browser, server, member(server, "acme-dev", "acme", "tenant_member", "tenant"))
    assert newcomer.url.endswith("/console/tenant/acme/jobs")
    assert "亦庄阿克米科技" in newcomer.inner_text("h1")
    newcomer.context.close()


def test_another_tenants_pages_are_not_there(
    browser: Any, server: Server, jobs: dict[str, str]
) -> None:
    page = tab(browser, server, member(server, "items-member", "demo", "tenant_member", "tenant"))
    for tail in ("jobs", "bills", "vouchers", "submit"):
        for lang, said in (
            ("zh", "租户 etown-robotics 不存在"),
            ("en", "no tenant etown-robotics"),
        ):
            response = page.goto(f"/console/tenant/etown-robotics/{tail}?lang={lang}")
            assert response is not None
            assert response.status == 404, tail
            assert page.inner_text("#error-message") == said
            assert "亦庄机器人" not in page.inner_text("main")  # not headed with its name
            assert page.locator("#submit-link, #submit-form").count() == 0
    response = page.goto(f"/console/jobs/{jobs['theirs']}")
    assert response is not None
    assert response.status == 404
    response = page.goto("/console/operator?lang=zh")
    assert response is not None
    assert response.status == 403
    assert page.inner_text("#error-message").startswith("您的角色（租户成员）无权打开此页面")
    assert RAW_API.search(shown_text(page)) is None
    page.context.close()


def test_zh_says_titles_statuses_and_rules_in_words(
    browser: Any, server: Server, jobs: dict[str, str], demo_admin: str
) -> None:
    page = tab(browser, server, operator_token(server), "zh-CN")
    page.goto(f"/console/jobs/{jobs['theirs']}")  # E-Town Robotics: on the dishonesty list
    cost = page.inner_text("#cost")
    assert "未列入严重违法失信名单" in cost
    assert "not_on_dishonesty_list" not in cost
    assert "成功" in page.inner_text("#history")
    page.goto(f"/console/jobs/{jobs['mine']}")
    cost = page.inner_text("#cost")
    assert "北京经开区算力券" in cost
    assert "beijing-etown-compute-2024" not in cost
    page.goto("/console/tenant/demo/bills")
    assert "北京经开区算力券" in page.inner_text("#bill-lines")
    page.goto("/console/tenant/demo/vouchers")
    assert "北京经开区模型券" in page.inner_text("#programmes")
    page.context.close()
    tenant = tab(browser, server, demo_admin, "zh-CN")
    tenant.goto("/console/tenant/demo/submit")
    tenant.fill("#spec-yaml", "name: Bad Name\nrun: echo\n")
    tenant.click("#submit-button")
    tenant.wait_for_selector("#submit-errors:not([hidden])")
    shown = tenant.inner_text("#submit-errors")
    assert "作业描述无效" in shown
    assert "(console)" not in shown
    tenant.context.close()


def test_the_sign_in_form_and_a_bad_token(browser: Any, server: Server, shots: Path) -> None:
    context = browser.new_context(base_url=server.url, locale="zh-CN")
    page = context.new_page()
    page.goto("/console/sign-in?lang=zh")
    assert page.eval_on_selector("#token", "e => getComputedStyle(e).borderRadius") == "8px"
    page.fill("#token", "sl_nobody_nothing")
    with page.expect_response(lambda r: r.url.endswith("/console/sign-in")) as answer:
        page.click("#sign-in-form button[type=submit]")
    assert answer.value.status == 401
    box = page.locator("#sign-in-error")
    assert box.is_visible()
    assert "API 令牌无效" in box.inner_text()
    assert page.eval_on_selector("#sign-in-error", "e => getComputedStyle(e).color") == (
        "rgb(198, 40, 40)"
    )
    assert "invalid" in (page.get_attribute("#token", "class") or "")
    page.screenshot(path=str(shots / "sign-in-bad-token.png"))
    page.fill("#token", operator_token(server))
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("#sign-out")
    assert "button" in (page.get_attribute("#sign-out", "class") or "")
    page.screenshot(path=str(shots / "signed-in.png"))
    context.close()


def test_tokens_users_and_the_audit_log(
    browser: Any, server: Server, demo_admin: str, shots: Path
) -> None:
    page = tab(browser, server, demo_admin)
    page.goto("/console/users")
    page.fill("#user-form [name=name]", "web-new")
    page.select_option("#user-form [name=role]", "tenant_member")
    with page.expect_navigation():
        page.click("#user-form button[type=submit]")
    assert "web-new" in page.inner_text("#user-table")
    page.goto("/console/tokens")
    page.select_option("#token-form [name=user]", "web-new")
    page.fill("#token-form [name=description]", "laptop")
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("#token-once:not([hidden])")
    secret = page.inner_text("#token-secret").strip()
    assert secret.startswith("sl_")
    page.screenshot(path=str(shots / "token-once.png"), full_page=True)
    page.reload()
    assert page.locator("#token-once").is_hidden()  # shown once, never again
    assert secret not in page.content()
    fresh = tab(browser, server, secret)  # it works
    assert fresh.url.endswith("/console/tenant/demo/jobs")
    fresh.context.close()
    token_id = secret.split("_")[1]
    page.on("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click(f"button[data-revoke='{token_id}']")
    assert "revoked" in page.inner_text(f"#token-table tr[data-token='{token_id}']")
    gone = browser.new_context(base_url=server.url).new_page()
    gone.goto("/console/sign-in")
    gone.fill("#token", secret)
    gone.click("#sign-in-form button[type=submit]")
    gone.wait_for_selector("#sign-in-error")
    gone.context.close()
    page.context.close()
    audit = tab(browser, server, operator_token(server))
    audit.goto("/console/audit?actor=items-admin")
    log = audit.inner_text("#audit-table")
    assert "POST /api/v1/tokens/{token_id}/revoke" in log
    assert "POST /api/v1/users" in log
    audit.context.close()


def test_job_lists_resubmit_and_cost_so_far(
    browser: Any, server: Server, jobs: dict[str, str], demo_admin: str, shots: Path
) -> None:
    long_id = submit(
        server,
        "name: long\nresources: {accelerator: {model: T4, count: 1}}\n"
        "run: echo started; sleep 120\ntime_limit_hours: 0.1\n",
    )
    server.wait_for(long_id, "running")
    page = tab(browser, server, demo_admin)
    page.goto("/console/tenant/demo/jobs")
    with server.http() as client:
        net = client.get(f"/api/v1/jobs/{jobs['mine']}/cost").json()["net"]
    row = page.inner_text(f"#job-table tr:has(a[href='/console/jobs/{jobs['mine']}'])")
    assert f"¥{net}" in row
    assert re.search(r"\d+:\d\d:\d\d", row)  # how long it ran
    running = page.inner_text(f"#job-table tr:has(a[href='/console/jobs/{long_id}'])")
    assert re.search(r"¥\d+\.\d\d…", running)  # cost so far
    page.screenshot(path=str(shots / "tenant-jobs-columns.png"), full_page=True)
    page.goto(f"/console/jobs/{long_id}")
    assert page.inner_text("#cost-so-far").startswith("Cost so far")
    page.goto(f"/console/jobs/{jobs['mine']}")
    with page.expect_navigation():
        page.click("#clone-job")
    assert "name: mine" in page.input_value("#spec-yaml")
    page.click("#submit-button")
    page.wait_for_url(re.compile(r"/console/jobs/j-"))
    assert not page.url.endswith(jobs["mine"])  # a new job, the same spec
    assert server.job(page.url.rsplit("/", 1)[1])["spec"]["run"] == "echo mine; sleep 3"
    with server.http() as client:
        client.post(f"/api/v1/jobs/{long_id}/cancel")
    page.context.close()
