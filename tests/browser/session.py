"""Browser sessions for the console tests: a signed-in tab per role and language, users of
each role made through the API, jobs run to an end, and requests to other sites refused
(the console must work with no network beyond its own server)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import wait_until
from tests.e2e.server import Server

CJK = re.compile(r"[\u4e00-\u9fff]")
# An API call said on a page ("GET /api/v1/jobs/{job_id}/cost"): never shown to a person.
RAW_API = re.compile(r"(?:GET|POST|PUT|PATCH|DELETE)\s+/api/|/api/v1/[a-z]")


def tab(browser: Any, server: Server, token: str, lang: str = "en-US") -> Any:
    """A new browser context signed in with ``token``; ``page.outside`` collects every
    request it tried to make to another origin (each is aborted: no network)."""
    context = browser.new_context(
        base_url=server.url,
        locale=lang,
        timezone_id="Asia/Shanghai",
        viewport={"width": 1360, "height": 900},
        extra_http_headers={"Accept-Language": lang},
    )
    origin = urlsplit(server.url).netloc
    outside: list[str] = []

    def refuse(route: Any) -> None:
        outside.append(route.request.url)
        route.abort()

    context.route(lambda url: urlsplit(url).netloc not in (origin, ""), refuse)
    page = context.new_page()
    page.outside = outside
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto("/console/sign-in")
    page.fill("#token", token)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_url(re.compile(r"/console(/|$|\?)"))
    assert "sign-in" not in page.url
    return page


def operator_token(server: Server) -> str:
    return (server.data_dir / "operator.token").read_text().strip()


def member(server: Server, user: str, organisation: str, role: str, kind: str) -> str:
    """A user of ``role`` in ``organisation`` (made when missing) and a fresh token."""
    with server.http() as client:
        orgs = {o["name"] for o in client.get("/api/v1/organisations").json()}
        if organisation not in orgs:
            r = client.post("/api/v1/organisations", json={"name": organisation, "kind": kind})
            assert r.status_code == 201, r.text
        users = {u["name"] for u in client.get("/api/v1/users").json()}
        if user not in users:
            r = client.post(
                "/api/v1/users", json={"name": user, "organisation": organisation, "role": role}
            )
            assert r.status_code == 201, r.text
        r = client.post("/api/v1/tokens", json={"user": user})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])


def submit(server: Server, text: str, tenant: str = "demo") -> str:
    with server.http() as client:
        r = client.post("/api/v1/jobs", json={"spec_yaml": text, "tenant": tenant})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def run_job(server: Server, text: str, tenant: str = "demo") -> str:
    """Submit ``text`` for ``tenant`` through the API and wait until it is settled."""
    with server.http() as client:
        r = client.post("/api/v1/jobs", json={"spec_yaml": text, "tenant": tenant})
        assert r.status_code == 201, r.text
        job_id = str(r.json()["id"])
    server.wait_for(job_id, "succeeded")
    settled(server, job_id)
    return job_id


def settled(server: Server, job_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        with server.http() as client:
            cost = client.get(f"/api/v1/jobs/{job_id}/cost").json()
        return dict(cost) if cost["lines"] else None

    return wait_until(probe, timeout=90)


def provider_of(server: Server, job_id: str) -> str:
    with server.http() as client:
        cluster = client.get(f"/api/v1/jobs/{job_id}").json()["placement"]["cluster"]
        clusters = client.get("/api/v1/fleet").json()["clusters"]
    return str(next(c["provider"] for c in clusters if c["name"] == cluster))


def shown_text(page: Any) -> str:
    """The page's text as a person reads it, without the audit log's recorded API calls."""
    return str(
        page.evaluate(
            """() => { const b = document.body.cloneNode(true);
                 b.querySelectorAll('[data-api-text], script, template').forEach(e => e.remove());
                 return b.innerText; }"""
        )
    )
