"""Who may do what: organisations, users, roles, API tokens and the rules that bind them.

Pure: the API authenticates a request into a ``Principal`` and asks these rules; nothing
here reads a database or a clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

TOKEN_PREFIX = "sl_"  # noqa: S105 - a marker, not a secret
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
PLATFORM_ORG = "platform"  # the operator's organisation
OPERATOR_TOKEN_FILE = "operator.token"  # noqa: S105 - the embedded default's, in its data dir


class OrgKind(StrEnum):
    TENANT = "tenant"  # a company running jobs; its name is a billing tenant
    PROVIDER = "provider"  # a compute provider; its name is a provider in the fleet
    PLATFORM = "platform"  # the operator


class Role(StrEnum):
    TENANT_MEMBER = "tenant_member"  # the tenant's jobs, logs and bills
    TENANT_ADMIN = "tenant_admin"  # ... and the tenant's users and tokens
    PROVIDER_ADMIN = "provider_admin"  # the provider's clusters, the jobs on them (no logs)
    OPERATOR = "operator"  # everything


ROLE_KIND: dict[Role, OrgKind] = {
    Role.TENANT_MEMBER: OrgKind.TENANT,
    Role.TENANT_ADMIN: OrgKind.TENANT,
    Role.PROVIDER_ADMIN: OrgKind.PROVIDER,
    Role.OPERATOR: OrgKind.PLATFORM,
}

TENANT_ROLES = frozenset({Role.TENANT_MEMBER, Role.TENANT_ADMIN})
EVERYONE = frozenset(Role)


class Scope(StrEnum):
    READ = "read"  # GET and other requests that change nothing
    WRITE = "write"  # anything that changes state


ALL_SCOPES = frozenset(Scope)


@dataclass(frozen=True)
class Organisation:
    name: str
    kind: OrgKind
    created_at: dt.datetime


@dataclass(frozen=True)
class User:
    name: str
    organisation: str
    role: Role
    created_at: dt.datetime


@dataclass(frozen=True)
class ApiToken:
    """A token as stored: never its secret, only the secret's SHA-256."""

    id: str
    user: str
    secret_hash: str
    scopes: frozenset[Scope]
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None
    description: str = ""

    def usable(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    user: str
    role: Role
    organisation: str
    token_id: str
    scopes: frozenset[Scope]
    expires_at: dt.datetime | None = None  # the token's: a token it makes may not outlive it

    @property
    def is_operator(self) -> bool:
        return self.role is Role.OPERATOR

    @property
    def tenant(self) -> str | None:
        """The tenant this caller acts for (None for providers and the operator)."""
        return self.organisation if self.role in TENANT_ROLES else None

    @property
    def provider(self) -> str | None:
        return self.organisation if self.role is Role.PROVIDER_ADMIN else None

    def sees_tenant(self, tenant: str) -> bool:
        return self.is_operator or self.tenant == tenant

    def sees_provider(self, provider: str) -> bool:
        return self.is_operator or self.provider == provider

    def administers(self, organisation: str) -> bool:
        """May manage the users and tokens of ``organisation``."""
        return self.is_operator or (
            self.role is Role.TENANT_ADMIN and self.organisation == organisation
        )


def new_token() -> tuple[str, str, str]:
    """A fresh token: (id, secret, full token text). Only the secret's hash is ever stored."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return token_id, secret, f"{TOKEN_PREFIX}{token_id}_{secret}"


def split_token(text: str) -> tuple[str, str] | None:
    """(id, secret) of a token's text, or None when it is not shaped like one."""
    if not text.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, secret = text[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(token_id) != 12 or not secret or len(secret) > 100:
        return None
    return token_id, secret


def hash_secret(secret: str) -> str:
    # Secrets are 256 random bits: a plain SHA-256 cannot be brute-forced, and it is fast
    # enough to check on every request (a password would need a slow hash; a token does not).
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


@dataclass(frozen=True)
class AuditEvent:
    """One state-changing request: who, what, when, from where, and how it ended."""

    at: dt.datetime
    actor: str  # user name; "anonymous" when no valid token came; "system" for the platform
    role: str
    organisation: str
    token_id: str
    action: str  # method and route, e.g. "POST /api/v1/jobs/{job_id}/cancel"
    target: str  # the path as requested, e.g. "/api/v1/jobs/j-123/cancel"
    status: int  # HTTP status of the answer
    remote: str  # client address
    id: int | None = None
