"""`suanli sim replay --vouchers DIR`: the voucher what-if after a replay, as tables."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from suanli.billing.policy import Attribute, VoucherPolicy
from suanli.cli.text import LabelTable
from suanli.domain.i18n import Lang
from suanli.schemas.voucherfile import load_voucher_policy_dir, resolve_policy_dir
from suanli.sim.live_report import LiveReport
from suanli.sim.voucher_whatif import WhatIfReport, what_if

LABELS: dict[str, dict[Lang, str]] = {
    "title": {"en": "Voucher what-if · {policy}", "zh": "补贴券推演 · {policy}"},
    "programme": {"en": "Programme", "zh": "政策"},
    "pool": {"en": "Pool / year", "zh": "年度总额"},
    "total": {"en": "Paid", "zh": "已兑付"},
    "dry": {"en": "Runs dry", "zh": "用完月份"},
    "never": {"en": "not within the trace", "zh": "推演期内未用完"},
    "none": {"en": "no fixed pool", "zh": "无固定总额"},
    "caps": {"en": "Tenants at a cap", "zh": "触及上限的租户"},
    "by_month": {"en": "Pool spend by month", "zh": "各月兑付"},
    "month": {"en": "Month", "zh": "月份"},
    "summary": {
        "en": "gross {gross}, vouchers {deduction} ({share}), {stacked} stacked lines",
        "zh": "应付 {gross}，补贴 {deduction}（{share}），叠加 {stacked} 行",
    },
    "assumed": {
        "en": "assumed eligible (no attributes in the scenario): {tenants}",
        "zh": "假定符合条件（场景未给出属性）：{tenants}",
    },
    "claims": {"en": "assumed claims: {claims}", "zh": "假定申领：{claims}"},
    "placed": {
        "en": "the trace's first month is placed at {month}, when every programme is in force",
        "zh": "轨迹首月置于 {month}（全部政策均已施行）",
    },
}
_t = LabelTable(LABELS)


def load_programmes(arg: str) -> list[VoucherPolicy]:
    """A folder of policy files (or ``library:NAME``), each checked, as engine values."""
    return [VoucherPolicy.from_terms(f) for f in load_voucher_policy_dir(resolve_policy_dir(arg))]


def replay_what_if(
    report: LiveReport,
    programmes: list[VoucherPolicy],
    attributes: Mapping[str, Mapping[str, Attribute]],
) -> WhatIfReport:
    """The what-if over what a live replay's billing charged (gross by tenant, month and
    domestic flag, summed from its settlements)."""
    return what_if(report.spend, programmes, attributes)


def _yuan(amount: object) -> str:
    return f"¥{amount:,.2f}"


def print_what_if(out: Console, w: WhatIfReport, policy: str, lang: Lang) -> None:
    pools = Table(title=_t("title", lang, policy=policy))
    pools.add_column(_t("programme", lang), overflow="fold")
    pools.add_column(_t("pool", lang), justify="right")
    pools.add_column(_t("total", lang), justify="right")
    pools.add_column(_t("dry", lang), overflow="fold")
    for p in w.programmes:
        size = w.pool_size.get(p)
        pools.add_row(
            p,
            _t("none", lang) if size is None else _yuan(size),
            _yuan(sum(w.pool_spend.get(p, {}).values(), start=Decimal(0))),
            w.dry_month.get(p) or _t("never", lang),
        )
    out.print(pools)
    months = Table(title=_t("by_month", lang))
    months.add_column(_t("month", lang))
    months.add_column(_t("programme", lang), overflow="fold")
    months.add_column(_t("total", lang), justify="right")
    for m in w.months:
        for p in w.programmes:
            paid = w.pool_spend.get(p, {}).get(m)
            if paid is not None:
                months.add_row(m, p, _yuan(paid))
    out.print(months)
    share = f"{w.deduction / w.gross:.1%}" if w.gross else "0%"
    out.print(
        _t(
            "summary",
            lang,
            gross=_yuan(w.gross),
            deduction=_yuan(w.deduction),
            share=share,
            stacked=w.stacked_lines,
        )
    )
    if w.caps_hit:
        caps = Table(title=_t("caps", lang))
        for col in ("tenant", "programme", "month"):
            caps.add_column(col)
        for row in w.caps_hit:
            caps.add_row(row["tenant"], row["programme"], row["month"])
        out.print(caps)
    out.print(_t("placed", lang, month=w.placed_from), markup=False)
    if w.assumed_eligible:
        out.print(_t("assumed", lang, tenants=", ".join(w.assumed_eligible)), markup=False)
    if w.assumed_claims:
        out.print(_t("claims", lang, claims="; ".join(w.assumed_claims)), markup=False)
