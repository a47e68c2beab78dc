"""The OpenAPI document says what the server accepts (issue 17's schemathesis findings),
checked one by one; tests/fuzz and bench/openapi_conformance.py search the rest."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.api.rules import UNSTATED_RULES
from suanli.service.deps import Platform
from tests.access import bearer, operator_token


@pytest.fixture
def api(platform: Platform) -> Iterator[tuple[TestClient, dict[str, str], dict[str, Any]]]:
    app = create_app(platform, run_loop=False)
    with TestClient(app) as client:
        yield client, bearer(operator_token(platform)), app.openapi()


API = tuple[TestClient, dict[str, str], dict[str, Any]]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", path)


def test_a_405_names_every_method_of_its_path(api: API) -> None:
    client, token, schema = api
    for path, operations in schema["paths"].items():
        answer = client.request("PATCH", concrete(path), headers=token)
        assert answer.status_code == 405, path
        allowed = {m.strip() for m in answer.headers["allow"].split(",")}
        # At least the document's methods (a GET of /vouchers/{tenant} also answers
        # /vouchers/quote, and says so).
        assert {m.upper() for m in operations} <= allowed, (path, allowed)


def test_audit_since_is_a_date_time_not_a_number(api: API) -> None:
    client, token, _ = api
    refused = client.get("/api/v1/audit", params={"since": "0.5"}, headers=token)
    assert refused.status_code == 422
    assert refused.json()["error"]["errors"][0]["field"] == "query.since"
    ok = client.get("/api/v1/audit", params={"since": "2026-12-01T00:00:00Z"}, headers=token)
    assert ok.status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/utilisation", "/api/v1/purchases"])
def test_an_empty_provider_is_refused_as_the_schema_says(api: API, path: str) -> None:
    client, token, schema = api
    parameter = next(
        p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "provider"
    )
    assert parameter["schema"]["anyOf"][0]["minLength"] == 1
    answer = client.get(path, params={"provider": ""}, headers=token)
    assert answer.status_code == 422


def test_unknown_and_repeated_query_parameters_are_refused(api: API) -> None:
    client, token, _ = api
    typo = client.get("/api/v1/jobs", params={"limt": "5"}, headers=token)
    assert typo.status_code == 422
    assert typo.json()["error"]["errors"][0]["field"] == "query.limt"
    twice = client.get("/api/v1/jobs?limit=5&limit=6", headers=token)
    assert twice.status_code == 422
    many = client.get("/api/v1/jobs?status=pending&status=running&lang=zh", headers=token)
    assert many.status_code == 200  # a list parameter, and lang, which every route reads


def test_a_submission_needs_exactly_one_spec_and_the_schema_says_so(api: API) -> None:
    client, token, schema = api
    body = schema["paths"]["/api/v1/jobs"]["post"]["requestBody"]["content"]
    one_of = body["application/json"]["schema"]["oneOf"]
    assert [branch["required"] for branch in one_of] == [["spec"], ["spec_yaml"]]
    answer = client.post("/api/v1/jobs", json={}, headers=token)
    assert answer.status_code == 422
    assert answer.json()["error"]["errors"][0]["field"] == "spec"


def test_an_amount_is_a_number_or_a_decimal_string_never_empty(api: API) -> None:
    client, token, schema = api
    quote = schema["components"]["schemas"]["QuoteRequest"]["properties"]["amount"]
    pattern = next(b["pattern"] for b in quote["anyOf"] if b.get("type") == "string")
    assert not re.match(pattern, "")
    assert re.match(pattern, "1000.50")
    answer = client.post(
        "/api/v1/vouchers/quote", json={"amount": "", "domestic": True}, headers=token
    )
    assert answer.status_code == 422


def test_health_needs_no_token_and_the_rules_name_real_operations(api: API) -> None:
    _, _, schema = api
    assert schema["paths"]["/healthz"]["get"]["security"] == []
    for name, rule in UNSTATED_RULES.items():
        method, path = name.split(" ", 1)
        operation = schema["paths"][path][method.lower()]
        assert operation["x-suanli-rules"] == rule
        assert rule in operation["responses"]["422"]["description"]
