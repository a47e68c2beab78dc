"""One contract for every tenant directory: in memory, SQLite and PostgreSQL keep tenants and
their eligibility attributes the same way (the file seeds; a tenant is added once)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine

from suanli.domain.clock import FixedClock
from suanli.domain.tenants import Tenant, TenantTerms
from suanli.store.base import TenantDirectory
from suanli.store.sql.database import open_database, sqlite_url
from suanli.store.sql.tenants import SqlTenantDirectory
from suanli.store.tenants import StaticTenantDirectory
from tests.builders import T0
from tests.conftest import postgres_url, reset_postgres

SEED = [
    Tenant(
        "zeta",
        "Zeta",
        {"registered_zone": "haidian"},
        TenantTerms("zeta", weight=2.0, pools=frozenset({"vc-z"})),
    ),
    Tenant("alpha", "阿尔法", {"registered_zone": "yizhuang-new-town", "listed": True}),
]
Open = Callable[[Sequence[Tenant]], TenantDirectory]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def directory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Open]:
    """Opens a directory seeded with the given tenants (again on the same data each call)."""
    if request.param == "memory":
        yield StaticTenantDirectory
        return
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "tenants.db")
    else:
        found = postgres_url()
        if not found:
            pytest.skip("SUANLI_TEST_POSTGRES_URL is unset (scripts/test sets it)")
        reset_postgres(found)
        url = found
    engines: list[Engine] = []

    def opened(seed: Sequence[Tenant]) -> TenantDirectory:
        engines.append(open_database(url))
        return SqlTenantDirectory(engines[-1], FixedClock(T0), seed)

    yield opened
    for engine in engines:
        engine.dispose()


def test_seeded_tenants_by_name_with_their_attributes_and_terms(directory: Open) -> None:
    tenants = directory(SEED)
    assert [t.name for t in tenants.all()] == ["alpha", "zeta"]
    alpha = tenants.get("alpha")
    assert alpha is not None
    assert (alpha.display_name, dict(alpha.attributes)) == (
        "阿尔法",
        {"listed": True, "registered_zone": "yizhuang-new-town"},
    )
    zeta = tenants.get("zeta")
    assert zeta is not None
    assert zeta.terms is not None
    assert zeta.terms.weight == 2.0
    assert zeta.terms.pools == frozenset({"vc-z"})  # a virtual cluster's own pools
    assert tenants.get("nobody") is None


def test_a_tenant_is_added_once(directory: Open) -> None:
    tenants = directory(SEED)
    acme = Tenant("acme", "Acme", {"not_on_dishonesty_list": False})
    assert tenants.add(acme) is True
    assert tenants.add(Tenant("acme", "Other", {})) is False
    found = tenants.get("acme")
    assert found is not None
    assert (found.display_name, dict(found.attributes)) == (
        "Acme",
        {"not_on_dishonesty_list": False},
    )
    assert [t.name for t in tenants.all()] == ["acme", "alpha", "zeta"]


def test_a_stored_tenant_outlives_the_seed_and_is_not_overwritten(directory: Open) -> None:
    first = directory(SEED)
    first.add(Tenant("acme", "Acme", {}))
    if isinstance(first, StaticTenantDirectory):
        pytest.skip("memory keeps nothing past its process")
    again = directory([Tenant("alpha", "Changed", {}), *SEED[:1]])
    alpha = again.get("alpha")
    assert alpha is not None
    assert alpha.display_name == "阿尔法"  # the file seeds; what is stored stays
    assert again.get("acme") is not None
