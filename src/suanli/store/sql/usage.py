"""The usage store on SQLite and PostgreSQL (tables: ``store.sql.usage_tables``)."""

from __future__ import annotations

import builtins
import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, and_, exists, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from suanli.billing.tokens import TokenLine
from suanli.domain.serving import UsageEvent
from suanli.store.sql.billing_codec import deduction_from_dict, deduction_to_dict, draw_rows
from suanli.store.sql.billing_tables import ledger_entries
from suanli.store.sql.usage_tables import token_settlements, usage_events
from suanli.store.sql.voucher_tables import voucher_draws
from suanli.store.usage import (
    EVERYTHING,
    PricedUsage,
    TokenSettlement,
    UsageFilter,
    UsageTotal,
)

E = usage_events.c
T = token_settlements.c


def _usage_row(u: PricedUsage) -> dict[str, Any]:
    e = u.event
    return {
        "request_id": e.request_id,
        "at": e.at,
        "minute": u.minute,
        "month": u.month,
        "caller": e.caller,
        "api_key_id": e.api_key_id,
        "service_id": e.service_id,
        "service_name": e.service_name,
        "owner": e.owner,
        "model": e.model,
        "prompt_tokens": e.prompt_tokens,
        "completion_tokens": e.completion_tokens,
        "counted_by": e.counted_by,
        "status": e.status,
        "payer": u.payer,
        "input_per_million": str(u.input_per_million),
        "output_per_million": str(u.output_per_million),
        "domestic": u.domestic,
        "base_model": u.base_model,
        "billable": u.billable,
        "settlement_key": None,
        "recorded_at": u.recorded_at,
    }


def _row_usage(r: Any) -> PricedUsage:
    event = UsageEvent(
        request_id=r.request_id,
        at=r.at,
        caller=r.caller,
        api_key_id=r.api_key_id,
        service_id=r.service_id,
        service_name=r.service_name,
        owner=r.owner,
        model=r.model,
        prompt_tokens=int(r.prompt_tokens),
        completion_tokens=int(r.completion_tokens),
        counted_by=r.counted_by,
        status=int(r.status),
    )
    return PricedUsage(
        event=event,
        payer=r.payer,
        input_per_million=Decimal(r.input_per_million),
        output_per_million=Decimal(r.output_per_million),
        domestic=bool(r.domestic),
        base_model=r.base_model,
        recorded_at=r.recorded_at,
    )


def _settlement_row(s: TokenSettlement) -> dict[str, Any]:
    line, d = s.line, s.deduction
    return {
        "key": line.key,
        "service_id": line.service_id,
        "service_name": line.service_name,
        "caller": line.caller,
        "owner": line.owner,
        "month": line.month,
        "seq": line.seq,
        "requests": line.requests,
        "prompt_tokens": line.prompt_tokens,
        "completion_tokens": line.completion_tokens,
        "cost_to_date": str(line.cost_to_date),
        "billed_before": line.billed_before,
        "gross": d.gross,
        "deduction": d.amount,
        "net": d.net,
        "domestic": line.domestic,
        "base_model": line.base_model,
        "on_date": line.on,
        "decision": json.dumps(deduction_to_dict(d), ensure_ascii=False, sort_keys=True),
        "settled_at": s.settled_at,
        "entry_key": s.entry_key,
    }


def _row_settlement(r: Any) -> TokenSettlement:
    line = TokenLine(
        service_id=r.service_id,
        service_name=r.service_name,
        caller=r.caller,
        owner=r.owner,
        month=r.month,
        seq=int(r.seq),
        requests=int(r.requests),
        prompt_tokens=int(r.prompt_tokens),
        completion_tokens=int(r.completion_tokens),
        cost_to_date=Decimal(r.cost_to_date),
        billed_before=Decimal(r.billed_before),
        domestic=bool(r.domestic),
        base_model=r.base_model,
        on=r.on_date,
    )
    return TokenSettlement(
        line, deduction_from_dict(json.loads(r.decision)), r.settled_at, r.entry_key
    )


class SqlUsageStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, usage: PricedUsage) -> bool:
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(usage_events).values(_usage_row(usage)))
        except IntegrityError:
            if self.get(usage.request_id) is not None:
                return False  # kept already (a replay, or another process first)
            raise
        return True

    def get(self, request_id: str) -> PricedUsage | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(usage_events).where(E.request_id == request_id)).first()
        return _row_usage(row) if row is not None else None

    def totals(self, where: UsageFilter = EVERYTHING) -> builtins.list[UsageTotal]:
        conditions = [
            column == value
            for column, value in (
                (E.caller, where.caller),
                (E.owner, where.owner),
                (E.service_id, where.service_id),
                (E.service_name, where.service_name),
                (E.api_key_id, where.api_key_id),
            )
            if value is not None
        ]
        if where.since is not None:
            conditions.append(E.at >= where.since)
        if where.until is not None:
            conditions.append(E.at < where.until)
        # Tokens are summed by the database; the cost is exact at each request's own price,
        # so requests are grouped by price too and priced here (integers times decimals).
        query = (
            select(
                E.minute,
                E.caller,
                E.api_key_id,
                E.service_id,
                func.max(E.service_name),
                func.max(E.owner),
                E.billable,
                E.input_per_million,
                E.output_per_million,
                func.count(),
                func.sum(E.prompt_tokens),
                func.sum(E.completion_tokens),
            )
            .where(and_(true(), *conditions))
            .group_by(
                E.minute,
                E.caller,
                E.api_key_id,
                E.service_id,
                E.billable,
                E.input_per_million,
                E.output_per_million,
            )
        )
        acc: dict[tuple[dt.datetime, str, str, str], list[Any]] = {}
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        for minute, caller, key, sid, name, owner, billable, pin, pout, n, p, c in rows:
            k = (minute, caller, key or "", sid)
            row = acc.setdefault(k, [name, owner, 0, 0, 0, Decimal(0)])
            row[2] += int(n)
            row[3] += int(p or 0)
            row[4] += int(c or 0)
            if billable:
                row[5] += (int(p or 0) * Decimal(pin) + int(c or 0) * Decimal(pout)) / 1_000_000
        return [
            UsageTotal(
                minute=k[0],
                caller=k[1],
                api_key_id=k[2] or None,
                service_id=k[3],
                service_name=v[0],
                owner=v[1],
                requests=v[2],
                prompt_tokens=v[3],
                completion_tokens=v[4],
                cost=v[5],
            )
            for k, v in sorted(acc.items(), key=lambda kv: kv[0])
        ]

    def unsettled(self, limit: int = 10_000) -> builtins.list[PricedUsage]:
        query = (
            select(usage_events)
            .where(E.billable.is_(True), E.settlement_key.is_(None))
            .order_by(E.at, E.request_id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [_row_usage(r) for r in conn.execute(query).all()]

    def last_settlement(self, service_id: str, caller: str, month: str) -> TokenSettlement | None:
        query = (
            select(token_settlements)
            .where(T.service_id == service_id, T.caller == caller, T.month == month)
            .order_by(T.seq.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return _row_settlement(row) if row is not None else None

    def add_settlement(self, settlement: TokenSettlement, request_ids: Sequence[str]) -> bool:
        key = settlement.line.key
        draws = draw_rows(settlement.deduction, "tokens")
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(token_settlements).values(_settlement_row(settlement)))
                marked = 0
                for start in range(0, len(request_ids), 500):
                    chunk = list(request_ids[start : start + 500])
                    marked += conn.execute(
                        update(usage_events)
                        .where(E.request_id.in_(chunk), E.settlement_key.is_(None))
                        .values(settlement_key=key)
                    ).rowcount
                if marked != len(request_ids):
                    raise _Overlap
                if draws:
                    conn.execute(insert(voucher_draws), draws)
        except (IntegrityError, _Overlap):
            return False  # another process settled (some of) these first: nothing written
        return True

    def settlements(
        self, caller: str | None = None, owner: str | None = None, month: str | None = None
    ) -> builtins.list[TokenSettlement]:
        conditions = [
            column == value
            for column, value in ((T.caller, caller), (T.owner, owner), (T.month, month))
            if value is not None
        ]
        query = (
            select(token_settlements)
            .where(and_(true(), *conditions))
            .order_by(T.settled_at, T.service_id, T.caller, T.month, T.seq)
        )
        with self._engine.connect() as conn:
            return [_row_settlement(r) for r in conn.execute(query).all()]

    def unposted(self) -> builtins.list[TokenSettlement]:
        posted = exists().where(ledger_entries.c.key == T.entry_key)
        query = (
            select(token_settlements)
            .where(T.entry_key.is_not(None), ~posted)
            .order_by(T.settled_at, T.service_id, T.caller, T.month, T.seq)
        )
        with self._engine.connect() as conn:
            return [_row_settlement(r) for r in conn.execute(query).all()]


class _Overlap(Exception):
    """A request of the settlement was covered by another one meanwhile (rolls back)."""
