"""API keys for model services: what a tenant gives a program that calls the gateway.

A key belongs to one tenant. It is stored as the SHA-256 of its secret only (the whole key
is shown once, when made), may be limited to named services (``owner/name``) or left open to
every service the tenant may call, carries its own rate limit, and is revoked for good.
Keys are not platform tokens: a key can call services and nothing else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "sk-sl-"  # OpenAI clients expect an "sk-" key; the rest says whose platform
MAX_SCOPE = 64  # services one key may name
MAX_RATE_PER_S = 10_000.0
MAX_BURST = 100_000
MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as stored: its id, owner and limits, never its secret."""

    id: str
    tenant: str
    name: str
    secret_hash: str
    services: tuple[str, ...]  # "owner/name" each; empty: every service the tenant may call
    created_at: dt.datetime
    created_by: str
    rate_per_s: float | None = None  # None: no per-key limit
    burst: int | None = None
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None

    def usable(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def covers(self, owner: str, name: str) -> bool:
        """Whether this key may call service ``owner/name`` (the tenant's own rights aside)."""
        return not self.services or f"{owner}/{name}" in self.services


def new_key() -> tuple[str, str, str]:
    """A fresh key: (id, secret, full key text). Only the secret's hash is ever stored."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return key_id, secret, f"{KEY_PREFIX}{key_id}_{secret}"


def split_key(text: str) -> tuple[str, str] | None:
    """(id, secret) of a key's text, or None when it is not shaped like one."""
    if not text.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = text[len(KEY_PREFIX) :].partition("_")
    if not sep or len(key_id) != 12 or not secret or len(secret) > 100:
        return None
    return key_id, secret


def hash_secret(secret: str) -> str:
    # 256 random bits: a plain SHA-256 cannot be brute-forced and is cheap per request.
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
