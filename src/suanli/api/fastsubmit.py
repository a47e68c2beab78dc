"""POST /api/v1/jobs without FastAPI's per-request machinery, for the bearer-token caller.

Routing, dependency solving and the exception middleware cost about as much CPU per request
as the submission's own work. This ASGI middleware answers a submission itself when its
caller is plain: a bearer token the token cache holds, a role the route admits (its
``open_to`` audience) and the write scope. It takes the rate limit as ``authorise`` does and
then the route's own ``accept`` (the one submission path: bounded parsing, admission, the
submission writer), so the job, its first event, the audit row and every refusal (answered
by ``error_response``, as the application would) are the same. Any other caller (no token,
a cookie, a token not cached, revoked or without the scope) is handed, body and all, to the
application. It sits inside the audit trail and the body limit, which see it like any route.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from suanli.api.auth import AUDIENCE, Audience, TokenCache, bearer_token
from suanli.api.errors import error_response, request_lang
from suanli.api.limits import RateLimit
from suanli.api.routes import jobs
from suanli.domain.access import Principal
from suanli.domain.access import Scope as TokenScope
from suanli.domain.errors import SuanliError

PATH = "/api/v1/jobs"
_AUDIENCE: Audience = getattr(jobs.submit, AUDIENCE)
_HEADERS = [(b"content-type", b"application/json")]


class SubmitFastPath:
    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state  # the application's: platform, tokens, rate, submissions, loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != PATH
            or scope.get("query_string")  # checked by the application
        ):
            await self.app(scope, receive, send)
            return
        caller = self._caller(scope)
        if caller is None:
            await self.app(scope, receive, send)
            return
        messages = [await receive()]
        while messages[-1]["type"] == "http.request" and messages[-1].get("more_body"):
            messages.append(await receive())
        if messages[-1]["type"] != "http.request":
            return  # the client went away
        scope.setdefault("state", {})["principal"] = caller  # for the audit row
        try:
            rate: RateLimit = self.state.rate
            rate.take(caller.token_id)
            raw = b"".join(m.get("body", b"") for m in messages)
            answer = await jobs.accept(self.state, scope, caller, raw)
        except SuanliError as exc:
            await error_response(exc, request_lang(Request(scope)))(scope, receive, send)
            return
        headers = [*_HEADERS, (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    def _caller(self, scope: Scope) -> Principal | None:
        """The caller when the route would admit it on a cached bearer token; None to leave
        the request to the application (which authenticates it the usual way)."""
        text = bearer_token(scope)
        tokens: TokenCache = self.state.tokens
        caller = tokens.principal_if_cached(text) if text is not None else None
        if caller is None or (_AUDIENCE.scope or TokenScope.WRITE) not in caller.scopes:
            return None
        return caller if caller.role in _AUDIENCE.roles else None
