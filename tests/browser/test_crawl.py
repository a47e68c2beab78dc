"""Issue 21's target: every role's console pages, in zh-CN and en, open without a 4xx/5xx
on any link the page itself shows, say no raw API path, and load nothing from another site.

A crawler in Chromium: from the role's home it follows every same-origin link of every page
it reaches (links to files, such as a log download or a CSV report, are fetched, not
opened), within the role's own session. Jobs of two tenants ran first, one a two-node gang,
so job, bill, settlement and voucher pages have rows to link to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from tests.browser.session import (
    CJK,
    RAW_API,
    member,
    operator_token,
    provider_of,
    run_job,
    shown_text,
    tab,
)
from tests.e2e.server import Server

pytestmark = pytest.mark.e2e
MOST_PAGES = 160  # per role and language: the demo's pages number about 90 for the operator
FILES = ("/log", "format=csv")  # links to a file to save, not a page to open
ONE_CARD = "name: {name}\nresources: {{accelerator: {{model: T4, count: 1}}}}\nrun: echo {name}\n"
GANG = "name: gang\nresources: {accelerator: {model: A100, count: 8}, nodes: 2}\nrun: echo up\n"


@pytest.fixture(scope="module")
def tokens(server: Server) -> dict[str, str]:
    mine = run_job(server, ONE_CARD.format(name="mine"))
    run_job(server, GANG)
    run_job(server, ONE_CARD.format(name="theirs"), tenant="etown-robotics")
    host = provider_of(server, mine)
    return {
        "operator": operator_token(server),
        "tenant_admin": member(server, "crawl-admin", "demo", "tenant_admin", "tenant"),
        "tenant_member": member(server, "crawl-member", "demo", "tenant_member", "tenant"),
        "provider_admin": member(server, "crawl-host", host, "provider_admin", "provider"),
    }


def _links(page: Any) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [str(h) for h in hrefs]


def _external(page: Any) -> list[str]:
    """Every src/href of the page that names another site."""
    found = page.eval_on_selector_all(
        "[src], [href]", "els => els.map(e => e.getAttribute('src') || e.getAttribute('href'))"
    )
    return [str(u) for u in found if str(u).startswith(("http://", "https://", "//"))]


def crawl(page: Any, server: Server, lang: str) -> dict[str, int]:
    """Open every console page reachable from the home page; {url: status}."""
    origin = urlsplit(server.url).netloc
    seen: dict[str, int] = {}
    todo = ["/console"]
    problems: list[str] = []
    while todo and len(seen) < MOST_PAGES:
        url = todo.pop(0)
        if url in seen:
            continue
        if any(f in url for f in FILES):
            answer = page.request.get(url)
            seen[url] = answer.status
            if answer.status >= 400:
                problems.append(f"{answer.status} {url}")
            continue
        response = page.goto(url)
        assert response is not None, url
        seen[url] = response.status
        if response.status >= 400:
            problems.append(f"{response.status} {url}: {shown_text(page)[:300]}")
            continue
        if urlsplit(url).path == "/api/v1/docs":
            page.wait_for_selector(".swagger-ui .info", timeout=90_000)
            continue  # the API's own docs: paths are what it is about
        raw = RAW_API.search(shown_text(page))
        if raw:
            problems.append(f"raw API path {raw.group(0)!r} on {url}")
        if (CJK.search(page.title()) is not None) != (lang == "zh-CN"):
            problems.append(f"title {page.title()!r} not in {lang} on {url}")
        problems.extend(f"external {x} on {url}" for x in _external(page))
        for href in _links(page):
            target = urlsplit(urljoin(page.url, href))
            if target.netloc != origin:
                problems.append(f"link off the site {href} on {url}")
                continue
            if "lang=" in target.query:
                continue  # the language switch: this crawl stays in one language
            path = target.path + (f"?{target.query}" if target.query else "")
            if path not in seen and path not in todo:
                todo.append(path)
    assert problems == [], "\n".join(problems)
    return seen


@pytest.mark.parametrize("lang", ["zh-CN", "en-US"])
@pytest.mark.parametrize("role", ["operator", "tenant_admin", "tenant_member", "provider_admin"])
def test_every_link_a_page_shows_opens(
    browser: Any, server: Server, tokens: dict[str, str], role: str, lang: str, shots: Path
) -> None:
    page = tab(browser, server, tokens[role], lang)
    seen = crawl(page, server, lang)
    assert page.outside == []  # nothing asked of another site (no CDN, no network)
    assert page.errors == []  # no script failed on any page
    # The crawl reached each role's pages, not just a sign-in or error page.
    paths = {urlsplit(u).path for u in seen}
    expect = {
        "operator": {"/console/operator", "/console/tenants", "/console/audit", "/api/v1/docs"},
        "tenant_admin": {"/console/tenant/demo/jobs", "/console/users", "/console/tokens"},
        "tenant_member": {"/console/tenant/demo/bills", "/console/tenant/demo/vouchers"},
        "provider_admin": {"/console/tokens"},
    }[role]
    assert expect <= paths, sorted(paths)
    least = {"operator": 30, "tenant_admin": 10, "tenant_member": 8, "provider_admin": 5}
    assert len(seen) >= least[role], sorted(seen)
    assert any(p.startswith("/console/jobs/j-") for p in paths)  # job pages were opened
    page.screenshot(path=str(shots / f"crawl-{role}-{lang[:2]}.png"), full_page=True)
    page.context.close()
