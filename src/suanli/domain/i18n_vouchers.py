"""Words of the voucher engine's newer rules (claims, stacking, corpus) in zh-CN and en.

Joined into ``suanli.domain.i18n.MESSAGES`` beside the older ``voucher.*`` messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

VOUCHERS: Mapping[str, Mapping[Literal["en", "zh"], str]] = {
    # why a programme did or did not reduce a charge (the newer outcomes)
    "voucher.stacked": {
        "en": "stacked across issuers, in this order: {programmes}; together {amount} of {gross}, net {net}",
        "zh": "跨发放方叠加，依次为：{programmes}；合计抵扣 {gross} 中的 {amount}，实付 {net}",
    },
    "voucher.claim_pending": {
        "en": "{programme} pays only against an approved claim; claim {claims} awaits approval",
        "zh": "{programme} 须凭已核准的申领兑付；申领 {claims} 尚待核准",
    },
    "voucher.claim_rejected": {
        "en": "{programme} pays only against an approved claim; claim {claims} was rejected",
        "zh": "{programme} 须凭已核准的申领兑付；申领 {claims} 未获核准",
    },
    "voucher.claim_expired": {
        "en": "no approved claim of {programme} covers {on} (claims: {spans})",
        "zh": "{programme} 没有覆盖 {on} 的有效申领（申领：{spans}）",
    },
    "voucher.claim_used_up": {
        "en": "{programme}: the approved claim {claims} ({amount}) is used up",
        "zh": "{programme}：已核准的申领 {claims}（{amount}）已用完",
    },
    "voucher.evidence_missing": {
        "en": "{programme} redeems only with {missing} ({cite}); this charge has none",
        "zh": "{programme} 须凭 {missing} 兑付（{cite}）；本笔费用缺少该材料",
    },
    "voucher.same_issuer": {
        "en": "{programme} would deduct {offer}, less than {best} from {chosen} of the same issuer (best one, never two)",
        "zh": "{programme} 可抵扣 {offer}，少于同一发放方 {chosen} 的 {best}（从优不重复）",
    },
    "voucher.stack_cap_reached": {
        "en": "{programme} stacks after {before} already deducted, and stacked programmes together may deduct at most {cap} of the charge",
        "zh": "{programme} 叠加在已抵扣的 {before} 之后，而叠加的政策合计最多抵扣本笔费用的 {cap}",
    },
    "limit.claim": {"en": "limited by the approved claim left", "zh": "受已核准申领剩余额度限制"},
    "limit.stack_cap": {
        "en": "limited by the cap on stacked programmes together",
        "zh": "受叠加政策合计上限限制",
    },
    "kind.corpus": {"en": "corpus", "zh": "语料"},
    # claims of programmes with a claim step
    "claim_not_found": {"en": "no claim {claim}", "zh": "没有申领 {claim}"},
    "claim_decided": {
        "en": "claim {claim} is already decided ({status}); a decision is never changed",
        "zh": "申领 {claim} 已处理（{status}）；处理结果不可更改",
    },
    "claim_refused": {
        "en": "the claim cannot be approved under its programme's rules",
        "zh": "该申领不符合政策规定，无法核准",
    },
    "claim.status.pending": {"en": "awaiting approval", "zh": "待核准"},
    "claim.status.approved": {"en": "approved", "zh": "已核准"},
    "claim.status.rejected": {"en": "rejected", "zh": "未核准"},
    # why a claim cannot be approved
    "claim.no_claim_step": {
        "en": "{programme} takes no claims (its deductions need no approval)",
        "zh": "{programme} 无需申领核准",
    },
    "claim.outside_validity": {
        "en": "claimed on {on}, outside the programme's {valid_from} … {valid_to}",
        "zh": "申领日期 {on} 不在政策有效期 {valid_from} … {valid_to} 内",
    },
    "claim.signed_too_early": {
        "en": "the contract was signed on {signed}; only contracts signed on or after {earliest} qualify ({cite})",
        "zh": "合同签订于 {signed}；仅 {earliest} 及以后签订的合同可申领（{cite}）",
    },
    "claim.contract_too_long": {
        "en": "the contract runs {months} months; at most {most} are allowed ({cite})",
        "zh": "合同周期为 {months} 个月；最长允许 {most} 个月（{cite}）",
    },
    "claim.evidence_missing": {
        "en": "evidence missing to {step}: {missing}",
        "zh": "{step}缺少材料：{missing}",
    },
    "claim.step_claim": {"en": "claim", "zh": "申领"},
    "claim.contract_claimed": {
        "en": "contract {contract} already carries {most} claim(s), the most allowed ({cite})",
        "zh": "合同 {contract} 已有 {most} 次申领，已达上限（{cite}）",
    },
    "claim.nothing_left": {
        "en": "the company's cap of {cap} is used or reserved already",
        "zh": "该企业上限 {cap} 已用完或已被其他申领占用",
    },
    # 定期兑付: a programme redeems, per period, what its model vouchers covered
    "redeem.full": {
        "en": "{programme} redeems all of it: {amount}",
        "zh": "{programme} 全额兑付：{amount}",
    },
    "redeem.cap": {
        "en": "{programme} redeems {amount}; {withheld} withheld: {company} reached its cap of {cap} ({scope})",
        "zh": "{programme} 兑付 {amount}；暂不兑付 {withheld}：{company} 已达企业上限 {cap}（{scope}）",
    },
    "redeem.pool": {
        "en": "{programme} redeems {amount}; {withheld} withheld: the {year} pool of {pool} is redeemed",
        "zh": "{programme} 兑付 {amount}；暂不兑付 {withheld}：{year} 年度总额 {pool} 已兑付完",
    },
    "period_open": {
        "en": "period {value} is not over yet; redeem periods up to {allowed}",
        "zh": "期间 {value} 尚未结束；只能兑付 {allowed} 及以前的期间",
    },
    # the bill page's 定期兑付 section
    "ui.redemptions": {"en": "Model-voucher redemptions (定期兑付)", "zh": "模型券定期兑付"},
    "ui.seller": {"en": "Seller", "zh": "供应方"},
    "ui.redeem_why": {"en": "Why", "zh": "说明"},
    "ui.redeem_claimed": {"en": "Vouchers used", "zh": "模型券抵扣"},
    "ui.redeemed": {"en": "Redeemed", "zh": "已兑付"},
    "ui.withheld": {"en": "Withheld", "zh": "暂不兑付"},
    "ui.redeem_pending": {
        "en": "Not yet redeemed this month: {amount}",
        "zh": "本月尚未兑付：{amount}",
    },
}
