"""`suanli bill | voucher | ledger | report`: invoices, voucher quotes, the ledger, reports."""

from __future__ import annotations

import re
import sys
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from suanli.cli.context import EXIT_FAILURE, JsonOpt, err, error, out
from suanli.cli.context import ask as _ask
from suanli.cli.context import print_json as _print_json
from suanli.cli.context import server_lang as _ctx
from suanli.cli.tables import fitted
from suanli.cli.text import LabelTable
from suanli.domain.i18n import Lang, render

if TYPE_CHECKING:
    from suanli.schemas.api import (
        BillResponse,
        ConsiderationResponse,
        DeductionResponse,
        ModelRedemptionResponse,
    )
    from suanli.schemas.api_contracts import ProgrammeClaimResponse

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
    "claims_title": {"en": "Voucher claims", "zh": "补贴券申领"},
    "claim_id": {"en": "Claim", "zh": "申领"},
    "approved": {"en": "Approved", "zh": "核准额度"},
    "until": {"en": "Redeemable until", "zh": "兑付截止"},
    "status": {"en": "Status", "zh": "状态"},
    "eligibility": {"en": "Eligibility", "zh": "申领条件"},
    "combines": {"en": "Combines", "zh": "叠加规则"},
    "anyone": {"en": "any company", "zh": "不限"},
    "of_charge": {"en": "of what is bought", "zh": "针对所购内容"},
    "claim_needed_short": {"en": "claim first (申领)", "zh": "须先申领"},
    "exclusive": {"en": "best one, never two (从优不重复)", "zh": "从优不重复"},
    "stacks": {
        "en": "stacks: issuer {issuer}, order {order}, sum ≤ {cap}",
        "zh": "可叠加：发放方 {issuer}，顺序 {order}，合计 ≤ {cap}",
    },
    "applied_step": {
        "en": "  {order}. {programme} ({issuer}): {rate} → {amount}",
        "zh": "  {order}. {programme}（{issuer}）：{rate} → {amount}",
    },
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
    """Every column from 140 cells wide; narrower, the line, where it ran (under it), the
    amounts and why, which folds: ids and pool names stay whole (suanli.cli.tables)."""
    wide = out.width >= WIDE_BILL
    cols = ["line", "where", "hours", "gross", "programme", "rate", "cap_left"] if wide else []
    cols = (cols or ["line", "gross"]) + ["deduction", "net", "why"]
    rows = []
    for x in data.lines:
        where = f"{x.cluster}/{x.pool} ({x.accelerator} × {x.accelerators})"
        cells = {
            "line": x.key if wide else f"{x.key}\n{where}",
            "where": where,
            "hours": x.accelerator_hours,
            "gross": money(x.gross),
            "programme": " → ".join(a.programme for a in x.applied) or x.programme or "-",
            "rate": " + ".join(_pct(a.rate) for a in x.applied) or _pct(x.rate),
            "cap_left": money(x.cap_left),
            "deduction": money(x.deduction),
            "net": money(x.net),
            "why": _reasons(x.explanation, x.considered),
        }
        rows.append([cells[c] for c in cols])
    tot = data.totals
    totals = {
        "line": f"[bold]{t('total', lang, lines=tot.lines)}[/bold]",
        "gross": money(tot.gross),
    }
    totals |= {"deduction": money(tot.deduction), "net": f"[bold]{money(tot.net)}[/bold]"}
    rows.append([totals.get(c, "") for c in cols])
    title = t("bill_title", lang, tenant=data.tenant, name=data.display_name, month=data.month)
    caption = None if data.lines else t("no_lines", lang, month=data.month)
    headers = [t(c, lang) for c in cols]
    squeeze = (1,) if wide else ()  # where it ran; narrow, it is under the line's key
    table = fitted(title, headers, rows, out.width, len(cols) - 1, squeeze, caption=caption)
    for column, name in zip(table.columns, cols, strict=True):
        if name in ("hours", "gross", "deduction", "net"):
            column.justify = "right"
    out.print(table)
    if data.model_vouchers:
        print_redemptions(data.model_vouchers, lang)
        out.print(t("model_total", lang, amount=money(data.totals.model_voucher)))


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
            money(r.completed),
            " → ".join(a.programme for a in r.applied) or r.programme or "-",
            _pct(r.rate),
            money(r.cap_left),
            money(r.deduction),
            _reasons(r.explanation, r.considered),
        )
    out.print(table)


def money(amount: str | None) -> str:
    """A wire amount ("1234567.50") as the reader reads it: ¥1,234,567.50; None as "-"."""
    if amount is None:
        return "-"
    try:
        return f"¥{Decimal(amount):,.2f}"
    except InvalidOperation:
        return amount


def _reasons(explanation: list[str], considered: list[ConsiderationResponse]) -> str:
    """What applied in which order, then why each other programme did not, leaving out the
    programmes that do not cover this kind of charge at all (``--json`` has every one)."""
    skip = {c.why for c in considered if c.outcome == "wrong_kind"}
    return "\n".join(line for line in explanation if line not in skip)


def _pct(rate: str | None) -> str:
    if rate is None:
        return "-"
    text = f"{float(rate) * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


WIDE_BILL = 140  # cells: every column of a bill fits from here

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
    out.print(
        t("quote", lang, gross=money(d.gross), deduction=money(d.deduction), net=money(d.net)),
        markup=False,
    )
    for a in d.applied:
        out.print(
            t(
                "applied_step",
                lang,
                order=a.order,
                programme=a.programme,
                issuer=a.issuer,
                rate=_pct(a.rate),
                amount=money(a.deduction),
            ),
            markup=False,
        )
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
    from suanli.cli.policies import print_policies

    print_policies(data, lang)


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
            f"{money(x.tenant_cap)} ({x.cap_period})",
            money(x.used),
            money(x.cap_left),
            money(x.pool_left),
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


@voucher_app.command("claim")
def voucher_claim(
    tctx: typer.Context,
    tenant: Annotated[str, typer.Option(help="the company that claims")],
    programme: Annotated[str, typer.Option(help="a programme with a claim step")],
    contract: Annotated[str, typer.Option(help="the contract number claimed against")],
    amount: Annotated[str, typer.Option(help="the contract amount in yuan, e.g. 1000000.00")],
    starts: Annotated[str, typer.Option(help="the contract's first day, YYYY-MM-DD")],
    ends: Annotated[str, typer.Option(help="the contract's last day, YYYY-MM-DD")],
    evidence: Annotated[
        list[str] | None,
        typer.Option(help="evidence filed: contract, invoice, delivery_proof (repeat)"),
    ] = None,
    signed: Annotated[str | None, typer.Option(help="signing date (default: starts)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """File a claim (申领) of a programme against a contract; it pays once approved."""
    _, lang = _ctx(tctx)
    body: dict[str, Any] = {
        "tenant": tenant,
        "programme": programme,
        "contract": contract,
        "amount": amount,
        "starts": starts,
        "ends": ends,
        "evidence": evidence or ["contract"],
    }
    if signed is not None:
        body["signed"] = signed
    data = _ask(tctx, lambda c: c.file_claim(body))
    _print_claims([data], lang, as_json)


@voucher_app.command("claims")
def voucher_claims(
    tctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="only this tenant's claims")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Claims of programmes with a claim step: status, approved amount, expiry."""
    _, lang = _ctx(tctx)
    _print_claims(_ask(tctx, lambda c: c.programme_claims(tenant)), lang, as_json)


@voucher_app.command("approve")
def voucher_approve(
    tctx: typer.Context,
    claim: Annotated[str, typer.Argument(help="the claim id (cl-...)")],
    reject: Annotated[bool, typer.Option("--reject", help="reject instead")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Approve a pending claim within its programme's rules (or --reject it); once only."""
    _, lang = _ctx(tctx)
    data = _ask(tctx, lambda c: c.decide_claim(claim, not reject))
    _print_claims([data], lang, as_json)


def _print_claims(rows: list[ProgrammeClaimResponse], lang: Lang, as_json: bool) -> None:
    if as_json:
        _print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table(title=t("claims_title", lang))
    for col in ("claim_id", "tenant", "programme", "contract", "status", "approved", "until"):
        table.add_column(t(col, lang))
    for r in rows:
        table.add_row(
            r.claim_id,
            r.tenant,
            r.programme,
            f"{r.contract} · {money(r.contract_amount)}\n{r.starts} … {r.ends}",
            r.status_text,
            money(r.approved_amount),
            str(r.expires_on or "-"),
        )
    out.print(table)


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
            money(v.gross),
            money(v.deduction),
        )
    out.print(spend)
    regions = Table(title=t("compute_title", lang))
    for col in ("region", "domestic", "non_domestic"):
        regions.add_column(t(col, lang))
    for r in data.by_region:
        regions.add_row(
            r.region,
            f"{r.domestic.accelerator_hours} h · {money(r.domestic.gross)}",
            f"{r.non_domestic.accelerator_hours} h · {money(r.non_domestic.gross)}",
        )
    out.print(regions)
    c = data.compute
    out.print(t("share", lang, hours=c.domestic_share_hours, yuan=c.domestic_share_yuan))
