"""POST /api/v1/jobs without FastAPI's per-request machinery, for the plain submission.

Routing, dependency solving, body handling and the exception middleware cost about as much
CPU per request as the submission's own work. This ASGI middleware answers a submission
itself when everything about it is plain: a bearer token the token cache holds, a caller
the route admits (its ``open_to`` audience and the write scope), a JSON body that is a
valid request, a spec that is valid for the fleet and the tenant. It uses the route's own
functions (``prepare`` and ``hand_over`` of ``suanli.api.routes.jobs``), so the job, its first event, the audit row
and the answer are the same. Anything else (no token, a cookie, an unknown or revoked token,
a refusal of any kind, an odd content type) is handed, body and all, to the application,
which answers it as it always has: the refusals and their messages come from one place.
It sits inside the audit trail and the body limit, which see it like any route.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suanli.api.auth import AUDIENCE, Audience, TokenCache, bearer_token
from suanli.api.errors import error_response, request_lang
from suanli.api.limits import RateLimit
from suanli.api.routes import jobs
from suanli.domain.access import Scope as TokenScope
from suanli.domain.errors import SuanliError
from suanli.schemas.api import SubmitJobRequest

PATH = "/api/v1/jobs"
_AUDIENCE: Audience = getattr(jobs.submit, AUDIENCE)
_HEADERS = [(b"content-type", b"application/json")]


class SubmitFastPath:
    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state  # the application's: platform, tokens, rate, submissions, loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        messages = [await receive()]
        while messages[-1]["type"] == "http.request" and messages[-1].get("more_body"):
            messages.append(await receive())
        stored = self._accept(scope, messages)
        if stored is None:
            await self.app(scope, _replaying(messages, receive), send)
            return
        try:
            answer = await stored
        except SuanliError as exc:  # the store refused it (the tenant's active-job limit)
            await error_response(exc, request_lang(Request(scope)))(scope, receive, send)
            return
        headers = [*_HEADERS, (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    def _accept(self, scope: Scope, messages: list[Message]) -> Any:
        """The route's work under way, or None to leave the request to the application."""
        if messages[-1]["type"] != "http.request" or not _json(scope):
            return None
        text = bearer_token(scope)
        tokens: TokenCache = self.state.tokens
        caller = tokens.principal_if_cached(text) if text is not None else None
        if caller is None or (_AUDIENCE.scope or TokenScope.WRITE) not in caller.scopes:
            return None
        if caller.role not in _AUDIENCE.roles:
            return None
        try:
            data = json.loads(b"".join(m.get("body", b"") for m in messages))
            prepared = jobs.prepare(
                self.state, scope, SubmitJobRequest.model_validate(data), caller
            )
        except (ValueError, ValidationError, SuanliError):
            return None  # nothing taken or stored yet: the application answers it
        rate: RateLimit = self.state.rate
        try:
            rate.take(caller.token_id)
        except SuanliError:
            return None  # a refusal takes nothing: the application asks again and refuses
        scope.setdefault("state", {})["principal"] = caller  # for the audit row
        return jobs.hand_over(self.state, scope, prepared)


def _json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value == b"application/json")
    return False


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` giving the messages already read first."""
    waiting = list(messages)

    async def replay() -> Message:
        return waiting.pop(0) if waiting else await receive()

    return replay
