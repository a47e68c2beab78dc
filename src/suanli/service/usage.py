"""Meter model-service requests and bill their tokens, exactly once whatever crashes.

The gateway hands every answered request to ``platform.usage_sink`` (a :class:`MeteringSink`).
Steps, each idempotent and keyed by what it covers, as for jobs (service.billing):

1. **record**: the event is kept once, keyed by its request id, with the price its
   service published at that moment (a replayed event, or the same event after a
   crash and a retry, is a no-op);
2. **settle**: per (service, caller, China-time month), the requests no settlement covers
   yet become one token line (``billing.tokens``: the month's exact cost so far, rounded
   down once, less what the month billed before); the 模型券 decision is made on it
   (从优不重复, caps and pools as stored) and the line is stored with the requests it
   covers, all or nothing, before anything is posted;
3. **post**: each stored settlement is posted from its stored amounts; the ledger
   applies a key once.

A crash between a response and step 1 loses nothing the gateway has not handed over; a
crash between any two later steps is picked up by the next control-loop tick.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from suanli.billing.metering import local_date
from suanli.billing.tokens import (
    TokenLine,
    charge_for_tokens,
    token_settlement_entry,
)
from suanli.billing.vouchers import decide
from suanli.domain.clock import Clock
from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.serving import RouteTable, ServiceRoute, UsageEvent
from suanli.service.billing import claimed_by_tenant, open_pool, programme_claims
from suanli.service.deps import Platform
from suanli.store.usage import PricedUsage, TokenSettlement, UsageStore

log = logging.getLogger("suanli.usage")

MAX_TOKENS = 100_000_000  # per request: more is a replica's error, not usage
MAX_ID = 128
MAX_NAME = 200


def check_event(event: UsageEvent) -> None:
    """Refuse an event no real request could produce (counts come from tenant replicas)."""
    errors: list[FieldError] = []
    for name, value in (
        ("prompt_tokens", event.prompt_tokens),
        ("completion_tokens", event.completion_tokens),
    ):
        if not 0 <= value <= MAX_TOKENS:
            errors.append(FieldError(name, "out_of_range", value, f"0..{MAX_TOKENS}"))
    for name, text, limit in (
        ("request_id", event.request_id, MAX_ID),
        ("caller", event.caller, MAX_ID),
        ("service_id", event.service_id, MAX_ID),
        ("owner", event.owner, MAX_ID),
        ("service_name", event.service_name, MAX_NAME),
    ):
        if not text or len(text) > limit:
            errors.append(FieldError(name, "not_allowed", text, f"1-{limit} characters"))
    if event.api_key_id is not None and not 0 < len(event.api_key_id) <= MAX_ID:
        errors.append(
            FieldError("api_key_id", "not_allowed", event.api_key_id, f"1-{MAX_ID} characters")
        )
    if event.model is not None and len(event.model) > MAX_NAME:
        errors.append(FieldError("model", "not_allowed", event.model, f"0-{MAX_NAME} characters"))
    if not 100 <= event.status <= 599:
        errors.append(FieldError("status", "out_of_range", event.status, "100..599"))
    if event.at.tzinfo is None:
        errors.append(FieldError("at", "not_allowed", str(event.at), "a timezone-aware time"))
    if errors:
        raise InvalidInput(errors=errors, source="usage event")


class MeteringSink:
    """The :class:`~suanli.domain.serving.UsageSink` the gateway calls once per answered request.

    ``routes``: the control plane's table (or a function returning the routes) for the
    service's price and payer at the time of the request. An event for a service the
    table no longer has is kept unpriced (payer ``owner``: nobody is billed for it) and
    logged, so the tokens are still counted.
    """

    def __init__(
        self,
        store: UsageStore,
        routes: RouteTable | Callable[[], Sequence[ServiceRoute]],
        clock: Clock,
    ) -> None:
        self._store = store
        self._routes = routes.routes if hasattr(routes, "routes") else routes
        self._clock = clock
        self.refused = 0

    def record(self, event: UsageEvent) -> None:
        """Keep ``event`` once. An event no real request could produce (its counts come from
        a tenant's replica) is refused, logged and counted in ``refused``, never raised into
        the gateway's worker: the caller's answer has been sent already."""
        try:
            check_event(event)
        except InvalidInput as exc:
            self.refused += 1
            log.error("usage event refused: %s", exc.message("en"))
            return
        route = next((r for r in self._routes() if r.service_id == event.service_id), None)
        if route is None:
            log.warning("usage for unknown service %s kept unpriced", event.service_id)
        self._store.add(priced(event, route, self._clock.now()))


def priced(event: UsageEvent, route: ServiceRoute | None, at: dt.datetime) -> PricedUsage:
    if route is None:
        return PricedUsage(event, "owner", Decimal(0), Decimal(0), False, None, at)
    return PricedUsage(
        event=event,
        payer=route.payer,
        input_per_million=route.input_price_per_million_yuan,
        output_per_million=route.output_price_per_million_yuan,
        domestic=route.domestic,
        base_model=route.base_model,
        recorded_at=at,
    )


@dataclass(frozen=True)
class TokenReport:
    settled: int = 0
    posted: int = 0


def settle_tokens(p: Platform, store: UsageStore) -> int:
    """Turn every unsettled billable request into token lines; store each before posting."""
    b = p.billing
    if b is None:
        return 0
    pending = store.unsettled()
    if not pending:
        return 0
    groups: dict[tuple[str, str, str], list[PricedUsage]] = defaultdict(list)
    for u in pending:
        groups[(u.event.service_id, u.event.caller, u.month)].append(u)
    counters = b.store.voucher_usage()
    claims = claimed_by_tenant(b)
    filed = programme_claims(b)
    settled = 0
    for (service_id, caller, month), found in sorted(groups.items()):
        before = store.last_settlement(service_id, caller, month)
        newest = max(found, key=lambda u: u.event.at)
        line = TokenLine(
            service_id=service_id,
            service_name=newest.event.service_name,
            caller=caller,
            owner=newest.event.owner,
            month=month,
            seq=before.line.seq + 1 if before else 1,
            requests=len(found),
            prompt_tokens=sum(u.event.prompt_tokens for u in found),
            completion_tokens=sum(u.event.completion_tokens for u in found),
            cost_to_date=(before.line.cost_to_date if before else Decimal(0))
            + sum((u.cost for u in found), Decimal(0)),
            billed_before=before.line.billed_to_date if before else Decimal("0.00"),
            domestic=all(u.domestic for u in found),
            base_model=newest.base_model,
            on=local_date(newest.event.at),
        )
        tenant = b.tenants.get(caller)
        deduction = decide(
            charge_for_tokens(line),
            tenant.attributes if tenant is not None else {},
            b.policies,
            counters,
            claims.get(caller, frozenset()),
            [c for c in filed if c.company == caller],
        )
        now = p.clock.now()
        entry = token_settlement_entry(line, deduction, now, b.platform_fee_rate)
        settlement = TokenSettlement(line, deduction, now, entry.key if entry else None)
        if store.add_settlement(settlement, [u.request_id for u in found]):
            counters = counters.plus(deduction)
            settled += 1
        else:  # another process settled first: count what is stored, not what we decided
            counters = b.store.voucher_usage()
    return settled


def post_tokens(p: Platform, store: UsageStore) -> int:
    """Post every stored, unposted token settlement from its stored amounts."""
    b = p.billing
    if b is None:
        return 0
    posted = 0
    for s in store.unposted():
        entry = token_settlement_entry(s.line, s.deduction, s.settled_at, b.platform_fee_rate)
        if entry is None or entry.key != s.entry_key:
            log.error("token settlement %s no longer yields entry %s", s.line.key, s.entry_key)
            continue
        open_pool(b, s.deduction, s.settled_at)
        if b.ledger.post(entry).applied:
            posted += 1
    return posted


def metering_sink(p: Platform) -> MeteringSink | None:
    """The platform's sink: its usage store, priced from its route table at each request
    (read when the event arrives, so a table wired in later is the one used)."""
    if p.usage is None:
        return None

    def routes() -> Sequence[ServiceRoute]:
        return p.route_table.routes()

    return MeteringSink(p.usage, routes, p.clock)


def bill_tokens(p: Platform) -> TokenReport:
    """The control loop's token step: settle, then post (nothing without a usage store)."""
    if p.usage is None:
        return TokenReport()
    settled = settle_tokens(p, p.usage)
    return TokenReport(settled, post_tokens(p, p.usage))
