"""The gateway's Prometheus metrics (``GET /metrics``), one registry per gateway.

Requests by service and status, latency (whole answer and time to first byte), tokens in
and out, requests in flight, and each service's ready replicas as the route table says.
Services are labelled ``owner/name``; a tenant's scrape gets its own services' samples only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from suanli.domain.serving import ServiceRoute

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: from a 1 ms gateway hop to a long generation.
BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    120,
    300,
)


class _Replicas(Collector):
    def __init__(self, routes: Callable[[], Iterable[ServiceRoute]]) -> None:
        self._routes = routes

    def collect(self) -> Iterable[Metric]:
        ready = GaugeMetricFamily(
            "suanli_gateway_replicas_ready", "Ready replicas of each service", labels=["service"]
        )
        known = GaugeMetricFamily(
            "suanli_gateway_replicas", "Replicas of each service, ready or not", labels=["service"]
        )
        for r in self._routes():
            ready.add_metric([f"{r.owner}/{r.name}"], sum(1 for x in r.replicas if x.ready))
            known.add_metric([f"{r.owner}/{r.name}"], len(r.replicas))
        yield ready
        yield known


class GatewayMetrics:
    def __init__(self, routes: Callable[[], Iterable[ServiceRoute]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "suanli_gateway_requests", "Answered requests", ["service", "status"], registry=r
        )
        self.latency = Histogram(
            "suanli_gateway_request_seconds",
            "Time from a request's arrival to its answer's last byte",
            ["service"],
            buckets=BUCKETS,
            registry=r,
        )
        self.first_byte = Histogram(
            "suanli_gateway_first_byte_seconds",
            "Time from a request's arrival to its answer's first body byte",
            ["service"],
            buckets=BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "suanli_gateway_tokens",
            "Tokens in (prompt) and out (generated)",
            ["service", "direction"],
            registry=r,
        )
        self.in_flight = Gauge(
            "suanli_gateway_in_flight", "Requests in flight", ["service"], registry=r
        )
        self.waiting = Gauge(
            "suanli_gateway_waiting",
            "Requests held for a replica (scale from zero, saturation)",
            ["service"],
            registry=r,
        )
        r.register(_Replicas(routes))

    def exposition(self, owner: str | None = None) -> bytes:
        """Every service's figures, or ``owner``'s services' only."""
        return generate_latest(self.registry if owner is None else _Owned(self.registry, owner))


class _Owned(Collector):
    """The samples of one owner's services (labelled ``owner/name``), families kept whole."""

    def __init__(self, registry: CollectorRegistry, owner: str) -> None:
        self._registry = registry
        self._prefix = owner + "/"

    def collect(self) -> Iterable[Metric]:
        for family in self._registry.collect():
            kept = Metric(family.name, family.documentation, family.type, family.unit)
            kept.samples = [
                s for s in family.samples if s.labels.get("service", "").startswith(self._prefix)
            ]
            yield kept
