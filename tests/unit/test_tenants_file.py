"""Tenants files: queue terms (weight, quota per model, cohort, borrow) checked at the edge."""

from __future__ import annotations

import pytest

from suanli.domain.errors import InvalidInput
from suanli.domain.tenants import TenantTerms
from suanli.schemas.tenantfile import demo_tenants_setup, parse_tenants_setup

MODELS = ("A100", "T4", "Ascend910B")


def parse(body: str) -> InvalidInput | list[TenantTerms | None]:
    try:
        setup = parse_tenants_setup("format: suanli/tenants/v1\n" + body, "t.yaml", MODELS)
    except InvalidInput as exc:
        return exc
    return [t.terms for t in setup.tenants]


def errors(body: str) -> list[tuple[str, object, str | None, str]]:
    found = parse(body)
    assert isinstance(found, InvalidInput)
    return [(e.field, e.value, e.allowed, e.message("en")) for e in found.errors]


def test_a_file_without_queue_terms_stays_valid_and_unlimited() -> None:
    assert parse("tenants: [{name: acme}]") == [TenantTerms("acme")]


def test_queue_terms_are_read() -> None:
    body = (
        "tenants:\n"
        "  - {name: acme, weight: 2, quota: {A100: 8, '*': 4}, cohort: bj, borrow: true}\n"
        "queue: {grace_s: 5, min_run_s: 60}\n"
    )
    assert parse(body) == [TenantTerms("acme", 2.0, {"A100": 8, "*": 4}, "bj", True)]
    setup = parse_tenants_setup("format: suanli/tenants/v1\n" + body, "t.yaml", MODELS)
    assert (setup.queue.grace_s, setup.queue.min_run_s, setup.queue.aging_s) == (5, 60, 14400)


def test_an_unknown_model_in_a_quota_names_the_field_and_the_models() -> None:
    [(field, value, allowed, message)] = errors("tenants: [{name: acme, quota: {H999: 8}}]")
    assert field == "tenants[0].quota.H999"
    assert value == "H999"
    assert allowed == "*, A100, Ascend910B, T4"
    assert "H999" in message


def test_borrowing_needs_a_cohort() -> None:
    [(field, value, allowed, _)] = errors("tenants: [{name: acme, borrow: true}]")
    assert (field, value) == ("tenants[0].borrow", True)
    assert allowed is not None
    assert "cohort" in allowed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("tenants: [{name: acme, weight: 0}]", "tenants[0].weight"),
        ("tenants: [{name: acme, quota: {A100: -1}}]", "tenants[0].quota.A100"),
        ("tenants: [{name: acme, cohort: 'Not A Name'}]", "tenants[0].cohort"),
        ("tenants: [{name: acme}]\nqueue: {grace_s: -1}", "queue.grace_s"),
        ("tenants: [{name: acme}]\nqueue: {preempt: yes}", "queue.preempt"),
    ],
)
def test_bad_values_are_refused_field_by_field(body: str, field: str) -> None:
    assert [f for f, *_ in errors(body)] == [field]


def test_the_demo_tenants_share_one_cohort_with_quotas() -> None:
    setup = demo_tenants_setup(MODELS)
    terms = {t.name: t.terms for t in setup.tenants}
    assert all(t is not None and t.cohort == "beijing" and t.borrow for t in terms.values())
    assert terms["demo"] is not None
    assert terms["demo"].weight == 2
