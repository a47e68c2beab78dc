"""The gateway as an ASGI application: OpenAI-compatible ``/v1/*`` and ``/services/{owner}/{name}/...``
in front of the replicas the control plane publishes (its Prometheus figures, ``metrics``,
are served by the API's ``/metrics``, behind a token).

It answers in raw ASGI (no framework per request: its overhead is the product). Callers
present an API key (``Authorization: Bearer sk-sl-...``); a service the key's tenant may
not call, or the key may not name, is refused exactly as one that does not exist.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suanli.domain.apikeys import ApiKey
from suanli.domain.i18n import Lang, pick_lang
from suanli.domain.serving import (
    LoadSink,
    ReplicaEndpoint,
    RouteTable,
    ServiceRoute,
    UsageEvent,
    UsageSink,
)
from suanli.gateway.errors import GatewayError
from suanli.gateway.forward import Call, GatewaySettings, Upstream, upstream_headers
from suanli.gateway.keys import KeyCheck
from suanli.gateway.load import LoadBook
from suanli.gateway.memory import MemoryUsageSink
from suanli.gateway.metrics import GatewayMetrics
from suanli.gateway.prompt_count import count_prompt
from suanli.gateway.routing import Balancer, Routes
from suanli.gateway.tally import Tally
from suanli.service.deps import Platform

OPENAI_POSTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
MAX_MODEL_NAME = 256


log = logging.getLogger("suanli.gateway")


class Gateway:
    def __init__(self, platform: Platform, settings: GatewaySettings | None = None) -> None:
        self.settings = settings = settings or GatewaySettings()
        self.clock = platform.clock
        self.table: RouteTable = platform.route_table
        self.usage: UsageSink = platform.usage_sink or MemoryUsageSink()
        self.load_sink: LoadSink = platform.load_sink
        mono = self.clock.monotonic
        self.keys = KeyCheck(
            platform.apikeys, self.clock, settings.key_ttl_s, platform.key_buckets
        )
        self.routes = Routes(self.table, mono, settings.route_ttl_s)
        self.balancer = Balancer(settings.replica_concurrency, mono)
        self.upstream = Upstream(settings, mono)
        self.metrics = GatewayMetrics(lambda: self.routes_seen)
        self.load = LoadBook(self.clock.now())
        self._wanted: dict[str, float] = {}  # service id -> when a replica was last asked for
        self._reporter: asyncio.Task[None] | None = None
        # Usage events wait here for one worker thread that hands them to the sink in
        # batches (a thread hop per request cost more than the rest of the hop together).
        self._unrecorded: collections.deque[UsageEvent] = collections.deque()
        self._recorder: asyncio.Task[None] | None = None
        self._record_wake: asyncio.Event | None = None

    @property
    def routes_seen(self) -> Sequence[ServiceRoute]:
        return self.routes.last.routes

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith(("/v1/", "/services/")) or path == "/v1"

    async def exposition(self, owner: str | None = None) -> bytes:
        """The Prometheus text (``owner``: that tenant's services only), the replicas as the
        route table says now."""
        await self.routes.current()
        return self.metrics.exposition(owner)

    async def aclose(self) -> None:
        for task in (self._reporter, self._recorder):
            if task is not None:
                task.cancel()
        self._reporter = self._recorder = None
        await self.upstream.aclose()
        await anyio.to_thread.run_sync(self._record_all)
        self.report()

    # -- ASGI ----------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # served alone (tests, a gateway-only process)
            await _lifespan(self, receive, send)
            return
        if scope["type"] != "http":
            return
        if self._reporter is None:
            self._reporter = asyncio.ensure_future(self._report_every())
            self._record_wake = asyncio.Event()
            self._recorder = asyncio.ensure_future(self._record_soon(self._record_wake))
        lang = pick_lang(_header(scope, b"accept-language"))
        try:
            await self._dispatch(scope, receive, send, lang)
        except GatewayError as exc:
            await _answer(send, exc.status, exc.body(lang), exc.headers())
        except _CallerGone:
            return

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send, lang: Lang) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path.startswith("/services/"):
            await self._service(scope, receive, send, lang)
            return
        if path in ("/v1/models", "/v1/models/"):
            _allow(method, ("GET",))
            key = await self._key(scope)
            await self._models(key, send)
            return
        if path in OPENAI_POSTS:
            _allow(method, ("POST",))
            await self._openai(scope, receive, send, lang)
            return
        raise GatewayError(
            404,
            "not_found",
            "gateway.not_found",
            path=path,
            allowed=", ".join(("/v1/models", *OPENAI_POSTS)),
        )

    async def _key(self, scope: Scope) -> ApiKey:
        key = await self.keys.key_of(_header(scope, b"authorization"))
        await self.keys.take(key)
        return key

    async def _models(self, key: ApiKey, send: Send) -> None:
        index = await self.routes.current()
        seen: dict[str, dict[str, Any]] = {}
        for r in sorted(index.routes, key=lambda r: (r.owner != key.tenant, r.owner, r.name)):
            if r.served_name and r.callable_by(key.tenant) and key.covers(r.owner, r.name):
                name = r.served_name if r.served_name not in seen else f"{r.owner}/{r.served_name}"
                seen[name] = {"id": name, "object": "model", "created": 0, "owned_by": r.owner}
        body = json.dumps({"object": "list", "data": list(seen.values())}, ensure_ascii=False)
        await _answer(send, 200, body.encode())

    async def _openai(self, scope: Scope, receive: Receive, send: Send, lang: Lang) -> None:
        key = await self._key(scope)
        body = await self._body(scope, receive)
        try:
            request = json.loads(body)
        except ValueError as exc:
            raise GatewayError(
                400, "invalid_json", "gateway.bad_json", detail=str(exc)[:200]
            ) from exc
        if not isinstance(request, dict):
            raise GatewayError(
                400, "invalid_json", "gateway.bad_json", detail=type(request).__name__
            )
        model = request.get("model")
        if not isinstance(model, str) or not model or len(model) > MAX_MODEL_NAME:
            raise GatewayError(
                400, "invalid_request_error", "gateway.model_missing", param="model"
            )
        stream = request.get("stream", False)
        if not isinstance(stream, bool):
            raise _bad_field("stream", stream, "true, false")
        keep_usage = True
        if stream and scope["path"] != "/v1/embeddings":
            options = request.get("stream_options")
            if options is None:
                options = {}
            if not isinstance(options, dict):
                raise _bad_field("stream_options", options, '{"include_usage": true|false}')
            keep_usage = options.get("include_usage") is True
            request["stream_options"] = {**options, "include_usage": True}
            body = json.dumps(request, ensure_ascii=False).encode()
        index = await self.routes.current()
        route = index.model(model, key.tenant)
        if route is None or not key.covers(route.owner, route.name):
            raise GatewayError(
                404, "model_not_found", "gateway.model_not_found", param="model", model=model
            )
        call = self._call(scope, key, route, body, lang, scope["path"], openai=True, stream=stream)
        call.keep_usage_event = keep_usage
        call.tally = Tally(keep_usage)
        await self._forward(call, receive, send)

    async def _service(self, scope: Scope, receive: Receive, send: Send, lang: Lang) -> None:
        path: str = scope["path"]
        owner, _, rest = path[len("/services/") :].partition("/")
        name, _, tail = rest.partition("/")
        if not owner or not name:
            raise GatewayError(
                404, "service_not_found", "gateway.service_not_found", service=f"{owner}/{name}"
            )
        key = await self._key(scope)
        index = await self.routes.current()
        route = index.path(owner, name, key.tenant)
        if route is None or not key.covers(owner, name):
            raise GatewayError(
                404, "service_not_found", "gateway.service_not_found", service=f"{owner}/{name}"
            )
        body = await self._body(scope, receive)
        query: bytes = scope.get("query_string") or b""
        upstream = "/" + tail + ("?" + query.decode("latin-1") if query else "")
        call = self._call(scope, key, route, body, lang, upstream, openai=False, stream=False)
        await self._forward(call, receive, send)

    def _call(
        self,
        scope: Scope,
        key: ApiKey,
        route: ServiceRoute,
        body: bytes,
        lang: Lang,
        path: str,
        openai: bool,
        stream: bool,
    ) -> Call:
        # A UUID: servers that check x-request-id (llama.cpp's, through starlette-context)
        # refuse any other shape with a 400.
        request_id = str(uuid.uuid4())
        headers = upstream_headers(list(scope["headers"]), request_id, key.tenant, openai)
        return Call(
            request_id,
            key,
            route,
            scope["method"],
            path,
            headers,
            body,
            openai,
            stream,
            True,
            lang,
            self.clock.monotonic(),
        )

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.settings.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise GatewayError(413, "request_too_large", "gateway.too_large", limit=limit)
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _CallerGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise GatewayError(413, "request_too_large", "gateway.too_large", limit=limit)
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    # -- one call ------------------------------------------------------------------------
    async def _forward(self, call: Call, receive: Receive, send: Send) -> None:
        service = f"{call.route.owner}/{call.route.name}"
        load = self.load.of(call.route.service_id)
        load.in_flight += 1
        self.metrics.in_flight.labels(service).inc()
        try:
            await self.upstream.send(
                call,
                self._replica,
                self.balancer.acquire,
                self.balancer.release,
                self.balancer.suspect,
                receive,
                send,
            )
        finally:
            load.in_flight -= 1
            self.metrics.in_flight.labels(service).dec()
        await self._answered(call, service)

    async def _answered(self, call: Call, service: str) -> None:
        now = self.clock.monotonic()
        tally = call.tally or Tally()
        await self._count_prompt(call, tally)
        load = self.load.of(call.route.service_id)
        load.requests += 1
        load.output_tokens += tally.completion_tokens
        m = self.metrics
        m.requests.labels(service, str(call.status)).inc()
        m.latency.labels(service).observe(now - call.started)
        if call.first_byte is not None:
            m.first_byte.labels(service).observe(call.first_byte - call.started)
        if tally.prompt_tokens:
            m.tokens.labels(service, "in").inc(tally.prompt_tokens)
        if tally.completion_tokens:
            m.tokens.labels(service, "out").inc(tally.completion_tokens)
        event = UsageEvent(
            request_id=call.request_id,
            at=self.clock.now(),
            caller=call.key.tenant,
            api_key_id=call.key.id,
            service_id=call.route.service_id,
            service_name=call.route.name,
            owner=call.route.owner,
            model=call.route.served_name if call.openai else None,
            prompt_tokens=tally.prompt_tokens,
            completion_tokens=tally.completion_tokens,
            counted_by=tally.counted_by,
            status=call.status,
        )
        self._unrecorded.append(event)
        if self._record_wake is not None:
            self._record_wake.set()

    async def _count_prompt(self, call: Call, tally: Tally) -> None:
        """A stream that ended without the server's usage: its prompt counted by the replica
        that answered (``gateway.prompt_count``), after the caller has the whole answer; by
        another replica of the same service when that one died mid-stream (same model, so
        the same tokenizer and chat template)."""
        replica = call.replica
        if not (call.stream and call.openai and replica is not None and call.status < 400):
            return
        if tally.counted_by != "gateway" or tally.prompt_tokens:
            return
        counted = await self._count_on(replica, call)
        if counted is None:
            other = self.balancer.pick(call.route, frozenset({replica.replica_id}))
            if other is not None:
                counted = await self._count_on(other, call)
        if counted is not None:
            tally.prompt_tokens = counted

    async def _count_on(self, replica: ReplicaEndpoint, call: Call) -> int | None:
        self.balancer.acquire(replica)
        try:
            return await count_prompt(
                self.upstream.pool, replica.url, call.path, call.headers, call.body
            )
        finally:
            self.balancer.release(replica)

    async def _record_soon(self, wake: asyncio.Event) -> None:
        while True:
            await wake.wait()
            wake.clear()
            await anyio.to_thread.run_sync(self._record_all)

    def _record_all(self) -> None:
        """Hand every waiting usage event to the sink (idempotent on request id)."""
        while True:
            try:
                event = self._unrecorded.popleft()  # atomic: the loop appends meanwhile
            except IndexError:
                return
            self.usage.record(event)

    async def _replica(self, call: Call, tried: frozenset[str]) -> ReplicaEndpoint:
        """A replica with room; waits for one (scale from zero, growth) or refuses.

        ``tried``: replicas that lost this request. When the one that failed was all there
        was, the request is held like a first request at zero until a replacement is ready
        (the control plane notices the loss after a few readiness periods, then starts one),
        at most ``ready_timeout_s``, then answered 502 ``replica_lost`` as without the hold.
        A replacement has a new replica id (``service.services.new_id``), so ``tried`` never
        waits out its own dead replica's stale ``ready`` in the route table."""
        route = call.route
        replica = self.balancer.pick(route, tried)
        if replica is not None:
            return replica
        load = self.load.of(route.service_id)
        service = f"{route.owner}/{route.name}"
        deadline = self.clock.monotonic() + self.settings.ready_timeout_s
        load.waiting += 1
        self.metrics.waiting.labels(service).inc()
        if tried:
            log.warning(
                "request %s: no other replica of %s ready; held until one is",
                call.request_id, service,
            )  # fmt: skip
        try:
            while True:
                ready = [r for r in self.balancer.ready(route) if r.replica_id not in tried]
                if ready and len(route.replicas) >= route.max_replicas:
                    raise GatewayError(
                        429, "service_saturated", "gateway.saturated", retry_after_s=1.0,
                        service=service, max=route.max_replicas, retry_after=1,
                    )  # fmt: skip
                await self._want(route)
                if self.clock.monotonic() >= deadline and tried:
                    raise GatewayError(
                        502, "replica_lost", "gateway.replica_lost", service=service
                    )
                if self.clock.monotonic() >= deadline:
                    raise GatewayError(
                        503, "no_replica_ready", "gateway.no_replica",
                        service=service, timeout=self.settings.ready_timeout_s,
                    )  # fmt: skip
                await asyncio.sleep(self.settings.wait_poll_s)
                index = await self.routes.current(max_age=self.settings.wait_poll_s)
                found = index.by_id.get(route.service_id)
                if found is None:
                    raise GatewayError(
                        404, "model_not_found" if call.openai else "service_not_found",
                        "gateway.model_not_found" if call.openai else "gateway.service_not_found",
                        model=route.served_name, service=service,
                    )  # fmt: skip
                call.route = route = found
                replica = self.balancer.pick(route, tried)
                if replica is not None:
                    return replica
        finally:
            load.waiting -= 1
            self.metrics.waiting.labels(service).dec()

    async def _want(self, route: ServiceRoute) -> None:
        """Ask the control plane for a replica, at most once a second per service."""
        now = self.clock.monotonic()
        if now - self._wanted.get(route.service_id, -1e9) < 1.0:
            return
        self._wanted[route.service_id] = now
        await anyio.to_thread.run_sync(self.table.want_replica, route.service_id, self.clock.now())

    # -- load reports --------------------------------------------------------------------
    def report(self) -> None:
        """Hand the samples since the last report to the load sink."""
        for sample in self.load.samples(self.clock.now()):
            self.load_sink.observe(sample)

    async def _report_every(self) -> None:
        while True:
            await asyncio.sleep(self.settings.report_every_s)
            samples = self.load.samples(self.clock.now())
            for sample in samples:
                await anyio.to_thread.run_sync(self.load_sink.observe, sample)


class _CallerGone(Exception):
    """The caller hung up before its request's body arrived."""


class WithGateway:
    """ASGI middleware: the gateway's paths to the gateway, the rest to the platform's app;
    the gateway is closed when the server shuts down."""

    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.gateway.handles(scope["path"]):
            await self.gateway(scope, receive, send)
            return
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def closing_receive() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.gateway.aclose()
            return message

        await self.app(scope, closing_receive, send)


async def _lifespan(gateway: Gateway, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await gateway.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return


def _allow(method: str, allowed: tuple[str, ...]) -> None:
    if method not in allowed:
        raise GatewayError(
            405, "method_not_allowed", "gateway.method", method=method, allowed=", ".join(allowed)
        )


def _bad_field(field: str, value: object, allowed: str) -> GatewayError:
    shown = json.dumps(value, ensure_ascii=False)[:100]
    return GatewayError(
        400,
        "invalid_request_error",
        "gateway.bad_field",
        param=field,
        field=field,
        value=shown,
        allowed=allowed,
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _answer(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    content_type: bytes = b"application/json",
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
