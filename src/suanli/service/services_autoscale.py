"""The autoscaler in the live cycle: the gateways' load windows in, desired replicas out.

Every gateway process reports one window per service every few seconds (LoadSample). Here
they are summed into whole buckets of ``BUCKET_S`` seconds (requests and tokens summed;
requests in flight summed over gateways, each gateway's last count in the bucket), and
the pure policy the simulator uses too (scheduler.autoscaling, the default one) decides.
Windows older than the policy can need are pruned on the way.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from suanli.domain.service_spec import ServiceSpec
from suanli.domain.services import Service
from suanli.domain.serving import LoadSample
from suanli.scheduler.autoscaling import POLICIES, Sample, ScalingRule, Window
from suanli.scheduler.autoscaling.policies import SMOOTH_S
from suanli.service.deps import Platform

# Old windows are deleted at most this often per service (a write; reads skip them anyway).
PRUNE_EVERY = dt.timedelta(seconds=60)
# When each service's windows were last pruned by this process (housekeeping only: a new
# leader prunes again at its first cycle).
_PRUNED: dict[str, dt.datetime] = {}

# Buckets of the live metric (seconds): a few gateway windows each (gateways report every
# few seconds), short beside the policy's 30 s smoothing.
BUCKET_S = 5.0


def autoscaled(p: Platform, service: Service, spec: ServiceSpec, now: dt.datetime) -> int:
    """Replicas ``service`` wants now, within its ``replicas.min``..``max``."""
    rule = ScalingRule.of(spec)
    keep = dt.timedelta(
        seconds=max(rule.up_delay_s, rule.down_delay_s, rule.idle_s, SMOOTH_S) + 2 * BUCKET_S
    )
    if now - _PRUNED.get(service.id, dt.datetime.min.replace(tzinfo=dt.UTC)) >= PRUNE_EVERY:
        p.services.prune(service.id, now - keep)
        _PRUNED[service.id] = now
    windows = p.services.samples(service.id, now - keep)
    samples = buckets(windows, now.timestamp())
    wanted = POLICIES["default"].desired(Window(now.timestamp(), service.desired, samples), rule)
    # A request waiting for a replica (scale from zero) holds one for the idle time.
    waited = service.wanted_at is not None and now - service.wanted_at < dt.timedelta(
        seconds=max(rule.idle_s, BUCKET_S)
    )
    if service.desired == 0 and not waited:
        # At zero (gone idle, or scaled there by its owner): back to one only when a request
        # waits for it (RouteTable.want_replica), never for the traffic from before (the
        # policy keeps one while there was recent traffic, which an owner's `scale 0` ends).
        return rule.bounded(0)
    if waited or any(w.waiting for w in windows[-8:]):
        wanted = max(wanted, 1)
    return rule.bounded(wanted)


def buckets(windows: Sequence[LoadSample], now: float) -> tuple[Sample, ...]:
    """Whole ``BUCKET_S`` buckets ending at or before ``now``, oldest first (empty ones
    between reports count as idle)."""
    if not windows:
        return ()
    last = math.floor(now / BUCKET_S)
    first = math.floor(windows[0].end.timestamp() / BUCKET_S)
    requests: dict[int, int] = {}
    tokens: dict[int, int] = {}
    flight: dict[tuple[int, str], int] = {}
    for w in windows:
        b = math.floor(w.end.timestamp() / BUCKET_S)
        if b >= last:
            continue  # the bucket still filling
        requests[b] = requests.get(b, 0) + w.requests
        tokens[b] = tokens.get(b, 0) + w.output_tokens
        flight[(b, w.gateway)] = w.in_flight  # oldest first: the last one stays
    in_flight: dict[int, int] = {}
    for (b, _), count in flight.items():
        in_flight[b] = in_flight.get(b, 0) + count
    return tuple(
        Sample(
            end=(b + 1) * BUCKET_S,
            seconds=BUCKET_S,
            requests=requests.get(b, 0),
            in_flight=float(in_flight.get(b, 0)),
            tokens=tokens.get(b, 0),
        )
        for b in range(first, last)
    )


# The console's requests/s chart: this much of the past (seconds).
CHART_S = 15 * 60.0


def load_series(p: Platform, service: Service, now: dt.datetime) -> tuple[Sample, ...]:
    """The service's load over the chart's span (what the gateways reported, bucketed)."""
    since = now - dt.timedelta(seconds=CHART_S)
    return buckets(p.services.samples(service.id, since), now.timestamp())
