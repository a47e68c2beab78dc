"""The API key store's contract: memory, SQLite and PostgreSQL keep keys alike."""

from __future__ import annotations

import dataclasses
import datetime as dt

from suanli.domain.apikeys import ApiKey, hash_secret, new_key, secret_matches, split_key
from suanli.store.stores import Stores
from tests.contract.test_stores import stores  # noqa: F401 - the memory/SQLite/PostgreSQL fixture

T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def make_key(tenant: str, minutes: int, services: tuple[str, ...] = ()) -> tuple[ApiKey, str]:
    key_id, secret, text = new_key()
    key = ApiKey(
        id=key_id,
        tenant=tenant,
        name=f"key {minutes}",
        secret_hash=hash_secret(secret),
        services=services,
        created_at=T0 + dt.timedelta(minutes=minutes),
        created_by="ann",
        rate_per_s=2.5,
        burst=5,
        expires_at=T0 + dt.timedelta(days=30),
    )
    return key, text


def test_a_key_reads_back_whole_and_only_its_hash_is_kept(stores: Stores) -> None:  # noqa: F811
    assert stores.apikeys is not None
    key, text = make_key("acme", 0, ("acme/tiny", "globex/big"))
    stores.apikeys.add(key)
    found = stores.apikeys.get(key.id)
    assert found == key
    parts = split_key(text)
    assert parts is not None
    assert secret_matches(parts[1], found.secret_hash)
    assert parts[1] not in repr(found)
    assert stores.apikeys.get("000000000000") is None


def test_keys_list_newest_first_per_tenant(stores: Stores) -> None:  # noqa: F811
    assert stores.apikeys is not None
    made = [make_key(t, m)[0] for t, m in (("acme", 1), ("globex", 2), ("acme", 3))]
    for k in made:
        stores.apikeys.add(k)
    assert [k.id for k in stores.apikeys.list("acme")] == [made[2].id, made[0].id]
    assert [k.id for k in stores.apikeys.list()] == [made[2].id, made[1].id, made[0].id]
    assert [k.id for k in stores.apikeys.list(limit=1)] == [made[2].id]


def test_a_key_is_revoked_once_for_good(stores: Stores) -> None:  # noqa: F811
    assert stores.apikeys is not None
    key, _ = make_key("acme", 0)
    stores.apikeys.add(key)
    at = T0 + dt.timedelta(hours=1)
    assert stores.apikeys.revoke(key.id, at) is True
    assert stores.apikeys.revoke(key.id, at + dt.timedelta(hours=1)) is False
    assert stores.apikeys.revoke("000000000000", at) is False
    found = stores.apikeys.get(key.id)
    assert found == dataclasses.replace(key, revoked_at=at)
    assert not found.usable(at)
