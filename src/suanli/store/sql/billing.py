"""SQL billing and ledger stores: idempotent inserts, an append-only ledger with balances."""

from __future__ import annotations

import builtins
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Numeric,
    and_,
    cast,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from suanli.billing.ledger import (
    Account,
    AlreadyReversed,
    Entry,
    IdempotencyConflict,
    LedgerError,
    LedgerReport,
    Posted,
    UnknownEntry,
    verify_ledger,
)
from suanli.billing.metering import UsageRecord
from suanli.billing.money import ZERO, total
from suanli.billing.vouchers import VoucherUsage
from suanli.domain.jobs import TERMINAL, Job
from suanli.store.base import MeteredUsage, Settlement
from suanli.store.sql.billing_codec import (
    draw_rows,
    entry_to_row,
    posting_to_row,
    row_to_account,
    row_to_settlement,
    row_to_usage,
    rows_to_entry,
    settlement_to_row,
    usage_to_row,
)
from suanli.store.sql.billing_tables import (
    ledger_balances,
    ledger_entries,
    ledger_postings,
    settlements,
    usage_records,
)
from suanli.store.sql.codec import row_to_job
from suanli.store.sql.tables import jobs
from suanli.store.sql.voucher_tables import voucher_draws

POST_RETRIES = 5


class SqlBillingStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_usage(self, usage: MeteredUsage, at: dt.datetime) -> bool:
        row = usage_to_row(usage, at)
        return insert_once(self._engine, usage_records, row, usage_records.c.key == row["key"])

    def forget_usage(self, key: str) -> MeteredUsage | None:
        settled = exists().where(settlements.c.usage_key == key)
        with self._engine.begin() as conn:
            row = conn.execute(
                select(usage_records).where(usage_records.c.key == key, ~settled)
            ).first()
            if row is None:
                return None
            conn.execute(delete(usage_records).where(usage_records.c.key == key, ~settled))
        return row_to_usage(row)

    def unmetered_jobs(self, limit: int = 1000) -> builtins.list[Job]:
        metered = exists().where(
            usage_records.c.job_id == jobs.c.id, usage_records.c.attempt == jobs.c.attempt
        )
        query = (
            select(jobs)
            .where(
                jobs.c.status.in_([s.value for s in TERMINAL]),
                jobs.c.started_at.is_not(None),
                jobs.c.finished_at.is_not(None),
                jobs.c.placement.is_not(None),
                jobs.c.attempt >= 1,
                ~metered,
            )
            .order_by(jobs.c.finished_at, jobs.c.id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [row_to_job(r) for r in conn.execute(query).all()]

    def unsettled(self, limit: int = 1000) -> builtins.list[MeteredUsage]:
        query = (
            select(usage_records)
            .outerjoin(settlements, settlements.c.usage_key == usage_records.c.key)
            .where(settlements.c.usage_key.is_(None))
            .order_by(usage_records.c.ended_at, usage_records.c.key)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [row_to_usage(r) for r in conn.execute(query).all()]

    def voucher_usage(self) -> VoucherUsage:
        # Summed by the database in whole fen from each programme's own draws (several on
        # a stacked charge), grouped by day and owner; the days are folded into years here.
        d = voucher_draws.c
        by_group = select(
            d.programme, d.on_date, d.owner, d.cap_period, d.project, _fen_sum(d.amount)
        ).group_by(d.programme, d.on_date, d.owner, d.cap_period, d.project)
        by_claim = (
            select(d.claim_id, _fen_sum(d.amount))
            .where(d.claim_id.is_not(None))
            .group_by(d.claim_id)
        )
        pool: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
        company: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
        project: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
        claims: dict[str, Decimal] = {}
        with self._engine.connect() as conn:
            for programme, on_date, owner, cap_period, proj, fen in conn.execute(by_group):
                amount = Decimal(int(fen)) / 100
                pool[(programme, on_date.year)] += amount
                company[(programme, owner, cap_period)] += amount
                if proj is not None:
                    project[(programme, proj)] += amount
            for claim_id, fen in conn.execute(by_claim):
                claims[claim_id] = Decimal(int(fen)) / 100
        return VoucherUsage(dict(pool), dict(company), dict(project), claims)

    def add_settlement(self, settlement: Settlement) -> bool:
        row = settlement_to_row(settlement)
        where = settlements.c.usage_key == row["usage_key"]
        draws = draw_rows(settlement.deduction, "settlement")
        return insert_once(self._engine, settlements, row, where, [(voucher_draws, draws)])

    def unposted(self, limit: int = 1000) -> builtins.list[Settlement]:
        posted = exists().where(ledger_entries.c.key == settlements.c.entry_key)
        return self._settlements(and_(settlements.c.entry_key.is_not(None), ~posted), limit=limit)

    def settlements(
        self, tenant: str | None = None, month: str | None = None
    ) -> builtins.list[Settlement]:
        conditions = []
        if tenant is not None:
            conditions.append(settlements.c.tenant == tenant)
        if month is not None:
            conditions.append(settlements.c.month == month)
        return self._settlements(and_(True, *conditions))

    def settlement_page(
        self,
        *,
        job_id: str | None = None,
        provider: str | None = None,
        tenant: str | None = None,
        month: str | None = None,
        limit: int = 100,
        offset: int = 0,
        job_ids: Sequence[str] | None = None,
    ) -> tuple[builtins.list[Settlement], int]:
        conditions = []
        if job_id is not None:
            conditions.append(usage_records.c.job_id == job_id)
        if job_ids is not None:
            conditions.append(usage_records.c.job_id.in_(list(job_ids)))
        if provider is not None:
            conditions.append(usage_records.c.provider == provider)
        if tenant is not None:
            conditions.append(settlements.c.tenant == tenant)
        if month is not None:
            conditions.append(settlements.c.month == month)
        where = and_(True, *conditions)
        counted = (
            select(func.count())
            .select_from(settlements)
            .join(usage_records, usage_records.c.key == settlements.c.usage_key)
            .where(where)
        )
        with self._engine.connect() as conn:
            total = int(conn.execute(counted).scalar_one())
        return self._settlements(where, limit, offset, newest_first=True), total

    def settlement_totals(self, tenant: str, month: str) -> tuple[Decimal, Decimal, Decimal]:
        query = select(
            _fen_sum(settlements.c.gross),
            _fen_sum(settlements.c.deduction),
            _fen_sum(settlements.c.net),
        ).where(settlements.c.tenant == tenant, settlements.c.month == month)
        with self._engine.connect() as conn:
            row = conn.execute(query).one()
        gross, deduction, net = (Decimal(int(x)) / 100 for x in row)
        return gross, deduction, net

    def usage_between(
        self, start: dt.datetime, end: dt.datetime, provider: str | None = None
    ) -> builtins.list[UsageRecord]:
        query = select(usage_records).where(
            usage_records.c.started_at < end, usage_records.c.ended_at >= start
        )
        if provider is not None:
            query = query.where(usage_records.c.provider == provider)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [row_to_usage(r).usage for r in rows]

    def _settlements(
        self, where: Any, limit: int | None = None, offset: int = 0, newest_first: bool = False
    ) -> builtins.list[Settlement]:
        query = (
            select(
                settlements.c.decision,
                settlements.c.settled_at,
                settlements.c.entry_key,
                *usage_records.c,
            )
            .join(usage_records, usage_records.c.key == settlements.c.usage_key)
            .where(where)
            .order_by(
                *(
                    (usage_records.c.ended_at.desc(), usage_records.c.key.desc())
                    if newest_first
                    else (usage_records.c.ended_at, usage_records.c.key)
                )
            )
        )
        if limit is not None:
            query = query.limit(limit).offset(offset)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [row_to_settlement(r, r) for r in rows]


class SqlLedgerStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def post(self, entry: Entry) -> Posted:
        for _ in range(POST_RETRIES):
            with self._engine.connect() as conn:
                stored = _load_entry(conn, entry.key)
            if stored is not None:
                if not stored.same_postings(entry):
                    raise IdempotencyConflict(key=entry.key)
                return Posted(stored, applied=False)
            try:
                with self._engine.begin() as conn:
                    _apply(conn, entry)
            except IntegrityError:
                continue  # someone posted the same key (or balance row) first: look again
            return Posted(entry, applied=True)
        raise IdempotencyConflict(key=entry.key)

    def has(self, key: str) -> bool:
        with self._engine.connect() as conn:
            found = conn.execute(
                select(ledger_entries.c.id).where(ledger_entries.c.key == key)
            ).first()
        return found is not None

    def posted_keys(self, keys: Sequence[str]) -> set[str]:
        wanted = sorted(set(keys))
        found: set[str] = set()
        with self._engine.connect() as conn:
            for i in range(0, len(wanted), 500):  # bounded IN lists
                query = select(ledger_entries.c.key).where(
                    ledger_entries.c.key.in_(wanted[i : i + 500])
                )
                found.update(conn.execute(query).scalars())
        return found

    def balance(self, account: Account) -> Decimal:
        query = select(ledger_balances.c.balance).where(*_account_is(account))
        with self._engine.connect() as conn:
            value = conn.execute(query).scalar_one_or_none()
        return value if value is not None else ZERO

    def verify(self) -> LedgerReport:
        with self._engine.connect() as conn:
            entry_rows = conn.execute(select(ledger_entries).order_by(ledger_entries.c.id)).all()
            posting_rows = conn.execute(
                select(ledger_postings).order_by(ledger_postings.c.entry_id, ledger_postings.c.id)
            ).all()
            balance_rows = conn.execute(select(ledger_balances)).all()
        by_entry: dict[int, list[Any]] = defaultdict(list)
        for p in posting_rows:
            by_entry[p.entry_id].append(p)
        entries: list[Entry] = []
        broken: list[str] = []
        for row in entry_rows:
            try:
                entries.append(rows_to_entry(row, by_entry.get(row.id, [])))
            except LedgerError as exc:
                broken.append(f"{row.key}: {exc.message('en')}")
        balances = {row_to_account(b): b.balance for b in balance_rows}
        report = verify_ledger(entries, balances)
        if not broken:
            return report
        return LedgerReport(
            report.entries + len(broken),
            len(posting_rows),
            report.accounts,
            (*broken, *report.problems),
        )


def insert_once(
    engine: Engine,
    table: Any,
    row: dict[str, Any],
    where: Any,
    also: Sequence[tuple[Any, list[dict[str, Any]]]] = (),
) -> bool:
    """Insert ``row`` unless a row matching ``where`` exists; True when this call inserted.

    ``also``: rows of other tables that belong to ``row`` (a charge's voucher draws),
    inserted in the same transaction.
    """
    with engine.connect() as conn:
        if conn.execute(select(table).where(where)).first() is not None:
            return False
    try:
        with engine.begin() as conn:
            conn.execute(insert(table).values(row))
            for other, rows in also:
                if rows:
                    conn.execute(insert(other), rows)
    except IntegrityError:
        with engine.connect() as conn:
            if conn.execute(select(table).where(where)).first() is not None:
                return False  # a concurrent writer inserted the same key first
        raise
    return True


def _load_entry(conn: Connection, key: str) -> Entry | None:
    row = conn.execute(select(ledger_entries).where(ledger_entries.c.key == key)).first()
    if row is None:
        return None
    postings = conn.execute(
        select(ledger_postings)
        .where(ledger_postings.c.entry_id == row.id)
        .order_by(ledger_postings.c.id)
    ).all()
    return rows_to_entry(row, list(postings))


def _apply(conn: Connection, entry: Entry) -> None:
    """Insert the entry, its postings and the new balances (one transaction, the caller's)."""
    if entry.reverses is not None:
        target = conn.execute(
            select(ledger_entries.c.id).where(ledger_entries.c.key == entry.reverses)
        ).first()
        if target is None:
            raise UnknownEntry(key=entry.reverses)
        by = conn.execute(
            select(ledger_entries.c.key).where(ledger_entries.c.reverses == entry.reverses)
        ).scalar_one_or_none()
        if by is not None:
            raise AlreadyReversed(key=entry.reverses, by=by)
    entry_id = conn.execute(
        insert(ledger_entries).values(entry_to_row(entry)).returning(ledger_entries.c.id)
    ).scalar_one()
    conn.execute(insert(ledger_postings), [posting_to_row(entry_id, p) for p in entry.postings])
    for account in sorted({p.account for p in entry.postings}):
        delta = entry.amount_on(account)
        current = conn.execute(
            select(ledger_balances.c.balance).where(*_account_is(account)).with_for_update()
        ).scalar_one_or_none()
        if current is None:
            conn.execute(
                insert(ledger_balances).values(
                    kind=account.kind.value,
                    owner=account.owner,
                    scope=account.scope,
                    balance=delta,
                )
            )
        else:
            conn.execute(
                update(ledger_balances)
                .where(*_account_is(account))
                .values(balance=total([current, delta]))
            )


def _account_is(account: Account) -> list[Any]:
    return [
        ledger_balances.c.kind == account.kind.value,
        ledger_balances.c.owner == account.owner,
        ledger_balances.c.scope == account.scope,
    ]


def _fen_sum(column: Any) -> Any:
    """SUM of a Yuan column in whole fen: integers, exact on every backend, never floats,
    and without reading every line back."""
    return func.coalesce(
        func.sum(cast(func.round(cast(column, Numeric(20, 2)) * 100), BigInteger)), 0
    )
