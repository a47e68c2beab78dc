"""Engines by type name; each factory builds the adapter for one cluster."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from suanli.domain.clock import Clock
from suanli.domain.errors import EngineFailure
from suanli.domain.fleet import Cluster
from suanli.domain.throughput import ThroughputTable
from suanli.engines.base import EngineAdapter
from suanli.engines.gpus import Gpu
from suanli.engines.local import LocalEngine
from suanli.engines.local_inventory import emulated_nodes
from suanli.engines.ray import RayEngine
from suanli.engines.sandbox import shared_mounts
from suanli.engines.simulated import SimulatedCluster, SimulatedEngine
from suanli.engines.slurm import SlurmEngine, SlurmOptions


@dataclass(frozen=True)
class EngineContext:
    """What a factory may use: where to keep files, the clock, the machine's GPUs."""

    data_dir: Path
    clock: Clock
    gpus: tuple[Gpu, ...] = ()
    # Simulated engines: their clusters' runs (by cluster name) and known run times (by job).
    simulated: dict[str, SimulatedCluster] = field(default_factory=dict)
    run_times: Mapping[str, float] = field(default_factory=dict)
    # With a table, a known run time is work: it runs work / rate(job class, model placed).
    throughput: ThroughputTable | None = None


def _local(cluster: Cluster, ctx: EngineContext) -> EngineAdapter:
    options = dict(cluster.engine.options)
    gpus = list(ctx.gpus) if options.get("devices") == "nvidia" else []
    shared = shared_mounts(os.environ.get("SUANLI_JOB_MOUNTS"))
    root = ctx.data_dir / "runs" / cluster.name
    nodes = emulated_nodes(cluster.pools)
    registry = options.get("registry") or os.environ.get("SUANLI_REGISTRY") or None
    return LocalEngine(
        root,
        ctx.clock,
        gpus,
        (ctx.data_dir,),
        shared=shared,
        nodes=nodes,
        registry=registry,
        network=options.get("network", "host"),
    )


def _slurm(cluster: Cluster, ctx: EngineContext) -> EngineAdapter:
    options = SlurmOptions.parse(dict(cluster.engine.options))
    root = Path(options.run_dir) if options.run_dir else ctx.data_dir / "runs" / cluster.name
    return SlurmEngine(root, ctx.clock, options)


RAY_OPTIONS = (
    "resource_prefix",
    "request_gpus",
    "reserve_cpus",
    "cache_s",
    "gang_strategy",
    "python",
    "registry",  # the region's image mirror (fleet file `registry:`)
    "checkpoint_dir",  # storage every Ray node mounts (ray_checkpoints)
)


def _ray(cluster: Cluster, ctx: EngineContext) -> EngineAdapter:
    options = dict(cluster.engine.options)
    unknown = sorted(set(options) - set(RAY_OPTIONS))
    if not cluster.engine.endpoint or unknown:
        raise EngineFailure(
            engine="ray",
            detail=f"cluster {cluster.name}: engine.endpoint must be the Ray Jobs API address "
            f"(e.g. http://head:8265); options may be {', '.join(RAY_OPTIONS)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
        )
    try:
        cache_s = float(options.get("cache_s", "0.5"))
    except ValueError:
        raise EngineFailure(
            engine="ray",
            detail=f"cluster {cluster.name}: cache_s must be a number, not {options['cache_s']!r}",
        ) from None
    return RayEngine(
        cluster.engine.endpoint,
        ctx.clock,
        options.get("resource_prefix", ""),
        _yes(options.get("request_gpus", "false")),
        reserve_cpus=_yes(options.get("reserve_cpus", "true")),
        cache_s=cache_s,
        gang_strategy=options.get("gang_strategy", "STRICT_SPREAD").upper(),
        python=options.get("python", "python3"),
        registry=options.get("registry") or os.environ.get("SUANLI_REGISTRY") or None,
        checkpoint_dir=options.get("checkpoint_dir") or None,
    )


def _simulated(cluster: Cluster, ctx: EngineContext) -> EngineAdapter:
    # Its runs live as long as the context's table of them (one per platform, or a
    # simulator's): a new adapter on the same table re-adopts them.
    state = ctx.simulated.setdefault(cluster.name, SimulatedCluster(cluster))
    return SimulatedEngine(state, ctx.clock, ctx.run_times, ctx.throughput)


def _yes(value: str) -> bool:
    return value.lower() in ("true", "yes", "1")


ENGINES: dict[str, Callable[[Cluster, EngineContext], EngineAdapter]] = {
    "local": _local,
    "ray": _ray,
    "slurm": _slurm,
    "simulated": _simulated,
}


def engine_for(cluster: Cluster, ctx: EngineContext) -> EngineAdapter:
    factory = ENGINES.get(cluster.engine.type)
    if factory is None:
        raise EngineFailure(
            engine=cluster.engine.type,
            detail=f"no adapter yet for cluster {cluster.name}; available: {', '.join(ENGINES)}",
        )
    return factory(cluster, ctx)
