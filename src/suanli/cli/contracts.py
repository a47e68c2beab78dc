"""`suanli contract add | list | redeem`: model contracts and their 模型券 per period."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from suanli.cli.billing import money, print_redemptions, t
from suanli.cli.context import JsonOpt, out
from suanli.cli.context import ask as _ask
from suanli.cli.context import print_json as _print_json
from suanli.cli.context import server_lang as _ctx
from suanli.cli.text import LabelTable
from suanli.domain.i18n import Lang

if TYPE_CHECKING:
    from suanli.schemas.api_contracts import ContractResponse

KINDS = "private_deployment | cloud_deployment | api_calls | all_in_one"

contract_app = typer.Typer(
    name="contract", help="Model contracts (模型券): record and redeem.", no_args_is_help=True
)

LABELS: dict[str, dict[Lang, str]] = {
    "recorded": {
        "en": "recorded {id}: {tenant} · {vendor} {model} ({kind}) · {amount} signed {signed}",
        "zh": "已记录 {id}：{tenant} · {vendor} {model}（{kind}）· {amount}，签订于 {signed}",
    },
    "list_title": {"en": "Model contracts", "zh": "模型合同"},
    "left": {"en": "Left to complete", "zh": "未完成"},
    "voucher": {"en": "Model voucher", "zh": "模型券"},
    "evidence": {"en": "Evidence", "zh": "证明材料"},
}


_t = LabelTable(LABELS, fallback=t)


@contract_app.command("add")
def contract_add(
    tctx: typer.Context,
    tenant: Annotated[str, typer.Option(help="the company that bought the model")],
    vendor: Annotated[str, typer.Option(help="the model's vendor")],
    model: Annotated[str, typer.Option(help="the base model bought")],
    kind: Annotated[str, typer.Option(help=KINDS)],
    amount: Annotated[str, typer.Option(help="the contract amount in yuan, e.g. 2000000.00")],
    evidence: Annotated[
        str, typer.Option(help="contract number / document, and the proof the model is domestic")
    ],
    domestic: Annotated[
        bool,
        typer.Option(
            "--domestic/--not-domestic",
            help="a domestic (技术自主可控) base model: the only kind the 模型券 covers",
        ),
    ] = False,
    signed: Annotated[str | None, typer.Option(help="signing date YYYY-MM-DD")] = None,
    fact: Annotated[
        list[str] | None,
        typer.Option(
            help="a fact of the model programmes ask about, KEY=VALUE (repeat), "
            "e.g. model_registered=true (网信办备案) or third_party_model=true"
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a model contract; with the shipped programmes only domestic base models
    qualify (pass --domestic)."""
    _, lang = _ctx(tctx)
    body: dict[str, Any] = {
        "tenant": tenant,
        "vendor": vendor,
        "model": model,
        "kind": kind,
        "domestic": domestic,
        "amount": amount,
        "evidence": evidence,
    }
    if signed is not None:
        body["signed"] = signed
    if fact:
        body["facts"] = dict(_fact(f) for f in fact)
    c = _ask(tctx, lambda cl: cl.add_contract(body))
    if as_json:
        _print_json(c.model_dump(mode="json"))
        return
    out.print(
        _t(
            "recorded",
            lang,
            id=c.contract_id,
            tenant=c.tenant,
            vendor=c.vendor,
            model=c.model,
            kind=c.kind,
            amount=money(c.amount),
            signed=c.signed,
        ),
        markup=False,
    )


def _fact(text: str) -> tuple[str, str | bool]:
    """``KEY=VALUE``; true / false are booleans (the server checks the key and value)."""
    key, _, value = text.partition("=")
    return key.strip(), {"true": True, "false": False}.get(value.strip().lower(), value.strip())


@contract_app.command("list")
def contract_list(
    tctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="only this tenant's contracts")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recorded model contracts: amount, completed so far, 模型券 received."""
    _, lang = _ctx(tctx)
    data = _ask(tctx, lambda cl: cl.contracts(tenant))
    if as_json:
        _print_json([c.model_dump(mode="json") for c in data])
        return
    _print_contracts(data, lang)


def _print_contracts(data: list[ContractResponse], lang: Lang) -> None:
    table = Table(title=_t("list_title", lang))
    for col in ("contract", "tenant", "kind", "gross", "completed", "left", "voucher", "evidence"):
        table.add_column(_t(col, lang))
    for c in data:
        table.add_row(
            f"{c.contract_id}\n{c.vendor} · {c.model}",
            c.tenant,
            c.kind,
            money(c.amount),
            money(c.completed),
            money(c.left),
            money(c.model_voucher),
            c.evidence,
        )
    out.print(table)


@contract_app.command("redeem")
def contract_redeem(
    tctx: typer.Context,
    contract: Annotated[str, typer.Argument(help="the contract id (mc-...)")],
    period: Annotated[str, typer.Option(help="YYYY-MM, the period redeemed")],
    completed: Annotated[
        str, typer.Option(help="yuan completed (paid and delivered) in that period")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Redeem one period: 50 % of what was completed, ≤ the company cap, 从优不重复."""
    _, lang = _ctx(tctx)
    r = _ask(tctx, lambda cl: cl.redeem(contract, period, completed))
    if as_json:
        _print_json(r.model_dump(mode="json"))
        return
    print_redemptions([r], lang)
    out.print(
        t("quote", lang, gross=money(r.gross), deduction=money(r.deduction), net=money(r.net)),
        markup=False,
    )
