"""`suanli bill | voucher | ledger | report`: invoices, voucher quotes, the ledger, reports."""

from __future__ import annotations

import re
import sys
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from suanli.cli.context import EXIT_FAILURE, JsonOpt, err, error, out
from suanli.cli.context import ask as _ask
from suanli.cli.context import print_json as _print_json
from suanli.cli.context import server_lang as _ctx
from suanli.cli.text import LabelTable
from suanli.domain.i18n import Lang, render

if TYPE_CHECKING:
    from suanli.schemas.api import (
        BillResponse,
        DeductionResponse,
        ModelRedemptionResponse,
        VoucherPolicyResponse,
    )

LABELS: dict[str, dict[Lang, str]] = {
    "bill_title": {
        "en": "Bill · {tenant} ({name}) · {month}",
        "zh": "账单 · {tenant}（{name}）· {month}",
    },
    "line": {"en": "Job attempt", "zh": "作业尝试"},
    "where": {"en": "Pool", "zh": "资源池"},
    "hours": {"en": "Card-hours", "zh": "卡时"},
    "gross": {"en": "Gross", "zh": "应付"},
    "programme": {"en": "Programme", "zh": "政策"},
    "rate": {"en": "Rate", "zh": "比例"},
    "cap_left": {"en": "Cap left", "zh": "剩余上限"},
    "deduction": {"en": "Voucher", "zh": "抵扣"},
    "net": {"en": "Net", "zh": "实付"},
    "why": {"en": "Why", "zh": "说明"},
    "total": {"en": "Total ({lines} lines)", "zh": "合计（{lines} 行）"},
    "no_lines": {"en": "no settled jobs in {month}", "zh": "{month} 没有已结算的作业"},
    "policies_title": {"en": "Voucher programmes", "zh": "补贴券政策"},
    "kind": {"en": "Kind", "zh": "类型"},
    "pool": {"en": "Annual pool", "zh": "年度总额"},
    "rates": {"en": "Domestic / other", "zh": "国产 / 非国产"},
    "cap": {"en": "Company cap", "zh": "企业上限"},
    "valid": {"en": "Valid", "zh": "有效期"},
    "quote": {
        "en": "Gross {gross} → voucher {deduction} → net {net}",
        "zh": "应付 {gross} → 抵扣 {deduction} → 实付 {net}",
    },
    "ledger_ok": {
        "en": "ledger verified: {entries} entries, {postings} postings, {accounts} accounts balance",
        "zh": "账本校验通过：{entries} 笔分录、{postings} 条记账、{accounts} 个账户全部平衡",
    },
    "ledger_bad": {"en": "ledger verification FAILED:", "zh": "账本校验失败："},
    "spend_title": {"en": "Voucher spend", "zh": "补贴券支出"},
    "compute_title": {"en": "Compute by region", "zh": "各地域算力"},
    "month": {"en": "Month", "zh": "月份"},
    "tenant": {"en": "Tenant", "zh": "租户"},
    "region": {"en": "Region", "zh": "地域"},
    "domestic": {"en": "Domestic", "zh": "国产"},
    "non_domestic": {"en": "Non-domestic", "zh": "非国产"},
    "lines": {"en": "Lines", "zh": "行数"},
    "model_title": {"en": "Model vouchers (模型券)", "zh": "模型券"},
    "model_total": {
        "en": "Model vouchers paid this month: {amount}",
        "zh": "本月模型券兑付：{amount}",
    },
    "contract": {"en": "Contract", "zh": "合同"},
    "period": {"en": "Period", "zh": "期间"},
    "completed": {"en": "Completed", "zh": "完成金额"},
    "standing_title": {
        "en": "Vouchers · {tenant} ({name}) · {on}",
        "zh": "补贴券 · {tenant}（{name}）· {on}",
    },
    "eligible": {"en": "Eligible", "zh": "符合条件"},
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    "claim": {"en": "Claim", "zh": "申领"},
    "claim_needed": {"en": "required, not claimed", "zh": "须申领，尚未申领"},
    "claim_free": {"en": "not needed (即领即享)", "zh": "无需申领（即领即享）"},
    "used": {"en": "Used", "zh": "已用"},
    "pool_left": {"en": "Pool left ({year})", "zh": "年度剩余（{year}）"},
    "claimed": {
        "en": "recorded: {tenant} claimed {programme} at {at}",
        "zh": "已记录：{tenant} 于 {at} 申领 {programme}",
    },
    "claimed_before": {
        "en": "already recorded: {tenant} claimed {programme} at {at} (nothing changed)",
        "zh": "已有记录：{tenant} 于 {at} 申领 {programme}（未作更改）",
    },
    "claim_note": {
        "en": "{programme} needs no claim (即领即享): deductions apply at once either way",
        "zh": "{programme} 即领即享：无论是否申领，抵扣均立即生效",
    },
    "share": {
        "en": "Domestic share: {hours} of card-hours, {yuan} of yuan",
        "zh": "国产占比：卡时 {hours}，金额 {yuan}",
    },
}


t = LabelTable(LABELS)


def bill(
    tctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="the tenant billed")],
    month: Annotated[
        str | None, typer.Option(help="YYYY-MM, China time (default: this month)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A tenant's bill for a month: a line per job attempt, vouchers and why."""
    _, lang = _ctx(tctx)
    check_month(lang, month)
    data = _ask(tctx, lambda c: c.bill(tenant, month))
    if as_json:
        _print_json(data.model_dump(mode="json"))
        return
    _print_bill(data, lang)


FEN = Decimal("0.01")


def check_month(lang: Lang, month: str | None) -> None:
    """``--month`` is YYYY-MM with a real month, said so before the server is asked."""
    if month is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        error(lang, render("cli.bad_month", lang, value=month))


def check_amount(lang: Lang, amount: str) -> None:
    """``--amount`` is a yuan amount: 0 to 10^12, at most 2 decimals (as the API allows)."""
    try:
        value = Decimal(amount)
        ok = value.is_finite() and 0 <= value <= 10**12 and value == value.quantize(FEN)
    except InvalidOperation:
        ok = False
    if not ok:
        error(lang, render("cli.bad_amount", lang, value=amount))


def _print_bill(data: BillResponse, lang: Lang) -> None:
    table = Table(
        title=t("bill_title", lang, tenant=data.tenant, name=data.display_name, month=data.month)
    )
    for col in ("line", "where", "hours", "gross", "programme", "rate", "cap_left"):
        table.add_column(t(col, lang), justify="right" if col in ("hours", "gross") else "left")
    for col in ("deduction", "net"):
        table.add_column(t(col, lang), justify="right")
    table.add_column(t("why", lang))
    for x in data.lines:
        table.add_row(
            x.key,
            f"{x.cluster}/{x.pool} ({x.accelerator} × {x.accelerators})",
            x.accelerator_hours,
            x.gross,
            x.programme or "-",
            _pct(x.rate),
            x.cap_left or "-",
            x.deduction,
            x.net,
            x.explanation[0] if x.explanation else "",
        )
    tot = data.totals
    table.add_row(
        f"[bold]{t('total', lang, lines=tot.lines)}[/bold]",
        "",
        "",
        tot.gross,
        "",
        "",
        "",
        tot.deduction,
        f"[bold]{tot.net}[/bold]",
        "",
    )
    if not data.lines:
        table.caption = t("no_lines", lang, month=data.month)
    out.print(table)
    if data.model_vouchers:
        print_redemptions(data.model_vouchers, lang)
        out.print(t("model_total", lang, amount=data.totals.model_voucher))


def print_redemptions(rows: list[ModelRedemptionResponse], lang: Lang) -> None:
    """模型券 per contract period: completed, voucher paid, and why."""
    table = Table(title=t("model_title", lang))
    for col in ("contract", "period", "completed", "programme", "rate", "cap_left", "deduction"):
        table.add_column(t(col, lang))
    table.add_column(t("why", lang))
    for r in rows:
        table.add_row(
            f"{r.contract_id}\n{r.vendor} · {r.model} ({r.kind})",
            r.period,
            r.completed,
            r.programme or "-",
            _pct(r.rate),
            r.cap_left or "-",
            r.deduction,
            "\n".join(r.explanation),
        )
    out.print(table)


def _pct(rate: str | None) -> str:
    if rate is None:
        return "-"
    text = f"{float(rate) * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


voucher_app = typer.Typer(
    name="voucher", help="Voucher programmes and quotes.", no_args_is_help=True
)


@voucher_app.command("quote")
def voucher_quote(
    tctx: typer.Context,
    amount: Annotated[
        str, typer.Option(help="the bill line's gross amount in yuan, e.g. 1000.00")
    ],
    domestic: Annotated[
        bool,
        typer.Option("--domestic/--foreign", help="domestic or non-domestic accelerators"),
    ] = True,
    tenant: Annotated[
        str | None, typer.Option(help="check this tenant's eligibility and caps")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What a compute bill line would net, with the explanation of every programme."""
    _, lang = _ctx(tctx)
    check_amount(lang, amount)
    data = _ask(tctx, lambda c: c.quote(amount, domestic, tenant))
    if as_json:
        _print_json(data.model_dump(mode="json"))
        return
    _print_deduction(data, lang)


def _print_deduction(d: DeductionResponse, lang: Lang) -> None:
    out.print(t("quote", lang, gross=d.gross, deduction=d.deduction, net=d.net))
    for line in d.explanation:
        out.print(f"  • {line}", markup=False)


@voucher_app.command("policies")
def voucher_policies(tctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The voucher programmes in force: rates, pools, caps, validity, eligibility."""
    _, lang = _ctx(tctx)
    data = _ask(tctx, lambda c: c.voucher_policies())
    if as_json:
        _print_json([p.model_dump(mode="json") for p in data])
        return
    _print_policies(data, lang)


def _print_policies(data: list[VoucherPolicyResponse], lang: Lang) -> None:
    table = Table(title=t("policies_title", lang))
    for col in ("programme", "kind", "pool", "rates", "cap", "valid"):
        table.add_column(t(col, lang))
    for p in data:
        table.add_row(
            f"{p.programme} v{p.version}\n{p.title}",
            p.kind,
            p.annual_pool or "-",
            f"{_pct(p.rate_domestic)} / {_pct(p.rate_non_domestic)}",
            p.tenant_cap or "-",
            f"{p.valid_from} … {p.valid_to}",
        )
    out.print(table)


@voucher_app.command("show")
def voucher_show(
    tctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="the tenant")],
    as_json: JsonOpt = False,
) -> None:
    """A tenant under every programme: eligibility (or the failing rule), cap, pool left."""
    _, lang = _ctx(tctx)
    data = _ask(tctx, lambda c: c.voucher_standing(tenant))
    if as_json:
        _print_json(data.model_dump(mode="json"))
        return
    table = Table(
        title=t("standing_title", lang, tenant=data.tenant, name=data.display_name, on=data.on)
    )
    year = data.on.year
    for col in ("programme", "eligible", "claim", "cap", "used", "cap_left"):
        table.add_column(t(col, lang))
    table.add_column(t("pool_left", lang, year=year))
    for x in data.programmes:
        if x.claimed_at is not None:
            claim = f"{x.claimed_at:%Y-%m-%d %H:%M}"
        else:
            claim = t("claim_needed" if x.claim_required else "claim_free", lang)
        table.add_row(
            f"{x.programme} v{x.version}",
            t("yes", lang) if x.eligible else f"{t('no', lang)}: {x.why_not}",
            claim,
            f"{x.tenant_cap or '-'} ({x.cap_period})",
            x.used,
            x.cap_left or "-",
            x.pool_left or "-",
        )
    out.print(table)


@voucher_app.command("issue")
def voucher_issue(
    tctx: typer.Context,
    tenant: Annotated[str, typer.Option(help="the tenant that claimed the voucher")],
    programme: Annotated[str, typer.Option(help="the programme claimed")],
    as_json: JsonOpt = False,
) -> None:
    """Record a tenant's claim (申领) of a programme; repeating it changes nothing."""
    _, lang = _ctx(tctx)
    data = _ask(tctx, lambda c: c.claim_voucher(tenant, programme))
    if as_json:
        _print_json(data.model_dump(mode="json"))
        return
    at = f"{data.claimed_at:%Y-%m-%d %H:%M:%S %Z}"
    key = "claimed" if data.new else "claimed_before"
    out.print(t(key, lang, tenant=data.tenant, programme=data.programme, at=at))
    if not data.claim_required:
        out.print(t("claim_note", lang, programme=data.programme))


ledger_app = typer.Typer(name="ledger", help="The double-entry ledger.", no_args_is_help=True)


@ledger_app.command("verify")
def ledger_verify(tctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Prove every balance equals the sum of its postings and no key was applied twice."""
    _, lang = _ctx(tctx)
    data = _ask(tctx, lambda c: c.verify_ledger())
    if as_json:
        _print_json(data.model_dump(mode="json"))
    elif data.ok:
        out.print(
            t(
                "ledger_ok",
                lang,
                entries=data.entries,
                postings=data.postings,
                accounts=data.accounts,
            )
        )
    else:
        err.print(t("ledger_bad", lang))
        for problem in data.problems:
            err.print(f"  {problem}", markup=False)
    if not data.ok:
        raise typer.Exit(EXIT_FAILURE)


def report(
    tctx: typer.Context,
    format: Annotated[str, typer.Option(help="table, json or csv")] = "table",
    as_json: JsonOpt = False,
) -> None:
    """Operator report: voucher spend by programme, month and tenant; compute by region."""
    _, lang = _ctx(tctx)
    if format not in ("table", "json", "csv"):
        error(
            lang,
            render(
                "cli.bad_option", lang, option="--format", value=format, allowed="table, json, csv"
            ),
        )
    if as_json:
        format = "json"
    if format == "csv":
        sys.stdout.write(_ask(tctx, lambda c: c.voucher_report_csv()))
        return
    data = _ask(tctx, lambda c: c.voucher_report())
    if format == "json":
        _print_json(data.model_dump(mode="json"))
        return
    spend = Table(title=t("spend_title", lang))
    for col in ("programme", "month", "tenant", "lines", "hours", "gross", "deduction"):
        spend.add_column(t(col, lang))
    for v in data.voucher_spend:
        spend.add_row(
            v.programme,
            v.month,
            v.tenant,
            str(v.lines),
            v.accelerator_hours,
            v.gross,
            v.deduction,
        )
    out.print(spend)
    regions = Table(title=t("compute_title", lang))
    for col in ("region", "domestic", "non_domestic"):
        regions.add_column(t(col, lang))
    for r in data.by_region:
        regions.add_row(
            r.region,
            f"{r.domestic.accelerator_hours} h · ¥{r.domestic.gross}",
            f"{r.non_domestic.accelerator_hours} h · ¥{r.non_domestic.gross}",
        )
    out.print(regions)
    c = data.compute
    out.print(t("share", lang, hours=c.domestic_share_hours, yuan=c.domestic_share_yuan))
