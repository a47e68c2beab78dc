"""`suanli queue`: per tenant, usage against quota per model, and why each waiting job waits."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from suanli.cli.context import JsonOpt, out
from suanli.cli.context import ask as _ask
from suanli.cli.context import print_json as _print_json
from suanli.cli.context import server_lang as _ctx
from suanli.cli.tables import fitted
from suanli.cli.text import LabelTable
from suanli.domain.i18n import Lang

if TYPE_CHECKING:
    from suanli.schemas.operations import QuotaUseResponse, TenantQueueResponse

LABELS: dict[str, dict[Lang, str]] = {
    "quota_title": {"en": "Fair queue: usage against quota", "zh": "公平队列：配额使用情况"},
    "waiting_title": {"en": "Waiting jobs and why", "zh": "排队作业及原因"},
    "tenant": {"en": "Tenant", "zh": "租户"},
    "weight": {"en": "Weight", "zh": "权重"},
    "cohort": {"en": "Cohort", "zh": "资源组"},
    "model": {"en": "Model", "zh": "型号"},
    "used": {"en": "Used", "zh": "已用"},
    "quota": {"en": "Quota", "zh": "配额"},
    "borrowed": {"en": "Borrowed", "zh": "借用"},
    "running": {"en": "Running", "zh": "运行中"},
    "stopping": {"en": "Stopping", "zh": "停止中"},
    "share": {"en": "Weighted share", "zh": "加权份额"},
    "job": {"en": "Job", "zh": "作业"},
    "name": {"en": "Name", "zh": "名称"},
    "accelerators": {"en": "Accelerators", "zh": "加速卡"},
    "priority": {"en": "Priority", "zh": "优先级"},
    "since": {"en": "Waiting since", "zh": "排队起始"},
    "served": {"en": "Served A100·h", "zh": "已获服务 A100·时"},
    "why": {"en": "Why it waits", "zh": "等待原因"},
    "unlimited": {"en": "none", "zh": "不限"},
    "no_waiting": {"en": "No job is waiting.", "zh": "没有排队的作业。"},
    "may_borrow": {"en": "{cohort} (borrows)", "zh": "{cohort}（可借用）"},
}


_t = LabelTable(LABELS)


WIDE_QUEUE = 110  # cells: every quota column fits from here


def queue(tctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Per tenant: usage against quota per accelerator model, borrowing, and why each
    waiting job waits (a tenant sees its own; the operator every tenant)."""
    _, lang = _ctx(tctx)
    data = _ask(tctx, lambda c: c.queue_tenants())
    if as_json:
        _print_json(data.model_dump(mode="json"))
        return
    _print_quotas(data.tenants, lang)
    _print_waiting(data.tenants, lang)


def _print_quotas(tenants: list[TenantQueueResponse], lang: Lang) -> None:
    """Narrower than 110 cells the weight, the stopping count and the weighted share give
    their room to the rest (they are in --json); names stay whole, the cohort folds."""
    cols = ["tenant", "weight", "cohort", "model", "used", "quota", "borrowed"]
    cols += ["running", "stopping", "share"]
    if out.width < WIDE_QUEUE:
        cols = [c for c in cols if c not in ("weight", "stopping", "share")]
    rows = []
    for t in tenants:
        cohort = _t("may_borrow", lang, cohort=t.cohort) if t.borrow else (t.cohort or "-")
        lines: list[QuotaUseResponse | None] = list(t.usage) or [None]
        for n, u in enumerate(lines):
            cells = {"tenant": t.tenant, "weight": f"{t.weight:g}", "cohort": cohort}
            cells |= {"running": str(t.running), "stopping": str(t.stopping)}
            cells |= {"share": f"{t.share:g}"}
            if n:  # the tenant's other models: its own cells once
                cells = dict.fromkeys(cells, "")
            if u is None:
                cells |= {"model": "-", "used": "0", "quota": _t("unlimited", lang)}
                cells |= {"borrowed": "0"}
            else:
                quota = str(u.quota) if u.quota is not None else _t("unlimited", lang)
                cells |= {"model": u.model, "used": f"{u.used:g}", "quota": quota}
                cells |= {"borrowed": f"{u.borrowed:g}"}
            rows.append([cells[c] for c in cols])
    headers = [_t(c, lang) for c in cols]
    table = fitted(_t("quota_title", lang), headers, rows, out.width, cols.index("cohort"), (0,))
    for column, name in zip(table.columns, cols, strict=True):
        if name not in ("tenant", "cohort", "model"):
            column.justify = "right"
    out.print(table)


def _print_waiting(tenants: list[TenantQueueResponse], lang: Lang) -> None:
    rows = [(t.tenant, w) for t in tenants for w in t.waiting]
    if not rows:
        out.print(_t("no_waiting", lang))
        return
    cols = ["tenant", "job", "name", "accelerators", "priority", "since", "served", "why"]
    stamp = "%Y-%m-%d %H:%M:%S"
    if out.width < 120:  # narrow: priority and service go (they are in --json), time shortens
        cols = ["tenant", "job", "name", "accelerators", "since", "why"]
        stamp = "%m-%d %H:%M"
    body = []
    for tenant, w in rows:
        cells = {
            "tenant": tenant,
            "job": w.job_id,
            "name": w.name,
            "accelerators": f"{w.accelerators:g}",
            "priority": str(w.priority),
            "since": w.since.astimezone().strftime(stamp),
            "served": f"{w.attained_hours:g}",
            "why": w.reason.message,
        }
        body.append([cells[c] for c in cols])
    # The reason folds into the width left; ids stay whole (cli.tables).
    squeeze = tuple(cols.index(c) for c in ("name", "since", "accelerators", "tenant"))
    headers = [_t(c, lang) for c in cols]
    table = fitted(_t("waiting_title", lang), headers, body, out.width, len(cols) - 1, squeeze)
    out.print(table)
