"""Per-key rate limits shared by every gateway process: one token bucket per key in the
store (memory, SQLite, PostgreSQL), leased a few tokens at a time by each process."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import httpx
import pytest

from suanli.domain.access import Principal, Role
from suanli.domain.apikeys import ApiKey
from suanli.domain.clock import FixedClock
from suanli.gateway.app import Gateway
from suanli.gateway.errors import GatewayError
from suanli.gateway.forward import GatewaySettings
from suanli.gateway.keys import KeyCheck, held_at_most
from suanli.gateway.memory import MemoryRouteTable, MemoryUsageSink
from suanli.service import apikeys
from suanli.service.bootstrap import open_platform
from suanli.store.ratelimits import KeyBuckets
from suanli.store.stores import Stores
from tests.contract.test_stores import stores  # noqa: F401 - the memory/SQLite/PostgreSQL fixture
from tests.gateway.serving import replicas, route, served, tenants

T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
AT = T0.timestamp()
ANN = Principal("ann", Role.TENANT_MEMBER, "acme", "t1", frozenset())


def buckets_of(stores: Stores) -> KeyBuckets:  # noqa: F811
    assert stores.key_buckets is not None
    return stores.key_buckets


def test_a_bucket_starts_full_grants_whole_tokens_and_refills_at_its_rate(
    stores: Stores,  # noqa: F811
) -> None:
    b = buckets_of(stores)
    first = b.lease("k1", 2.0, 5, 3, AT)
    assert (first.granted, first.left) == (3, 2.0)
    assert b.lease("k1", 2.0, 5, 3, AT).granted == 2  # only what is left
    empty = b.lease("k1", 2.0, 5, 3, AT)
    assert (empty.granted, empty.left) == (0, 0.0)
    assert b.lease("k1", 2.0, 5, 3, AT + 0.25).granted == 0  # half a token is no token
    half = b.lease("k1", 2.0, 5, 3, AT + 0.75)
    assert (half.granted, half.left) == (1, 0.5)
    full = b.lease("k1", 2.0, 5, 10, AT + 100)  # never more than the burst
    assert (full.granted, full.left) == (5, 0.0)
    assert b.lease("k2", 2.0, 5, 1, AT).granted == 1  # another key: its own bucket


def test_a_take_dated_before_the_last_refills_nothing(stores: Stores) -> None:  # noqa: F811
    b = buckets_of(stores)
    assert b.lease("k1", 1.0, 2, 2, AT + 10).granted == 2
    assert b.lease("k1", 1.0, 2, 2, AT + 5).granted == 0  # a clock behind: no tokens minted
    assert b.lease("k1", 1.0, 2, 2, AT + 11).granted == 1  # refill counts from the latest take


def key(rate: float, burst: int) -> ApiKey:
    return ApiKey(
        id="a1b2c3d4e5f6",
        tenant="acme",
        name="k",
        secret_hash="0" * 64,
        services=(),
        created_at=T0,
        created_by="ann",
        rate_per_s=rate,
        burst=burst,
    )


async def admitted(check: KeyCheck, k: ApiKey) -> bool:
    try:
        await check.take(k)
    except GatewayError as refused:
        status = refused.status
    else:
        return True
    assert status == 429
    return False


@pytest.mark.parametrize(("rate", "burst"), [(100.0, 20), (5.0, 8)])
def test_two_gateway_processes_together_admit_what_one_key_allows(
    stores: Stores,  # noqa: F811
    rate: float,
    burst: int,
) -> None:
    """Two processes' key checks over one store, three requests each every 10 ms for 2 s
    (6× the rate of the faster key): their sum stays within burst + rate × T + the lease
    bound, where per-process buckets would admit twice the key's rate."""
    clock = FixedClock(T0)
    b = buckets_of(stores)
    gateways = [KeyCheck(None, clock, buckets=b), KeyCheck(None, clock, buckets=b)]
    k = key(rate, burst)
    seconds, step = 2.0, 0.01

    async def run() -> int:
        count = 0
        for _ in range(int(seconds / step)):
            for check in gateways:
                for _ in range(3):
                    count += await admitted(check, k)
            clock.advance(step)
        return count

    total = asyncio.run(run())
    bound = burst + rate * seconds + len(gateways) * held_at_most(rate, burst)
    assert total <= bound
    assert total >= rate * seconds * 0.9  # and it is not starved by the leases either


def test_two_gateway_apps_over_one_database_refuse_past_the_keys_burst(
    tmp_path: Path, database_url: str
) -> None:
    """Two gateways (two platforms over one database, SQLite or PostgreSQL, as two processes
    would be) and a key of burst 6 whose rate adds no token during the test: 6 answers in
    all, then 429."""
    first = open_platform(tmp_path / "one", database_url=database_url, detect_gpus=False)
    second = open_platform(tmp_path / "two", database_url=database_url, detect_gpus=False)
    tenants(first, "acme")
    text = apikeys.create_key(first, ANN, "ci", rate_per_s=0.001, burst=6).text
    try:
        with replicas(1) as (r,):
            table = MemoryRouteTable(
                [route("s1", "acme", "tiny", (r.endpoint("r1"),), served_name="tiny")]
            )
            for p in (first, second):
                p.route_table, p.usage_sink = table, MemoryUsageSink()
            settings = GatewaySettings(route_ttl_s=0.0)
            with (
                served(Gateway(first, settings)) as one,
                served(Gateway(second, settings)) as two,
            ):
                body = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}
                headers = {"Authorization": f"Bearer {text}"}
                answers = [
                    httpx.post(url + "/v1/chat/completions", json=body, headers=headers)
                    for _ in range(10)
                    for url in (one, two)
                ]
    finally:
        first.close()
        second.close()
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 6
    assert statuses.count(429) == 14
    refused = answers[statuses.index(429)]
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert int(refused.headers["retry-after"]) >= 1
