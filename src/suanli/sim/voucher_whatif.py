"""A policy what-if: a replay's spend put to a set of voucher programmes, month by month.

For a trace replayed through the scheduler and a folder of programme files, it answers
the questions an operator asks before adopting (or a city before funding) a programme:
how much each pool pays out per month, which tenants run into a cap and when, and the
month each pool runs dry. It is fed by the replay's billed money (the live billing's gross
per tenant, month and domestic flag, summed from its settlements) and decided by the live voucher
engine (``billing.vouchers.decide``): the same rates, caps, pools, claims and stacking
as a real bill.

Assumptions, stated in the report:

* the trace's months are moved, in order, to begin with the first month in which every
  programme of the set is in force (a trace of 2017 says nothing of 2017's vouchers);
* a tenant the scenario gives no attributes is taken to meet every company rule of the
  set (the what-if asks what the programmes would cost, not who is registered where);
* a programme with a claim step is claimed once by each tenant on its first month,
  against a contract of what the tenant goes on to spend on it within the longest
  contract the programme admits, and approved at once (within its caps).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from suanli.billing.claims import Claim, ContractRef, add_months, approve
from suanli.billing.money import ZERO
from suanli.billing.policy import Attribute, Evidence, VoucherKind, VoucherPolicy
from suanli.billing.vouchers import PLATFORM_EVIDENCE, Charge, Limit, Outcome, VoucherUsage, decide

Month = tuple[int, int]


@dataclass(frozen=True)
class SpendLine:
    """A tenant's compute spend in one month on domestic or other accelerators."""

    tenant: str
    month: Month
    domestic: bool
    gross: Decimal


@dataclass
class WhatIfReport:
    programmes: list[str]
    months: list[str]
    gross: Decimal = ZERO
    deduction: Decimal = ZERO
    pool_spend: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    pool_size: dict[str, Decimal | None] = field(default_factory=dict)
    dry_month: dict[str, str | None] = field(default_factory=dict)
    caps_hit: list[dict[str, str]] = field(default_factory=list)  # tenant, programme, month
    stacked_lines: int = 0
    placed_from: str = ""  # the month the trace's first month was moved to
    assumed_eligible: list[str] = field(default_factory=list)
    assumed_claims: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "programmes": self.programmes,
            "months": self.months,
            "gross": f"{self.gross:.2f}",
            "deduction": f"{self.deduction:.2f}",
            "pool_spend": {
                p: {m: f"{v:.2f}" for m, v in by_month.items()}
                for p, by_month in self.pool_spend.items()
            },
            "pool_size": {p: None if v is None else f"{v:.2f}" for p, v in self.pool_size.items()},
            "dry_month": self.dry_month,
            "caps_hit": self.caps_hit,
            "stacked_lines": self.stacked_lines,
            "placed_from": self.placed_from,
            "assumed_eligible": self.assumed_eligible,
            "assumed_claims": self.assumed_claims,
        }


def what_if(
    lines: Sequence[SpendLine],
    policies: Sequence[VoucherPolicy],
    attributes: Mapping[str, Mapping[str, Attribute]],
) -> WhatIfReport:
    """Put ``lines`` to ``policies`` month by month (see the module's assumptions)."""
    lines = placed(lines, policies)
    ideal = {r.attribute: r.allowed[0] for p in policies for r in p.company_rules()}
    report = WhatIfReport(
        programmes=sorted({p.programme for p in policies}),
        months=sorted({_label(x.month) for x in lines}),
        placed_from=min((_label(x.month) for x in lines), default=""),
        pool_size={p.programme: p.annual_pool for p in policies},
    )
    companies: dict[str, Mapping[str, Attribute]] = {}
    for tenant in sorted({x.tenant for x in lines}):
        given = attributes.get(tenant)
        if not given:
            report.assumed_eligible.append(tenant)
        companies[tenant] = given or ideal
    claims = _claims(lines, policies, companies, report)
    usage = VoucherUsage()
    hit: set[tuple[str, str]] = set()
    for x in sorted(lines, key=lambda x: (x.month, x.tenant, x.domestic)):
        on = dt.date(x.month[0], x.month[1], 1)
        charge = Charge(
            f"whatif:{x.tenant}:{_label(x.month)}:{int(x.domestic)}",
            VoucherKind.COMPUTE,
            x.tenant,
            x.gross,
            x.domestic,
            on,
            evidence=PLATFORM_EVIDENCE,
        )
        d = decide(charge, companies[x.tenant], policies, usage, claims=claims.get(x.tenant, ()))
        report.gross += x.gross
        report.deduction += d.amount
        report.stacked_lines += len(d.applied) > 1
        for a in d.applied:
            by_month = report.pool_spend.setdefault(a.programme, {})
            by_month[_label(x.month)] = by_month.get(_label(x.month), ZERO) + a.offer
            if a.limit is Limit.POOL or (a.pool_left is not None and a.pool_left - a.offer <= 0):
                report.dry_month.setdefault(a.programme, _label(x.month))
        for c in d.considered:
            if c.outcome is Outcome.POOL_DRY:
                report.dry_month.setdefault(c.programme, _label(x.month))
            capped = c.outcome is Outcome.CAP_REACHED or (
                c.outcome is Outcome.APPLIED and c.limit is Limit.TENANT_CAP
            )
            if capped and (x.tenant, c.programme) not in hit:
                hit.add((x.tenant, c.programme))
                report.caps_hit.append(
                    {"tenant": x.tenant, "programme": c.programme, "month": _label(x.month)}
                )
        usage = usage.plus(d)
    for p in report.programmes:
        report.dry_month.setdefault(p, None)
    return report


def placed(lines: Sequence[SpendLine], policies: Sequence[VoucherPolicy]) -> list[SpendLine]:
    """``lines`` moved by whole months so the first falls in the first month every
    programme of ``policies`` is in force (unchanged when it already does or later)."""
    if not lines or not policies:
        return list(lines)
    start = max(p.valid_from for p in policies)
    if start.day > 1:  # charges are dated the 1st: the first whole month in force
        start = add_months(start.replace(day=1), 1)
    first = min(x.month for x in lines)
    shift = (start.year * 12 + start.month) - (first[0] * 12 + first[1])
    if shift <= 0:
        return list(lines)
    out = []
    for x in lines:
        index = x.month[0] * 12 + x.month[1] - 1 + shift
        out.append(SpendLine(x.tenant, (index // 12, index % 12 + 1), x.domestic, x.gross))
    return out


def _claims(
    lines: Sequence[SpendLine],
    policies: Sequence[VoucherPolicy],
    companies: Mapping[str, Mapping[str, Attribute]],
    report: WhatIfReport,
) -> dict[str, list[Claim]]:
    out: dict[str, list[Claim]] = defaultdict(list)
    for p in policies:
        if p.claim is None or p.kind is not VoucherKind.COMPUTE:
            continue  # the replay meters compute only
        for tenant in sorted(companies):
            mine = sorted((x for x in lines if x.tenant == tenant), key=lambda x: x.month)
            if not mine:
                continue
            start = max(dt.date(mine[0].month[0], mine[0].month[1], 1), p.valid_from)
            months = p.claim.max_contract_months or 12
            end = min(add_months(start, months) - dt.timedelta(days=1), p.valid_to)
            if end < start:
                continue
            spent = sum(
                (x.gross for x in mine if start <= dt.date(x.month[0], x.month[1], 1) <= end),
                ZERO,
            )
            if spent <= 0:
                continue
            claim = Claim(
                f"whatif-{p.programme}-{tenant}",
                p.programme,
                tenant,
                ContractRef(f"whatif-{tenant}", spent, start, start, end),
                start,
                frozenset(Evidence),
            )
            got = approve(p, claim, start)
            if isinstance(got, Claim):
                out[tenant].append(got)
                report.assumed_claims.append(f"{tenant}: {p.programme} {got.approved_amount:.2f}")
    return out


def _label(month: Month) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"
