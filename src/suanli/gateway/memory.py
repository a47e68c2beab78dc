"""In-memory route table and sinks: what the gateway uses until the control plane's and
metering's stores are wired in, and what tests fill in by hand."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence

from suanli.domain.serving import LoadSample, ServiceRoute, UsageEvent


class MemoryRouteTable:
    """Routes set by hand; ``want_replica`` calls are kept (and passed to ``on_want``)."""

    def __init__(
        self,
        routes: Sequence[ServiceRoute] = (),
        on_want: Callable[[str, dt.datetime], None] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, ServiceRoute] = {r.service_id: r for r in routes}
        self.wanted: list[tuple[str, dt.datetime]] = []
        self.on_want = on_want

    def routes(self) -> Sequence[ServiceRoute]:
        with self._lock:
            return tuple(self._routes.values())

    def put(self, route: ServiceRoute) -> None:
        with self._lock:
            self._routes[route.service_id] = route

    def remove(self, service_id: str) -> None:
        with self._lock:
            self._routes.pop(service_id, None)

    def want_replica(self, service_id: str, at: dt.datetime) -> None:
        with self._lock:
            self.wanted.append((service_id, at))
        if self.on_want is not None:
            self.on_want(service_id, at)


class MemoryLoadSink:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.samples: list[LoadSample] = []

    def observe(self, sample: LoadSample) -> None:
        with self._lock:
            self.samples.append(sample)


class MemoryUsageSink:
    """Usage events by request id: recording one twice keeps the first (idempotent)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: dict[str, UsageEvent] = {}

    def record(self, event: UsageEvent) -> None:
        with self._lock:
            self.events.setdefault(event.request_id, event)
