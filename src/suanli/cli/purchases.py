"""`suanli purchase add | list | subsidise`: providers' domestic server purchases (§2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from suanli.cli.billing import _pct, t
from suanli.cli.context import JsonOpt, out
from suanli.cli.context import ask as _ask
from suanli.cli.context import print_json as _print_json
from suanli.cli.context import server_lang as _ctx
from suanli.cli.text import LabelTable
from suanli.domain.i18n import Lang

if TYPE_CHECKING:
    from suanli.schemas.api_contracts import PurchaseResponse, SubsidyResponse

purchase_app = typer.Typer(
    name="purchase",
    help="Providers' purchases of domestic AI-chip servers: record and subsidise.",
    no_args_is_help=True,
)

LABELS: dict[str, dict[Lang, str]] = {
    "recorded": {
        "en": "recorded {id}: {provider} · project {project} · {servers} × {accelerator}"
        " servers · {amount} · {listed}",
        "zh": "已记录 {id}：{provider} · 项目 {project} · {servers} 台 {accelerator} 服务器"
        " · {amount} · {listed}",
    },
    "listed_on": {"en": "listed on {cluster}", "zh": "已在 {cluster} 上架"},
    "not_listed": {"en": "not listed on the platform", "zh": "未在平台上架"},
    "list_title": {"en": "Server purchases", "zh": "服务器采购"},
    "subsidy_title": {"en": "Provider subsidy", "zh": "算力服务商补贴"},
    "purchase": {"en": "Purchase", "zh": "采购"},
    "provider": {"en": "Provider", "zh": "服务商"},
    "project": {"en": "Project", "zh": "项目"},
    "servers": {"en": "Servers", "zh": "服务器"},
    "amount": {"en": "Amount", "zh": "金额"},
    "listed": {"en": "Listed on", "zh": "上架集群"},
    "subsidy": {"en": "Subsidy", "zh": "补贴"},
    "project_cap_left": {"en": "Project cap left", "zh": "项目剩余上限"},
    "evidence": {"en": "Evidence", "zh": "证明材料"},
    "earned": {
        "en": "Purchase {gross} → subsidy {deduction}",
        "zh": "采购金额 {gross} → 补贴 {deduction}",
    },
}


_t = LabelTable(LABELS, fallback=t)


@purchase_app.command("add")
def purchase_add(
    tctx: typer.Context,
    provider: Annotated[str, typer.Option(help="the provider (of the fleet) that bought them")],
    project: Annotated[str, typer.Option(help="the project (the subsidy is capped per project)")],
    accelerator: Annotated[
        str, typer.Option(help="a domestic accelerator model, e.g. Ascend910B")
    ],
    servers: Annotated[int, typer.Option(help="how many servers")],
    amount: Annotated[
        str, typer.Option(help="yuan: the domestic AI-chip server part of the contract")
    ],
    evidence: Annotated[str, typer.Option(help="contract number / document")],
    listed_cluster: Annotated[
        str | None, typer.Option(help="the provider's cluster the servers are listed on")
    ] = None,
    signed: Annotated[str | None, typer.Option(help="contract date YYYY-MM-DD")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a purchase of domestic AI-chip servers; list them with --listed-cluster."""
    _, lang = _ctx(tctx)
    body: dict[str, Any] = {
        "provider": provider,
        "project": project,
        "accelerator": accelerator,
        "servers": servers,
        "amount": amount,
        "evidence": evidence,
    }
    if listed_cluster is not None:
        body["listed_cluster"] = listed_cluster
    if signed is not None:
        body["signed"] = signed
    x = _ask(tctx, lambda cl: cl.add_purchase(body))
    if as_json:
        _print_json(x.model_dump(mode="json"))
        return
    listed = (
        _t("listed_on", lang, cluster=x.listed_cluster)
        if x.listed_cluster
        else _t("not_listed", lang)
    )
    out.print(
        _t(
            "recorded",
            lang,
            id=x.purchase_id,
            provider=x.provider,
            project=x.project,
            servers=x.servers,
            accelerator=x.accelerator,
            amount=f"¥{x.amount}",
            listed=listed,
        ),
        markup=False,
    )


@purchase_app.command("list")
def purchase_list(
    tctx: typer.Context,
    provider: Annotated[str | None, typer.Option(help="only this provider's purchases")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recorded server purchases and the subsidy each earned."""
    _, lang = _ctx(tctx)
    data = _ask(tctx, lambda cl: cl.purchases(provider))
    if as_json:
        _print_json([x.model_dump(mode="json") for x in data])
        return
    _print_purchases(data, lang)


def _print_purchases(data: list[PurchaseResponse], lang: Lang) -> None:
    table = Table(title=_t("list_title", lang))
    for col in ("purchase", "provider", "project", "servers", "amount", "listed", "subsidy"):
        table.add_column(_t(col, lang))
    table.add_column(_t("evidence", lang))
    for x in data:
        table.add_row(
            x.purchase_id,
            x.provider,
            x.project,
            f"{x.servers} × {x.accelerator}",
            x.amount,
            x.listed_cluster or "-",
            x.subsidy if x.subsidised else "-",
            x.evidence,
        )
    out.print(table)


@purchase_app.command("subsidise")
def purchase_subsidise(
    tctx: typer.Context,
    purchase: Annotated[str, typer.Argument(help="the purchase id (sp-...)")],
    as_json: JsonOpt = False,
) -> None:
    """The provider subsidy: ≤ 10 % of the amount, ≤ 10,000,000 per project; once."""
    _, lang = _ctx(tctx)
    s = _ask(tctx, lambda cl: cl.subsidise(purchase))
    if as_json:
        _print_json(s.model_dump(mode="json"))
        return
    _print_subsidy(s, lang)


def _print_subsidy(s: SubsidyResponse, lang: Lang) -> None:
    table = Table(title=_t("subsidy_title", lang))
    for col in ("purchase", "project", "gross", "programme", "rate", "project_cap_left"):
        table.add_column(_t(col, lang))
    table.add_column(_t("subsidy", lang))
    table.add_column(_t("why", lang))
    table.add_row(
        f"{s.purchase_id}\n{s.provider}",
        s.project,
        s.gross,
        s.programme or "-",
        _pct(s.rate),
        s.project_cap_left or "-",
        s.deduction,
        "\n".join(s.explanation),
    )
    out.print(table)
    out.print(_t("earned", lang, gross=s.gross, deduction=s.deduction), markup=False)
