"""Fleet files: providers -> clusters (region, engine) -> pools, checked against the catalog."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from suanli.domain.accelerators import Catalog
from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.fleet import Cluster, EngineRef, Fleet, Link, Network, Pool, Provider
from suanli.domain.packing import PackingOptions
from suanli.schemas.catalogfile import AcceleratorEntry
from suanli.schemas.tenantfile import AttributeName, AttributeValue
from suanli.schemas.throughputfile import load_throughput_file
from suanli.schemas.validation import load_yaml_mapping, read_bounded, validate_model

MAX_FLEET_BYTES = 4 * 1024 * 1024
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
# An image registry, host[:port] (the region's mirror that its engines pull images from).
Registry = Annotated[
    str, Field(pattern=r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$", max_length=260)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineEntry(_Strict):
    type: Literal["local", "slurm", "ray", "kubernetes", "simulated"]
    endpoint: str | None = Field(default=None, max_length=1000)
    options: dict[str, str] = Field(default_factory=dict, max_length=64)


class PoolEntry(_Strict):
    name: Name
    accelerator: str | None = Field(default=None, max_length=64)
    nodes: int = Field(ge=1, le=100_000)
    accelerators_per_node: int = Field(default=0, ge=0, le=64)
    cpus_per_node: int = Field(ge=1, le=4096)
    memory_gb_per_node: int = Field(ge=1, le=65536)
    price_per_accelerator_hour: Decimal = Field(ge=0, le=100_000, decimal_places=4)
    green_share: Decimal = Field(default=Decimal(0), ge=0, le=1)


class ClusterEntry(_Strict):
    name: Name
    region: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")
    engine: EngineEntry
    pools: list[PoolEntry] = Field(min_length=1, max_length=1000)
    registry: Registry | None = None  # the region's image mirror; default: the provider's


class ProviderEntry(_Strict):
    name: Name
    display_name: str = Field(default="", max_length=200)
    clusters: list[ClusterEntry] = Field(min_length=1, max_length=1000)
    registry: Registry | None = None  # the image mirror its clusters pull from
    # What subsidy programmes check of the provider (registered_zone, ...), as for tenants.
    attributes: dict[AttributeName, AttributeValue] = Field(default_factory=dict, max_length=100)


class LinkEntry(_Strict):
    price_per_gb: Decimal = Field(ge=0, le=10_000, decimal_places=4)
    gbps: float = Field(gt=0, le=100_000)


class RegionLinkEntry(LinkEntry):
    between: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")]] = Field(
        min_length=2, max_length=2
    )


class NetworkEntry(_Strict):
    """Data movement between regions: a default, and pairs that differ (both directions)."""

    default: LinkEntry = LinkEntry(price_per_gb=Decimal("0.50"), gbps=1.0)
    links: list[RegionLinkEntry] = Field(default_factory=list, max_length=10_000)


class PackingEntry(_Strict):
    """How nodes are chosen within a pool: the named options of the packing policies
    (``domain.packing.PackingOptions``, same fields).

    ``spread_shares``: where requests exceed the cluster and never leave (a saturating
    replay), spread large GPU shares over GPUs whole-GPU requests will not need
    (``default`` only; off: on a cluster where jobs end, whole GPUs kept whole serve the
    next ones). ``kubernetes_scores``: score as the FGD artifact's Kubernetes plugins do
    (``best-fit`` and ``fgd`` only; for reproducing its figures).
    """

    spread_shares: bool = False
    kubernetes_scores: bool = False

    def to_domain(self) -> PackingOptions:
        return PackingOptions(self.spread_shares, self.kubernetes_scores)


class FleetFile(_Strict):
    accelerators: list[AcceleratorEntry] = Field(default_factory=list, max_length=1000)
    packing: PackingEntry = PackingEntry()
    network: NetworkEntry = NetworkEntry()
    providers: list[ProviderEntry] = Field(min_length=1, max_length=1000)
    # A throughput table (ours or Gavel's JSON), relative to the fleet file: measured speed
    # per (job class, model) that placement uses instead of dense TFLOPS.
    throughput: str | None = Field(default=None, min_length=1, max_length=1000)


def parse_fleet_text(
    text: str | bytes, catalog: Catalog, source: str = "<fleet>", base: Path | None = None
) -> Fleet:
    """Parse a fleet file; accelerator ids must be in ``catalog`` or the file's own list.

    ``base`` is the folder a ``throughput`` path is read from (the fleet file's own); a
    fleet given as text only may not name one.
    """
    data = load_yaml_mapping(text, source, MAX_FLEET_BYTES, "fleet file")
    parsed = validate_model(FleetFile, data, source, "invalid_fleet")
    full = catalog.merged(e.to_domain() for e in parsed.accelerators)
    errors = _check(parsed, full)
    if errors:
        raise InvalidInput("invalid_fleet", errors=errors, source=source)
    network = Network(
        Link(parsed.network.default.price_per_gb, parsed.network.default.gbps),
        tuple(
            (e.between[0], e.between[1], Link(e.price_per_gb, e.gbps))
            for e in parsed.network.links
        ),
    )
    providers = tuple(_provider(p, full) for p in parsed.providers)
    fleet = Fleet(providers, full, network, packing=parsed.packing.to_domain())
    if parsed.throughput is not None:
        if base is None:
            raise InvalidInput(
                "invalid_fleet",
                errors=[
                    FieldError(
                        "throughput", "not_allowed", parsed.throughput, "a fleet read from a file"
                    )
                ],
                source=source,
            )
        table = load_throughput_file(base / parsed.throughput)
        fleet = dataclasses.replace(fleet, throughput=table)
    return fleet


def _check(parsed: FleetFile, catalog: Catalog) -> list[FieldError]:
    errors: list[FieldError] = []
    seen_clusters: set[str] = set()
    for pi, prov in enumerate(parsed.providers):
        for ci, cl in enumerate(prov.clusters):
            where = f"providers[{pi}].clusters[{ci}]"
            if cl.name in seen_clusters:
                errors.append(FieldError(f"{where}.name", "duplicate_name", cl.name))
            seen_clusters.add(cl.name)
            seen_pools: set[str] = set()
            for qi, pool in enumerate(cl.pools):
                at = f"{where}.pools[{qi}]"
                if pool.name in seen_pools:
                    errors.append(FieldError(f"{at}.name", "duplicate_name", pool.name))
                seen_pools.add(pool.name)
                if pool.accelerator is not None and catalog.get(pool.accelerator) is None:
                    errors.append(
                        FieldError(
                            f"{at}.accelerator",
                            "unknown_accelerator",
                            pool.accelerator,
                            ", ".join(catalog.ids()),
                        )
                    )
                if (pool.accelerator is None) != (pool.accelerators_per_node == 0):
                    errors.append(
                        FieldError(
                            f"{at}.accelerators_per_node",
                            "not_allowed",
                            pool.accelerators_per_node,
                            "0 exactly when the pool has no accelerator",
                        )
                    )
    return errors


def _provider(p: ProviderEntry, catalog: Catalog) -> Provider:
    return Provider(
        p.name,
        p.display_name or p.name,
        tuple(_cluster(p.name, c, catalog, p.registry) for c in p.clusters),
        dict(sorted(p.attributes.items())),
    )


def _cluster(
    provider: str, c: ClusterEntry, catalog: Catalog, registry: str | None = None
) -> Cluster:
    options = dict(c.engine.options)
    if c.registry or registry:  # the engine pulls images from its region's mirror
        options["registry"] = c.registry or registry or ""
    engine = EngineRef(c.engine.type, c.engine.endpoint, tuple(sorted(options.items())))
    pools = tuple(
        Pool(
            name=q.name,
            accelerator=_canonical(catalog, q.accelerator),
            nodes=q.nodes,
            accelerators_per_node=q.accelerators_per_node,
            cpus_per_node=q.cpus_per_node,
            memory_gb_per_node=q.memory_gb_per_node,
            price_per_accelerator_hour=q.price_per_accelerator_hour,
            green_share=q.green_share,
        )
        for q in c.pools
    )
    return Cluster(c.name, provider, c.region, engine, pools)


def _canonical(catalog: Catalog, name: str | None) -> str | None:
    if name is None:
        return None
    entry = catalog.get(name)
    return entry.model if entry else name


MAX_PACKING_BYTES = 64 * 1024


def load_packing_entry(path: Path) -> PackingEntry:
    """The packing options of a file: its ``packing:`` section, at the top (a fleet file, or
    a file of that section alone) or under ``fleet:`` (a scenario file); InvalidInput
    naming the file and field otherwise."""
    source = str(path)
    raw = read_bounded(path, MAX_PACKING_BYTES, "the packing file", "invalid_packing")
    data = load_yaml_mapping(raw, source, MAX_PACKING_BYTES, "packing file")
    fleet = data.get("fleet")
    section = data.get("packing", fleet.get("packing") if isinstance(fleet, dict) else None)
    if section is None:
        detail = "no packing: section (at the top, or under fleet:)"
        error = FieldError("packing", "missing", params={"detail": detail})
        raise InvalidInput("invalid_packing", errors=[error], source=source)
    wrapped = validate_model(_PackingFile, {"packing": section}, source, "invalid_packing")
    return wrapped.packing


class _PackingFile(_Strict):
    packing: PackingEntry
