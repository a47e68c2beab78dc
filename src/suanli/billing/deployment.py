"""Owner-paid replica time of a model service: a 模型券 or a 算力券, the better one, once.

A replica of a ``payer: owner`` service is a job: its time is a compute bill line, which
算力券-kind programmes reduce. When the service serves a domestic base model, the same
line is also private-deployment spend on that model (私有化部署费用, seed 004 §7), which
模型券-kind programmes reduce. The policy's 附则 (四) says the most favourable one, never
two (从优不重复): the line is decided once as each kind of charge, and the decision that
deducts more for the owner is the line's; the other's programmes are told why not
(``not_best``: it would deduct less than the chosen one). A tie keeps the compute
voucher (the line's own kind). Pure: lines and decisions in, one decision out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from suanli.billing.claims import Claim
from suanli.billing.policy import Attribute, VoucherKind, VoucherPolicy
from suanli.billing.verdicts import Consideration, Outcome, fmt_yuan
from suanli.billing.vouchers import PLATFORM_EVIDENCE, Charge, Deduction, VoucherUsage, decide

PRIVATE_DEPLOYMENT = "private_deployment"  # ModelUse.PRIVATE_DEPLOYMENT


@dataclass(frozen=True)
class Deployment:
    """What a replica served, as its service's spec said (``model`` block)."""

    service_id: str
    base_model: str | None
    publisher: str | None
    domestic: bool  # 技术自主可控 base model: decides the model voucher's rate


def deployment_charge(compute: Charge, d: Deployment) -> Charge:
    """The compute line's charge as private-deployment spend on ``d``'s base model: the
    same key and gross (so its entry is the line's), the model's facts as attributes."""
    attributes: dict[str, str | bool] = {"model_use": PRIVATE_DEPLOYMENT, "service": d.service_id}
    if d.base_model:
        attributes["base_model"] = d.base_model
    if d.publisher:
        attributes["publisher"] = d.publisher
    return Charge(
        compute.key,
        VoucherKind.MODEL,
        compute.company,
        compute.gross,
        d.domestic,
        compute.on,
        compute.project,
        attributes=attributes,
        evidence=PLATFORM_EVIDENCE,  # the metered replica time and its settled line
    )


def better_of(compute: Deduction, model: Deduction) -> Deduction:
    """The decision that deducts more (a tie: ``compute``), with every programme's verdict
    from the decision that weighed it; the loser's applied programmes become ``not_best``."""
    if compute.charge.key != model.charge.key or compute.gross != model.gross:
        raise ValueError(f"{model.charge.key} is not {compute.charge.key} as a model charge")
    won, lost = (model, compute) if model.amount > compute.amount else (compute, model)
    beaten = {
        "chosen": " + ".join(won.programmes) or "—",
        "best": fmt_yuan(won.amount),
    }
    weighed = {_key(v): v for v in lost.considered if v.outcome is not Outcome.WRONG_KIND}
    merged: list[Consideration] = []
    for v in won.considered:
        other = weighed.pop(_key(v), None) if v.outcome is Outcome.WRONG_KIND else None
        merged.append(v if other is None else _beaten(other, beaten))
    merged += [_beaten(v, beaten) for v in weighed.values()]
    return Deduction(won.charge, tuple(merged))


def _key(v: Consideration) -> tuple[str, int]:
    return (v.programme, v.version)


def _beaten(v: Consideration, beaten: dict[str, str]) -> Consideration:
    if v.outcome is not Outcome.APPLIED:
        return v
    return replace(v, outcome=Outcome.NOT_BEST, order=None, params={**v.params, **beaten})


def decide_deployment(
    compute: Charge,
    d: Deployment,
    company_attributes: Mapping[str, Attribute],
    policies: Iterable[VoucherPolicy],
    usage: VoucherUsage,
    claimed: Collection[str] = (),
    claims: Sequence[Claim] = (),
) -> Deduction:
    """Decide ``compute`` as itself and as private deployment of ``d`` (the voucher
    engine's arguments as for ``vouchers.decide``); keep the better."""
    found = tuple(policies)
    args = (company_attributes, found, usage, claimed, claims)
    return better_of(decide(compute, *args), decide(deployment_charge(compute, d), *args))
