"""Owner-paid replica time of a domestic base model (私有化部署): the model voucher or the
compute voucher, whichever deducts more, never both (从优不重复), with the reasons."""

from __future__ import annotations

from decimal import Decimal

import pytest

from suanli.billing.deployment import Deployment, decide_deployment, deployment_charge
from suanli.billing.policy import VoucherKind
from suanli.billing.verdicts import Outcome
from suanli.billing.vouchers import Deduction, VoucherUsage, charge_for_line, decide
from tests.unit.billing.make import COMPUTE, ELIGIBLE, MODEL, POLICIES, make_line

DOMESTIC = Deployment("svc-1", "glm-4-9b", "Zhipu AI", domestic=True)
FOREIGN = Deployment("svc-2", "llama-3-8b", "Meta", domestic=False)


def outcome(d: Deduction, programme: str) -> Outcome:
    return next(v.outcome for v in d.considered if v.programme == programme)


def test_a_domestic_base_model_takes_the_model_vouchers_half_not_the_compute_40() -> None:
    charge = charge_for_line(make_line("100.00", domestic=True))
    d = decide_deployment(charge, DOMESTIC, ELIGIBLE, POLICIES.values(), VoucherUsage())
    assert (d.programmes, d.amount, d.net) == ((MODEL,), Decimal("50.00"), Decimal("50.00"))
    assert d.charge.kind is VoucherKind.MODEL
    assert d.charge.attributes["model_use"] == "private_deployment"
    assert d.charge.attributes["publisher"] == "Zhipu AI"
    assert outcome(d, COMPUTE) is Outcome.NOT_BEST
    en, zh = "\n".join(d.explain("en")), "\n".join(d.explain("zh"))
    assert "40.00" in en
    assert "best one, never two" in en
    assert "从优不重复" in zh
    assert d.charge.key == charge.key
    assert d.gross == charge.gross


def test_a_foreign_base_model_keeps_the_compute_voucher() -> None:
    charge = charge_for_line(make_line("100.00", domestic=True))
    d = decide_deployment(charge, FOREIGN, ELIGIBLE, POLICIES.values(), VoucherUsage())
    assert (d.programmes, d.amount) == ((COMPUTE,), Decimal("40.00"))
    assert d.charge.kind is VoucherKind.COMPUTE
    assert outcome(d, MODEL) is Outcome.RATE_ZERO  # said why, not "wrong kind"


def test_a_model_cap_nearly_used_leaves_the_better_compute_voucher() -> None:
    charge = charge_for_line(make_line("100.00", domestic=False))  # compute: 30 %
    used = VoucherUsage(company_used={(MODEL, "acme", "all"): Decimal("4999990.00")})
    d = decide_deployment(charge, DOMESTIC, ELIGIBLE, POLICIES.values(), used)
    assert (d.programmes, d.amount) == ((COMPUTE,), Decimal("30.00"))
    assert outcome(d, MODEL) is Outcome.NOT_BEST  # it would give 10.00 (cap left)


@pytest.mark.parametrize("gross", ["0.01", "0.03", "1.00", "99999.99"])
def test_never_both_and_never_worse_than_either_alone(gross: str) -> None:
    for accel in (True, False):
        charge = charge_for_line(make_line(gross, domestic=accel))
        d = decide_deployment(charge, DOMESTIC, ELIGIBLE, POLICIES.values(), VoucherUsage())
        assert len(d.applied) <= 1
        alone = [
            decide(c, ELIGIBLE, POLICIES.values(), VoucherUsage()).amount
            for c in (charge, deployment_charge(charge, DOMESTIC))
        ]
        assert d.amount == max(alone)


def test_an_ineligible_owner_gets_neither_and_is_told_why() -> None:
    charge = charge_for_line(make_line("100.00"))
    d = decide_deployment(charge, DOMESTIC, {}, POLICIES.values(), VoucherUsage())
    assert d.amount == 0
    assert outcome(d, MODEL) is Outcome.INELIGIBLE
    assert outcome(d, COMPUTE) is Outcome.INELIGIBLE
