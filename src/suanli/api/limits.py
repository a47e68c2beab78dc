"""Limits at the edge: oversized request bodies, requests per second per token."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suanli.domain.errors import TooManyRequests
from suanli.domain.i18n import pick_lang, render


class BodyLimit:
    """ASGI middleware: 413 for a body over ``limit`` bytes, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send, int(declared), scope)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge(seen)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge as exc:
            await self._refuse(send, exc.size, scope)

    async def _refuse(self, send: Send, size: int, scope: Scope) -> None:
        lang = pick_lang((_header(scope, b"accept-language") or b"").decode("latin-1"))
        message = render(
            "too_large",
            "zh" if lang == "zh" else "en",
            what="what.request_body",
            size=size,
            limit=self.limit,
        )
        body = json.dumps(
            {"error": {"code": "too_large", "message": message, "errors": []}}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case), read without copying them all."""
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value)
    return None


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


class RateLimit:
    """Per-token token buckets: ``rate`` requests a second, bursts of up to ``burst``.

    Counted per API process: with N processes behind one address a token may reach N×rate.
    """

    def __init__(
        self,
        rate: float,
        burst: float,
        monotonic: Callable[[], float],
        code: str = "quota.rate",
    ) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.code = code  # the refusal's message
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> None:
        """Spend one request of ``key``'s, or raise TooManyRequests (spending nothing)."""
        self._spend(key, 1.0)

    def check(self, key: str) -> None:
        """TooManyRequests if ``key`` has no request left now; spends nothing."""
        self._spend(key, 0.0)

    def _spend(self, key: str, cost: float) -> None:
        now = self._monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise TooManyRequests(
                    self.code,
                    retry_after_s=wait,
                    rate=f"{self.rate:g}",
                    retry_after=f"{wait:.2f}",
                )
            if len(self._buckets) > 100_000:
                self._buckets.clear()
            if cost or key in self._buckets:
                self._buckets[key] = (tokens - cost, now)


@dataclass(frozen=True)
class ApiLimits:
    """What one API process allows (``suanli up`` options)."""

    rate_per_token: float = 50.0  # requests a second per token, per process
    burst: float = 100.0
    max_active_jobs: int = 1000  # unfinished jobs per tenant
    # Requests with a token the platform does not know, per client address and process:
    # past the burst, refused (429) before the token store is asked.
    bad_tokens_per_s: float = 1.0
    bad_token_burst: float = 20.0
