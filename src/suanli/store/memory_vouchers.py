"""The voucher usage the memory stores keep as a running total (was summed again each time).

Each deduction a store accepts (a settlement, a redemption, a subsidy, a token settlement)
adds the offers of the programmes it applied to the totals, once, under the store's lock;
a read hands out a ``VoucherUsage`` of copies, made again only after a write that applied
a programme (the previous one stays as it was: readers may keep it). Decimal addition of
these amounts is exact, so the totals equal a sum over every stored deduction in any
order (``tests/unit/test_memory_vouchers.py`` checks it against the SQL store's sum).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from suanli.billing.money import ZERO
from suanli.billing.vouchers import Deduction, VoucherUsage


class VoucherTotals:
    """Offers applied so far per pool, company cap, project cap and claim."""

    def __init__(self) -> None:
        self._pool: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
        self._company: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
        self._project: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
        self._claims: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self._read: VoucherUsage | None = None

    def add(self, d: Deduction, owner: str, project: str | None) -> None:
        """Count ``d``'s applied programmes (each at its own amount, when they stack)."""
        applied = d.applied
        if not applied:
            return  # most charges: nothing applied, the usage stays the same
        for a in applied:
            self._pool[(a.programme, d.charge.on.year)] += a.offer
            self._company[(a.programme, owner, a.cap_period)] += a.offer
            if project is not None:
                self._project[(a.programme, project)] += a.offer
            if a.claim is not None:
                self._claims[a.claim] += a.offer
        self._read = None

    def usage(self) -> VoucherUsage:
        if self._read is None:
            self._read = VoucherUsage(
                dict(self._pool), dict(self._company), dict(self._project), dict(self._claims)
            )
        return self._read
