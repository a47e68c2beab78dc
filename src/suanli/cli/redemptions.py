"""`suanli voucher redeem | redemptions`: 定期兑付 of model vouchers per closed period.

Registered on ``voucher`` beside the quotes and claims of ``cli.billing``; ``suanli
voucher`` loads this module, which loads that one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from suanli.cli.billing import check_month, money, voucher_app
from suanli.cli.context import JsonOpt, out
from suanli.cli.context import ask as _ask
from suanli.cli.context import print_json as _print_json
from suanli.cli.context import server_lang as _ctx
from suanli.cli.text import LabelTable
from suanli.domain.i18n import Lang

if TYPE_CHECKING:
    from suanli.schemas.redemptions import RedemptionReportResponse

LABELS: dict[str, dict[Lang, str]] = {
    "title": {"en": "Model-voucher redemptions (定期兑付)", "zh": "模型券定期兑付"},
    "whose": {
        "en": "Period · company → seller, programme #run",
        "zh": "期间 · 企业 → 供应方，政策 #批次",
    },
    "claimed": {"en": "Claimed", "zh": "申请兑付"},
    "redeemed": {"en": "Redeemed", "zh": "已兑付"},
    "withheld": {"en": "Withheld", "zh": "暂不兑付"},
    "posted": {"en": "Posted", "zh": "已入账"},
    "why": {"en": "Why", "zh": "说明"},
    "totals": {
        "en": "Claimed {claimed} · redeemed {redeemed} · withheld {withheld}",
        "zh": "申请兑付 {claimed} · 已兑付 {redeemed} · 暂不兑付 {withheld}",
    },
    "pending": {
        "en": "Not yet redeemed for {period}: {amount} (run `suanli voucher redeem --period {period}`)",
        "zh": "{period} 尚未兑付：{amount}（运行 `suanli voucher redeem --period {period}`）",
    },
    "ran": {
        "en": "Run for {period}: {new} new redemption(s), {posted} entr(ies) posted",
        "zh": "{period} 兑付完成：新增 {new} 笔兑付，入账 {posted} 笔",
    },
    "none": {"en": "no redemptions", "zh": "没有兑付记录"},
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
}
r_t = LabelTable(LABELS)


@voucher_app.command("redeem")
def voucher_redeem(
    tctx: typer.Context,
    period: Annotated[str, typer.Option(help="YYYY-MM, a month that is over (China time)")],
    as_json: JsonOpt = False,
) -> None:
    """定期兑付: the model programmes pay a closed month's voucher deductions, once."""
    _, lang = _ctx(tctx)
    check_month(lang, period)
    from suanli.client.redemptions import redeem

    data = _ask(tctx, lambda c: redeem(c, period))
    if as_json:
        _print_json(data.model_dump(mode="json"))
        return
    out.print(r_t("ran", lang, period=period, new=data.new or 0, posted=data.posted or 0))
    print_report(data, lang)


@voucher_app.command("redemptions")
def voucher_redemptions(
    tctx: typer.Context,
    period: Annotated[str | None, typer.Option(help="YYYY-MM (default: every period)")] = None,
    tenant: Annotated[str | None, typer.Option(help="only this company's")] = None,
    as_json: JsonOpt = False,
) -> None:
    """What the model programmes redeemed, per period, company and seller, and why."""
    _, lang = _ctx(tctx)
    check_month(lang, period)
    from suanli.client.redemptions import redemptions

    data = _ask(tctx, lambda c: redemptions(c, period, tenant))
    if as_json:
        _print_json(data.model_dump(mode="json"))
        return
    print_report(data, lang)


def print_report(data: RedemptionReportResponse, lang: Lang) -> None:
    """One row per redemption: whose (period, company → seller, programme, run), the
    amounts, whether posted, and why; the totals and what still waits under it."""
    table = Table(
        title=r_t("title", lang), caption=None if data.redemptions else r_t("none", lang)
    )
    table.add_column(r_t("whose", lang))
    for col in ("claimed", "redeemed", "withheld"):
        table.add_column(r_t(col, lang), justify="right")
    table.add_column(r_t("posted", lang))
    table.add_column(r_t("why", lang), ratio=1)
    for x in data.redemptions:
        table.add_row(
            f"{x.period} · {x.company} → {x.seller}\n{x.programme} #{x.run}",
            money(x.claimed),
            money(x.redeemed),
            money(x.withheld),
            r_t("yes" if x.posted else "no", lang),
            x.why,
        )
    out.print(table)
    totals = {k: money(getattr(data, k)) for k in ("claimed", "redeemed", "withheld")}
    out.print(r_t("totals", lang, **totals), markup=False)
    if data.period and data.pending is not None and data.pending != "0.00":
        out.print(
            r_t("pending", lang, period=data.period, amount=money(data.pending)), markup=False
        )


__all__ = ["print_report", "voucher_app"]  # `suanli voucher` is loaded from here
