"""Load the accelerator catalog and fleet (built-in demo, or a file), and add real GPUs."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from importlib import resources
from pathlib import Path

from suanli.domain.accelerators import Catalog
from suanli.domain.fleet import Cluster, EngineRef, Fleet, Pool, Provider
from suanli.engines.gpus import Gpu
from suanli.schemas.catalogfile import parse_catalog_text
from suanli.schemas.fleetfile import MAX_FLEET_BYTES, parse_fleet_text
from suanli.schemas.validation import read_bounded


def builtin_catalog() -> Catalog:
    text = resources.files("suanli").joinpath("data/accelerators.yaml").read_text("utf-8")
    return parse_catalog_text(text, "suanli/data/accelerators.yaml")


def demo_fleet(catalog: Catalog | None = None) -> Fleet:
    text = resources.files("suanli").joinpath("data/demo-fleet.yaml").read_text("utf-8")
    return parse_fleet_text(text, catalog or builtin_catalog(), "demo fleet")


def load_fleet(path: Path, catalog: Catalog | None = None) -> Fleet:
    """Read and validate a fleet file; raise InvalidInput naming the file and field."""
    text = read_bounded(path, MAX_FLEET_BYTES, "fleet file", "invalid_fleet")
    return parse_fleet_text(text, catalog or builtin_catalog(), str(path), path.parent)


def with_local_gpus(fleet: Fleet, gpus: list[Gpu]) -> Fleet:
    """Add a cluster for this machine's real NVIDIA GPUs (one pool per known model)."""
    by_model: dict[str, list[Gpu]] = {}
    for gpu in gpus:
        entry = fleet.catalog.get(gpu.name) or fleet.catalog.get(gpu.name.replace("NVIDIA ", ""))
        if entry is not None:
            by_model.setdefault(entry.model, []).append(gpu)
    if not by_model:
        return fleet
    pools = tuple(
        Pool(
            name=f"{model.lower()}-local",
            accelerator=model,
            nodes=1,
            accelerators_per_node=max(g.index for g in found) + 1,
            cpus_per_node=16,
            memory_gb_per_node=64,
            price_per_accelerator_hour=Decimal("0.00"),
        )
        for model, found in sorted(by_model.items())
    )
    cluster = Cluster(
        "this-machine",
        "this-machine",
        "local",
        EngineRef("local", None, (("devices", "nvidia"),)),
        pools,
    )
    provider = Provider("this-machine", "This machine's GPUs", (cluster,))
    return dataclasses.replace(fleet, providers=(*fleet.providers, provider))


def on_simulated_engines(fleet: Fleet) -> Fleet:
    """The same fleet with every cluster on the simulated engine (runs take their known
    time on the platform's clock; nothing is executed)."""
    simulated = EngineRef("simulated", None, ())
    providers = tuple(
        dataclasses.replace(
            provider,
            clusters=tuple(dataclasses.replace(c, engine=simulated) for c in provider.clusters),
        )
        for provider in fleet.providers
    )
    return dataclasses.replace(fleet, providers=providers)
