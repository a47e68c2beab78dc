"""Ledger entries for money events: pool openings, top-ups, settled bill lines, vouchers.

Every builder is deterministic in its inputs and derives the idempotency key from the
thing being settled (``settle:<job>/a<attempt>``, ``pool-open:<programme>:<year>``...),
so a retry after a crash produces the same key and the ledger applies it once.

A voucher leg moves the deduction from the programme's pool to the company's voucher
account and spends it from there in the same entry (申领即享, "claimed and usable at
once"): the voucher account's inflow is what the company has used under the programme,
its balance stays 0.00.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from suanli.billing.ledger import (
    Account,
    Entry,
    Posting,
    external,
    platform_revenue,
    programme_funding,
    provider_receivable,
    tenant_cash,
    tenant_voucher,
    voucher_pool,
)
from suanli.billing.money import ZERO, exact, floor_fen, mul
from suanli.billing.policy import VoucherPolicy
from suanli.billing.pricing import BillLine
from suanli.billing.vouchers import Deduction


def pool_opening_entry(policy: VoucherPolicy, year: int, at: dt.datetime) -> Entry | None:
    """Fund a programme's pool for ``year`` (None when the programme has no fixed pool)."""
    if policy.annual_pool is None or policy.annual_pool == 0:
        return None
    p, amount = policy.programme, policy.annual_pool
    return Entry(
        f"pool-open:{p}:{year}",
        (
            Posting(programme_funding(p, year), -amount),
            Posting(voucher_pool(p, year), amount),
        ),
        at,
        memo=f"{p} pool for {year}",
        tags={"programme": p, "year": str(year)},
    )


def top_up_entry(tenant: str, amount: Decimal, reference: str, at: dt.datetime) -> Entry:
    """Cash a tenant paid in (``reference``: the bank transfer or payment id)."""
    value = exact(amount)
    return Entry(
        f"top-up:{reference}",
        (Posting(external(), -value), Posting(tenant_cash(tenant), value)),
        at,
        memo=f"top-up by {tenant}",
        tags={"tenant": tenant},
    )


def settlement_entry(
    line: BillLine,
    deduction: Deduction,
    at: dt.datetime,
    platform_fee_rate: Decimal = ZERO,
) -> Entry | None:
    """Settle one bill line: the tenant pays net, a voucher pays the deduction, the provider
    is owed gross less the platform's fee. None for a zero line (nothing to post)."""
    if deduction.charge.key != line.key or deduction.gross != line.gross:
        raise ValueError(f"deduction for {deduction.charge.key} does not match line {line.key}")
    if line.gross == 0:
        return None
    fee = floor_fen(mul(line.gross, exact(platform_fee_rate)))
    legs = [
        (tenant_cash(line.tenant), -deduction.net),
        (provider_receivable(line.usage.provider), line.gross - fee),
        (platform_revenue(), fee),
        *_voucher_legs(deduction),
    ]
    return _entry(f"settle:{line.key}", legs, at, line.key, deduction)


def model_redemption_entry(deduction: Deduction, at: dt.datetime) -> Entry | None:
    """Credit a company's cash with its model voucher for one contract period."""
    legs = [*_voucher_legs(deduction), (tenant_cash(deduction.charge.company), deduction.amount)]
    return _entry(f"redeem:{deduction.charge.key}", legs, at, deduction.charge.key, deduction)


def provider_subsidy_entry(deduction: Deduction, at: dt.datetime) -> Entry | None:
    """Owe a provider its subsidy for one server purchase."""
    legs = [
        *_voucher_legs(deduction),
        (provider_receivable(deduction.charge.company), deduction.amount),
    ]
    return _entry(f"subsidy:{deduction.charge.key}", legs, at, deduction.charge.key, deduction)


def _voucher_legs(deduction: Deduction) -> list[tuple[Account, Decimal]]:
    """Per programme applied (several when programmes stack), in the order they applied."""
    legs: list[tuple[Account, Decimal]] = []
    c = deduction.charge
    year = c.on.year
    for applied in deduction.applied:
        d, prog = applied.offer, applied.programme
        # A programme without a fixed pool draws on its funding account directly.
        source = (
            programme_funding(prog, year)
            if applied.pool_left is None
            else voucher_pool(prog, year)
        )
        wallet = tenant_voucher(c.company, prog, year)
        legs += [(source, -d), (wallet, d), (wallet, -d)]
    return legs


def voucher_legs(deduction: Deduction) -> list[tuple[Account, Decimal]]:
    """The voucher legs of any charge's entry (token lines use them too)."""
    return _voucher_legs(deduction)


def _entry(
    key: str,
    legs: list[tuple[Account, Decimal]],
    at: dt.datetime,
    charge: str,
    deduction: Deduction,
) -> Entry | None:
    postings = tuple(Posting(acc, amt) for acc, amt in legs if amt != 0)
    if len(postings) < 2:
        return None
    tags = {"charge": charge, "company": deduction.charge.company}
    if deduction.programme:
        tags["programme"] = "+".join(deduction.programmes)
    memo = f"{charge}: gross {deduction.gross}, voucher {deduction.amount}, net {deduction.net}"
    return Entry(key, postings, at, memo=memo, tags=tags)
