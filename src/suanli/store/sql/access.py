"""SQL store of organisations, users, API tokens (hashes only) and the audit log."""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Any

from sqlalchemy import Engine, insert, select, update

from suanli.domain.access import (
    ApiToken,
    AuditEvent,
    Organisation,
    OrgKind,
    Role,
    Scope,
    User,
)
from suanli.store.sql.access_tables import api_tokens, audit_events, organisations, users
from suanli.store.sql.billing import insert_once


class SqlAccessStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_organisation(self, org: Organisation) -> bool:
        row = {"name": org.name, "kind": org.kind.value, "created_at": org.created_at}
        return insert_once(self._engine, organisations, row, organisations.c.name == org.name)

    def organisation(self, name: str) -> Organisation | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(organisations).where(organisations.c.name == name)).first()
        return None if row is None else _org(row)

    def organisations(self) -> builtins.list[Organisation]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(organisations).order_by(organisations.c.name)).all()
        return [_org(r) for r in rows]

    def add_user(self, user: User) -> bool:
        row = {
            "name": user.name,
            "organisation": user.organisation,
            "role": user.role.value,
            "created_at": user.created_at,
        }
        return insert_once(self._engine, users, row, users.c.name == user.name)

    def user(self, name: str) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        return None if row is None else _user(row)

    def users(self, organisation: str | None = None) -> builtins.list[User]:
        query = select(users).order_by(users.c.name)
        if organisation is not None:
            query = query.where(users.c.organisation == organisation)
        with self._engine.connect() as conn:
            return [_user(r) for r in conn.execute(query).all()]

    def add_token(self, token: ApiToken) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(api_tokens).values(_token_row(token)))

    def token(self, token_id: str) -> tuple[ApiToken, User] | None:
        query = (
            select(api_tokens, users.c.organisation, users.c.role, users.c.created_at.label("uc"))
            .join(users, users.c.name == api_tokens.c.user)
            .where(api_tokens.c.id == token_id)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        user = User(row.user, row.organisation, Role(row.role), row.uc)
        return _token(row), user

    def tokens(
        self, user: str | None = None, organisation: str | None = None
    ) -> builtins.list[ApiToken]:
        query = select(api_tokens).order_by(api_tokens.c.created_at.desc(), api_tokens.c.id)
        if user is not None:
            query = query.where(api_tokens.c.user == user)
        if organisation is not None:
            members = select(users.c.name).where(users.c.organisation == organisation)
            query = query.where(api_tokens.c.user.in_(members))
        with self._engine.connect() as conn:
            return [_token(r) for r in conn.execute(query).all()]

    def revoke_token(self, token_id: str, at: dt.datetime) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
        return bool(result.rowcount == 1)


class SqlAuditLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, event: AuditEvent) -> None:
        with self._engine.begin() as conn:
            conn.execute(audit_events.insert(), audit_row(event))

    def events(
        self,
        actor: str | None = None,
        organisation: str | None = None,
        since: dt.datetime | None = None,
        limit: int = 100,
    ) -> builtins.list[AuditEvent]:
        query = select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
        if actor is not None:
            query = query.where(audit_events.c.actor == actor)
        if organisation is not None:
            query = query.where(audit_events.c.organisation == organisation)
        if since is not None:
            query = query.where(audit_events.c.at >= since)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEvent(
                r.at,
                r.actor,
                r.role,
                r.organisation,
                r.token_id,
                r.action,
                r.target,
                r.status,
                r.remote,
                r.id,
            )
            for r in rows
        ]


def audit_row(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": event.at,
        "actor": event.actor[:64],
        "role": event.role[:32],
        "organisation": event.organisation[:64],
        "token_id": event.token_id[:16],
        "action": event.action[:200],
        "target": event.target[:2000],
        "status": event.status,
        "remote": event.remote[:64],
    }


def _org(row: Any) -> Organisation:
    return Organisation(row.name, OrgKind(row.kind), row.created_at)


def _user(row: Any) -> User:
    return User(row.name, row.organisation, Role(row.role), row.created_at)


def _token_row(t: ApiToken) -> dict[str, Any]:
    return {
        "id": t.id,
        "user": t.user,
        "secret_hash": t.secret_hash,
        "scopes": ",".join(sorted(s.value for s in t.scopes)),
        "description": t.description,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "revoked_at": t.revoked_at,
    }


def _token(row: Any) -> ApiToken:
    return ApiToken(
        id=row.id,
        user=row.user,
        secret_hash=row.secret_hash,
        scopes=frozenset(Scope(s) for s in row.scopes.split(",") if s),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        description=row.description,
    )
