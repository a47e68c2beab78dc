"""Near misses: "did you mean `model`?" for a mistyped name, from the names allowed there."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# difflib's ratio from which a name counts as a near miss, chosen on a handful of typos
# (not held-out data): `modle`/`model` 0.8, `H200X`/`H200` 0.89, `H200X`/`H20` 0.75,
# `region`/`regions` 0.92 are near; `X9000`/`S4000` 0.6 and `gpu`/`model` 0.25 are not.
CUTOFF = 0.7


def near(value: object, allowed: Iterable[str], most: int = 3) -> list[str]:
    """The allowed names closest to ``value`` (case-insensitive), best first."""
    if not isinstance(value, str) or not value:
        return []
    names = list(allowed)
    by_folded = {name.casefold(): name for name in names}
    found = difflib.get_close_matches(value.casefold(), list(by_folded), n=most, cutoff=CUTOFF)
    return [by_folded[f] for f in found]
