"""Tenants: the organisations jobs belong to, with the attributes voucher policies check."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

DEMO_TENANT = "demo"
TENANT_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"

Attribute = str | bool

ANY = "*"
"""A quota key that covers every accelerator model."""


@dataclass(frozen=True)
class Tenant:
    """A company (or team) using the platform; ``attributes`` are facts a programme checks,
    such as ``registered_zone`` or ``not_on_dishonesty_list`` (附则-style eligibility)."""

    name: str
    display_name: str = ""
    attributes: Mapping[str, Attribute] = field(default_factory=dict)
    terms: TenantTerms | None = None  # its share of the fleet (fair queues); None: unlimited


@dataclass(frozen=True)
class TenantTerms:
    """A tenant's share of the fleet: weight, nominal quota per model, cohort, borrowing.

    ``quota`` maps an accelerator model (or ``*`` for any) to accelerators the tenant is
    guaranteed; a tenant with no quota at all is unlimited (the fleet is its only bound).
    Inside a cohort, a tenant that may ``borrow`` uses quota its peers leave idle, and gives
    it back (its borrowed work is preempted) when a peer asks for its own quota.
    """

    name: str
    weight: float = 1.0
    quota: Mapping[str, int] = field(default_factory=dict)
    cohort: str | None = None
    borrow: bool = False
    pools: frozenset[str] | None = None  # pools its work may use; None = any

    def quota_key(self, model: str) -> str:
        """The quota entry that counts ``model``: its own, else ``*``."""
        return model if model in self.quota else ANY

    def nominal(self, model: str) -> int | None:
        if not self.quota:
            return None
        return self.quota.get(self.quota_key(model), 0)


def may_use(pools: frozenset[str] | None, cluster: str, pool: str) -> bool:
    """Whether work limited to ``pools`` (None: any) may run on ``pool`` of ``cluster``: an
    entry names a pool (any cluster's pool of that name), a whole cluster, or ``cluster/pool``."""
    return pools is None or pool in pools or cluster in pools or f"{cluster}/{pool}" in pools


def most_ever(terms: TenantTerms, peers: Iterable[TenantTerms], model: str) -> int | None:
    """The most accelerators of ``model`` the tenant can ever hold at once; None: no bound.

    Its nominal quota, or, when it may borrow, its cohort's whole nominal quota (every
    peer idle): the queue's own accounting (``scheduler.queueing.admission``), so a job
    wider than this would wait forever and is refused at submission instead.
    """
    if not terms.quota:
        return None
    key = terms.quota_key(model)
    own = terms.quota.get(key, 0)
    if not terms.borrow or terms.cohort is None:
        return own
    pooled = sum(t.quota.get(key, 0) for t in peers if t.cohort == terms.cohort)
    return max(own, pooled)
