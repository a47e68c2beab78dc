"""What the serving parts tell each other: the control plane, the gateway and metering.

Three parts meet here, each behind a small protocol so that any of them can be replaced
(memory fakes in tests, SQL stores in the server, the simulator's own in `sim serve`):

- the **control plane** (service/services*: revisions, replicas placed by the scheduler,
  the autoscaler in the shared cycle) publishes a :class:`RouteTable`: which services
  exist, who may call them, and which replicas answer where;
- the **gateway** (suanli.gateway: `/v1/*` and `/services/{name}/...`) reads that table,
  balances requests, reports load back as :class:`LoadSample` rows (one per gateway
  process and service, every few seconds) and asks for a replica when a request arrives
  for a service at zero (:meth:`RouteTable.want_replica`);
- **metering** (billing + service/usage*) receives one :class:`UsageEvent` per answered
  request, idempotent on ``request_id``, and turns tokens into money.

Plain frozen dataclasses, no I/O: the decision core and the stores both import this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

Visibility = Literal["private", "tenants", "public"]
# Who pays: the service's owner pays replica time like a job (private deployment,
# 私有化部署), or each caller pays per token at the publisher's price (API calls, API调用).
Payer = Literal["owner", "caller"]
Counter = Literal["server", "gateway"]


@dataclass(frozen=True, slots=True)
class ReplicaEndpoint:
    """One replica the gateway may send requests to (``ready``: its readiness probe passed)."""

    replica_id: str
    url: str  # base URL, e.g. http://127.0.0.1:40123 (no trailing slash)
    ready: bool
    cluster: str = ""


@dataclass(frozen=True, slots=True)
class ServiceRoute:
    """A service as the gateway needs it. ``served_name`` is set for OpenAI-compatible
    services (routed by the request's ``model``); every service is also reachable under
    ``/services/{owner}/{name}/...``."""

    service_id: str
    name: str
    owner: str  # owning tenant
    revision: int
    served_name: str | None
    visibility: Visibility
    tenants: tuple[str, ...]  # callers allowed besides the owner when visibility is "tenants"
    payer: Payer
    base_model: str | None
    publisher: str | None
    domestic: bool
    input_price_per_million_yuan: Decimal
    output_price_per_million_yuan: Decimal
    replicas: tuple[ReplicaEndpoint, ...]
    min_replicas: int
    max_replicas: int

    def callable_by(self, tenant: str) -> bool:
        """Whether ``tenant`` may call this service; a refused caller is told it does not exist."""
        if tenant == self.owner or self.visibility == "public":
            return True
        return self.visibility == "tenants" and tenant in self.tenants


class RouteTable(Protocol):
    """The control plane's published view; the gateway may cache it for a second or two."""

    def routes(self) -> Sequence[ServiceRoute]: ...

    def want_replica(self, service_id: str, at: dt.datetime) -> None:
        """A request waits for a service with no ready replica: start one (scale from zero)."""
        ...


@dataclass(frozen=True, slots=True)
class LoadSample:
    """What one gateway process saw of one service over ``[start, end)``: the autoscaler's input.

    ``in_flight`` is the count at ``end``; ``requests`` and ``output_tokens`` are totals over
    the window; ``waiting`` counts requests held for a replica (scale from zero, saturation).
    """

    service_id: str
    gateway: str  # process id of the reporting gateway (host:pid)
    start: dt.datetime
    end: dt.datetime
    in_flight: int
    requests: int
    output_tokens: int
    waiting: int


class LoadSink(Protocol):
    def observe(self, sample: LoadSample) -> None: ...


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One answered request's tokens, as the serving replica reported them in ``usage``
    (``counted_by="server"``) or, for a server that sent none, as the gateway counted them.
    ``request_id`` is the idempotency key: metering the same event twice bills once."""

    request_id: str
    at: dt.datetime
    caller: str  # calling tenant
    api_key_id: str | None
    service_id: str
    service_name: str
    owner: str
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    counted_by: Counter
    status: int  # HTTP status the caller got


class UsageSink(Protocol):
    def record(self, event: UsageEvent) -> None: ...
