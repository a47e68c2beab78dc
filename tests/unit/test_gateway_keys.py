"""The gateway's key check: cached lookups, revocation within the cache's life, rate limits."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from suanli.domain.access import Principal, Role
from suanli.domain.apikeys import ApiKey
from suanli.domain.clock import FixedClock
from suanli.gateway.errors import GatewayError
from suanli.gateway.keys import KeyCheck
from suanli.gateway.tally import Tally
from suanli.service import apikeys
from suanli.service.deps import Platform
from suanli.store.memory_apikeys import MemoryApiKeyStore
from tests.gateway.serving import tenants

ANN = Principal("ann", Role.TENANT_MEMBER, "acme", "t1", frozenset())


def check(keys: KeyCheck, text: str) -> str:
    return asyncio.run(keys.key_of(f"Bearer {text}")).tenant


def test_a_revoked_key_is_refused_once_the_cache_has_aged(platform: Platform) -> None:
    clock = FixedClock(dt.datetime(2026, 12, 7, tzinfo=dt.UTC))
    platform.clock = clock
    tenants(platform, "acme")
    issued = apikeys.create_key(platform, ANN, "ci")
    keys = KeyCheck(platform.apikeys, clock, ttl_s=1.0)
    assert check(keys, issued.text) == "acme"
    apikeys.revoke_key(platform, ANN, issued.key.id)
    clock.advance(0.5)
    assert check(keys, issued.text) == "acme"  # another process: its cache is 0.5 s old
    clock.advance(0.5)
    with pytest.raises(GatewayError) as refused:
        check(keys, issued.text)
    assert (refused.value.status, refused.value.code) == (401, "invalid_api_key")


def test_a_key_past_its_days_or_with_a_wrong_secret_is_refused(platform: Platform) -> None:
    clock = FixedClock(dt.datetime(2026, 12, 7, tzinfo=dt.UTC))
    platform.clock = clock
    tenants(platform, "acme")
    issued = apikeys.create_key(platform, ANN, "ci", days=1)
    keys = KeyCheck(platform.apikeys, clock, ttl_s=0.0)
    for text in (issued.text[:-2] + "xx", "sk-sl-short", "sl_000000000000_x"):
        with pytest.raises(GatewayError):
            check(keys, text)
    clock.advance(86_400)
    with pytest.raises(GatewayError):
        check(keys, issued.text)


def test_a_keys_bucket_refills_at_its_rate() -> None:
    clock = FixedClock(dt.datetime(2026, 12, 7, tzinfo=dt.UTC))
    store = MemoryApiKeyStore()
    platform_less = KeyCheck(store, clock)
    key = dataclass_key(rate=2.0, burst=3)

    async def run() -> None:
        for _ in range(3):
            await platform_less.take(key)
        with pytest.raises(GatewayError) as refused:
            await platform_less.take(key)
        assert refused.value.status == 429
        assert refused.value.headers() == [(b"retry-after", b"1")]
        clock.advance(0.5)
        await platform_less.take(key)  # one request back after 1/rate seconds

    asyncio.run(run())


def dataclass_key(rate: float, burst: int) -> ApiKey:
    return ApiKey(
        id="a1b2c3d4e5f6",
        tenant="acme",
        name="k",
        secret_hash="0" * 64,
        services=(),
        created_at=dt.datetime(2026, 12, 7, tzinfo=dt.UTC),
        created_by="ann",
        rate_per_s=rate,
        burst=burst,
    )


def test_the_tally_counts_events_split_anywhere_and_drops_only_the_usage_it_asked_for() -> None:
    stream = (
        b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n'
        b'data: {"choices":[{"delta":{"content":""}}]}\n\n'
        b'data: {"choices":[{"delta":{"content":"b"}}]}\r\n\r\n'
        b'data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2}}\n\n'
        b"data: [DONE]\n\n"
    )
    for keep in (True, False):
        tally = Tally(keep_usage_event=keep)
        out = b"".join(tally.feed(stream[i : i + 7]) for i in range(0, len(stream), 7))
        tally.finish_stream()
        assert (tally.prompt_tokens, tally.completion_tokens, tally.counted_by) == (4, 2, "server")
        assert (b'"usage"' in out) is keep
        assert out.endswith(b"data: [DONE]\n\n")
    counted = Tally()
    counted.feed(stream.split(b'data: {"choices":[],')[0])
    counted.finish_stream()
    assert (counted.completion_tokens, counted.counted_by) == (2, "gateway")
