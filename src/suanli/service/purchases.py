"""Provider subsidy: providers' purchases of domestic AI-chip servers and their subsidies.

Seed 004 §2: a provider that buys domestic AI-chip servers and lists them on the
platform earns up to 10 % of the purchase amount, at most 10,000,000 yuan per project.
A purchase is recorded only for a domestic accelerator of the catalog; "listed" means
the named cluster is in the fleet and belongs to the provider. Subsidising follows the
compute settlement's crash-safe pattern: decide, store the decision with its ledger
key, then post from what was stored; a repeated call returns the stored decision.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from suanli.billing.metering import local_date
from suanli.billing.server_purchases import ServerPurchase, subsidise_purchase
from suanli.billing.settlement import provider_subsidy_entry
from suanli.domain.errors import FieldError, InvalidInput, NotFound, SuanliError
from suanli.domain.money import is_positive_fen
from suanli.service.billing import post_subsidies
from suanli.service.bills import billing_of
from suanli.service.deps import Billing, Platform
from suanli.store.base import PurchaseRecord, PurchaseStore, Subsidy


def purchases_of(b: Billing) -> PurchaseStore:
    if b.purchases is None:
        raise SuanliError("billing_unavailable")
    return b.purchases


def add_purchase(
    p: Platform,
    provider: str,
    project: str,
    accelerator: str,
    servers: int,
    amount: Decimal,
    evidence: str,
    listed_cluster: str | None = None,
    signed_on: dt.date | None = None,
) -> PurchaseRecord:
    """Record a purchase of domestic AI-chip servers; anything else is refused, field by field."""
    store = purchases_of(billing_of(p))
    errors: list[FieldError] = []
    found = p.fleet.provider(provider)
    if found is None:
        known = ", ".join(x.name for x in p.fleet.providers)
        errors.append(FieldError("provider", "unknown_provider", provider, known))
    model = p.fleet.catalog.get(accelerator)
    domestic = sorted(m.model for m in p.fleet.catalog if m.domestic)
    if model is None:
        errors.append(
            FieldError("accelerator", "unknown_accelerator", accelerator, ", ".join(domestic))
        )
    elif not model.domestic:
        errors.append(
            FieldError("accelerator", "accelerator_not_domestic", model.model, ", ".join(domestic))
        )
    if servers < 1:
        errors.append(FieldError("servers", "out_of_range", servers, ">= 1"))
    if not is_positive_fen(amount):
        errors.append(FieldError("amount", "amount_positive", str(amount)))
    if not project.strip():
        errors.append(FieldError("project", "missing", project))
    else:
        owner = next((r.purchase.provider for r in store.purchases(project=project.strip())), None)
        if owner is not None and owner != provider:
            errors.append(FieldError("project", "project_of_other_provider", project, owner))
    if not evidence.strip():
        errors.append(FieldError("evidence", "missing", evidence))
    if listed_cluster is not None:
        errors.extend(_listed(p, provider, listed_cluster, model.model if model else None))
    today = local_date(p.clock.now())
    signed = signed_on or today
    if signed > today:
        errors.append(FieldError("signed", "out_of_range", str(signed), f"<= {today}"))
    if errors:
        raise InvalidInput("invalid_request", errors=errors)
    assert model is not None  # noqa: S101 - an unknown model is an error above
    purchase = ServerPurchase(
        purchase_id=f"sp-{secrets.token_hex(5)}",
        provider=provider,
        project=project.strip(),
        domestic_server_amount=amount,
        listed_on_platform=listed_cluster is not None,
        contract_on=signed,
        evidence=evidence.strip(),
    )
    record = PurchaseRecord(purchase, model.model, servers, listed_cluster, p.clock.now())
    store.add_purchase(record)
    return record


def _listed(p: Platform, provider: str, cluster: str, model: str | None) -> list[FieldError]:
    """The servers are listed when the cluster is in the fleet, the provider's, with them."""
    found = p.fleet.cluster(cluster)
    if found is None:
        known = ", ".join(c.name for c in p.fleet.clusters())
        return [FieldError("listed_cluster", "unknown_cluster", cluster, known)]
    if found.provider != provider:
        own = p.fleet.provider(provider)
        mine = ", ".join(c.name for c in own.clusters) if own else ""
        return [
            FieldError(
                "listed_cluster",
                "cluster_of_other_provider",
                cluster,
                mine or "—",
                params={"owner": found.provider},
            )
        ]
    pools = {q.accelerator for q in found.pools}
    if model is not None and model not in pools:
        have = ", ".join(sorted(m for m in pools if m)) or "—"
        return [
            FieldError(
                "listed_cluster",
                "cluster_without_accelerator",
                cluster,
                have,
                params={"model": model},
            )
        ]
    return []


@dataclass(frozen=True)
class PurchaseView:
    record: PurchaseRecord
    subsidy: Subsidy | None


def list_purchases(p: Platform, provider: str | None = None) -> list[PurchaseView]:
    store = purchases_of(billing_of(p))
    decided = {s.record.purchase.purchase_id: s for s in store.subsidies(provider)}
    return [
        PurchaseView(r, decided.get(r.purchase.purchase_id)) for r in store.purchases(provider)
    ]


def subsidise(p: Platform, purchase_id: str) -> Subsidy:
    """The provider subsidy for ``purchase_id``: ≤ 10 % of the amount, ≤ the project cap left.

    Idempotent: the stored decision is returned (and posted if a crash stopped it before).
    """
    b = billing_of(p)
    store = purchases_of(b)
    record = store.purchase(purchase_id)
    if record is None:
        raise NotFound("purchase_not_found", purchase=purchase_id)
    stored = store.subsidy(purchase_id)
    if stored is not None:
        post_subsidies(p)
        return stored
    provider = p.fleet.provider(record.purchase.provider)
    attributes = dict(provider.attributes) if provider is not None else {}
    deduction = subsidise_purchase(
        record.purchase, attributes, b.policies, b.store.voucher_usage()
    )
    now = p.clock.now()
    entry = provider_subsidy_entry(deduction, now)
    subsidy = Subsidy(record, deduction, now, entry.key if entry else None)
    if not store.add_subsidy(subsidy):  # subsidised concurrently: the stored one wins
        found = store.subsidy(purchase_id)
        assert found is not None  # noqa: S101 - the insert lost to it
        subsidy = found
    post_subsidies(p)
    return subsidy


def subsidy_posted(p: Platform, s: Subsidy) -> bool:
    return s.entry_key is None or billing_of(p).ledger.has(s.entry_key)
