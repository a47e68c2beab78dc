"""Throughput tables: relative speed of a job class on each accelerator model.

Two formats are read:

- ours (YAML or JSON), open to our own benchmark results::

    format: suanli/throughput/v1
    unit: steps/s            # any unit; only ratios between models matter
    source: "where the figures come from"
    rates:
      - {class: "ResNet-50 (batch size 64)@1", model: V100, rate: 10.2}

- Gavel's ``simulation_throughputs.json`` (OSDI'20): ``{gpu: {"(job_type, scale)":
  {"null": steps/s, ...}}}``; classes become ``"job_type@scale"``, gpus ``k80 -> K80``.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.throughput import ThroughputTable
from suanli.schemas.validation import load_yaml_mapping, read_bounded, validate_model

MAX_THROUGHPUT_BYTES = 32 * 1024 * 1024
_CODE = "invalid_throughput"
GAVEL_MODELS = {"k80": "K80", "p100": "P100", "v100": "V100"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RateEntry(_Strict):
    job_class: str = Field(alias="class", min_length=1, max_length=200)
    model: str = Field(min_length=1, max_length=64)
    rate: float = Field(gt=0, lt=1e12)


class ThroughputFile(_Strict):
    format: Literal["suanli/throughput/v1"]
    unit: str = Field(default="", max_length=100)
    source: str = Field(default="", max_length=2000)
    rates: list[RateEntry] = Field(min_length=1, max_length=1_000_000)


def job_class(job_type: str, scale: int) -> str:
    """The class name a Gavel job type at a scale factor gets in our tables."""
    return f"{job_type}@{scale}"


def parse_throughput_text(text: str | bytes, source: str = "<throughput>") -> ThroughputTable:
    """Our format or Gavel's JSON; InvalidInput names the file and the bad entry."""
    raw = text.decode() if isinstance(text, bytes) else text
    if raw.lstrip().startswith("{"):
        try:
            data: Any = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                _CODE,
                errors=[FieldError("(file)", "invalid_value", "", params={"detail": str(exc)})],
                source=source,
            ) from None
        if isinstance(data, dict) and data.get("format") != "suanli/throughput/v1":
            return _gavel(data, source)
    mapping = load_yaml_mapping(raw, source, MAX_THROUGHPUT_BYTES, "throughput file")
    parsed = validate_model(ThroughputFile, mapping, source, _CODE)
    rates = {(e.job_class, e.model): e.rate for e in parsed.rates}
    return ThroughputTable(rates, source=parsed.source or source)


def load_throughput_file(path: Path) -> ThroughputTable:
    return parse_throughput_text(
        read_bounded(path, MAX_THROUGHPUT_BYTES, "throughput file", _CODE), str(path)
    )


def _gavel(data: dict[str, Any], source: str) -> ThroughputTable:
    rates: dict[tuple[str, str], float] = {}
    errors: list[FieldError] = []
    for gpu, model in GAVEL_MODELS.items():
        table = data.get(gpu)
        if not isinstance(table, dict):
            errors.append(FieldError(gpu, "missing", None, "a table per GPU type"))
            continue
        for key, row in table.items():
            try:
                job_type, scale = ast.literal_eval(key)
                rate = float(row["null"])
            except (ValueError, SyntaxError, TypeError, KeyError):
                errors.append(FieldError(f"{gpu}.{key}", "wrong_type", key, "(job_type, scale)"))
                continue
            if rate > 0:
                rates[(job_class(str(job_type), int(scale)), model)] = rate
    if errors:
        raise InvalidInput(_CODE, errors=errors[:10], source=source)
    return ThroughputTable(rates, source=f"Gavel (OSDI'20) {Path(source).name}")
