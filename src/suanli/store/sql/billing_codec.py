"""Billing rows to billing values and back; the voucher decision is kept whole as JSON."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from suanli.billing.ledger import Account, AccountKind, Entry, Posting
from suanli.billing.metering import UsageRecord
from suanli.billing.policy import Evidence, VoucherKind
from suanli.billing.pricing import BillLine
from suanli.billing.vouchers import Charge, Consideration, Deduction, Limit, Outcome
from suanli.store.base import MeteredUsage, Settlement


def usage_to_row(m: MeteredUsage, at: dt.datetime) -> dict[str, Any]:
    u = m.usage
    return {
        "key": u.key,
        "job_id": u.job_id,
        "attempt": u.attempt,
        "tenant": u.tenant,
        "provider": u.provider,
        "cluster": u.cluster,
        "pool": u.pool,
        "region": u.region,
        "accelerator": u.accelerator,
        "domestic": u.domestic,
        "accelerators": u.accelerators,
        "started_at": u.started_at,
        "ended_at": u.ended_at,
        "project": u.project,
        "price_per_accelerator_hour": str(m.price_per_accelerator_hour),
        "metered_at": at,
    }


def row_to_usage(row: Any) -> MeteredUsage:
    usage = UsageRecord(
        job_id=row.job_id,
        attempt=row.attempt,
        tenant=row.tenant,
        provider=row.provider,
        cluster=row.cluster,
        pool=row.pool,
        region=row.region,
        accelerator=row.accelerator,
        domestic=bool(row.domestic),
        accelerators=row.accelerators,
        started_at=row.started_at,
        ended_at=row.ended_at,
        project=row.project,
    )
    return MeteredUsage(usage, Decimal(row.price_per_accelerator_hour))


def settlement_to_row(s: Settlement) -> dict[str, Any]:
    d, chosen = s.deduction, s.deduction.chosen
    return {
        "usage_key": s.line.key,
        "tenant": s.line.tenant,
        "month": s.line.month,
        "on_date": s.line.on,
        "domestic": s.line.domestic,
        "gross": d.gross,
        "deduction": d.amount,
        "net": d.net,
        "programme": d.programme,
        "programme_version": chosen.version if chosen else None,
        "cap_period": chosen.cap_period if chosen else None,
        "project": d.charge.project,
        "decision": json.dumps(deduction_to_dict(d), ensure_ascii=False, sort_keys=True),
        "settled_at": s.settled_at,
        "entry_key": s.entry_key,
    }


def row_to_settlement(row: Any, usage_row: Any) -> Settlement:
    m = row_to_usage(usage_row)
    deduction = deduction_from_dict(json.loads(row.decision))
    line = BillLine(m.usage, m.price_per_accelerator_hour, deduction.gross)
    return Settlement(line, deduction, row.settled_at, row.entry_key)


def deduction_to_dict(d: Deduction) -> dict[str, Any]:
    c = d.charge
    return {
        "charge": {
            "key": c.key,
            "kind": c.kind.value,
            "company": c.company,
            "gross": str(c.gross),
            "domestic": c.domestic,
            "on": c.on.isoformat(),
            "project": c.project,
            "attributes": dict(c.attributes),
            "evidence": sorted(e.value for e in c.evidence),
            "gross_before": str(c.gross_before),
        },
        "considered": [_consideration_to_dict(v) for v in d.considered],
    }


def deduction_from_dict(data: dict[str, Any]) -> Deduction:
    c = data["charge"]
    charge = Charge(
        key=c["key"],
        kind=VoucherKind(c["kind"]),
        company=c["company"],
        gross=Decimal(c["gross"]),
        domestic=bool(c["domestic"]),
        on=dt.date.fromisoformat(c["on"]),
        project=c["project"],
        attributes=c.get("attributes", {}),
        evidence=frozenset(Evidence(e) for e in c.get("evidence", [])),
        gross_before=Decimal(c.get("gross_before", "0")),
    )
    return Deduction(charge, tuple(_consideration_from_dict(v) for v in data["considered"]))


def _consideration_to_dict(v: Consideration) -> dict[str, Any]:
    return {
        "programme": v.programme,
        "version": v.version,
        "outcome": v.outcome.value,
        "rate": str(v.rate),
        "ceiling": str(v.ceiling),
        "offer": str(v.offer),
        "limit": v.limit.value if v.limit else None,
        "pool_left": _opt_str(v.pool_left),
        "company_left": _opt_str(v.company_left),
        "project_left": _opt_str(v.project_left),
        "cap_period": v.cap_period,
        # Dates and other values become text: they are only ever shown, never computed on.
        "params": json.loads(json.dumps(dict(v.params), default=str)),
        "issuer": v.issuer,
        "order": v.order,
        "claim": v.claim,
        "claim_left": _opt_str(v.claim_left),
    }


def _consideration_from_dict(v: dict[str, Any]) -> Consideration:
    return Consideration(
        programme=v["programme"],
        version=v["version"],
        outcome=Outcome(v["outcome"]),
        rate=Decimal(v["rate"]),
        ceiling=Decimal(v["ceiling"]),
        offer=Decimal(v["offer"]),
        limit=Limit(v["limit"]) if v["limit"] else None,
        pool_left=_opt_dec(v["pool_left"]),
        company_left=_opt_dec(v["company_left"]),
        project_left=_opt_dec(v["project_left"]),
        cap_period=v["cap_period"],
        params=v["params"],
        # decisions stored before stacking and claims: one programme, no claim
        issuer=v.get("issuer", ""),
        order=v.get("order", 1 if v["outcome"] == Outcome.APPLIED.value else None),
        claim=v.get("claim"),
        claim_left=_opt_dec(v.get("claim_left")),
    )


def _opt_str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _opt_dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def draw_rows(d: Deduction, source: str) -> list[dict[str, Any]]:
    """One row per programme applied to the charge, at that programme's own amount."""
    c = d.charge
    return [
        {
            "charge_key": c.key,
            "programme": a.programme,
            "version": a.version,
            "source": source,
            "owner": c.company,
            "on_date": c.on,
            "cap_period": a.cap_period,
            "project": c.project,
            "claim_id": a.claim,
            "amount": a.offer,
        }
        for a in d.applied
    ]


def entry_to_row(entry: Entry) -> dict[str, Any]:
    return {
        "key": entry.key,
        "at": entry.at,
        "memo": entry.memo,
        "reverses": entry.reverses,
        "tags": json.dumps(dict(entry.tags), ensure_ascii=False, sort_keys=True),
    }


def posting_to_row(entry_id: int, p: Posting) -> dict[str, Any]:
    a = p.account
    return {
        "entry_id": entry_id,
        "kind": a.kind.value,
        "owner": a.owner,
        "scope": a.scope,
        "amount": p.amount,
    }


def row_to_account(row: Any) -> Account:
    return Account(AccountKind(row.kind), row.owner, row.scope)


def rows_to_entry(row: Any, postings: list[Any]) -> Entry:
    """Rebuild an entry; raises a LedgerError when the stored one breaks a rule."""
    return Entry(
        row.key,
        tuple(Posting(row_to_account(p), p.amount) for p in postings),
        row.at,
        memo=row.memo,
        reverses=row.reverses,
        tags=json.loads(row.tags),
    )
