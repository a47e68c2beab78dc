"""SQL store of model contracts, their redemptions and voucher claims (idempotent inserts)."""

from __future__ import annotations

import builtins
import datetime as dt
import json
from typing import Any

from sqlalchemy import Engine, and_, exists, insert, select, update

from suanli.billing.claims import Claim, ClaimStatus, ContractRef
from suanli.billing.model_contracts import ModelContract, ModelUse
from suanli.billing.policy import Evidence
from suanli.billing.redemption import PeriodRedemption, Withheld
from suanli.store.base import Redemption, VoucherClaim
from suanli.store.sql.billing import insert_once
from suanli.store.sql.billing_codec import deduction_from_dict, deduction_to_dict, draw_rows
from suanli.store.sql.billing_tables import ledger_entries
from suanli.store.sql.contract_tables import (
    model_contracts,
    model_redemptions,
    period_redemptions,
    voucher_claims,
)
from suanli.store.sql.voucher_tables import programme_claims, voucher_draws


class SqlContractStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_contract(self, contract: ModelContract, at: dt.datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(model_contracts).values(_contract_row(contract, at)))

    def contract(self, contract_id: str) -> ModelContract | None:
        query = select(model_contracts).where(model_contracts.c.id == contract_id)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _row_contract(row)

    def contracts(self, tenant: str | None = None) -> builtins.list[ModelContract]:
        query = select(model_contracts).order_by(
            model_contracts.c.signed_on, model_contracts.c.recorded_at, model_contracts.c.id
        )
        if tenant is not None:
            query = query.where(model_contracts.c.tenant == tenant)
        with self._engine.connect() as conn:
            return [_row_contract(r) for r in conn.execute(query).all()]

    def add_redemption(self, redemption: Redemption) -> bool:
        row = _redemption_row(redemption)
        where = and_(
            model_redemptions.c.contract_id == row["contract_id"],
            model_redemptions.c.period == row["period"],
        )
        draws = draw_rows(redemption.deduction, "redemption")
        return insert_once(self._engine, model_redemptions, row, where, [(voucher_draws, draws)])

    def redemptions(
        self,
        contract_id: str | None = None,
        tenant: str | None = None,
        period: str | None = None,
    ) -> builtins.list[Redemption]:
        conditions = []
        if contract_id is not None:
            conditions.append(model_redemptions.c.contract_id == contract_id)
        if tenant is not None:
            conditions.append(model_redemptions.c.tenant == tenant)
        if period is not None:
            conditions.append(model_redemptions.c.period == period)
        return self._redemptions(and_(True, *conditions))

    def add_period_redemption(self, redemption: PeriodRedemption) -> bool:
        row = _period_row(redemption)
        where = period_redemptions.c.key == row["key"]
        return insert_once(self._engine, period_redemptions, row, where)

    def period_redemptions(
        self, period: str | None = None, company: str | None = None
    ) -> builtins.list[PeriodRedemption]:
        c = period_redemptions.c
        conditions = [
            column == value
            for column, value in ((c.period, period), (c.company, company))
            if value is not None
        ]
        return self._period_redemptions(and_(True, *conditions))

    def unposted_period_redemptions(self) -> builtins.list[PeriodRedemption]:
        c = period_redemptions.c
        posted = exists().where(ledger_entries.c.key == c.entry_key)
        return self._period_redemptions(and_(c.entry_key.is_not(None), ~posted))

    def _period_redemptions(self, where: Any) -> builtins.list[PeriodRedemption]:
        c = period_redemptions.c
        query = (
            select(period_redemptions)
            .where(where)
            .order_by(c.period, c.programme, c.company, c.seller, c.seq)
        )
        with self._engine.connect() as conn:
            return [_row_period(r) for r in conn.execute(query).all()]

    def unposted_redemptions(self) -> builtins.list[Redemption]:
        posted = exists().where(ledger_entries.c.key == model_redemptions.c.entry_key)
        return self._redemptions(and_(model_redemptions.c.entry_key.is_not(None), ~posted))

    def _redemptions(self, where: Any) -> builtins.list[Redemption]:
        query = (
            select(
                model_redemptions.c.period,
                model_redemptions.c.completed,
                model_redemptions.c.decision,
                model_redemptions.c.settled_at,
                model_redemptions.c.entry_key,
                *model_contracts.c,
            )
            .join(model_contracts, model_contracts.c.id == model_redemptions.c.contract_id)
            .where(where)
            .order_by(model_redemptions.c.period, model_redemptions.c.key)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            Redemption(
                _row_contract(r),
                r.period,
                r.completed,
                deduction_from_dict(json.loads(r.decision)),
                r.settled_at,
                r.entry_key,
            )
            for r in rows
        ]

    def add_claim(self, claim: VoucherClaim) -> bool:
        row = {
            "tenant": claim.tenant,
            "programme": claim.programme,
            "claimed_at": claim.claimed_at,
            "recorded_by": claim.recorded_by,
        }
        where = and_(
            voucher_claims.c.tenant == claim.tenant,
            voucher_claims.c.programme == claim.programme,
        )
        return insert_once(self._engine, voucher_claims, row, where)

    def claims(self, tenant: str | None = None) -> builtins.list[VoucherClaim]:
        query = select(voucher_claims).order_by(
            voucher_claims.c.tenant, voucher_claims.c.programme
        )
        if tenant is not None:
            query = query.where(voucher_claims.c.tenant == tenant)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [VoucherClaim(r.tenant, r.programme, r.claimed_at, r.recorded_by) for r in rows]

    def add_programme_claim(self, claim: Claim, at: dt.datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(programme_claims).values(_claim_row(claim, at)))

    def programme_claims(self, tenant: str | None = None) -> builtins.list[Claim]:
        c = programme_claims.c
        query = select(programme_claims).order_by(c.claimed_on, c.claim_id)
        if tenant is not None:
            query = query.where(c.tenant == tenant)
        with self._engine.connect() as conn:
            return [_row_claim(r) for r in conn.execute(query).all()]

    def decide_programme_claim(self, claim: Claim) -> bool:
        """Store the decision of a pending claim; False when it was decided meanwhile."""
        c = programme_claims.c
        query = (
            update(programme_claims)
            .where(c.claim_id == claim.claim_id, c.status == ClaimStatus.PENDING.value)
            .values(
                status=claim.status.value,
                approved_amount=claim.approved_amount,
                decided_on=claim.decided_on,
                expires_on=claim.expires_on,
            )
        )
        with self._engine.begin() as conn:
            return conn.execute(query).rowcount == 1


def _claim_row(claim: Claim, at: dt.datetime) -> dict[str, Any]:
    k = claim.contract
    return {
        "claim_id": claim.claim_id,
        "programme": claim.programme,
        "tenant": claim.company,
        "contract_ref": k.reference,
        "contract_amount": k.amount,
        "signed_on": k.signed_on,
        "starts_on": k.starts_on,
        "ends_on": k.ends_on,
        "evidence": json.dumps(sorted(e.value for e in claim.evidence)),
        "claimed_on": claim.claimed_on,
        "status": claim.status.value,
        "approved_amount": claim.approved_amount,
        "decided_on": claim.decided_on,
        "expires_on": claim.expires_on,
        "recorded_at": at,
    }


def _row_claim(r: Any) -> Claim:
    return Claim(
        claim_id=r.claim_id,
        programme=r.programme,
        company=r.tenant,
        contract=ContractRef(
            r.contract_ref, r.contract_amount, r.signed_on, r.starts_on, r.ends_on
        ),
        claimed_on=r.claimed_on,
        evidence=frozenset(Evidence(e) for e in json.loads(r.evidence)),
        status=ClaimStatus(r.status),
        approved_amount=r.approved_amount,
        decided_on=r.decided_on,
        expires_on=r.expires_on,
    )


def _contract_row(c: ModelContract, at: dt.datetime) -> dict[str, Any]:
    return {
        "id": c.contract_id,
        "tenant": c.tenant,
        "vendor": c.vendor,
        "model": c.model,
        "use": c.use.value,
        "domestic": c.domestic_base_model,
        "amount": c.amount,
        "signed_on": c.signed_on,
        "evidence": c.evidence,
        "recorded_at": at,
        "facts": json.dumps(dict(c.facts), ensure_ascii=False, sort_keys=True),
    }


def _row_contract(row: Any) -> ModelContract:
    return ModelContract(
        contract_id=row.id,
        tenant=row.tenant,
        vendor=row.vendor,
        model=row.model,
        use=ModelUse(row.use),
        domestic_base_model=bool(row.domestic),
        amount=row.amount,
        signed_on=row.signed_on,
        evidence=row.evidence,
        facts=json.loads(row.facts or "{}"),
    )


def _redemption_row(r: Redemption) -> dict[str, Any]:
    d, chosen = r.deduction, r.deduction.chosen
    return {
        "key": d.charge.key,
        "contract_id": r.contract.contract_id,
        "tenant": r.contract.tenant,
        "period": r.period,
        "on_date": d.charge.on,
        "completed": r.completed,
        "gross": d.gross,
        "deduction": d.amount,
        "programme": d.programme,
        "programme_version": chosen.version if chosen else None,
        "cap_period": chosen.cap_period if chosen else None,
        "decision": json.dumps(deduction_to_dict(d), ensure_ascii=False, sort_keys=True),
        "settled_at": r.settled_at,
        "entry_key": r.entry_key,
    }


def _period_row(r: PeriodRedemption) -> dict[str, Any]:
    return {
        "key": r.key,
        "programme": r.programme,
        "period": r.period,
        "company": r.company,
        "seller": r.seller,
        "seq": r.seq,
        "year": r.year,
        "cap_period": r.cap_period,
        "claimed": r.claimed,
        "redeemed": r.redeemed,
        "withheld_by": r.withheld_by.value if r.withheld_by else None,
        "charges": json.dumps(list(r.charges)),
        "at": r.at,
        "entry_key": r.entry_key,
    }


def _row_period(row: Any) -> PeriodRedemption:
    return PeriodRedemption(
        programme=row.programme,
        period=row.period,
        company=row.company,
        seller=row.seller,
        seq=int(row.seq),
        year=int(row.year),
        cap_period=row.cap_period,
        claimed=row.claimed,
        redeemed=row.redeemed,
        withheld_by=Withheld(row.withheld_by) if row.withheld_by else None,
        charges=tuple(json.loads(row.charges)),
        at=row.at,
    )
