"""`suanli serve up | status | list | logs | scale | rollout | rollback | delete`: model
services. A spec file is checked here first (exit 2 naming the field), then by the server."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.table import Table

from suanli.cli.context import EXIT_BAD_INPUT, JsonOpt, ask, out, print_json, say_error
from suanli.cli.context import server_lang as _ctx
from suanli.cli.text import LabelTable
from suanli.domain.i18n import Lang

if TYPE_CHECKING:
    from suanli.schemas.services import ServiceResponse

serve_app = typer.Typer(
    name="serve",
    help="Model services: deploy, watch, scale, roll out and back, delete.",
    no_args_is_help=True,
)

LABELS: dict[str, dict[Lang, str]] = {
    "created": {
        "en": "created {name} ({id}), revision {revision}: {desired} replica(s) wanted",
        "zh": "已创建 {name}（{id}），第 {revision} 版：期望 {desired} 个副本",
    },
    "rolled": {
        "en": "{name}: revision {revision} rolling out ({desired} replica(s))",
        "zh": "{name}：第 {revision} 版正在滚动发布（{desired} 个副本）",
    },
    "same": {
        "en": "{name}: unchanged (revision {revision} is this spec)",
        "zh": "{name}：未变化（第 {revision} 版即此描述）",
    },
    "scaled": {"en": "{name}: {desired} replica(s) wanted", "zh": "{name}：期望 {desired} 个副本"},
    "rolled_back": {
        "en": "{name}: revision {revision} back in force, rolling out",
        "zh": "{name}：恢复第 {revision} 版，正在滚动发布",
    },
    "deleting": {
        "en": "{name}: out of the routes; replicas drain and stop",
        "zh": "{name}：已移出路由；副本排空后停止",
    },
    "services": {"en": "Services", "zh": "服务"},
    "replicas": {"en": "Replicas", "zh": "副本"},
    "col_name": {"en": "Name", "zh": "名称"},
    "col_owner": {"en": "Owner", "zh": "所属"},
    "col_revision": {"en": "Revision", "zh": "版本"},
    "col_ready": {"en": "Ready / wanted", "zh": "就绪 / 期望"},
    "col_model": {"en": "Model", "zh": "模型"},
    "col_id": {"en": "Replica", "zh": "副本"},
    "col_status": {"en": "Status", "zh": "状态"},
    "col_cluster": {"en": "Cluster", "zh": "集群"},
    "col_address": {"en": "Address", "zh": "地址"},
    "col_job": {"en": "Job", "zh": "作业"},
    "col_detail": {"en": "Detail", "zh": "说明"},
    "none": {"en": "no services", "zh": "没有服务"},
}
_t = LabelTable(LABELS)
TenantOpt = Annotated[
    str | None, typer.Option(help="the owning tenant (default: yours; the operator names one)")
]


def _read(file: Path, lang: Lang) -> str:
    from suanli.domain.errors import SuanliError
    from suanli.domain.service_spec import MAX_SERVICE_SPEC_BYTES
    from suanli.schemas.servicefile import CODE, parse_service_text
    from suanli.schemas.validation import read_bounded

    try:
        raw = read_bounded(file, MAX_SERVICE_SPEC_BYTES, "service spec", CODE)
        parse_service_text(raw, str(file))  # precise errors before anything is sent
    except SuanliError as exc:
        _bad(lang, exc.message(lang))
    return raw.decode("utf-8", errors="replace")


def _bad(lang: Lang, message: str) -> NoReturn:
    say_error(lang, message)
    raise typer.Exit(EXIT_BAD_INPUT)


def _said(s: ServiceResponse, lang: Lang, as_json: bool, key: str | None = None) -> None:
    if as_json:
        print_json(s.model_dump(mode="json"))
        return
    if key is None:
        key = "created" if s.created else "rolled" if s.changed else "same"
    out.print(
        _t(key, lang, name=s.name, id=s.id, revision=s.revision, desired=s.desired), markup=False
    )


@serve_app.command("up")
def up(
    tctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="service spec (YAML)")],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deploy a service, or roll out a changed spec as its new revision."""
    from suanli.client import services as api

    _, lang = _ctx(tctx)
    text = _read(file, lang)
    s = ask(tctx, lambda c: api.deploy(c, text, str(file), tenant))
    _said(s, lang, as_json)


@serve_app.command("rollout")
def rollout(
    tctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="the changed service spec (YAML)")],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Roll out a changed spec of an existing service (surge / max-unavailable of its
    `rollout` block; a ready replica goes only once its replacement is ready)."""
    from suanli.client import services as api

    _, lang = _ctx(tctx)
    text = _read(file, lang)
    s = ask(tctx, lambda c: api.deploy(c, text, str(file), tenant, must_exist=True))
    _said(s, lang, as_json)


@serve_app.command("rollback")
def rollback(
    tctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    to: Annotated[
        int | None, typer.Option("--to", min=1, help="revision (default: the one before)")
    ] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Put an earlier revision back in force (rolled out like any revision)."""
    from suanli.client import services as api

    _, lang = _ctx(tctx)
    s = ask(tctx, lambda c: api.rollback(c, name, to, tenant))
    _said(s, lang, as_json, "rolled_back")


@serve_app.command("scale")
def scale(
    tctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    replicas: Annotated[int, typer.Argument(min=0, max=256)],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the replica count now (within replicas.min..max; the autoscaler moves it on)."""
    from suanli.client import services as api

    _, lang = _ctx(tctx)
    s = ask(tctx, lambda c: api.scale(c, name, replicas, tenant))
    _said(s, lang, as_json, "scaled")


@serve_app.command("delete")
def delete(
    tctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete a service: out of the routes at once, replicas drained and stopped."""
    from suanli.client import services as api

    _, lang = _ctx(tctx)
    s = ask(tctx, lambda c: api.delete(c, name, tenant))
    _said(s, lang, as_json, "deleting")


@serve_app.command("list")
def list_services(tctx: typer.Context, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Services: revision in force, replicas ready of wanted, the model served."""
    from suanli.client import services as api

    _, lang = _ctx(tctx)
    found = ask(tctx, lambda c: api.services(c, tenant))
    if as_json:
        print_json(found.model_dump(mode="json"))
        return
    if not found.services:
        out.print(_t("none", lang))
        return
    table = Table(title=_t("services", lang))
    for key in ("col_name", "col_owner", "col_revision", "col_ready", "col_model"):
        table.add_column(_t(key, lang))
    for s in found.services:
        table.add_row(
            s.name,
            s.owner,
            f"{s.revision}/{s.latest}",
            f"{s.ready}/{s.desired}",
            s.served_name or "-",
        )
    out.print(table)


@serve_app.command("status")
def status(
    tctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One service: each replica, where it runs, its address, ready or not."""
    from suanli.client import services as api

    _, lang = _ctx(tctx)
    s = ask(tctx, lambda c: api.service(c, name, tenant))
    if as_json:
        print_json(s.model_dump(mode="json"))
        return
    out.print(
        f"{s.name} ({s.id}) · {_t('col_revision', lang)} {s.revision}/{s.latest} · "
        f"{_t('col_ready', lang)} {s.ready}/{s.desired} · min {s.min_replicas} max {s.max_replicas}",
        markup=False,
    )
    table = Table(title=_t("replicas", lang))
    for key in (
        "col_id",
        "col_revision",
        "col_status",
        "col_cluster",
        "col_address",
        "col_job",
        "col_detail",
    ):
        table.add_column(_t(key, lang))
    for r in s.replicas:
        if r.status in ("stopped", "failed") and not r.detail:
            continue
        table.add_row(
            r.id, str(r.revision), r.status, r.cluster or "-", r.url or "-", r.job_id, r.detail
        )
    out.print(table)


@serve_app.command("logs")
def logs(
    tctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    replica: Annotated[str | None, typer.Option(help="replica id (default: the newest)")] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a replica's output (its server's stdout and stderr)."""
    from suanli.cli.jobs import write_log
    from suanli.client import services as api

    data, next_offset, chosen = ask(tctx, lambda c: api.logs(c, name, replica, 0, tenant))
    write_log(chosen, data, next_offset, as_json)
