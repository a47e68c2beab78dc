"""Hard constraints: can this pool ever run this job? The first failed rule is the reason."""

from __future__ import annotations

from decimal import Decimal

from suanli.domain.accelerators import AcceleratorModel, Catalog
from suanli.domain.evaluation import Measurements, pool_exclusion
from suanli.domain.fleet import Cluster, Pool
from suanli.domain.jobs import Reason
from suanli.domain.spec import JobSpec


def exclusion(
    spec: JobSpec,
    cluster: Cluster,
    pool: Pool,
    catalog: Catalog,
    pinned: str | None = None,
    measured: Measurements | None = None,
) -> Reason | None:
    """Return why ``pool`` can never run ``spec`` (ignoring current load), or None if it can.

    ``measured``: what ``suanli eval`` found the pool cannot run (after the accelerator rules).
    """
    if pinned is not None and cluster.name != pinned:
        return Reason("pool_cluster_excluded", {"cluster": cluster.name, "wanted": pinned})
    if spec.regions is not None and cluster.region not in spec.regions:
        return Reason(
            "pool_region_excluded", {"region": cluster.region, "wanted": ", ".join(spec.regions)}
        )
    reason = accelerator_exclusion(spec, pool, catalog) or pool_exclusion(
        spec, cluster.name, pool.name, measured
    )
    if reason is not None:
        return reason
    return shape_exclusion(spec, pool)


def accelerator_exclusion(spec: JobSpec, pool: Pool, catalog: Catalog) -> Reason | None:
    """The first accelerator rule ``pool`` breaks: model, domestic-only, stack, minimums.

    Reads only the pool's model and the spec's accelerator, stacks and domestic-only.
    """
    model = catalog.get(pool.accelerator) if pool.accelerator else None
    want = spec.resources.accelerator
    name = model.model if model else "CPU"
    if want is None:
        if pool.accelerator is not None:
            return Reason("pool_model_mismatch", {"model": name, "wanted": "CPU"})
        return None
    if model is None:
        return Reason("pool_model_mismatch", {"model": name, "wanted": _wanted(spec)})
    if spec.domestic_only and not model.domestic:
        return Reason("pool_not_domestic", {"model": name})
    if want.model is not None and not _listed(model, want.model, catalog):
        return Reason("pool_model_mismatch", {"model": name, "wanted": _wanted(spec)})
    stacks = accepted_stacks(spec)
    if stacks is not None and model.stack not in stacks:
        return Reason(
            "pool_stack_mismatch",
            {"model": name, "stack": model.stack, "wanted": ", ".join(stacks)},
        )
    if want.min_memory_gb is not None:
        if model.memory is None:
            return Reason("pool_memory_unknown", {"model": name, "need": want.min_memory_gb})
        if model.memory < want.min_memory_gb:
            return Reason(
                "pool_memory_too_small",
                {"model": name, "have": model.memory, "need": want.min_memory_gb},
            )
    if want.min_tflops is not None:
        if model.tflops is None:
            return Reason("pool_tflops_unknown", {"model": name, "need": want.min_tflops})
        if model.tflops < want.min_tflops:
            return Reason(
                "pool_tflops_too_low",
                {"model": name, "have": model.tflops, "need": want.min_tflops},
            )
    return None


def shape_exclusion(spec: JobSpec, pool: Pool) -> Reason | None:
    """Whether a node of ``pool`` can ever hold one rank, and the pool enough nodes."""
    return node_exclusion(spec, pool) or nodes_exclusion(spec, pool)


def node_exclusion(spec: JobSpec, pool: Pool) -> Reason | None:
    """Whether a node of ``pool`` can ever hold one rank of the job."""
    res = spec.resources
    if spec.accelerators_per_node > pool.accelerators_per_node:
        return Reason(
            "pool_node_too_small",
            {
                "have": pool.accelerators_per_node,
                "what": "what.accelerators",
                "need": spec.accelerators_per_node,
            },
        )
    if res.cpus > pool.cpus_per_node:
        return Reason(
            "pool_node_too_small",
            {"have": pool.cpus_per_node, "what": "what.cpus", "need": res.cpus},
        )
    if res.memory_gb > pool.memory_gb_per_node:
        return Reason(
            "pool_node_too_small",
            {"have": pool.memory_gb_per_node, "what": "what.memory_gb", "need": res.memory_gb},
        )
    return None


def nodes_exclusion(spec: JobSpec, pool: Pool) -> Reason | None:
    """Whether ``pool`` has nodes enough for the gang."""
    if spec.resources.nodes > pool.nodes:
        return Reason("pool_too_few_nodes", {"have": pool.nodes, "need": spec.resources.nodes})
    return None


def accepted_stacks(spec: JobSpec) -> list[str] | None:
    """The stacks a job runs on: as declared; by default CUDA when it names no model."""
    if spec.stacks is not None:
        return list(spec.stacks)
    acc = spec.resources.accelerator
    if acc is not None and acc.model is None:
        return ["cuda"]
    return None


def _listed(model: AcceleratorModel, names: list[str], catalog: Catalog) -> bool:
    return any(catalog.get(n) is model for n in names)


def _wanted(spec: JobSpec) -> str:
    acc = spec.resources.accelerator
    if acc is None:
        return "CPU"
    if acc.model:
        return " | ".join(acc.model)
    parts = [f"memory >= {acc.min_memory_gb} GB"] if acc.min_memory_gb else []
    parts += [f"TFLOPS >= {acc.min_tflops}"] if acc.min_tflops else []
    return ", ".join(parts) or "any accelerator"


def job_price_per_hour(spec: JobSpec, pool: Pool) -> Decimal:
    """Yuan per hour for the whole job on ``pool`` (accelerators, or nodes for CPU pools)."""
    units = spec.accelerator_units if pool.accelerator else Decimal(spec.resources.nodes)
    return pool.price_per_accelerator_hour * units
