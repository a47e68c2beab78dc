"""Metered model-service requests and their token settlements: the protocol and memory store.

Each answered request is kept once (its ``request_id`` is the key: a replayed event is a
no-op) with the price it was answered at, so a later price change never re-prices old
requests. Totals are read per minute, caller, API key and service. Settlements of token
spend (``billing.tokens``) are stored with the requests they cover in one step, before
anything is posted; posting then reads what was stored.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol, TypeVar

from suanli.billing.metering import month_of
from suanli.billing.tokens import TokenLine, token_cost
from suanli.billing.vouchers import Deduction
from suanli.domain.serving import Payer, UsageEvent
from suanli.store.memory import MemoryDatabase


@dataclass(frozen=True)
class PricedUsage:
    """A usage event with what its service said at the time: who pays, at which price."""

    event: UsageEvent
    payer: Payer
    input_per_million: Decimal
    output_per_million: Decimal
    domestic: bool
    base_model: str | None
    recorded_at: dt.datetime

    @property
    def request_id(self) -> str:
        return self.event.request_id

    @property
    def minute(self) -> dt.datetime:
        return self.event.at.astimezone(dt.UTC).replace(second=0, microsecond=0)

    @property
    def month(self) -> str:
        return month_of(self.event.at)

    @property
    def billable(self) -> bool:
        """Callers pay for answered requests to others' per-token services."""
        e = self.event
        return self.payer == "caller" and 200 <= e.status < 300 and e.caller != e.owner

    @property
    def cost(self) -> Decimal:
        """Exact yuan at the stored price (0 when the caller does not pay)."""
        if not self.billable:
            return Decimal(0)
        e = self.event
        return token_cost(
            e.prompt_tokens, e.completion_tokens, self.input_per_million, self.output_per_million
        )


@dataclass(frozen=True)
class UsageTotal:
    """Requests and tokens of one (minute, caller, API key, service)."""

    minute: dt.datetime
    caller: str
    api_key_id: str | None
    service_id: str
    service_name: str
    owner: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal  # exact yuan at the prices the requests were answered at


@dataclass(frozen=True)
class UsageFilter:
    caller: str | None = None
    owner: str | None = None
    service_id: str | None = None
    service_name: str | None = None
    api_key_id: str | None = None
    since: dt.datetime | None = None  # inclusive, by the request's time
    until: dt.datetime | None = None  # exclusive

    def keeps(self, u: PricedUsage) -> bool:
        e = self.event_fields(u)
        return (
            all(want is None or want == got for want, got in e)
            and (self.since is None or u.event.at >= self.since)
            and (self.until is None or u.event.at < self.until)
        )

    def event_fields(self, u: PricedUsage) -> list[tuple[str | None, str | None]]:
        e = u.event
        return [
            (self.caller, e.caller),
            (self.owner, e.owner),
            (self.service_id, e.service_id),
            (self.service_name, e.service_name),
            (self.api_key_id, e.api_key_id),
        ]


EVERYTHING = UsageFilter()


@dataclass(frozen=True)
class TokenSettlement:
    """One token line, the voucher decision on it and the ledger key it posts under."""

    line: TokenLine
    deduction: Deduction
    settled_at: dt.datetime
    entry_key: str | None  # None: nothing to post (a month still under one fen)


class UsageStore(Protocol):
    def add(self, usage: PricedUsage) -> bool:
        """Keep ``usage`` once; False when its request id is already kept."""
        ...

    def get(self, request_id: str) -> PricedUsage | None: ...

    def totals(self, where: UsageFilter = EVERYTHING) -> builtins.list[UsageTotal]:
        """Per (minute, caller, key, service), oldest minute first."""
        ...

    def unsettled(self, limit: int = 10_000) -> builtins.list[PricedUsage]:
        """Billable requests no settlement covers yet, oldest first."""
        ...

    def last_settlement(self, service_id: str, caller: str, month: str) -> TokenSettlement | None:
        """The newest settlement of (service, caller, month): where the next one starts."""
        ...

    def add_settlement(self, settlement: TokenSettlement, request_ids: Sequence[str]) -> bool:
        """Store ``settlement`` covering ``request_ids``, all or nothing; False when its key
        is taken or one of the requests is covered already (another process settled)."""
        ...

    def settlements(
        self, caller: str | None = None, owner: str | None = None, month: str | None = None
    ) -> builtins.list[TokenSettlement]: ...

    def unposted(self) -> builtins.list[TokenSettlement]:
        """Stored settlements whose ledger entry is not in the ledger yet."""
        ...


def _group(s: TokenSettlement) -> tuple[str, str, str]:
    return (s.line.service_id, s.line.caller, s.line.month)


def one_request(u: PricedUsage) -> UsageTotal:
    """One request as a total of its minute (what the totals of many are folded from)."""
    e = u.event
    return UsageTotal(
        minute=u.minute,
        caller=e.caller,
        api_key_id=e.api_key_id,
        service_id=e.service_id,
        service_name=e.service_name,
        owner=e.owner,
        requests=1,
        prompt_tokens=e.prompt_tokens,
        completion_tokens=e.completion_tokens,
        cost=u.cost,
    )


P = TypeVar("P", dt.datetime, str)


def merge_totals(
    totals: Iterable[UsageTotal], period: Callable[[dt.datetime], P]
) -> builtins.list[tuple[P, UsageTotal]]:
    """Sum the totals that share (``period`` of their minute, caller, key, service), in
    that order: requests to minutes (the memory store), minutes to hours, days or months
    (service.usage_report). Each sum keeps its first total's minute and names."""
    acc: dict[tuple[P, str, str, str], UsageTotal] = {}
    for t in totals:
        key = (period(t.minute), t.caller, t.api_key_id or "", t.service_id)
        seen = acc.get(key)
        acc[key] = (
            t
            if seen is None
            else replace(
                seen,
                requests=seen.requests + t.requests,
                prompt_tokens=seen.prompt_tokens + t.prompt_tokens,
                completion_tokens=seen.completion_tokens + t.completion_tokens,
                cost=seen.cost + t.cost,
            )
        )
    return [(k[0], t) for k, t in sorted(acc.items(), key=lambda kv: kv[0])]


def total_rows(found: Sequence[PricedUsage]) -> builtins.list[UsageTotal]:
    """Fold requests into per-minute totals (the memory store; SQL groups in the database)."""
    return [t for _, t in merge_totals(map(one_request, found), _same)]


def _same(minute: dt.datetime) -> dt.datetime:
    return minute


class MemoryUsageStore:
    """Process memory, sharing the memory database's lock and ledger."""

    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def add(self, usage: PricedUsage) -> bool:
        with self._db.lock:
            if usage.request_id in self._db.usage_events:
                return False
            self._db.usage_events[usage.request_id] = usage
            if usage.billable:
                self._db.usage_unsettled[usage.request_id] = usage
            return True

    def get(self, request_id: str) -> PricedUsage | None:
        with self._db.lock:
            found = self._db.usage_events.get(request_id)
        return found if isinstance(found, PricedUsage) else None

    def totals(self, where: UsageFilter = EVERYTHING) -> builtins.list[UsageTotal]:
        with self._db.lock:
            found = [u for u in self._db.usage_events.values() if isinstance(u, PricedUsage)]
        return total_rows([u for u in found if where.keeps(u)])

    def unsettled(self, limit: int = 10_000) -> builtins.list[PricedUsage]:
        with self._db.lock:
            found = [u for u in self._db.usage_unsettled.values() if isinstance(u, PricedUsage)]
        found.sort(key=lambda u: (u.event.at, u.request_id))
        return found[:limit]

    def last_settlement(self, service_id: str, caller: str, month: str) -> TokenSettlement | None:
        mine = [
            s
            for s in self.settlements(caller=caller, month=month)
            if s.line.service_id == service_id
        ]
        return max(mine, key=lambda s: s.line.seq) if mine else None

    def add_settlement(self, settlement: TokenSettlement, request_ids: Sequence[str]) -> bool:
        key = settlement.line.key
        with self._db.lock:
            if key in self._db.token_settlements:
                return False
            if any(r not in self._db.usage_unsettled for r in request_ids):
                return False
            self._db.token_settlements[key] = settlement
            for r in request_ids:
                del self._db.usage_unsettled[r]
            # the billing store's running total of voucher usage
            self._db.voucher_totals.add(settlement.deduction, settlement.line.caller, None)
            return True

    def settlements(
        self, caller: str | None = None, owner: str | None = None, month: str | None = None
    ) -> builtins.list[TokenSettlement]:
        with self._db.lock:
            found = [
                s for s in self._db.token_settlements.values() if isinstance(s, TokenSettlement)
            ]
        return sorted(
            (
                s
                for s in found
                if (caller is None or s.line.caller == caller)
                and (owner is None or s.line.owner == owner)
                and (month is None or s.line.month == month)
            ),
            key=lambda s: (s.settled_at, *_group(s), s.line.seq),
        )

    def unposted(self) -> builtins.list[TokenSettlement]:
        posted = self._db.ledger.get
        return [
            s
            for s in self.settlements()
            if s.entry_key is not None and posted(s.entry_key) is None
        ]
