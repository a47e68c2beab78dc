"""The fleet: providers own clusters (a region and an engine), clusters own pools of nodes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from suanli.domain.accelerators import AcceleratorModel, Catalog
from suanli.domain.evaluation import Measurements
from suanli.domain.packing import PackingOptions
from suanli.domain.tenants import Attribute
from suanli.domain.throughput import ThroughputTable

REGIONS = (
    "beijing",
    "tianjin",
    "hebei",
    "shanxi",
    "inner-mongolia",
    "ningxia",
    "shanghai",
    "guangdong",
    "guizhou",
    "gansu",
    "anhui",
    "sichuan",
    "local",
)


@dataclass(frozen=True)
class EngineRef:
    """Which engine runs a cluster's jobs and where to reach it."""

    type: str
    endpoint: str | None = None
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Pool:
    """A homogeneous set of nodes inside one cluster."""

    name: str
    accelerator: str | None  # catalog model id; None for a CPU-only pool
    nodes: int
    accelerators_per_node: int
    cpus_per_node: int
    memory_gb_per_node: int
    price_per_accelerator_hour: Decimal  # yuan; for CPU pools, per node-hour
    green_share: Decimal = Decimal(0)  # 0..1 share of green energy

    def node_names(self) -> list[str]:
        return [f"{self.name}-n{i}" for i in range(self.nodes)]

    @property
    def accelerators(self) -> int:
        return self.nodes * self.accelerators_per_node


@dataclass(frozen=True)
class Cluster:
    name: str
    provider: str
    region: str
    engine: EngineRef
    pools: tuple[Pool, ...]


@dataclass(frozen=True)
class Provider:
    name: str
    display_name: str
    clusters: tuple[Cluster, ...]
    # What subsidy programmes check of the provider (e.g. registered_zone), like a tenant's.
    attributes: Mapping[str, Attribute] = field(default_factory=dict)

    def cluster(self, name: str) -> Cluster | None:
        return next((c for c in self.clusters if c.name == name), None)


@dataclass(frozen=True)
class Link:
    """Moving data between two regions: what it costs and how fast it goes."""

    price_per_gb: Decimal  # yuan
    gbps: float  # sustained throughput, gigabits per second


SAME_REGION = Link(Decimal(0), float("inf"))


@dataclass(frozen=True)
class Network:
    """Inter-region data movement; pairs not listed use ``default`` (both directions alike)."""

    default: Link = Link(Decimal("0.50"), 1.0)
    links: tuple[tuple[str, str, Link], ...] = ()

    def link(self, src: str, dst: str) -> Link:
        if src == dst:
            return SAME_REGION
        for a, b, link in self.links:
            if {a, b} == {src, dst}:
                return link
        return self.default


@dataclass(frozen=True)
class Fleet:
    providers: tuple[Provider, ...]
    catalog: Catalog = field(default_factory=Catalog)
    network: Network = field(default_factory=Network)
    # Measured speed per (job class, model) that overrides the catalog's dense TFLOPS in
    # placement (scheduler.estimate); None: dense TFLOPS only.
    throughput: ThroughputTable | None = None
    # What ``suanli eval`` measured (suanli.domain.evaluation): its rates come before
    # ``throughput``'s, its incompatibilities keep jobs off pools; None: nothing measured.
    measured: Measurements | None = None
    # How nodes are chosen within a pool: the fleet file's ``packing:`` section.
    packing: PackingOptions = field(default_factory=PackingOptions)

    def clusters(self) -> Iterator[Cluster]:
        for p in self.providers:
            yield from p.clusters

    def cluster(self, name: str) -> Cluster | None:
        return next((c for c in self.clusters() if c.name == name), None)

    def provider(self, name: str) -> Provider | None:
        return next((p for p in self.providers if p.name == name), None)

    def pools(self) -> Iterator[tuple[Cluster, Pool]]:
        for c in self.clusters():
            for p in c.pools:
                yield c, p

    def regions(self) -> list[str]:
        return sorted({c.region for c in self.clusters()})


@dataclass(frozen=True)
class Totals:
    """Fleet capacity summed over some grouping."""

    accelerators: int = 0
    domestic_accelerators: int = 0
    pflops: float = 0.0  # dense FP16; pools whose model has no sourced figure add 0
    unrated_accelerators: int = 0  # accelerators with no sourced TFLOPS figure

    def plus(self, count: int, model: AcceleratorModel | None) -> Totals:
        if model is None:
            return self
        tflops = model.tflops
        return Totals(
            accelerators=self.accelerators + count,
            domestic_accelerators=self.domestic_accelerators + (count if model.domestic else 0),
            pflops=self.pflops + (count * tflops / 1000 if tflops is not None else 0.0),
            unrated_accelerators=self.unrated_accelerators + (0 if tflops is not None else count),
        )

    @property
    def domestic_share(self) -> float:
        return self.domestic_accelerators / self.accelerators if self.accelerators else 0.0


@dataclass(frozen=True)
class FleetSummary:
    total: Totals
    by_region: dict[str, Totals]
    by_provider: dict[str, Totals]


def summarize(fleet: Fleet) -> FleetSummary:
    """Totals in PFLOPS, accelerators and domestic share, overall, by region and by provider."""
    total = Totals()
    by_region: dict[str, Totals] = {}
    by_provider: dict[str, Totals] = {}
    for cluster, pool in fleet.pools():
        model = fleet.catalog.get(pool.accelerator) if pool.accelerator else None
        total = total.plus(pool.accelerators, model)
        by_region[cluster.region] = by_region.get(cluster.region, Totals()).plus(
            pool.accelerators, model
        )
        by_provider[cluster.provider] = by_provider.get(cluster.provider, Totals()).plus(
            pool.accelerators, model
        )
    return FleetSummary(total, dict(sorted(by_region.items())), dict(sorted(by_provider.items())))
