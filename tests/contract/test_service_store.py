"""One contract for the service store: memory, SQLite and PostgreSQL keep the same promises
(services, revisions, replicas, the gateways' load, and the routes the gateway reads)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.domain.service_spec import ServiceSpec
from suanli.domain.services import Replica, ReplicaStatus, Revision, Service
from suanli.domain.serving import LoadSample
from suanli.store.services import MemoryServiceStore, ServiceStore
from suanli.store.sql.database import open_database, sqlite_url
from suanli.store.sql.services import SqlServiceStore
from tests.builders import T0
from tests.conftest import postgres_url, reset_postgres

R = ReplicaStatus


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceStore]:
    if request.param == "memory":
        yield MemoryServiceStore()
        return
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "services.db")
    else:
        found = postgres_url()
        if not found:
            pytest.skip("SUANLI_TEST_POSTGRES_URL is unset (scripts/test sets it)")
        reset_postgres(found)
        url = found
    engine = open_database(url)
    try:
        yield SqlServiceStore(engine)
    finally:
        engine.dispose()


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def spec(name: str = "chat", **model: object) -> ServiceSpec:
    data: dict[str, object] = {
        "name": name,
        "run": "python -m http.server $PORT",
        "replicas": {"min": 1, "max": 3},
    }
    if model:
        data["model"] = {"served_name": "tiny", "base_model": "tiny-llama", "publisher": "lab"}
        data["model"].update(model)  # type: ignore[attr-defined]
    return ServiceSpec.model_validate(data)


def service(sid: str = "s-1", owner: str = "acme", name: str = "chat") -> Service:
    return Service(sid, owner, name, 1, 1, 1, at(0), at(0))


def replica(rid: str, status: ReplicaStatus = R.STARTING, **kw: object) -> Replica:
    base = Replica(rid, "s-1", 1, status, f"j-{rid}", at(0), at(0))
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_a_service_reads_back_with_its_first_revision(store: ServiceStore) -> None:
    assert store.create(service(), Revision("s-1", 1, spec(), at(0)))
    got = store.get("s-1")
    assert got == service()
    assert store.named("acme", "chat") == got
    assert store.named("other", "chat") is None
    [rev] = store.revisions("s-1")
    assert rev.spec == spec()
    assert rev.number == 1


def test_an_owner_names_one_service_once_and_nothing_is_half_written(
    store: ServiceStore,
) -> None:
    assert store.create(service(), Revision("s-1", 1, spec(), at(0)))
    assert not store.create(service("s-2"), Revision("s-2", 1, spec(), at(0)))
    assert store.get("s-2") is None
    assert store.revisions("s-2") == []
    assert store.create(service("s-3", owner="beta"), Revision("s-3", 1, spec(), at(0)))
    assert [s.id for s in store.services()] == ["s-1", "s-3"]
    assert [s.id for s in store.services("beta")] == ["s-3"]


def test_saves_are_guarded_by_version(store: ServiceStore) -> None:
    store.create(service(), Revision("s-1", 1, spec(), at(0)))
    first = store.get("s-1")
    assert first is not None
    assert store.save(first, dataclasses.replace(first, desired=3))
    assert not store.save(first, dataclasses.replace(first, desired=5))  # stale
    got = store.get("s-1")
    assert got is not None
    assert got.desired == 3
    assert got.version == 1


def test_a_changed_spec_is_a_new_revision_written_with_the_service(store: ServiceStore) -> None:
    store.create(service(), Revision("s-1", 1, spec(), at(0)))
    first = store.get("s-1")
    assert first is not None
    moved = dataclasses.replace(first, revision=2, latest=2)
    changed = spec().model_copy(update={"description": "v2"})
    assert store.add_revision(first, moved, Revision("s-1", 2, changed, at(5)))
    assert not store.add_revision(first, moved, Revision("s-1", 3, changed, at(6)))  # stale
    assert [r.number for r in store.revisions("s-1")] == [1, 2]
    got = store.get("s-1")
    assert got is not None
    assert (got.revision, got.latest) == (2, 2)


def test_replicas_are_kept_replaced_and_listed_live(store: ServiceStore) -> None:
    store.create(service(), Revision("s-1", 1, spec(), at(0)))
    store.put_replica(replica("r-1"))
    store.put_replica(replica("r-2", created_at=at(1)))
    ready = replica("r-1", R.READY, url="http://127.0.0.1:4001", cluster="local", attempt=1)
    store.put_replica(dataclasses.replace(ready, ready_at=at(3), floor=True))
    store.put_replica(replica("r-2", R.FAILED, created_at=at(1), detail="exit 1"))
    assert [(r.id, r.status) for r in store.replicas("s-1")] == [
        ("r-1", R.READY),
        ("r-2", R.FAILED),
    ]
    [live] = store.replicas("s-1", live=True)
    assert live.url == "http://127.0.0.1:4001"
    assert live.floor
    assert live.ready_at == at(3)
    assert store.replicas("s-9") == []


def test_load_windows_are_kept_once_and_pruned(store: ServiceStore) -> None:
    def window(gateway: str, end: float, requests: int) -> LoadSample:
        return LoadSample("s-1", gateway, at(end - 5), at(end), 2, requests, 40, 0)

    store.observe(window("h:1", 5, 10))
    store.observe(window("h:2", 5, 7))
    store.observe(window("h:1", 10, 3))
    store.observe(window("h:1", 10, 99))  # the same window again: kept once
    got = store.samples("s-1", at(0))
    assert [(s.gateway, s.end, s.requests) for s in got] == [
        ("h:1", at(5), 10),
        ("h:2", at(5), 7),
        ("h:1", at(10), 3),
    ]
    assert store.samples("s-1", at(5)) == got[2:]
    assert store.prune("s-1", at(10)) == 2
    assert store.samples("s-1", at(0)) == got[2:]


def test_routes_show_the_revision_in_force_and_live_replicas(store: ServiceStore) -> None:
    priced = spec(
        visibility="tenants",
        tenants=["beta"],
        payer="owner",
        domestic=True,
        output_price_per_million_yuan="2.5",
    )
    store.create(service(), Revision("s-1", 1, priced, at(0)))
    store.put_replica(replica("r-1", R.READY, url="http://127.0.0.1:4001", cluster="c1"))
    store.put_replica(replica("r-2", R.STARTING, url="http://127.0.0.1:4002", cluster="c1"))
    store.put_replica(replica("r-3", R.DRAINING, url="http://127.0.0.1:4003"))
    store.put_replica(replica("r-4", R.STARTING))  # no address yet
    [route] = store.routes()
    assert route.served_name == "tiny"
    assert route.payer == "owner"
    assert route.domestic
    assert route.output_price_per_million_yuan == Decimal("2.5")
    assert route.callable_by("beta")
    assert not route.callable_by("gamma")
    assert [(e.replica_id, e.ready) for e in route.replicas] == [("r-1", True), ("r-2", False)]
    assert (route.min_replicas, route.max_replicas) == (1, 3)


def test_a_waiting_request_wants_one_replica_and_a_deleted_service_has_no_route(
    store: ServiceStore,
) -> None:
    store.create(dataclasses.replace(service(), desired=0), Revision("s-1", 1, spec(), at(0)))
    store.want_replica("s-1", at(10))
    got = store.get("s-1")
    assert got is not None
    assert got.desired == 1
    assert got.wanted_at == at(10)
    store.want_replica("s-1", at(10.5))  # within a second: no write
    again = store.get("s-1")
    assert again is not None
    assert again.version == got.version
    store.save(got, dataclasses.replace(got, deleting=True))
    assert store.routes() == []
    store.remove("s-1")
    assert store.get("s-1") is None
    assert store.revisions("s-1") == []


def test_ended_replicas_beyond_the_newest_are_forgotten(store: ServiceStore) -> None:
    store.create(service(), Revision("s-1", 1, spec(), at(0)))
    for i in range(5):
        store.put_replica(replica(f"r-{i}", R.FAILED, updated_at=at(i)))
    store.put_replica(replica("r-live", R.READY, updated_at=at(0)))
    assert store.forget_ended("s-1", keep=2) == 3
    assert sorted(r.id for r in store.replicas("s-1")) == ["r-3", "r-4", "r-live"]
    assert store.forget_ended("s-1", keep=2) == 0
