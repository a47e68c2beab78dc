"""`suanli usage` (model usage): model-service tokens and what they cost (or earned), with model vouchers."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from suanli.cli.billing import check_month
from suanli.cli.context import JsonOpt, error, out
from suanli.cli.context import ask as _ask
from suanli.cli.context import print_json as _print_json
from suanli.cli.context import server_lang as _ctx
from suanli.cli.text import LabelTable
from suanli.domain.i18n import Lang

if TYPE_CHECKING:
    from suanli.schemas.usage import UsageResponse

LABELS: dict[str, dict[Lang, str]] = {
    "title_caller": {
        "en": "Model-service usage · {tenant} as caller · {month}",
        "zh": "模型服务用量 · {tenant}（调用方）· {month}",
    },
    "title_publisher": {
        "en": "Model-service usage · {tenant} as publisher · {month}",
        "zh": "模型服务用量 · {tenant}（发布方）· {month}",
    },
    "everyone": {"en": "every tenant", "zh": "全部租户"},
    "period": {"en": "Period", "zh": "时段"},
    "caller": {"en": "Caller", "zh": "调用方"},
    "key": {"en": "API key", "zh": "API 密钥"},
    "service": {"en": "Service", "zh": "服务"},
    "requests": {"en": "Requests", "zh": "请求数"},
    "prompt": {"en": "Input tokens", "zh": "输入 tokens"},
    "completion": {"en": "Output tokens", "zh": "输出 tokens"},
    "cost": {"en": "Cost (exact)", "zh": "费用（精确）"},
    "charges": {"en": "Token charges", "zh": "Token 计费"},
    "gross": {"en": "Gross", "zh": "应付"},
    "voucher": {"en": "Model voucher", "zh": "模型券抵扣"},
    "net": {"en": "Net", "zh": "实付"},
    "programme": {"en": "Programme", "zh": "政策"},
    "no_usage": {"en": "no model-service usage in {month}", "zh": "{month} 没有模型服务用量"},
    "total_caller": {
        "en": "{requests} requests, {prompt} + {completion} tokens · gross {gross}, model voucher {voucher}, net {net}",
        "zh": "{requests} 次请求，{prompt} + {completion} tokens · 应付 {gross}，模型券抵扣 {voucher}，实付 {net}",
    },
    "total_publisher": {
        "en": "{requests} requests, {prompt} + {completion} tokens · earned {gross}, platform fee {fee}, credited {credited}",
        "zh": "{requests} 次请求，{prompt} + {completion} tokens · 收入 {gross}，平台服务费 {fee}，入账 {credited}",
    },
    "bad_name": {
        "en": "{field} {value!r} is not allowed: 1-128 of A-Z a-z 0-9 . _ : -",
        "zh": "{field} {value!r} 不被允许：1-128 个 A-Z a-z 0-9 . _ : - 字符",
    },
}
t = LabelTable(LABELS)


def usage(
    tctx: typer.Context,
    service: Annotated[str | None, typer.Option(help="a service's name or id")] = None,
    key: Annotated[str | None, typer.Option(help="an API key's id")] = None,
    month: Annotated[
        str | None, typer.Option(help="YYYY-MM, China time (default: this month)")
    ] = None,
    tenant: Annotated[
        str | None, typer.Option(help="the tenant (default: yours; operators: every tenant)")
    ] = None,
    publisher: Annotated[
        bool, typer.Option("--publisher", help="calls to your own services, and earnings")
    ] = False,
    by: Annotated[str, typer.Option(help="minute | hour | day | month")] = "day",
    as_json: JsonOpt = False,
) -> None:
    """Model-service tokens per period, caller, key and service; charges and 模型券."""
    _, lang = _ctx(tctx)
    check_month(lang, month)
    for field, value in (("--service", service), ("--key", key)):
        if value is not None and not re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", value):
            error(lang, t("bad_name", lang, field=field, value=value))
    if by not in ("minute", "hour", "day", "month"):
        error(lang, t("bad_name", lang, field="--by", value=by))
    side = "publisher" if publisher else "caller"
    data = _ask(
        tctx,
        lambda c: c.usage(tenant=tenant, side=side, month=month, service=service, key=key, by=by),
    )
    if as_json:
        _print_json(data.model_dump(mode="json"))
        return
    print_usage(data, lang)


def print_usage(data: UsageResponse, lang: Lang) -> None:
    who = data.tenant or t("everyone", lang)
    title = t(f"title_{data.side}", lang, tenant=who, month=data.month)
    if not data.rows:
        out.print(title)
        out.print(t("no_usage", lang, month=data.month))
        return
    table = Table(title=title)
    for col in ("period", "caller", "key", "service"):
        table.add_column(t(col, lang))
    for col in ("requests", "prompt", "completion", "cost"):
        table.add_column(t(col, lang), justify="right")
    for r in data.rows:
        table.add_row(
            r.period,
            r.caller,
            r.api_key_id or "-",
            r.service_name,
            str(r.requests),
            str(r.prompt_tokens),
            str(r.completion_tokens),
            str(r.cost),
        )
    out.print(table)
    if data.charges:
        charges = Table(title=t("charges", lang))
        charges.add_column(t("service", lang))
        charges.add_column(t("caller", lang))
        for col in ("requests", "gross", "voucher", "net"):
            charges.add_column(t(col, lang), justify="right")
        charges.add_column(t("programme", lang))
        for c in data.charges:
            charges.add_row(
                c.service_name,
                c.caller,
                str(c.requests),
                str(c.gross),
                str(c.voucher),
                str(c.net),
                c.programme or "-",
            )
        out.print(charges)
    totals = {
        "requests": data.requests,
        "prompt": data.prompt_tokens,
        "completion": data.completion_tokens,
        "gross": data.gross,
        "voucher": data.voucher,
        "net": data.net,
        "fee": data.fee,
        "credited": data.gross - data.fee,
    }
    out.print(t(f"total_{data.side}", lang, **totals))
