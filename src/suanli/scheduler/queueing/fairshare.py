"""The borrowing pass's order (step 3 of ``admission.decide``): weighted fair share.

Work over its tenant's quota takes the cohort's idle quota round by round, the tenant with
the lowest weighted share of normalised compute in use first (dominant resource:
accelerators x dense TFLOPS, over the tenant's weight).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from suanli.scheduler.queueing.model import Work


class Shares(Protocol):
    """What the order reads of the walk's ledger (``admission._Ledger``)."""

    @property
    def share(self) -> Mapping[str, float]: ...  # weighted normalised compute in use

    @property
    def changes(self) -> int: ...  # how many times usage and shares moved


def fair_order(works: Sequence[Work], ledger: Shares) -> Iterable[Work]:
    """Round by round, the tenant with the lowest weighted normalised share goes next."""
    if len({w.tenant for w in works}) <= 1:
        yield from works
        return
    by_tenant: dict[str, list[Work]] = defaultdict(list)
    for w in works:
        by_tenant[w.tenant].append(w)
    heads = dict.fromkeys(by_tenant, 0)
    # The tenant chosen stays the lowest until a share moves (an admission: ``changes``)
    # or its work runs out: chosen again without comparing every tenant per work.
    tenant, at = "", -1
    share = ledger.share
    while heads:
        if at != ledger.changes or tenant not in heads:
            tenant = min(heads, key=lambda t: (share.get(t, 0.0), t))
            at = ledger.changes
        i = heads[tenant]
        yield by_tenant[tenant][i]
        if i + 1 < len(by_tenant[tenant]):
            heads[tenant] = i + 1
        else:
            del heads[tenant]
