"""Each clause of the other cities' programmes, as its file states it, one test apiece.

Every test's docstring quotes the issuer's text it checks (from the sources each policy
file cites); the files are the only place the programmes exist.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from suanli.billing.claims import Claim, ClaimProblem, ClaimStatus, approve
from suanli.billing.corpus import CorpusPurchase, redeem_corpus_purchase
from suanli.billing.model_contracts import ModelContract, ModelUse, redeem_model_contract
from suanli.billing.policy import Evidence, VoucherKind, VoucherPolicy
from suanli.billing.vouchers import Consideration, Deduction, Limit, Outcome, VoucherUsage, decide
from tests.unit.billing.library import (
    BJ,
    BJ_CO,
    LIBRARY,
    SH,
    SH_CO,
    SH_CORPUS,
    SH_DISTRICT,
    SH_MODEL,
    SZ_CO,
    SZ_CORPUS,
    SZ_MODEL,
    SZ_TRAIN,
    approved,
    charge,
    claim_of,
    contract,
)
from tests.unit.billing.make import ELIGIBLE, POLICIES

D = Decimal
NONE = VoucherUsage()
ON = dt.date(2025, 9, 15)
YEAR_CONTRACT = contract("1000000.00", dt.date(2025, 9, 1), dt.date(2026, 8, 31))


def verdict(d: Deduction, programme: str) -> Consideration:
    return next(c for c in d.considered if c.programme == programme)


def only(*programmes: str) -> list[VoucherPolicy]:
    return [LIBRARY[p] for p in programmes]


# -- Beijing municipal 算力券 (2023-2025) ----------------------------------------------


class TestBeijingMunicipalCompute:
    def test_a_claim_reserves_at_most_20_percent_of_the_contract(self) -> None:
        """单次申领算力券金额最高不超过智能算力合同额的20%"""
        c = approved(BJ, YEAR_CONTRACT, ON)
        assert c.approved_amount == D("200000.00")

    def test_a_company_gets_at_most_2m_per_calendar_year(self) -> None:
        """同一企业每个自然年度累计申领和兑付算力券金额不超过200万元"""
        big = contract("50000000.00", dt.date(2025, 1, 1), dt.date(2025, 12, 31))
        c = approved(BJ, big, dt.date(2025, 1, 2))
        assert c.approved_amount == D("2000000.00")  # 20 % would be 10M: the cap holds it
        used = VoucherUsage(company_used={(BJ, "acme", "2025"): D("1999000.00")})
        d = decide(charge("100000.00", ON), BJ_CO, only(BJ), used, claims=[c])
        assert d.amount == D("1000.00")
        assert verdict(d, BJ).limit is Limit.TENANT_CAP
        spanning = contract("1000000.00", dt.date(2024, 9, 1), dt.date(2025, 8, 31))
        next_year = decide(
            charge("100000.00", dt.date(2025, 1, 5)),
            BJ_CO,
            only(BJ),
            VoucherUsage(company_used={(BJ, "acme", "2024"): D("2000000.00")}),
            claims=[approved(BJ, spanning, dt.date(2024, 9, 2))],
        )
        assert next_year.amount == D("20000.00")  # a new calendar year: the cap is fresh

    def test_one_claim_per_contract(self) -> None:
        """同一合同仅能申领一次算力券"""
        first = approved(BJ, YEAR_CONTRACT, ON)
        again = approve(
            LIBRARY[BJ], claim_of(BJ, YEAR_CONTRACT, ON, claim_id="cl-2"), ON, others=[first]
        )
        assert isinstance(again, list)
        assert [p.problem for p in again] == [ClaimProblem.CONTRACT_CLAIMED]

    @pytest.mark.parametrize(
        ("ends", "ok"),
        [(dt.date(2026, 8, 31), True), (dt.date(2026, 9, 1), False)],
        ids=["12-months-ok", "12-months-and-a-day-refused"],
    )
    def test_contracts_of_at_most_one_year(self, ends: dt.date, ok: bool) -> None:
        """合同周期为一年及以内"""
        c = contract("1000000.00", dt.date(2025, 9, 1), ends)
        out = approve(LIBRARY[BJ], claim_of(BJ, c, ON), ON)
        if ok:
            assert isinstance(out, Claim)
        else:
            assert isinstance(out, list)
            assert out[0].problem is ClaimProblem.CONTRACT_TOO_LONG
            assert out[0].params["most"] == 12

    def test_only_contracts_signed_from_2023_09_01(self) -> None:
        """2023年9月1日及以后签订的智能算力服务合同"""
        early = contract(
            "100000.00", dt.date(2023, 9, 1), dt.date(2024, 6, 30), signed=dt.date(2023, 8, 31)
        )
        out = approve(LIBRARY[BJ], claim_of(BJ, early, dt.date(2023, 9, 2)), dt.date(2023, 9, 2))
        assert isinstance(out, list)
        assert out[0].problem is ClaimProblem.SIGNED_TOO_EARLY

    def test_a_claim_needs_the_signed_contract(self) -> None:
        """企业凭已签订的算力服务合同向市经济和信息化局申领算力券"""
        bare = claim_of(BJ, YEAR_CONTRACT, ON, evidence=frozenset())
        out = approve(LIBRARY[BJ], bare, ON)
        assert isinstance(out, list)
        assert out[0].problem is ClaimProblem.EVIDENCE_MISSING
        assert out[0].params["missing"] == "contract"

    def test_redemption_needs_the_invoice_and_the_delivery_proof(self) -> None:
        """完成与智能算力供给方的结算后，凭发票和智能算力交付凭证向市经济和信息化局申请兑付算力券"""
        c = approved(BJ, YEAR_CONTRACT, ON)
        bare = decide(
            charge("1000.00", ON, evidence=frozenset({Evidence.INVOICE})),
            BJ_CO,
            only(BJ),
            NONE,
            claims=[c],
        )
        assert verdict(bare, BJ).outcome is Outcome.EVIDENCE_MISSING
        assert "delivery_proof" in verdict(bare, BJ).params["missing"]
        full = decide(charge("1000.00", ON), BJ_CO, only(BJ), NONE, claims=[c])
        assert full.amount == D("200.00")
        assert verdict(full, BJ).claim == "cl-1"

    def test_nothing_before_approval_nor_outside_the_contract(self) -> None:
        """企业凭已签订的算力服务合同…申领算力券 (a claim is approved before it pays)"""
        pending = claim_of(BJ, YEAR_CONTRACT, ON)
        d = decide(charge("1000.00", ON), BJ_CO, only(BJ), NONE, claims=[pending])
        assert verdict(d, BJ).outcome is Outcome.CLAIM_PENDING
        short = contract("100000.00", dt.date(2025, 9, 1), dt.date(2025, 10, 31))
        c = approved(BJ, short, ON)
        late = decide(charge("1000.00", dt.date(2025, 11, 1)), BJ_CO, only(BJ), NONE, claims=[c])
        assert verdict(late, BJ).outcome is Outcome.CLAIM_EXPIRED
        none = decide(charge("1000.00", ON), BJ_CO, only(BJ), NONE)
        assert verdict(none, BJ).outcome is Outcome.NOT_CLAIMED

    def test_a_claim_is_used_up_at_its_approved_amount(self) -> None:
        """单次申领算力券金额最高不超过智能算力合同额的20% (the claim bounds redemption)"""
        c = approved(BJ, YEAR_CONTRACT, ON)
        near = VoucherUsage(claim_used={"cl-1": D("199900.00")})
        d = decide(charge("10000.00", ON), BJ_CO, only(BJ), near, claims=[c])
        assert d.amount == D("100.00")
        assert verdict(d, BJ).limit is Limit.CLAIM
        spent = VoucherUsage(claim_used={"cl-1": D("200000.00")})
        d = decide(charge("10000.00", ON), BJ_CO, only(BJ), spent, claims=[c])
        assert verdict(d, BJ).outcome is Outcome.CLAIM_USED_UP

    @pytest.mark.parametrize(
        ("attribute", "value"),
        [
            ("no_other_municipal_compute_subsidy", False),
            ("industry", "retail"),
            ("registered_city", "tianjin"),
            ("compute_supplier_unrelated", False),
        ],
        ids=[
            "一、(四) 申报企业未获得其他市级财政资金的相关智能算力补贴支持",
            "一、(一) 软件信息服务业企业和制造业企业",
            "一、(一) 在北京市注册",
            "一、租用非关联方的智能算力资源",
        ],
    )
    def test_eligibility(self, attribute: str, value: str | bool) -> None:
        c = approved(BJ, YEAR_CONTRACT, ON)
        d = decide(charge("1000.00", ON), {**BJ_CO, attribute: value}, only(BJ), NONE, claims=[c])
        v = verdict(d, BJ)
        assert v.outcome is Outcome.INELIGIBLE
        assert v.params["attribute"] == attribute

    def test_it_never_stacks_with_another_programme(self) -> None:
        """一、(四) 申报企业未获得其他市级财政资金的相关智能算力补贴支持 — best one, never two"""
        etown = POLICIES["beijing-etown-compute-2024"]
        both = {**BJ_CO, **ELIGIBLE}
        c = approved(BJ, YEAR_CONTRACT, ON)
        d = decide(charge("1000.00", ON), both, [LIBRARY[BJ], etown], NONE, claims=[c])
        assert d.programmes == ("beijing-etown-compute-2024",)  # 40 % beats 20 %
        assert verdict(d, BJ).outcome is Outcome.NOT_BEST


# -- Shanghai (measures of 2025-07-28) ------------------------------------------------


class TestShanghai:
    def test_the_city_pays_up_to_30_percent_of_rent(self) -> None:
        """对租用智能算力的主体，市级给予最高30%租金补贴"""
        d = decide(charge("1000.00", ON), SH_CO, only(SH), NONE)
        assert d.amount == D("300.00")

    def test_city_and_district_stack_to_at_most_100_percent(self) -> None:
        """按照"补早补小"原则，市区协同给予最多1年、最高100%的租金补贴"""
        c = approved(SH_DISTRICT, YEAR_CONTRACT, ON)
        d = decide(charge("1000.00", ON), SH_CO, only(SH, SH_DISTRICT), NONE, claims=[c])
        assert d.programmes == (SH, SH_DISTRICT)  # the city first, the district on top
        assert [a.offer for a in d.applied] == [D("300.00"), D("700.00")]
        assert d.net == 0
        lines = d.explain("en")
        assert lines[0].startswith("stacked across issuers, in this order: " + SH)
        assert "叠加" in d.explain("zh")[0]

    def test_the_sum_is_held_to_the_cap_the_later_programme_trimmed(self) -> None:
        """市区协同给予…最高100%的租金补贴 (a district offering more is trimmed to the sum's cap)"""
        greedy = LIBRARY[SH_DISTRICT].__class__(
            **{**LIBRARY[SH_DISTRICT].__dict__, "rate_domestic": D("0.90")}
        )
        c = approved(SH_DISTRICT, YEAR_CONTRACT, ON)
        d = decide(charge("1000.00", ON), SH_CO, [LIBRARY[SH], greedy], NONE, claims=[c])
        assert d.amount == D("1000.00")
        assert verdict(d, SH_DISTRICT).offer == D("700.00")
        assert verdict(d, SH_DISTRICT).limit is Limit.STACK_CAP

    def test_the_top_up_lasts_at_most_one_year(self) -> None:
        """市区协同给予最多1年 (a longer contract is refused; after a year only the city pays)"""
        long = contract("1000000.00", dt.date(2025, 9, 1), dt.date(2026, 9, 30))
        out = approve(LIBRARY[SH_DISTRICT], claim_of(SH_DISTRICT, long, ON), ON)
        assert isinstance(out, list)
        assert out[0].problem is ClaimProblem.CONTRACT_TOO_LONG
        c = approved(SH_DISTRICT, YEAR_CONTRACT, ON)
        assert c.expires_on == dt.date(2026, 8, 31)
        later = decide(
            charge("1000.00", dt.date(2026, 9, 10)), SH_CO, only(SH, SH_DISTRICT), NONE, claims=[c]
        )
        assert later.programmes == (SH,)
        assert verdict(later, SH_DISTRICT).outcome is Outcome.CLAIM_EXPIRED

    def test_the_600m_pool(self) -> None:
        """发放6亿元算力券"""
        dry = VoucherUsage(pool_used={(SH, 2025): D("600000000.00")})
        d = decide(charge("1000.00", ON), SH_CO, only(SH), dry)
        assert verdict(d, SH).outcome is Outcome.POOL_DRY

    def test_model_voucher_half_of_the_contract_up_to_5m(self) -> None:
        """发放3亿元模型券，对调用云平台部署的第三方大模型API，或采用第三方大模型私有化部署方式，…给予核定合同额最高50%、最高500万元补贴"""
        mc = ModelContract(
            "mc-1",
            "acme",
            "vendor",
            "m",
            ModelUse.API_CALLS,
            False,
            D("20000000.00"),
            ON,
            facts={"third_party_model": True},
        )
        d = redeem_model_contract(
            mc, "2025-09", D("2000000.00"), D("0"), ON, SH_CO, only(SH_MODEL), NONE
        )
        assert d.amount == D("1000000.00")
        near = VoucherUsage(company_used={(SH_MODEL, "acme", "all"): D("4900000.00")})
        d = redeem_model_contract(
            mc, "2025-09", D("2000000.00"), D("0"), ON, SH_CO, only(SH_MODEL), near
        )
        assert d.amount == D("100000.00")

    def test_model_voucher_covers_third_party_api_or_private_deployment_only(self) -> None:
        """对调用云平台部署的第三方大模型API，或采用第三方大模型私有化部署方式"""
        own = ModelContract(
            "mc-2",
            "acme",
            "vendor",
            "m",
            ModelUse.CLOUD_DEPLOYMENT,
            False,
            D("100000.00"),
            ON,
            facts={"third_party_model": True},
        )
        d = redeem_model_contract(
            own, "2025-09", D("100000.00"), D("0"), ON, SH_CO, only(SH_MODEL), NONE
        )
        assert verdict(d, SH_MODEL).outcome is Outcome.INELIGIBLE
        assert verdict(d, SH_MODEL).params["attribute"] == "model_use"

    def test_corpus_voucher_30_percent_from_unrelated_sellers(self) -> None:
        """对购买非关联方的语料进行大模型、垂类应用、智能体等研发和应用的主体，给予核定合同额最高30%"""
        buy = CorpusPurchase("cp-1", "acme", "data-co", D("100000.00"), ON, True, False)
        d = redeem_corpus_purchase(buy, SH_CO, only(SH_CORPUS), NONE)
        assert d.amount == D("30000.00")
        related = CorpusPurchase("cp-2", "acme", "sister-co", D("100000.00"), ON, False, False)
        d = redeem_corpus_purchase(related, SH_CO, only(SH_CORPUS), NONE)
        assert verdict(d, SH_CORPUS).outcome is Outcome.INELIGIBLE

    def test_corpus_vouchers_never_touch_compute_lines(self) -> None:
        """3.支持采购高质量语料 (a corpus programme covers corpus purchases only)"""
        d = decide(charge("1000.00", ON), SH_CO, only(SH_CORPUS), NONE)
        assert verdict(d, SH_CORPUS).outcome is Outcome.WRONG_KIND


# -- Shenzhen -------------------------------------------------------------------------


class TestShenzhen:
    def test_training_voucher_half_of_the_contract(self) -> None:
        """按不超过服务合同金额的50%"""
        d = decide(charge("1000.00", ON), SZ_CO, only(SZ_TRAIN), NONE)
        assert d.amount == D("500.00")

    def test_start_ups_get_60_percent(self) -> None:
        """对初创企业提高资助比例至60%"""
        d = decide(
            charge("1000.00", ON), {**SZ_CO, "company_stage": "startup"}, only(SZ_TRAIN), NONE
        )
        assert d.amount == D("600.00")
        assert verdict(d, SZ_TRAIN).rate == D("0.60")

    def test_training_voucher_at_most_10m(self) -> None:
        """给予最高1000万元资助"""
        near = VoucherUsage(company_used={(SZ_TRAIN, "acme", "all"): D("9999000.00")})
        d = decide(charge("100000.00", ON), SZ_CO, only(SZ_TRAIN), near)
        assert d.amount == D("1000.00")

    def test_training_voucher_500m_a_year(self) -> None:
        """每年发放最高5亿元"训力券\""""
        dry = VoucherUsage(pool_used={(SZ_TRAIN, 2025): D("500000000.00")})
        assert decide(charge("1000.00", ON), SZ_CO, only(SZ_TRAIN), dry).amount == 0
        assert decide(
            charge("1000.00", dt.date(2026, 1, 2)), SZ_CO, only(SZ_TRAIN), dry
        ).amount == D("500.00")

    def test_only_companies_training_large_models(self) -> None:
        """对租用智能算力开展大模型训练的企业、高等院校和科研机构"""
        d = decide(
            charge("1000.00", ON), {**SZ_CO, "trains_large_models": False}, only(SZ_TRAIN), NONE
        )
        assert verdict(d, SZ_TRAIN).outcome is Outcome.INELIGIBLE

    def _model(self, registered: bool) -> ModelContract:
        return ModelContract(
            "mc-9",
            "acme",
            "vendor",
            "m",
            ModelUse.API_CALLS,
            True,
            D("10000000.00"),
            ON,
            facts={"model_registered": registered},
        )

    def test_model_voucher_only_for_registered_models(self) -> None:
        """依托经国家网信办备案的生成式人工智能模型开展模型服务、智能体开发应用"""
        c = approved(SZ_MODEL, contract("10000000.00", ON, dt.date(2026, 6, 30)), ON)
        d = redeem_model_contract(
            self._model(False),
            "2025-09",
            D("100000.00"),
            D("0"),
            ON,
            SZ_CO,
            only(SZ_MODEL),
            NONE,
            claims=[c],
        )
        v = verdict(d, SZ_MODEL)
        assert v.outcome is Outcome.INELIGIBLE
        assert v.params["attribute"] == "model_registered"
        assert "网信办备案" in v.params["cite"]

    def test_model_voucher_30_percent_and_2m_a_year(self) -> None:
        """以"模型券"抵扣不超过模型购买费用的30%；单家企业每年申领"模型券"额度…最高不超过200万元"""
        c = approved(SZ_MODEL, contract("10000000.00", ON, dt.date(2026, 6, 30)), ON)
        d = redeem_model_contract(
            self._model(True),
            "2025-09",
            D("100000.00"),
            D("0"),
            ON,
            SZ_CO,
            only(SZ_MODEL),
            NONE,
            claims=[c],
        )
        assert d.amount == D("30000.00")
        near = VoucherUsage(company_used={(SZ_MODEL, "acme", "2025"): D("1990000.00")})
        d = redeem_model_contract(
            self._model(True),
            "2025-09",
            D("100000.00"),
            D("0"),
            ON,
            SZ_CO,
            only(SZ_MODEL),
            near,
            claims=[c],
        )
        assert d.amount == D("10000.00")

    def test_model_voucher_is_claimed_before_it_pays(self) -> None:
        """ "模型券"由需求方申领…"模型券"由需求方申请兑现"""
        d = redeem_model_contract(
            self._model(True), "2025-09", D("100000.00"), D("0"), ON, SZ_CO, only(SZ_MODEL), NONE
        )
        assert verdict(d, SZ_MODEL).outcome is Outcome.NOT_CLAIMED

    def test_corpus_voucher_through_an_exchange_from_unrelated_sellers(self) -> None:
        """对通过数据交易平台购买非关联方语料进行大模型研发和应用的企业，按不超过合同金额的30%，给予最高200万元资助"""
        ok = CorpusPurchase("cp-3", "acme", "x", D("10000000.00"), ON, True, True)
        assert redeem_corpus_purchase(ok, SZ_CO, only(SZ_CORPUS), NONE).amount == D("2000000.00")
        direct = CorpusPurchase("cp-4", "acme", "x", D("1000.00"), ON, True, False)
        d = redeem_corpus_purchase(direct, SZ_CO, only(SZ_CORPUS), NONE)
        assert verdict(d, SZ_CORPUS).params["attribute"] == "via_data_exchange"


# -- the combination rules on their own --------------------------------------------------


def test_programmes_of_one_issuer_never_stack() -> None:
    """从优不重复 within one issuer: the better of two city programmes, never both"""
    twin = VoucherPolicy(
        **{**LIBRARY[SH].__dict__, "programme": "twin", "rate_domestic": D("0.40")}
    )
    d = decide(charge("1000.00", ON), SH_CO, [LIBRARY[SH], twin], NONE)
    assert d.programmes == ("twin",)
    assert verdict(d, SH).outcome is Outcome.SAME_ISSUER


def test_a_single_exclusive_programme_beats_a_smaller_stack() -> None:
    """从优不重复: a programme that stacks with nothing competes with the stack as a whole"""
    solo = VoucherPolicy(
        **{
            **LIBRARY[SZ_TRAIN].__dict__,
            "programme": "solo",
            "eligibility": (),
            "rate_domestic": D("0.35"),
        }
    )
    d = decide(charge("1000.00", ON), SH_CO, [LIBRARY[SH], solo], NONE)
    assert d.programmes == ("solo",)
    assert verdict(d, SH).outcome is Outcome.NOT_BEST
    assert "solo" in verdict(d, SH).explain(D("1000.00"), "en")


def test_every_library_kind_is_known() -> None:
    assert {p.kind for p in LIBRARY.values()} == {
        VoucherKind.COMPUTE,
        VoucherKind.MODEL,
        VoucherKind.CORPUS,
    }
    assert all(c.status is ClaimStatus.PENDING for c in [claim_of(BJ, YEAR_CONTRACT, ON)])
