"""Relative throughput per job class and accelerator model (Gavel's matrix, or our own).

A table maps (job class, accelerator model) to a rate in any unit (steps/s, samples/s):
only ratios between models matter. A job class missing from the table runs at the
models' dense-TFLOPS ratio (``fallback``), so a table can cover only what was measured.
Files are read at the edge (``suanli.schemas.throughputfile``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class ThroughputTable:
    rates: Mapping[tuple[str, str], float] = field(default_factory=dict)
    fallback: Mapping[str, float] = field(default_factory=dict)  # model -> relative speed
    source: str = "dense TFLOPS"

    def rate(self, job_class: str | None, model: str) -> float:
        """Work units per second of ``job_class`` on one ``model`` accelerator; > 0."""
        if job_class is not None:
            measured = self.rates.get((job_class, model))
            if measured is not None:
                return measured
        return self.fallback.get(model, 1.0)

    def knows(self, job_class: str | None, model: str) -> bool:
        return job_class is None or (job_class, model) in self.rates or not self.rates

    def of_class(self, job_class: str) -> Mapping[str, float]:
        """The measured rates of ``job_class`` by model (empty when never measured)."""
        return self._by_class.get(job_class, {})

    @cached_property
    def _by_class(self) -> dict[str, dict[str, float]]:
        found: dict[str, dict[str, float]] = {}
        for (job_class, model), rate in self.rates.items():
            found.setdefault(job_class, {})[model] = rate
        return found

    def classes(self) -> set[str]:
        return {c for c, _ in self.rates}

    def models(self) -> set[str]:
        return {m for _, m in self.rates}


UNIFORM = ThroughputTable()
"""Every model equally fast: what a heterogeneity-agnostic scheduler assumes."""
