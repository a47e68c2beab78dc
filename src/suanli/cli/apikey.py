"""`suanli apikey create | list | revoke`: keys for calling model services through the gateway."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from suanli.cli.context import JsonOpt, out
from suanli.cli.context import ask as _ask
from suanli.cli.context import print_json as _print_json
from suanli.cli.context import server_lang as _ctx
from suanli.domain.i18n import render

apikey_app = typer.Typer(
    name="apikey",
    help="API keys for model services (/v1, /services): create, list, revoke.",
    no_args_is_help=True,
)


@apikey_app.command("create")
def apikey_create(
    tctx: typer.Context,
    name: Annotated[str, typer.Argument(help="what the key is for")],
    service: Annotated[
        list[str] | None,
        typer.Option(
            "--service",
            "-s",
            help="a service it may call: name (yours) or owner/name; repeat; default all",
        ),
    ] = None,
    rate: Annotated[
        float | None, typer.Option(min=0.001, max=10_000, help="requests per second")
    ] = None,
    burst: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="requests at once (default 2 s of rate)")
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(min=1, max=3650, help="valid for this many days (default: no expiry)"),
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="the operator: for this tenant")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a key; the whole key is printed once and stored only as a hash."""
    _, lang = _ctx(tctx)
    given = {"rate_per_s": rate, "burst": burst, "days": days, "tenant": tenant}
    body: dict[str, Any] = {"name": name, "services": service or []}
    body.update({k: v for k, v in given.items() if v is not None})
    issued = _ask(tctx, lambda c: c.create_apikey(body))
    if as_json:
        _print_json(issued.model_dump(mode="json"))
        return
    info = issued.info
    scope = ", ".join(info.services) or "*"
    out.print(f"{info.id}  {info.tenant}  {info.name}  [{scope}]")
    out.print(render("apikey.shown_once", lang))
    print(issued.key)


@apikey_app.command("list")
def apikey_list(
    tctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="the operator: only this tenant's")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Keys you may see, newest first (never their secrets)."""
    _, lang = _ctx(tctx)
    rows = _ask(tctx, lambda c: c.apikeys(tenant))
    if as_json:
        _print_json([r.model_dump(mode="json") for r in rows])
        return
    if not rows:
        out.print(render("apikey.none", lang))
        return
    table = Table()
    for col in (
        "id",
        "tenant",
        "name",
        "services",
        "rate/s",
        "burst",
        "created",
        "expires",
        "revoked",
    ):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.id,
            r.tenant,
            r.name,
            ", ".join(r.services) or "*",
            f"{r.rate_per_s:g}" if r.rate_per_s is not None else "-",
            str(r.burst) if r.burst is not None else "-",
            str(r.created_at.date()),
            str(r.expires_at.date()) if r.expires_at else "-",
            str(r.revoked_at) if r.revoked_at else "-",
        )
    out.print(table)


@apikey_app.command("revoke")
def apikey_revoke(
    tctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="the key's id (not the key)")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key for good: every gateway process refuses it within 2 s."""
    _, lang = _ctx(tctx)
    revoked = _ask(tctx, lambda c: c.revoke_apikey(key_id))
    if as_json:
        _print_json(revoked.model_dump(mode="json"))
        return
    out.print(render("apikey.revoked", lang, key_id=revoked.id))
