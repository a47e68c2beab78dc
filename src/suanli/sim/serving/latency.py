"""How fast one replica answers: a roofline model of a vLLM-style server.

Figures from suanli/data/llm-latency.yaml (each with its source) and the accelerator
catalog. Stated simplifications: prefill and decode alternate (vLLM's default without
chunked prefill, prefill first); a request is admitted only when its whole KV cache
(prompt + output) fits, so nothing is ever preempted; attention's quadratic prefill
term is left out (prompts here average ~1,200 tokens, where the linear term dominates).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from suanli.domain.accelerators import AcceleratorModel
from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.service_spec import ServiceSpec
from suanli.service.fleet import builtin_catalog

GB = 1e9


@dataclass(frozen=True, slots=True)
class ReplicaModel:
    """One replica's speeds; all times in seconds."""

    name: str
    weights_bytes: float
    kv_bytes_per_token: float
    bandwidth: float  # bytes/s the decode step reaches
    flops: float  # FLOP/s prefill and decode reach
    flops_per_token: float
    kv_capacity_tokens: int
    max_seqs: int
    max_batched_tokens: int
    start_s: float

    def prefill_s(self, tokens: int) -> float:
        return tokens * self.flops_per_token / self.flops

    def decode_step_s(self, batch: int, cached_tokens: float) -> float:
        """One decode step of ``batch`` sequences holding ``cached_tokens`` in KV cache."""
        moved = self.weights_bytes + cached_tokens * self.kv_bytes_per_token
        return moved / self.bandwidth + batch * self.flops_per_token / self.flops


def _figure(table: dict[str, Any], key: str, where: str) -> float:
    entry = table.get(key)
    value = entry.get("value") if isinstance(entry, dict) else None
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise InvalidInput(
            "invalid_latency_model",
            errors=[FieldError(f"{where}.{key}", "wrong_type", value, "a positive number")],
        )
    return float(value)


def load_figures() -> dict[str, Any]:
    text = resources.files("suanli").joinpath("data/llm-latency.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def replica_model(
    spec: ServiceSpec,
    llm: str,
    start_s: float | None = None,
    figures: dict[str, Any] | None = None,
) -> ReplicaModel:
    """The latency model of one replica of ``spec`` serving model ``llm`` (a key of the
    figures file), on the first accelerator model the spec names."""
    data = figures if figures is not None else load_figures()
    models: dict[str, Any] = data.get("models", {})
    if llm not in models:
        raise InvalidInput(
            "invalid_sim_args",
            errors=[FieldError("--llm", "not_allowed", llm, ", ".join(sorted(models)))],
        )
    acc = spec.resources.accelerator
    catalog = builtin_catalog()
    chosen: AcceleratorModel | None = catalog.get(acc.model[0]) if acc and acc.model else None
    if acc is None or chosen is None:
        raise InvalidInput(
            "invalid_sim_args",
            errors=[
                FieldError(
                    "resources.accelerator.model",
                    "not_allowed",
                    acc.model if acc else None,
                    "a catalog accelerator model (the simulator needs its speeds)",
                )
            ],
        )
    m, e = models[llm], data.get("engine", {})
    count = max(1, int(acc.count)) * spec.resources.nodes
    params = _figure(m, "parameters_b", f"models.{llm}") * 1e9
    width = _figure(m, "bytes_per_value", f"models.{llm}")
    kv = 2 * _figure(m, "layers", llm) * _figure(m, "kv_heads", llm) * _figure(m, "head_dim", llm)
    memory = (chosen.memory or 0) * GB * count * _figure(e, "gpu_memory_utilization", "engine")
    weights = params * width
    bandwidth_figure = chosen.memory_bandwidth_gbps.value
    if not isinstance(bandwidth_figure, int | float) or not chosen.tflops or weights >= memory:
        raise InvalidInput(
            "invalid_sim_args",
            errors=[
                FieldError(
                    "resources.accelerator",
                    "not_allowed",
                    f"{count} x {chosen.model}",
                    f"accelerators with sourced speeds and memory for {weights / GB:.0f} GB "
                    "of weights plus KV cache",
                )
            ],
        )
    return ReplicaModel(
        name=f"{llm} on {count} x {chosen.model}",
        weights_bytes=weights,
        kv_bytes_per_token=kv * width,
        bandwidth=float(bandwidth_figure)
        * GB
        * count
        * _figure(e, "decode_bandwidth_efficiency", "engine"),
        flops=chosen.tflops * 1e12 * count * _figure(e, "compute_efficiency", "engine"),
        flops_per_token=2 * params,
        kv_capacity_tokens=int((memory - weights) / (kv * width)),
        max_seqs=int(_figure(e, "max_num_seqs", "engine")),
        max_batched_tokens=int(_figure(e, "max_batched_tokens", "engine")),
        start_s=start_s if start_s is not None else _figure(e, "start_s", "engine"),
    )
