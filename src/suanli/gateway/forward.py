"""Sending one request to a replica and its answer back: choice, retry, relay, tally.

A request waits for a replica when its service has none ready (scale from zero: the
control plane is asked for one) or when every replica has ``replica_concurrency``
requests outstanding and the service may still grow; at its maximum it is refused with
429 and ``Retry-After``. A request whose replica died before answering (connection refused
or dropped before a whole answer arrived) is sent once more to another replica, held until
a replacement is ready when there is none (at most ``ready_timeout_s``); a stream cut after
it began ends with an error event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.types import Message, Receive, Send

from suanli.domain.apikeys import ApiKey
from suanli.domain.i18n import Lang, render
from suanli.domain.serving import ReplicaEndpoint, ServiceRoute
from suanli.gateway.errors import GatewayError, sse_error
from suanli.gateway.http1 import Http1Pool, ReplicaLost, ReplicaTimeout, Response
from suanli.gateway.tally import Tally

log = logging.getLogger("suanli.gateway")

# Hop-by-hop headers (RFC 9110 §7.6.1) and those the gateway sets itself (a caller's own
# x-suanli-caller or x-request-id never reaches a replica).
_DROP_REQUEST = frozenset(
    {b"host", b"authorization", b"content-length", b"connection", b"keep-alive", b"te",
     b"transfer-encoding", b"upgrade", b"proxy-authorization", b"proxy-connection", b"trailer",
     b"x-request-id", b"x-suanli-caller"}
)  # fmt: skip
_DROP_RESPONSE = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"content-length",
        b"trailer",
        b"upgrade",
        b"x-request-id",
    }
)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class GatewaySettings:
    """What one gateway process allows and waits for. Defaults chosen, not tuned on data:
    64 outstanding requests a replica is a ceiling well above what the autoscaler's targets
    keep a replica at (examples/services: 1.3-3 requests/s, 2 in flight), so the autoscaler,
    not this cap, sizes a service; 300 s waits cover a replica's start (120 s assumed in `sim serve`) and a long
    prefill."""

    max_body_bytes: int = 4 * 1024 * 1024  # a request body; more is 413
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 300.0  # between two reads of an answer (a long prefill)
    ready_timeout_s: float = 300.0  # how long a request waits for a replica to be ready
    replica_concurrency: int = 64  # outstanding requests one replica is given
    route_ttl_s: float = 1.0  # the route table is read at most this often
    wait_poll_s: float = 0.05  # a waiting request looks again this often
    key_ttl_s: float = 1.0  # revocation reaches every process within 2 s
    report_every_s: float = 5.0  # load samples
    max_connections: int = 1000


@dataclass
class Call:
    """One request on its way to a replica."""

    request_id: str
    key: ApiKey
    route: ServiceRoute
    method: str
    path: str  # on the replica, with the query
    headers: list[tuple[bytes, bytes]]
    body: bytes
    openai: bool
    stream: bool  # an OpenAI stream was asked for
    keep_usage_event: bool
    lang: Lang
    started: float  # monotonic
    first_byte: float | None = None
    status: int = 0
    tally: Tally | None = None
    replica: ReplicaEndpoint | None = None  # the one that answered


def upstream_headers(
    headers: list[tuple[bytes, bytes]], call_id: str, tenant: str, openai: bool
) -> list[tuple[bytes, bytes]]:
    out = [
        (k, v)
        for k, v in headers
        if k not in _DROP_REQUEST and not (openai and k == b"accept-encoding")
    ]
    out.append((b"x-request-id", call_id.encode()))
    out.append((b"x-suanli-caller", tenant.encode()))
    return out


def _answer_headers(
    response: Response, call: Call, length: int | None
) -> list[tuple[bytes, bytes]]:
    out = [(k, v) for k, v in response.headers if k not in _DROP_RESPONSE]
    out.append((b"x-request-id", call.request_id.encode()))
    if length is not None:
        out.append((b"content-length", str(length).encode()))
    return out


ReplicaChooser = Callable[[Call, frozenset[str]], Awaitable[ReplicaEndpoint]]


class Upstream:
    """The shared connection pool to every replica, and the relay of answers."""

    def __init__(self, settings: GatewaySettings, monotonic: Callable[[], float]) -> None:
        self.settings = settings
        self._monotonic = monotonic
        self.pool = Http1Pool(settings.connect_timeout_s, settings.read_timeout_s, monotonic)

    async def aclose(self) -> None:
        await self.pool.aclose()

    async def send(
        self,
        call: Call,
        choose: ReplicaChooser,
        acquire: Callable[[ReplicaEndpoint], None],
        release: Callable[[ReplicaEndpoint], None],
        suspect: Callable[[ReplicaEndpoint], None],
        receive: Receive,
        send: Send,
    ) -> None:
        """Answer ``call`` from a replica; GatewayError when none answered (nothing sent yet)."""
        tried: frozenset[str] = frozenset()
        while True:
            replica = await choose(call, tried)
            acquire(replica)
            call.replica = replica
            try:
                response = await self._open(call, replica)
                try:
                    whole = call.openai and not call.stream
                    body = await response.read() if whole else None
                except BaseException:
                    response.release()
                    raise
            except ReplicaLost as exc:
                release(replica)
                suspect(replica)
                tried = tried | {replica.replica_id}
                again = len(tried) < 2 and self._may_retry(call, exc)
                log.warning(
                    "replica %s lost request %s (%s; reached it: %s); %s",
                    replica.replica_id, call.request_id, exc, exc.sent,
                    "sent to another" if again else "answered 502",
                )  # fmt: skip
                if again:
                    continue
                raise GatewayError(
                    502, "replica_lost", "gateway.replica_lost", service=_name(call.route)
                ) from exc
            except ReplicaTimeout as exc:
                release(replica)
                raise GatewayError(
                    504,
                    "timeout",
                    "gateway.timeout",
                    service=_name(call.route),
                    timeout=exc.seconds,
                ) from exc
            except BaseException:
                release(replica)
                raise
            try:
                if body is not None:
                    await self._whole(call, response, body, send)
                else:
                    await self._relay(call, response, receive, send)
            finally:
                response.release()
                release(replica)
            return

    def _may_retry(self, call: Call, exc: ReplicaLost) -> bool:
        """Whether a request its replica lost is sent once more (after a hold for a
        replacement when no other replica is ready, ``Gateway._replica``).

        Safe because the caller has had no byte of it: ``send`` only gets here before
        anything went to the caller (a non-streamed OpenAI answer is read whole first; a
        stream is re-sent only when its replica failed before the status line, a stream
        already flowing ends with an error event in ``_relay`` instead). It is sent again
        only when it never reached the replica, or when running it twice changes nothing
        but compute: an inference call (the lost run's tokens are never metered: usage
        comes from the answer delivered, one event per request id) or an idempotent
        method. A ``/services/`` POST that may have reached its replica is never re-sent:
        it may have acted there."""
        return not exc.sent or call.openai or call.method in IDEMPOTENT

    async def _open(self, call: Call, replica: ReplicaEndpoint) -> Response:
        return await self.pool.request(
            call.method, replica.url, call.path, call.headers, call.body
        )

    async def _whole(self, call: Call, response: Response, body: bytes, send: Send) -> None:
        call.status = response.status
        if call.openai and call.tally is not None and response.status < 400:
            call.tally.whole(body)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": _answer_headers(response, call, len(body)),
            }
        )
        call.first_byte = self._monotonic()
        await send({"type": "http.response.body", "body": body})

    async def _relay(self, call: Call, response: Response, receive: Receive, send: Send) -> None:
        """Pass the answer on as it comes; a stream cut short ends with an error event."""
        call.status = response.status
        sse = any(
            k == b"content-type" and v.startswith(b"text/event-stream")
            for k, v in response.headers
        )
        tally = call.tally if (sse and call.openai) else None
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": _answer_headers(response, call, None),
            }
        )
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            async for chunk in response.chunks():
                out = tally.feed(chunk) if tally is not None else chunk
                if out:
                    if call.first_byte is None:
                        call.first_byte = self._monotonic()
                    await send({"type": "http.response.body", "body": out, "more_body": True})
                if gone.done():  # the caller left: stop the replica's work
                    break
        except (ReplicaLost, ReplicaTimeout) as exc:
            if not sse:
                raise  # not an event stream: the cut connection tells the caller
            code = "timeout" if isinstance(exc, ReplicaTimeout) else "replica_lost"
            words = (
                render(
                    "gateway.timeout",
                    call.lang,
                    service=_name(call.route),
                    timeout=self.settings.read_timeout_s,
                )
                if code == "timeout"
                else render("gateway.replica_lost", call.lang, service=_name(call.route))
            )
            rest = tally.rest() if tally is not None else b""
            await send(
                {
                    "type": "http.response.body",
                    "body": rest + sse_error(code, words),
                    "more_body": True,
                }
            )
        finally:
            gone.cancel()
        if tally is not None:
            tail = tally.rest()
            if tail:
                await send({"type": "http.response.body", "body": tail, "more_body": True})
            tally.finish_stream()
        await send({"type": "http.response.body", "body": b""})


async def _disconnected(receive: Receive) -> Message:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return message


def _name(route: ServiceRoute) -> str:
    return f"{route.owner}/{route.name}"
