"""The audit log's writer: every state-changing request, allowed or refused, once answered."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suanli.api.auth import route_template
from suanli.domain.access import AuditEvent, Principal
from suanli.service import access
from suanli.service.deps import Platform

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STORED_WITH_CHANGE = "suanli_audit_stored_with_change"


class AuditTrail:
    """ASGI middleware: after a non-read request is answered, store who, what, when, where."""

    def __init__(self, app: ASGIApp, platform: Platform) -> None:
        self.app = app
        self.platform = platform

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return
        status = 500

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            if not await _stored_with_its_change(scope):
                event = audit_event(self.platform, scope, status)
                await anyio.to_thread.run_sync(access.record, self.platform, event)


def record_with_change(scope: Scope, stored: Future[None]) -> None:
    """Say that the route stores this request's audit row itself, with the change it makes
    (in the same transaction), once ``stored`` is done; if that fails, this writer does."""
    scope.setdefault("state", {})[STORED_WITH_CHANGE] = stored


async def _stored_with_its_change(scope: Scope) -> bool:
    stored: Future[None] | None = (scope.get("state") or {}).get(STORED_WITH_CHANGE)
    if stored is None:
        return False
    try:
        if not stored.done():  # the request was cut short: wait for the write
            await asyncio.wrap_future(stored)
        stored.result()
    except Exception:  # noqa: BLE001 - not stored: the row is written here instead
        return False
    return True


def audit_event(platform: Platform, scope: Scope, status: int) -> AuditEvent:
    """The audit row of the request ``scope`` answered with ``status``."""
    state: dict[str, Any] = scope.get("state") or {}
    who: Principal | None = state.get("principal")
    path = str(scope.get("path", ""))
    client = scope.get("client")
    return AuditEvent(
        at=platform.clock.now(),
        actor=who.user if who else "anonymous",
        role=who.role.value if who else "",
        organisation=who.organisation if who else "",
        token_id=who.token_id if who else "",
        action=f"{scope['method']} {route_template(scope)}",
        target=path
        + (("?" + scope["query_string"].decode("latin-1")) if scope.get("query_string") else ""),
        status=status,
        remote=f"{client[0]}:{client[1]}" if client else "",
    )
