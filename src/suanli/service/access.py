"""Access use cases: authenticate a token; organisations, users and tokens; the audit log."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from suanli.domain.access import (
    ALL_SCOPES,
    OPERATOR_TOKEN_FILE,
    PLATFORM_ORG,
    ROLE_KIND,
    ApiToken,
    AuditEvent,
    Organisation,
    OrgKind,
    Principal,
    Role,
    Scope,
    User,
    hash_secret,
    new_token,
    secret_matches,
    split_token,
)
from suanli.domain.errors import FieldError, Forbidden, InvalidInput, NotFound, Unauthenticated
from suanli.domain.tenants import Attribute
from suanli.service import tenants
from suanli.service.deps import Platform
from suanli.store.access import AccessStore, AuditLog

OPERATOR_USER = "operator"
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650
BOOTSTRAP_TOKEN_DAYS = 365


def store(p: Platform) -> AccessStore:
    if p.access is None:
        raise Unauthenticated("access.bad_token")
    return p.access


def authenticate(p: Platform, text: str | None) -> Principal:
    """The principal a bearer token stands for; Unauthenticated when it stands for no one."""
    if not text:
        raise Unauthenticated("access.unauthenticated")
    found = lookup(p, text)
    if found is None:
        raise Unauthenticated("access.bad_token")
    token, user = found
    return principal_of(token, user)


def lookup(p: Platform, text: str) -> tuple[ApiToken, User] | None:
    parts = split_token(text)
    if parts is None:
        return None
    found = store(p).token(parts[0])
    if found is None or not verify(found[0], parts[1], p.clock.now()):
        return None
    return found


def verify(token: ApiToken, secret: str, now: dt.datetime) -> bool:
    return secret_matches(secret, token.secret_hash) and token.usable(now)


def principal_of(token: ApiToken, user: User) -> Principal:
    return Principal(
        user.name, user.role, user.organisation, token.id, token.scopes, token.expires_at
    )


# --- organisations and users --------------------------------------------------------------


def add_organisation(
    p: Platform,
    caller: Principal,
    name: str,
    kind: OrgKind,
    display_name: str = "",
    attributes: Mapping[str, Attribute] | None = None,
) -> Organisation:
    """A tenant organisation whose tenant is new creates the tenant too (no restart)."""
    _require(caller, caller.is_operator, "add organisations")
    if kind is OrgKind.TENANT and p.billing is not None:
        tenants.ensure_tenant(p, name, display_name, attributes)
    _check_party(p, name, kind)
    org = Organisation(name, kind, p.clock.now())
    if not store(p).add_organisation(org):
        raise InvalidInput(
            "invalid_request",
            errors=[
                FieldError(
                    "name", "access.exists", name, params={"what": "organisation", "name": name}
                )
            ],
        )
    return org


def list_organisations(p: Platform, caller: Principal) -> list[Organisation]:
    orgs = store(p).organisations()
    return [o for o in orgs if caller.is_operator or o.name == caller.organisation]


def add_user(p: Platform, caller: Principal, name: str, organisation: str, role: Role) -> User:
    _require(caller, caller.administers(organisation), f"add users to {organisation}")
    org = store(p).organisation(organisation)
    if org is None:
        raise NotFound("access.org_not_found", name=organisation)
    if ROLE_KIND[role] is not org.kind:
        raise InvalidInput(
            "invalid_request",
            errors=[FieldError("role", "access.role_kind", role.value, ROLE_KIND[role].value)],
        )
    user = User(name, organisation, role, p.clock.now())
    if not store(p).add_user(user):
        raise InvalidInput(
            "invalid_request",
            errors=[
                FieldError("name", "access.exists", name, params={"what": "user", "name": name})
            ],
        )
    return user


def list_users(p: Platform, caller: Principal, organisation: str | None = None) -> list[User]:
    if not caller.is_operator:
        organisation = caller.organisation
    found = store(p).users(organisation)
    if caller.is_operator or caller.role is Role.TENANT_ADMIN:
        return found
    return [u for u in found if u.name == caller.user]


# --- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    text: str  # shown once; only its hash is stored


def issue_token(
    p: Platform,
    caller: Principal,
    user: str,
    scopes: Iterable[Scope] = ALL_SCOPES,
    days: int | None = None,
    description: str = "",
) -> IssuedToken:
    """A new token for ``user``: never more scopes, a higher role, or a longer life than the
    caller's own token (``days`` left out: 90, or what the caller's token has left)."""
    owner = store(p).user(user)
    if owner is None or not _may_manage(caller, owner):
        raise NotFound("access.user_not_found", name=user)
    wanted = frozenset(scopes)
    if not wanted <= caller.scopes:
        extra = ", ".join(sorted(s.value for s in wanted - caller.scopes))
        raise InvalidInput(
            "invalid_request", errors=[FieldError("scopes", "access.scope_escalation", extra)]
        )
    if _RANK[owner.role] > _RANK[caller.role]:
        raise InvalidInput(
            "invalid_request",
            errors=[
                FieldError("user", "access.role_escalation", owner.role.value, caller.role.value)
            ],
        )
    now = p.clock.now()
    expires = now + dt.timedelta(days=days or DEFAULT_TOKEN_DAYS)
    if caller.expires_at is not None and expires > caller.expires_at:
        if days is not None:
            # Whole days the caller's own token has left: a token never outlives its maker.
            left = max(0, (caller.expires_at - now) // dt.timedelta(days=1))
            raise InvalidInput(
                "invalid_request",
                errors=[FieldError("days", "access.token_outlives", days, str(left))],
            )
        expires = caller.expires_at
    return _issue(store(p), owner.name, wanted, now, expires, description)


# Who may make a token for whom: never for a role above one's own.
_RANK = {Role.TENANT_MEMBER: 1, Role.TENANT_ADMIN: 2, Role.PROVIDER_ADMIN: 2, Role.OPERATOR: 3}


def _issue(
    access: AccessStore,
    user: str,
    scopes: frozenset[Scope],
    now: dt.datetime,
    expires_at: dt.datetime,
    description: str,
) -> IssuedToken:
    token_id, secret, text = new_token()
    token = ApiToken(
        id=token_id,
        user=user,
        secret_hash=hash_secret(secret),
        scopes=scopes,
        created_at=now,
        expires_at=expires_at,
        description=description,
    )
    access.add_token(token)
    return IssuedToken(token, text)


def list_tokens(p: Platform, caller: Principal, user: str | None = None) -> list[ApiToken]:
    if caller.is_operator:
        return store(p).tokens(user=user)
    if caller.role is Role.TENANT_ADMIN:
        return store(p).tokens(user=user, organisation=caller.organisation)
    return store(p).tokens(user=caller.user)


def revoke_token(p: Platform, caller: Principal, token_id: str) -> ApiToken:
    found = store(p).token(token_id)
    if found is None or not _may_manage(caller, found[1]):
        raise NotFound("access.token_not_found", name=token_id)
    store(p).revoke_token(token_id, p.clock.now())
    revoked = store(p).token(token_id)
    assert revoked is not None  # noqa: S101 - it existed a moment ago; tokens are never deleted
    return revoked[0]


def _may_manage(caller: Principal, owner: User) -> bool:
    return caller.user == owner.name or caller.administers(owner.organisation)


# --- the embedded default's operator -------------------------------------------------------


def ensure_operator_token(p: Platform, data_dir: Path) -> tuple[Path, bool]:
    """The local operator token file, made on first start (or when its token stopped working).

    The file (mode 0600) is the CLI's credential on this machine. Returns (path, created).
    Several processes on one data directory take turns (a file lock), so one token is made.
    """
    path = data_dir / OPERATOR_TOKEN_FILE
    access = store(p)
    now = p.clock.now()
    with (data_dir / "token.lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            text = path.read_text().strip()
            if lookup(p, text) is not None:
                return path, False
        access.add_organisation(Organisation(PLATFORM_ORG, OrgKind.PLATFORM, now))
        access.add_user(User(OPERATOR_USER, PLATFORM_ORG, Role.OPERATOR, now))
        issued = _issue(
            access,
            OPERATOR_USER,
            ALL_SCOPES,
            now,
            now + dt.timedelta(days=BOOTSTRAP_TOKEN_DAYS),
            "embedded default",
        )
        _write_private(path, issued.text + "\n")
        record(
            p,
            AuditEvent(
                now,
                "system",
                "system",
                PLATFORM_ORG,
                "",
                "bootstrap operator token",
                issued.token.id,
                201,
                "local",
            ),
        )
    return path, True


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


# --- the audit log ---------------------------------------------------------------------------


def record(p: Platform, event: AuditEvent) -> None:
    if p.audit is not None:
        p.audit.record(event)


def audit_events(
    p: Platform,
    caller: Principal,
    actor: str | None = None,
    organisation: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    _require(caller, caller.is_operator, "read the audit log")
    log: AuditLog | None = p.audit
    return [] if log is None else log.events(actor, organisation, since, limit)


# --- rules ------------------------------------------------------------------------------------


def _require(caller: Principal, allowed: bool, action: str) -> None:
    if not allowed:
        raise Forbidden(
            "access.forbidden", user=caller.user, role=caller.role.value, action=action
        )


def _check_party(p: Platform, name: str, kind: OrgKind) -> None:
    """A tenant organisation is a billing tenant; a provider one is a provider in the fleet."""
    if kind is OrgKind.TENANT:
        known = [t.name for t in p.billing.tenants.all()] if p.billing else []
    elif kind is OrgKind.PROVIDER:
        known = [x.name for x in p.fleet.providers]
    else:
        return
    if name not in known:
        raise InvalidInput(
            "invalid_request",
            errors=[
                FieldError(
                    "name", "access.unknown_party", name, ", ".join(known), {"kind": kind.value}
                )
            ],
        )


def require_tenant(caller: Principal, tenant: str) -> None:
    """NotFound unless ``caller`` may see ``tenant``'s money (never saying whether it exists)."""
    if not caller.sees_tenant(tenant):
        raise NotFound("tenant_not_found", tenant=tenant)


def require_provider(caller: Principal, provider: str) -> None:
    if not caller.sees_provider(provider):
        raise NotFound("access.org_not_found", name=provider)
