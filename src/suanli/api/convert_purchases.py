"""Server purchases and provider subsidies to wire models."""

from __future__ import annotations

from decimal import Decimal

from suanli.api.convert_billing import deduction_fields, opt_yuan, yuan
from suanli.billing.money import ZERO
from suanli.domain.i18n import Lang
from suanli.schemas.api_contracts import PurchaseResponse, SubsidyResponse
from suanli.service.purchases import PurchaseView
from suanli.store.base import PurchaseRecord, Subsidy


def purchase_to_response(r: PurchaseRecord, view: PurchaseView | None = None) -> PurchaseResponse:
    p = r.purchase
    subsidy = view.subsidy if view else None
    return PurchaseResponse(
        purchase_id=p.purchase_id,
        provider=p.provider,
        project=p.project,
        accelerator=r.accelerator,
        servers=r.servers,
        amount=yuan(p.domestic_server_amount),
        listed_cluster=r.listed_cluster,
        listed=p.listed_on_platform,
        signed=p.contract_on,
        evidence=p.evidence,
        subsidised=subsidy is not None,
        subsidy=yuan(subsidy.deduction.amount if subsidy else ZERO),
    )


def subsidy_to_response(s: Subsidy, posted: bool, lang: Lang) -> SubsidyResponse:
    r = s.record
    return SubsidyResponse(
        **deduction_fields(s.deduction, lang),
        purchase_id=r.purchase.purchase_id,
        provider=r.purchase.provider,
        project=r.purchase.project,
        accelerator=r.accelerator,
        servers=r.servers,
        listed_cluster=r.listed_cluster,
        project_cap_left=opt_yuan(_project_left(s)),
        settled_at=s.settled_at,
        posted=posted,
    )


def _project_left(s: Subsidy) -> Decimal | None:
    """The project's cap left before this purchase (the applied or the capped programme)."""
    chosen = s.deduction.chosen
    if chosen is not None:
        return chosen.project_left
    return next(
        (c.project_left for c in s.deduction.considered if c.project_left is not None), None
    )
