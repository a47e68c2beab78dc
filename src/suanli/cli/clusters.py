"""`suanli clusters`: what each cluster holds now, as its engine reports it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from suanli.cli.context import JsonOpt, out
from suanli.cli.context import ask as _ask
from suanli.cli.context import print_json as _print_json
from suanli.cli.context import server_lang as _ctx
from suanli.cli.tables import fitted
from suanli.cli.text import LabelTable
from suanli.domain.i18n import Lang

if TYPE_CHECKING:
    from suanli.schemas.api import ClusterInventoryResponse

LABELS: dict[str, dict[Lang, str]] = {
    "title": {"en": "Clusters, as their engines report them", "zh": "集群（引擎实时上报）"},
    "nodes_title": {"en": "Nodes of {cluster}", "zh": "{cluster} 的节点"},
    "cluster": {"en": "Cluster", "zh": "集群"},
    "provider": {"en": "Provider", "zh": "服务商"},
    "engine": {"en": "Engine", "zh": "引擎"},
    "state": {"en": "State", "zh": "状态"},
    "node": {"en": "Node", "zh": "节点"},
    "nodes": {"en": "Nodes up", "zh": "可用节点"},
    "accelerators": {"en": "Accelerators free/total", "zh": "加速卡 空闲/总数"},
    "cpus": {"en": "CPUs free/total", "zh": "CPU 空闲/总数"},
    "memory": {"en": "Memory GiB free/total", "zh": "内存 GiB 空闲/总数"},
    "read": {"en": "read", "zh": "已读取"},
    "not_reported": {"en": "no inventory (engine keeps none)", "zh": "无清单（引擎不提供）"},
    "unavailable": {"en": "not answering", "zh": "无响应"},
    "yes": {"en": "up", "zh": "可用"},
    "no": {"en": "out", "zh": "不可用"},
}


t = LabelTable(LABELS)


def clusters(
    tctx: typer.Context,
    nodes: Annotated[bool, typer.Option("--nodes", help="one table per cluster, by node")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Nodes, accelerators (GRES, Ray resources) and free capacity, read from each engine."""
    _, lang = _ctx(tctx)
    found = _ask(tctx, lambda client: client.inventory())
    if as_json:
        _print_json([x.model_dump(mode="json") for x in found])
        return
    cols = ("cluster", "provider", "engine", "state", "nodes", "accelerators", "cpus")
    rows = [[x.cluster, x.provider, x.engine, _state(x, lang), *_sums(x)] for x in found]
    # Cluster names stay whole; the accelerators fold into the width left (cli.tables).
    table = fitted(
        t("title", lang), [t(c, lang) for c in cols], rows, out.width, 5, (1, 3, 6, 4, 2)
    )
    out.print(table)
    if nodes:
        for x in found:
            if x.nodes:
                out.print(_node_table(x, lang))


def _state(x: ClusterInventoryResponse, lang: Lang) -> str:
    text = t(x.state, lang)
    return f"{text}: {x.detail}" if x.detail else text


def _sums(x: ClusterInventoryResponse) -> list[str]:
    if x.state != "read":
        return ["", "", ""]
    up = [n for n in x.nodes if n.available]
    totals: dict[str, int] = {}
    for n in up:
        for kind, count in n.accelerators.items():
            totals[kind] = totals.get(kind, 0) + count
    return [
        f"{len(up)}/{len(x.nodes)}",
        _kinds(x.free_accelerators, totals),
        f"{sum(n.free_cpus for n in up)}/{sum(n.cpus for n in up)}",
    ]


def _kinds(free: dict[str, int], total: dict[str, int]) -> str:
    return ", ".join(f"{kind} {free.get(kind, 0)}/{total[kind]}" for kind in sorted(total)) or "-"


def _node_table(x: ClusterInventoryResponse, lang: Lang) -> Table:
    rows = []
    for n in x.nodes:
        state = f"{n.state} ({t('yes' if n.available else 'no', lang)})"
        memory = f"{n.free_memory_mb // 1024}/{n.memory_mb // 1024}"
        kinds = _kinds(n.free_accelerators, n.accelerators)
        rows.append([n.name, state, kinds, f"{n.free_cpus}/{n.cpus}", memory])
    cols = ("node", "state", "accelerators", "cpus", "memory")
    title = t("nodes_title", lang, cluster=x.cluster)
    return fitted(title, [t(c, lang) for c in cols], rows, out.width, 2, (1, 4, 3))
