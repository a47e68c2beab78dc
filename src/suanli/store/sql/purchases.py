"""SQL store of providers' server purchases and their subsidies (idempotent inserts)."""

from __future__ import annotations

import builtins
import json
from typing import Any

from sqlalchemy import Engine, and_, exists, insert, select

from suanli.billing.server_purchases import ServerPurchase
from suanli.store.base import PurchaseRecord, Subsidy
from suanli.store.sql.billing import insert_once
from suanli.store.sql.billing_codec import deduction_from_dict, deduction_to_dict, draw_rows
from suanli.store.sql.billing_tables import ledger_entries
from suanli.store.sql.purchase_tables import provider_subsidies, server_purchases
from suanli.store.sql.voucher_tables import voucher_draws


class SqlPurchaseStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_purchase(self, record: PurchaseRecord) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(server_purchases).values(_purchase_row(record)))

    def purchase(self, purchase_id: str) -> PurchaseRecord | None:
        query = select(server_purchases).where(server_purchases.c.id == purchase_id)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _row_purchase(row)

    def purchases(
        self, provider: str | None = None, project: str | None = None
    ) -> builtins.list[PurchaseRecord]:
        query = select(server_purchases).order_by(
            server_purchases.c.contract_on, server_purchases.c.recorded_at, server_purchases.c.id
        )
        if provider is not None:
            query = query.where(server_purchases.c.provider == provider)
        if project is not None:
            query = query.where(server_purchases.c.project == project)
        with self._engine.connect() as conn:
            return [_row_purchase(r) for r in conn.execute(query).all()]

    def add_subsidy(self, subsidy: Subsidy) -> bool:
        row = _subsidy_row(subsidy)
        where = provider_subsidies.c.purchase_id == row["purchase_id"]
        draws = draw_rows(subsidy.deduction, "subsidy")
        return insert_once(self._engine, provider_subsidies, row, where, [(voucher_draws, draws)])

    def subsidy(self, purchase_id: str) -> Subsidy | None:
        found = self._subsidies(provider_subsidies.c.purchase_id == purchase_id)
        return found[0] if found else None

    def subsidies(self, provider: str | None = None) -> builtins.list[Subsidy]:
        if provider is None:
            return self._subsidies(and_(True))
        return self._subsidies(provider_subsidies.c.provider == provider)

    def unposted_subsidies(self) -> builtins.list[Subsidy]:
        posted = exists().where(ledger_entries.c.key == provider_subsidies.c.entry_key)
        return self._subsidies(and_(provider_subsidies.c.entry_key.is_not(None), ~posted))

    def _subsidies(self, where: Any) -> builtins.list[Subsidy]:
        query = (
            select(
                provider_subsidies.c.decision,
                provider_subsidies.c.settled_at,
                provider_subsidies.c.entry_key,
                *server_purchases.c,
            )
            .join(server_purchases, server_purchases.c.id == provider_subsidies.c.purchase_id)
            .where(where)
            .order_by(provider_subsidies.c.settled_at, provider_subsidies.c.key)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            Subsidy(
                _row_purchase(r),
                deduction_from_dict(json.loads(r.decision)),
                r.settled_at,
                r.entry_key,
            )
            for r in rows
        ]


def _purchase_row(r: PurchaseRecord) -> dict[str, Any]:
    p = r.purchase
    return {
        "id": p.purchase_id,
        "provider": p.provider,
        "project": p.project,
        "accelerator": r.accelerator,
        "servers": r.servers,
        "amount": p.domestic_server_amount,
        "listed_cluster": r.listed_cluster,
        "contract_on": p.contract_on,
        "evidence": p.evidence,
        "recorded_at": r.recorded_at,
    }


def _row_purchase(row: Any) -> PurchaseRecord:
    purchase = ServerPurchase(
        purchase_id=row.id,
        provider=row.provider,
        project=row.project,
        domestic_server_amount=row.amount,
        listed_on_platform=row.listed_cluster is not None,
        contract_on=row.contract_on,
        evidence=row.evidence,
    )
    return PurchaseRecord(
        purchase, row.accelerator, row.servers, row.listed_cluster, row.recorded_at
    )


def _subsidy_row(s: Subsidy) -> dict[str, Any]:
    d, chosen, p = s.deduction, s.deduction.chosen, s.record.purchase
    return {
        "key": d.charge.key,
        "purchase_id": p.purchase_id,
        "provider": p.provider,
        "project": p.project,
        "on_date": d.charge.on,
        "gross": d.gross,
        "deduction": d.amount,
        "listed": p.listed_on_platform,
        "programme": d.programme,
        "programme_version": chosen.version if chosen else None,
        "cap_period": chosen.cap_period if chosen else None,
        "decision": json.dumps(deduction_to_dict(d), ensure_ascii=False, sort_keys=True),
        "settled_at": s.settled_at,
        "entry_key": s.entry_key,
    }
