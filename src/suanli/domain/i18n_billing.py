"""Billing messages in zh-CN and en: why a voucher programme did or did not reduce a charge,
what held a deduction, ledger errors; joined into suanli.domain.i18n.MESSAGES."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

BILLING: Mapping[str, Mapping[Literal["en", "zh"], str]] = {
    # billing: why a voucher programme did or did not reduce a charge; ledger errors
    # why a programme did or did not reduce a charge
    "voucher.applied": {
        "en": "{programme}: {rate} of {gross} is at most {ceiling}; deducted {amount} ({limit})",
        "zh": "{programme}：{gross} 的 {rate} 最多为 {ceiling}；抵扣 {amount}（{limit}）",
    },
    "voucher.not_best": {
        "en": "{programme} would deduct {offer}, less than {best} from {chosen} (best one, never two)",
        "zh": "{programme} 可抵扣 {offer}，少于 {chosen} 的 {best}（从优不重复）",
    },
    "voucher.wrong_kind": {
        "en": "{programme} is a {policy_kind} programme and does not cover {item_kind} charges",
        "zh": "{programme} 是{policy_kind}政策，不适用于{item_kind}费用",
    },
    "voucher.not_yet_valid": {
        "en": "{programme} starts on {valid_from}; this charge is dated {on}",
        "zh": "{programme} 自 {valid_from} 起施行；本笔费用日期为 {on}",
    },
    "voucher.expired": {
        "en": "{programme} ended on {valid_to}; this charge is dated {on}",
        "zh": "{programme} 已于 {valid_to} 结束；本笔费用日期为 {on}",
    },
    "voucher.ineligible": {
        "en": "{programme} requires {attribute} to be {allowed} ({cite}); the company has {value}",
        "zh": "{programme} 要求 {attribute} 为 {allowed}（{cite}）；该企业为 {value}",
    },
    "voucher.not_claimed": {
        "en": "{programme} must be claimed before use and the company has not claimed it",
        "zh": "{programme} 须先申领后使用，该企业尚未申领",
    },
    "voucher.rate_zero": {
        "en": "{programme} does not cover {what} charges",
        "zh": "{programme} 不适用于{what}费用",
    },
    "voucher.pool_dry": {
        "en": "{programme}'s {year} pool of {pool} is used up",
        "zh": "{programme} {year} 年度 {pool} 的额度已用完",
    },
    "voucher.cap_reached": {
        "en": "the company has used its whole cap of {cap} under {programme} ({scope})",
        "zh": "该企业已用完 {programme} 的上限 {cap}（{scope}）",
    },
    "voucher.project_cap_reached": {
        "en": "project {project} has used its whole cap of {cap} under {programme}",
        "zh": "项目 {project} 已用完 {programme} 的上限 {cap}",
    },
    "voucher.no_project": {
        "en": "{programme} is capped per project and this charge names no project",
        "zh": "{programme} 按项目设上限，而本笔费用未指明项目",
    },
    "voucher.below_fen": {
        "en": "{programme} would deduct less than one fen from {gross}",
        "zh": "{programme} 对 {gross} 的抵扣不足一分",
    },
    "voucher.none": {
        "en": "no programme reduces this charge; net = gross = {gross}",
        "zh": "没有适用的政策；实付 = 应付 = {gross}",
    },
    # what held a deduction below rate x gross
    "limit.rate": {"en": "the rate", "zh": "按比例"},
    "limit.tenant_cap": {"en": "limited by the company cap left", "zh": "受企业剩余上限限制"},
    "limit.project_cap": {"en": "limited by the project cap left", "zh": "受项目剩余上限限制"},
    "limit.pool": {"en": "limited by the pool left", "zh": "受年度总额剩余限制"},
    "scope.year": {"en": "per year", "zh": "每年"},
    "scope.programme": {"en": "over the programme", "zh": "政策期内累计"},
    "kind.compute": {"en": "compute", "zh": "算力"},
    "kind.model": {"en": "model", "zh": "模型"},
    "kind.provider_subsidy": {"en": "provider subsidy", "zh": "算力服务商补贴"},
    "what.non_domestic": {"en": "non-domestic", "zh": "非国产"},
    "what.domestic": {"en": "domestic", "zh": "国产"},
    # ledger errors
    "ledger.unbalanced": {
        "en": "entry {key} does not balance: its postings sum to {sum}, not 0.00",
        "zh": "分录 {key} 借贷不平：合计为 {sum}，而不是 0.00",
    },
    "ledger.malformed": {
        "en": "entry {key} is malformed: {detail}",
        "zh": "分录 {key} 格式错误：{detail}",
    },
    "ledger.key_conflict": {
        "en": "idempotency key {key} was already used for different postings",
        "zh": "幂等键 {key} 已用于不同的记账内容",
    },
    "ledger.unknown_entry": {
        "en": "no ledger entry {key}",
        "zh": "不存在分录 {key}",
    },
    "ledger.already_reversed": {
        "en": "entry {key} was already reversed by {by}",
        "zh": "分录 {key} 已被 {by} 冲正",
    },
}
