"""`suanli login | whoami | token | user | org | audit`: who may do what, and who did what."""

from __future__ import annotations

from typing import Annotated

import typer

from suanli.cli.context import JsonOpt, ctx_of, fail, out
from suanli.cli.context import ask as _ask
from suanli.cli.context import print_json as _print_json
from suanli.cli.context import server_lang as _ctx
from suanli.cli.tables import fitted
from suanli.cli.text import LabelTable
from suanli.domain.i18n import Lang

LABELS: dict[str, dict[Lang, str]] = {
    "logged_in": {
        "en": "logged in to {server} as {user} ({role}, {organisation}); token saved in {path}",
        "zh": "已登录 {server}：{user}（{role}，{organisation}）；令牌保存在 {path}",
    },
    "whoami": {
        "en": "{user} ({role}, {organisation}); token {token_id}, scopes {scopes}",
        "zh": "{user}（{role}，{organisation}）；令牌 {token_id}，权限范围 {scopes}",
    },
    "token_created": {
        "en": "token {id} for {user} (scopes {scopes}, expires {expires}); shown once:",
        "zh": "已为 {user} 创建令牌 {id}（权限范围 {scopes}，{expires} 过期）；仅显示一次：",
    },
    "token_revoked": {"en": "token {id} revoked", "zh": "令牌 {id} 已吊销"},
    "added": {"en": "added {what} {name}", "zh": "已添加{what} {name}"},
    "token_prompt": {"en": "API token", "zh": "API 令牌"},
    # column heads
    "id": {"en": "Token", "zh": "令牌"},
    "user": {"en": "User", "zh": "用户"},
    "scopes": {"en": "Scopes", "zh": "权限范围"},
    "created": {"en": "Created", "zh": "创建日期"},
    "expires": {"en": "Expires", "zh": "过期日期"},
    "revoked": {"en": "Revoked", "zh": "吊销时间"},
    "description": {"en": "Description", "zh": "说明"},
    "organisation": {"en": "Organisation", "zh": "组织"},
    "role": {"en": "Role", "zh": "角色"},
    "kind": {"en": "Kind", "zh": "类型"},
    "at": {"en": "Time", "zh": "时间"},
    "actor": {"en": "Actor", "zh": "操作者"},
    "action": {"en": "Action", "zh": "操作"},
    "target": {"en": "Target", "zh": "对象"},
    "status": {"en": "Status", "zh": "状态码"},
    "from": {"en": "From", "zh": "来源"},
}
WIDE_AUDIT = 120  # cells: the audit log's every column fits from here


_t = LabelTable(LABELS)


def login(
    tctx: typer.Context,
    token: Annotated[
        str | None, typer.Option(help="the API token (asked for when left out)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check an API token against the server and save it for this server (file mode 0600)."""
    from suanli.client.credentials import save_token
    from suanli.client.http import ApiError, ServerUnreachable

    ctx = ctx_of(tctx)
    server, lang = ctx.server, ctx.lang
    text = token or typer.prompt(_t("token_prompt", lang), hide_input=True)
    try:
        with ctx.client(token=text.strip()) as client:
            me = client.whoami()
    except (ApiError, ServerUnreachable) as exc:
        fail(lang, exc)
    path = save_token(server, text.strip())
    if as_json:
        _print_json({**me.model_dump(mode="json"), "server": server, "token_file": str(path)})
        return
    out.print(
        _t(
            "logged_in",
            lang,
            server=server,
            user=me.user,
            role=me.role,
            organisation=me.organisation,
            path=path,
        )
    )


def whoami(tctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Who the server takes you for."""
    _, lang = _ctx(tctx)
    me = _ask(tctx, lambda c: c.whoami())
    if as_json:
        _print_json(me.model_dump(mode="json"))
        return
    out.print(
        _t(
            "whoami",
            lang,
            user=me.user,
            role=me.role,
            organisation=me.organisation,
            token_id=me.token_id,
            scopes=",".join(me.scopes),
        )
    )


token_app = typer.Typer(
    name="token", help="API tokens: create, list, revoke.", no_args_is_help=True
)


@token_app.command("create")
def token_create(
    tctx: typer.Context,
    user: Annotated[str | None, typer.Option(help="for this user (default: you)")] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="scope read only")] = False,
    days: Annotated[
        int | None,
        typer.Option(min=1, max=3650, help="valid for this many days (default 90, at most yours)"),
    ] = None,
    description: Annotated[str, typer.Option(help="what the token is for")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create a token; its secret is printed once and stored only as a hash."""
    _, lang = _ctx(tctx)
    scopes = ["read"] if read_only else ["read", "write"]
    issued = _ask(tctx, lambda c: c.create_token(user, scopes, days, description))
    if as_json:
        _print_json(issued.model_dump(mode="json"))
        return
    info = issued.info
    out.print(
        _t(
            "token_created",
            lang,
            id=info.id,
            user=info.user,
            scopes=",".join(info.scopes),
            expires=info.expires_at.date(),
        )
    )
    print(issued.token)


@token_app.command("list")
def token_list(
    tctx: typer.Context,
    user: Annotated[str | None, typer.Option(help="only this user's")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Tokens you may see (never their secrets)."""
    rows = _ask(tctx, lambda c: c.tokens(user))
    if as_json:
        _print_json([r.model_dump(mode="json") for r in rows])
        return
    cols = ["id", "user", "scopes", "created", "expires", "revoked", "description"]
    if out.width < WIDE_AUDIT:  # when made and when revoked give their room (in --json)
        cols = ["id", "user", "scopes", "expires", "description"]
    body = []
    for r in rows:
        cells = {"id": r.id, "user": r.user, "scopes": ",".join(r.scopes)}
        cells |= {"created": str(r.created_at.date()), "expires": str(r.expires_at.date())}
        cells |= {"revoked": str(r.revoked_at.date()) if r.revoked_at else "-"}
        cells |= {"description": r.description}
        body.append([cells[c] for c in cols])
    _print_table(tctx, cols, body, fold="description", squeeze=(2,))


@token_app.command("revoke")
def token_revoke(
    tctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="the token's id (not its secret)")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a token: every API process refuses it within seconds."""
    _, lang = _ctx(tctx)
    revoked = _ask(tctx, lambda c: c.revoke_token(token_id))
    if as_json:
        _print_json(revoked.model_dump(mode="json"))
        return
    out.print(_t("token_revoked", lang, id=revoked.id))


user_app = typer.Typer(name="user", help="Users and their roles.", no_args_is_help=True)


@user_app.command("add")
def user_add(
    tctx: typer.Context,
    name: Annotated[str, typer.Argument(help="user name")],
    organisation: Annotated[str, typer.Option("--org", help="the user's organisation")],
    role: Annotated[
        str, typer.Option(help="tenant_member | tenant_admin | provider_admin | operator")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Add a user to an organisation with a role."""
    _, lang = _ctx(tctx)
    u = _ask(tctx, lambda c: c.add_user(name, organisation, role))
    if as_json:
        _print_json(u.model_dump(mode="json"))
        return
    out.print(_t("added", lang, what="user", name=u.name))


@user_app.command("list")
def user_list(
    tctx: typer.Context,
    organisation: Annotated[str | None, typer.Option("--org")] = None,
    as_json: JsonOpt = False,
) -> None:
    rows = _ask(tctx, lambda c: c.users(organisation))
    if as_json:
        _print_json([r.model_dump(mode="json") for r in rows])
        return
    body = [[r.name, r.organisation, r.role, str(r.created_at.date())] for r in rows]
    _print_table(tctx, ["user", "organisation", "role", "created"], body, fold="role")


org_app = typer.Typer(
    name="org", help="Organisations: tenants and providers.", no_args_is_help=True
)


@org_app.command("add")
def org_add(
    tctx: typer.Context,
    name: Annotated[str, typer.Argument(help="a tenant's or a fleet provider's name")],
    kind: Annotated[str, typer.Option(help="tenant | provider | platform")],
    as_json: JsonOpt = False,
) -> None:
    """Add an organisation (operator)."""
    _, lang = _ctx(tctx)
    o = _ask(tctx, lambda c: c.add_organisation(name, kind))
    if as_json:
        _print_json(o.model_dump(mode="json"))
        return
    out.print(_t("added", lang, what="organisation", name=o.name))


@org_app.command("list")
def org_list(tctx: typer.Context, as_json: JsonOpt = False) -> None:
    rows = _ask(tctx, lambda c: c.organisations())
    if as_json:
        _print_json([r.model_dump(mode="json") for r in rows])
        return
    body = [[r.name, r.kind, str(r.created_at.date())] for r in rows]
    _print_table(tctx, ["organisation", "kind", "created"], body, fold="kind")


def audit(
    tctx: typer.Context,
    actor: Annotated[str | None, typer.Option(help="only this user's actions")] = None,
    organisation: Annotated[str | None, typer.Option("--org")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The audit log (operator): state-changing requests, newest first."""
    rows = _ask(tctx, lambda c: c.audit(actor, organisation, limit))
    if as_json:
        _print_json([r.model_dump(mode="json") for r in rows])
        return
    cols = ["at", "actor", "role", "action", "target", "status", "from"]
    if out.width < WIDE_AUDIT:  # the role and the address give their room (in --json)
        cols = ["at", "actor", "action", "status", "target"]
    body = []
    for r in rows:
        cells = {"at": r.at.isoformat(sep=" ", timespec="seconds")[:19], "actor": r.actor}
        cells |= {"role": r.role, "action": r.action, "target": r.target}
        cells |= {"status": str(r.status), "from": r.remote}
        body.append([cells[c] for c in cols])
    _print_table(tctx, cols, body, fold="target", squeeze=(cols.index("action"),))


def _print_table(
    tctx: typer.Context,
    cols: list[str],
    body: list[list[str]],
    fold: str,
    squeeze: tuple[int, ...] = (),
) -> None:
    """Heads in the reader's language; ids and names whole, ``fold`` folds (cli.tables)."""
    _, lang = _ctx(tctx)
    heads = [_t(c, lang) for c in cols]
    out.print(fitted(None, heads, body, out.width, cols.index(fold), squeeze))
