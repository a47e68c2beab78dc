"""Accelerator catalog files (the built-in one, and extra entries in fleet files)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from suanli.domain.accelerators import AcceleratorModel, Catalog, Figure
from suanli.domain.spec import Stack
from suanli.schemas.validation import load_yaml_mapping, validate_model

MAX_CATALOG_BYTES = 2 * 1024 * 1024


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FigureModel(_Strict):
    value: float | str | None = None
    source: str | None = Field(default=None, max_length=2000)


class AcceleratorEntry(_Strict):
    model: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$")
    name: str = Field(max_length=200)
    vendor: str = Field(max_length=100)
    domestic: bool
    china_market_variant: bool = False
    stack: Stack
    frameworks: list[str] = Field(default_factory=list, max_length=32)
    aliases: list[str] = Field(default_factory=list, max_length=32)
    fp16_tflops: FigureModel = FigureModel()
    memory_gb: FigureModel = FigureModel()
    memory_bandwidth_gbps: FigureModel = FigureModel()
    interconnect: FigureModel = FigureModel()
    notes: str = Field(default="", max_length=4000)

    def to_domain(self) -> AcceleratorModel:
        def fig(f: FigureModel) -> Figure:
            return Figure(f.value, f.source)

        return AcceleratorModel(
            model=self.model,
            name=self.name,
            vendor=self.vendor,
            domestic=self.domestic,
            stack=self.stack,
            frameworks=tuple(self.frameworks),
            aliases=tuple(self.aliases),
            fp16_tflops=fig(self.fp16_tflops),
            memory_gb=fig(self.memory_gb),
            memory_bandwidth_gbps=fig(self.memory_bandwidth_gbps),
            interconnect=fig(self.interconnect),
            china_market_variant=self.china_market_variant,
            notes=self.notes,
        )


class CatalogFile(_Strict):
    accelerators: list[AcceleratorEntry] = Field(max_length=1000)


def parse_catalog_text(text: str | bytes, source: str = "<catalog>") -> Catalog:
    data: Any = load_yaml_mapping(text, source, MAX_CATALOG_BYTES, "catalog file")
    parsed = validate_model(CatalogFile, data, source, "invalid_fleet")
    return Catalog.of(e.to_domain() for e in parsed.accelerators)
