"""A job wider than its tenant could ever hold is refused at submission, not queued forever."""

from __future__ import annotations

from suanli.domain.tenants import TenantTerms, most_ever
from suanli.schemas.fleetfile import parse_fleet_text
from suanli.schemas.specfile import parse_spec_text
from suanli.service.fleet import builtin_catalog
from suanli.service.jobs import check_quota

FLEET = """
providers:
  - name: lab
    clusters:
      - name: lab-1
        region: beijing
        engine: {type: local}
        pools:
          - {name: t4, accelerator: T4, nodes: 2, accelerators_per_node: 4,
             cpus_per_node: 8, memory_gb_per_node: 32, price_per_accelerator_hour: "3.00"}
          - {name: a100, accelerator: A100, nodes: 2, accelerators_per_node: 8,
             cpus_per_node: 64, memory_gb_per_node: 512, price_per_accelerator_hour: "20.00"}
"""
ALONE = TenantTerms("alone", quota={"T4": 2, "A100": 4})
LENDER = TenantTerms("lender", quota={"T4": 4}, cohort="lab")
BORROWER = TenantTerms("borrower", quota={"T4": 2}, cohort="lab", borrow=True)
ANYWHERE = TenantTerms("anywhere", quota={"*": 3})
TENANTS = {t.name: t for t in (ALONE, LENDER, BORROWER, ANYWHERE)}


def _spec(count: int, model: str | None = None, nodes: int = 1) -> str:
    models = f", model: {model}" if model else ""
    return (
        f"name: wide\nresources: {{accelerator: {{count: {count}{models}}}, nodes: {nodes}}}\n"
        "run: echo hi\n"
    )


def _check(terms: TenantTerms, spec: str) -> list[tuple[str, str, object, str | None]]:
    fleet = parse_fleet_text(FLEET, builtin_catalog())
    errors = check_quota(parse_spec_text(spec), fleet, terms, TENANTS)
    return [(e.field, e.code, e.value, e.allowed) for e in errors]


def test_the_most_a_tenant_can_hold_is_its_quota_or_its_cohorts_when_it_borrows() -> None:
    peers = TENANTS.values()
    assert most_ever(ALONE, peers, "T4") == 2
    assert most_ever(ALONE, peers, "H100") == 0  # a quota elsewhere, none for this model
    assert most_ever(BORROWER, peers, "T4") == 6  # its 2 and the lender's idle 4
    assert most_ever(LENDER, peers, "T4") == 4  # may not borrow: its own only
    assert most_ever(ANYWHERE, peers, "A100") == 3
    assert most_ever(TenantTerms("free"), peers, "T4") is None  # no quota: no bound


def test_a_job_over_the_quota_on_every_model_that_could_run_it_is_refused() -> None:
    assert _check(ALONE, _spec(5)) == [  # five T4 fit no T4 node: only A100 counts
        ("resources.accelerator.count", "over_quota", 5, "A100 ≤ 4")
    ]
    small = TenantTerms("small", quota={"T4": 2, "A100": 1})
    assert _check(small, _spec(3)) == [
        ("resources.accelerator.count", "over_quota", 3, "A100 ≤ 1, T4 ≤ 2")
    ]
    assert _check(ALONE, _spec(3, "T4")) == [
        ("resources.accelerator.count", "over_quota", 3, "T4 ≤ 2")
    ]
    # Two nodes of two: four accelerators in all.
    assert _check(ANYWHERE, _spec(2, "T4", nodes=2))[0][2] == 4


def test_a_job_that_fits_on_some_model_or_by_borrowing_is_accepted() -> None:
    assert _check(ALONE, _spec(3)) == []  # A100 quota 4 can take it
    assert _check(BORROWER, _spec(3, "T4", nodes=2)) == []  # 6 with the lender's idle 4
    assert _check(TenantTerms("free"), _spec(8, "A100")) == []
    # Half a card counts as half.
    assert _check(ALONE, _spec(2, "T4").replace("count: 2", "count: 0.5")) == []
