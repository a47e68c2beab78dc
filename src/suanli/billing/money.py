"""Billing's name for the one money module, ``suanli.domain.money`` (rounding, fen checks)."""

from __future__ import annotations

from suanli.domain.money import (
    FEN,
    ROUNDING,
    ZERO,
    FloatMoneyError,
    div,
    exact,
    floor_fen,
    is_fen,
    is_positive_fen,
    mul,
    round_fen,
    total,
    yuan,
)

__all__ = [
    "FEN",
    "ROUNDING",
    "ZERO",
    "FloatMoneyError",
    "div",
    "exact",
    "floor_fen",
    "is_fen",
    "is_positive_fen",
    "mul",
    "round_fen",
    "total",
    "yuan",
]
