"""定期兑付: the programme pays, per period, what its model vouchers covered.

A 模型券 deduction is taken from the programme's pool when a charge is settled (a caller's
token line, a contract period, owner-paid replica time): the company pays less and the
seller is paid in full at once, so the platform has advanced the voucher's part. Seed 002
§6.3 says model vouchers are redeemed periodically (模型券采用定期兑付方式) within a cap per
company and the year's total; seed 004 §7: at most 5M yuan per company, a 100M yuan
pool a year. A redemption run for one closed period gathers every model-voucher
deduction of the period that no earlier run covered, per (programme, company, seller),
and checks again, against what the programme has *redeemed* so far, the company's cap
and the pool (a deduction settled concurrently by two processes, or under an older
version of the file, can exceed them; what exceeds is withheld and said so, never paid).

Each redemption is one balanced entry keyed by what it covers
(``redeem-period:<programme>:<period>:<company>:<seller>:<seq>``): the programme's payer pays
the redeemed amount in, settling the programme's funding commitment. Pure: deductions
in, redemptions out; the service stores them before posting (service.redemption).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from suanli.billing.ledger import Entry, Posting, external, programme_funding
from suanli.billing.money import ZERO, exact, is_fen
from suanli.billing.policy import VoucherKind, VoucherPolicy
from suanli.billing.verdicts import fmt_yuan
from suanli.billing.vouchers import Deduction
from suanli.domain.i18n import Lang, render


class Withheld(StrEnum):
    """Why a redemption pays less than the deductions it covers."""

    TENANT_CAP = "tenant_cap"  # the company's cap for the cap period is redeemed
    POOL = "pool"  # the programme's pool for the year is redeemed


@dataclass(frozen=True)
class VoucherUse:
    """One model programme's part of one settled charge: what the voucher covered."""

    charge_key: str
    programme: str
    company: str  # whose cap it counts against
    seller: str  # who was paid for what the voucher covered (publisher, vendor, provider)
    on: dt.date
    cap_period: str
    amount: Decimal

    @property
    def ref(self) -> str:
        """The charge and programme: a charge stacked under two programmes is two uses."""
        return f"{self.charge_key}#{self.programme}"


def uses_of(deduction: Deduction, seller: str, kinds: dict[str, VoucherKind]) -> list[VoucherUse]:
    """The model-programme parts of ``deduction`` (``kinds``: each programme's kind)."""
    c = deduction.charge
    return [
        VoucherUse(c.key, a.programme, c.company, seller, c.on, a.cap_period, a.offer)
        for a in deduction.applied
        if kinds.get(a.programme) is VoucherKind.MODEL and a.offer > 0
    ]


@dataclass(frozen=True)
class PeriodRedemption:
    """What one programme redeems for one company and seller in one period (one run)."""

    programme: str
    period: str  # YYYY-MM
    company: str
    seller: str
    seq: int  # 1 for the period's first run; later runs cover deductions settled late
    year: int  # the pool's year
    cap_period: str
    claimed: Decimal  # what the covered deductions add up to
    redeemed: Decimal  # what the programme pays: claimed within the cap and pool left
    withheld_by: Withheld | None
    charges: tuple[str, ...]  # VoucherUse.ref of every deduction covered
    at: dt.datetime

    def __post_init__(self) -> None:
        for amount in (self.claimed, self.redeemed):
            if not is_fen(exact(amount)) or amount < 0:
                raise ValueError(f"{self.key}: amounts must be non-negative fen amounts")
        if self.redeemed > self.claimed:
            raise ValueError(f"{self.key}: redeems more than it claims")

    @property
    def key(self) -> str:
        return (
            f"redeem-period:{self.programme}:{self.period}:{self.company}:{self.seller}:{self.seq}"
        )

    @property
    def withheld(self) -> Decimal:
        return self.claimed - self.redeemed

    @property
    def entry_key(self) -> str | None:
        return self.key if self.redeemed > 0 else None

    def explain(self, cap: Decimal | None, pool: Decimal | None, lang: Lang) -> str:
        """Why this amount: all of it, or what held it back (zh-CN and en)."""
        if self.withheld_by is None:
            return render(
                "redeem.full", lang, programme=self.programme, amount=fmt_yuan(self.redeemed)
            )
        key = "redeem.cap" if self.withheld_by is Withheld.TENANT_CAP else "redeem.pool"
        return render(
            key,
            lang,
            programme=self.programme,
            amount=fmt_yuan(self.redeemed),
            withheld=fmt_yuan(self.withheld),
            cap=fmt_yuan(cap or ZERO),
            pool=fmt_yuan(pool or ZERO),
            company=self.company,
            scope=self.cap_period,
            year=self.year,
        )


def payer_account(programme: str) -> str:
    """The external account the programme's payer pays redemptions from."""
    return f"programme:{programme}"


def redemption_entry(r: PeriodRedemption) -> Entry | None:
    """The programme pays ``redeemed`` in, settling its funding commitment for the year
    (None when nothing is redeemed: a run that was fully withheld posts nothing)."""
    if r.redeemed == 0:
        return None
    return Entry(
        r.key,
        (
            Posting(external(payer_account(r.programme)), -r.redeemed),
            Posting(programme_funding(r.programme, r.year), r.redeemed),
        ),
        r.at,
        memo=(
            f"{r.programme} redeems {r.period} for {r.company} ({r.seller}): claimed"
            f" {r.claimed}, redeemed {r.redeemed}, withheld {r.withheld}"
        ),
        tags={
            "programme": r.programme,
            "period": r.period,
            "company": r.company,
            "seller": r.seller,
        },
    )


def plan(
    period: str,
    uses: Iterable[VoucherUse],
    stored: Sequence[PeriodRedemption],
    policies: Iterable[VoucherPolicy],
    at: dt.datetime,
) -> list[PeriodRedemption]:
    """The redemptions of ``period`` for every use no stored redemption covers yet.

    Caps and pools count what ``stored`` redeemed (every period, every run), each group
    in a fixed order (programme, company, seller), so the same inputs give the same plan.
    """
    newest: dict[str, VoucherPolicy] = {}
    for x in policies:
        if x.programme not in newest or x.version > newest[x.programme].version:
            newest[x.programme] = x
    covered = {ref for r in stored for ref in r.charges}
    seq: dict[tuple[str, str, str], int] = defaultdict(int)
    by_company: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    by_year: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
    for r in stored:
        by_company[(r.programme, r.company, r.cap_period)] += r.redeemed
        by_year[(r.programme, r.year)] += r.redeemed
        if r.period == period:
            g = (r.programme, r.company, r.seller)
            seq[g] = max(seq[g], r.seq)
    groups: dict[tuple[str, str, str], list[VoucherUse]] = defaultdict(list)
    for u in uses:
        if u.ref not in covered and u.on.isoformat()[:7] == period:
            groups[(u.programme, u.company, u.seller)].append(u)
    out: list[PeriodRedemption] = []
    for (prog, company, seller), found in sorted(groups.items()):
        found.sort(key=lambda u: u.ref)
        claimed = sum((u.amount for u in found), ZERO)
        year, cap_period = found[0].on.year, found[0].cap_period
        pol = newest.get(prog)
        redeemed, why = claimed, None
        if pol is not None and pol.tenant_cap is not None:
            left = max(ZERO, pol.tenant_cap - by_company[(prog, company, cap_period)])
            if left < redeemed:
                redeemed, why = left, Withheld.TENANT_CAP
        if pol is not None and pol.annual_pool is not None:
            left = max(ZERO, pol.annual_pool - by_year[(prog, year)])
            if left < redeemed:
                redeemed, why = left, Withheld.POOL
        by_company[(prog, company, cap_period)] += redeemed
        by_year[(prog, year)] += redeemed
        seq[(prog, company, seller)] += 1
        out.append(
            PeriodRedemption(
                programme=prog,
                period=period,
                company=company,
                seller=seller,
                seq=seq[(prog, company, seller)],
                year=year,
                cap_period=cap_period,
                claimed=claimed,
                redeemed=redeemed,
                withheld_by=why,
                charges=tuple(u.ref for u in found),
                at=at,
            )
        )
    return out
