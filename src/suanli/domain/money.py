"""Yuan amounts: ``Decimal`` quantized to the fen, one rounding rule, floats refused.

The one money module: billing, the scheduler's estimates and the services all round and
check fen amounts here (``suanli.billing.money`` re-exports it for billing's own modules).

Why ROUND_HALF_UP: it is 四舍五入, the rule Chinese invoices (发票), tax software and a
tenant's own calculator use, so a bill line can be re-checked by hand and match to the
fen. Banker's rounding (HALF_EVEN) would remove a statistical bias over millions of
lines, but every line is rounded once and the ledger stores the rounded value, so sums
are exact anyway and the surprise would cost more than the bias.

A *ceiling* is different from an amount: a policy that says "at most 30 %" must never
be exceeded by half a fen, so :func:`floor_fen` gives the largest fen amount not above
it. That is not a second rounding policy for amounts; it is what "at most" means.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
ROUNDING = ROUND_HALF_UP
# 28 digits (the default) already covers 10^15 yuan x rates; a local context makes the
# precision explicit and immune to a caller changing the thread's decimal context.
_CTX = Context(prec=40, rounding=ROUNDING)


class FloatMoneyError(TypeError):
    """A float (or bool) reached money code; binary floats cannot hold 0.10 exactly."""


def exact(value: Decimal | int | str) -> Decimal:
    """Return ``value`` as a finite Decimal without rounding; refuse float, bool, NaN, inf."""
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int | str):
        raise FloatMoneyError(f"money must be Decimal, int or str, got {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"money must be finite, got {value}")
    return number


def yuan(value: Decimal | int | str) -> Decimal:
    """Return ``value`` in yuan rounded to the fen (half up)."""
    return round_fen(exact(value))


def _checked(value: Decimal) -> Decimal:
    # A finite Decimal is the common case (placement rounds one per pool per job): no
    # conversion for it; anything else goes through ``exact``.
    return value if type(value) is Decimal and value.is_finite() else exact(value)


def round_fen(value: Decimal) -> Decimal:
    """Round an exact amount to the fen, half up (the one rounding rule for amounts)."""
    return _checked(value).quantize(FEN, rounding=ROUNDING, context=_CTX)


def floor_fen(value: Decimal) -> Decimal:
    """The largest fen amount not above a non-negative ceiling (for "at most" rules)."""
    return _checked(value).quantize(FEN, rounding=ROUND_DOWN, context=_CTX)


def is_fen(value: Decimal) -> bool:
    """True when ``value`` is a finite Decimal with no digits below the fen."""
    return value.is_finite() and value == value.quantize(FEN, context=_CTX)


def is_positive_fen(value: Decimal) -> bool:
    """True for an amount a person may enter: more than 0.00, nothing below the fen."""
    return is_fen(value) and value > 0


def mul(a: Decimal, b: Decimal) -> Decimal:
    """Exact product under the module's context (no silent precision loss)."""
    return _CTX.multiply(exact(a), exact(b))


def div(a: Decimal, b: Decimal) -> Decimal:
    """Quotient under the module's context; 40 digits, so only the final fen rounding matters."""
    return _CTX.divide(exact(a), exact(b))


def total(amounts: Iterable[Decimal]) -> Decimal:
    """Sum amounts exactly, starting from 0.00 (so an empty sum still shows the fen)."""
    out = ZERO
    for amount in amounts:
        out = _CTX.add(out, exact(amount))
    return out
