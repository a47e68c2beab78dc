"""Callers pay per token at the publisher's price (API调用): token lines, their charge, their entry.

Prices are yuan per million tokens, so one request usually costs a fraction of a fen. A
caller's spend on one service is therefore billed **cumulatively per China-time month**:
each settlement takes the exact cost of every request so far this month (no rounding on
the way), rounds that total *down* to the fen, and bills the difference from what earlier
settlements of the month billed. The sum of a month's lines is the month's exact cost
rounded down once; the caller is never billed a fraction not yet reached, and at most
0.009 yuan per service and month is left unbilled (in the caller's favour).

A token line is a 模型券-kind charge (``model_use: api_calls``; the settled line is the
invoice and the metered requests the proof of delivery), so model vouchers apply to spend
on domestic base models and compute vouchers never do (each programme names its kind):
从优不重复 across both kinds holds because one charge is only ever one kind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from suanli.billing.ledger import Entry, Posting, platform_revenue, tenant_cash
from suanli.billing.money import exact, floor_fen, mul
from suanli.billing.policy import Evidence, VoucherKind
from suanli.billing.settlement import voucher_legs
from suanli.billing.vouchers import Charge, Deduction

MILLION = Decimal(1_000_000)
API_CALLS = "api_calls"  # the 模型券 use this spend is (ModelUse.API_CALLS)
TOKEN_EVIDENCE = frozenset({Evidence.INVOICE, Evidence.DELIVERY_PROOF})


def token_cost(
    prompt_tokens: int,
    completion_tokens: int,
    input_per_million: Decimal,
    output_per_million: Decimal,
) -> Decimal:
    """The exact cost in yuan (not rounded: rounding happens once, on the month's total)."""
    if prompt_tokens < 0 or completion_tokens < 0:
        raise ValueError("token counts cannot be negative")
    cost = Decimal(prompt_tokens) * exact(input_per_million) + Decimal(completion_tokens) * exact(
        output_per_million
    )
    if cost < 0:
        raise ValueError("a price cannot be negative")
    return cost / MILLION


def token_line_key(service_id: str, caller: str, month: str, seq: int) -> str:
    return f"tokens:{service_id}:{caller}:{month}:{seq}"


@dataclass(frozen=True)
class TokenLine:
    """One settlement of a caller's token spend on one service in one month: the requests
    it covers (``requests``, ``prompt_tokens``, ``completion_tokens``) and the month so far
    (``cost_to_date`` exact; ``billed_before`` what earlier lines of the month billed)."""

    service_id: str
    service_name: str
    caller: str
    owner: str  # the publisher: credited with the gross less the platform's fee
    month: str
    seq: int  # 1, 2, ... within (service, caller, month)
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_to_date: Decimal
    billed_before: Decimal
    domestic: bool
    base_model: str | None
    on: dt.date  # the China-time date of the newest request covered

    def __post_init__(self) -> None:
        if self.seq < 1 or self.requests < 1:
            raise ValueError(f"{self.key}: seq and requests must be >= 1")
        if self.billed_before > floor_fen(self.cost_to_date):
            raise ValueError(f"{self.key}: billed before exceeds the month's cost")

    @property
    def key(self) -> str:
        return token_line_key(self.service_id, self.caller, self.month, self.seq)

    @property
    def billed_to_date(self) -> Decimal:
        return floor_fen(self.cost_to_date)

    @property
    def gross(self) -> Decimal:
        return self.billed_to_date - self.billed_before


def charge_for_tokens(line: TokenLine) -> Charge:
    """A token line as a charge for the 模型券-kind programmes."""
    attributes: dict[str, str | bool] = {"model_use": API_CALLS}
    if line.base_model:
        attributes["base_model"] = line.base_model
    return Charge(
        line.key,
        VoucherKind.MODEL,
        line.caller,
        line.gross,
        line.domestic,
        line.on,
        attributes=attributes,
        evidence=TOKEN_EVIDENCE,
        gross_before=line.billed_before,
    )


def token_settlement_entry(
    line: TokenLine, deduction: Deduction, at: dt.datetime, platform_fee_rate: Decimal
) -> Entry | None:
    """The caller pays the net, a model voucher the deduction, the publisher is credited the
    gross less the platform's fee (as for a job's provider). None for a zero line."""
    if deduction.charge.key != line.key or deduction.gross != line.gross:
        raise ValueError(f"deduction for {deduction.charge.key} does not match line {line.key}")
    if line.gross == 0:
        return None
    fee = floor_fen(mul(line.gross, exact(platform_fee_rate)))
    legs = [
        (tenant_cash(line.caller), -deduction.net),
        (tenant_cash(line.owner), line.gross - fee),
        (platform_revenue(), fee),
        *voucher_legs(deduction),
    ]
    postings = tuple(Posting(acc, amt) for acc, amt in legs if amt != 0)
    if len(postings) < 2:
        return None
    tags = {"charge": line.key, "company": line.caller, "service": line.service_id}
    if deduction.programme:
        tags["programme"] = "+".join(deduction.programmes)
    memo = (
        f"{line.key}: {line.requests} requests, {line.prompt_tokens}+{line.completion_tokens}"
        f" tokens, gross {line.gross}, voucher {deduction.amount}, net {deduction.net}"
    )
    return Entry(f"settle:{line.key}", postings, at, memo=memo, tags=tags)
