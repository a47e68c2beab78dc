"""Accelerator models: the catalog entries that pools point at."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

# Software stacks by vendor family; a job declares which of these it can run on.
STACKS = ("cuda", "cann", "neuware", "dtk", "xpu", "maca", "musa", "corex", "tops", "cpu")


@dataclass(frozen=True)
class Figure:
    """One sourced number (or text); ``value`` is None when nobody could source it."""

    value: float | str | None
    source: str | None = None


@dataclass(frozen=True)
class AcceleratorModel:
    model: str
    name: str
    vendor: str
    domestic: bool
    stack: str
    frameworks: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    fp16_tflops: Figure = Figure(None)
    memory_gb: Figure = Figure(None)
    memory_bandwidth_gbps: Figure = Figure(None)
    interconnect: Figure = Figure(None)
    china_market_variant: bool = False
    notes: str = ""

    @property
    def tflops(self) -> float | None:
        v = self.fp16_tflops.value
        return float(v) if isinstance(v, int | float) else None

    @property
    def memory(self) -> float | None:
        v = self.memory_gb.value
        return float(v) if isinstance(v, int | float) else None


@dataclass(frozen=True)
class Catalog:
    """All accelerator models known to the platform, looked up by id or alias."""

    models: Mapping[str, AcceleratorModel] = field(default_factory=dict)
    _index: dict[str, AcceleratorModel] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Folded ids and aliases, so a lookup is one dict access in the scheduler's hot loop.
        index: dict[str, AcceleratorModel] = {}
        for entry in self.models.values():
            for name in (*entry.aliases, entry.model):
                index[_fold(name)] = entry
        object.__setattr__(self, "_index", index)

    @classmethod
    def of(cls, entries: Iterable[AcceleratorModel]) -> Catalog:
        return cls({e.model: e for e in entries})

    def __iter__(self) -> Iterator[AcceleratorModel]:
        return iter(self.models.values())

    def __len__(self) -> int:
        return len(self.models)

    def get(self, name: str) -> AcceleratorModel | None:
        """Find a model by id or alias, ignoring case, spaces, dashes and underscores."""
        return self.models.get(name) or self._index.get(_fold(name))

    def ids(self) -> list[str]:
        return sorted(self.models)

    def merged(self, extra: Iterable[AcceleratorModel]) -> Catalog:
        """A catalog with ``extra`` added or overriding by model id (fleet files may add)."""
        models = dict(self.models)
        models.update({e.model: e for e in extra})
        return Catalog(models)


def _fold(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())
