"""The job spec: what a tenant asks for, validated field by field at the edge.

The models are strict (unknown fields are refused) and bounded (no count, string or
list without a limit), so a bad or hostile spec is refused before anything is stored.
"""

from __future__ import annotations

import datetime as dt
import typing
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from suanli.domain.accelerators import STACKS

MAX_SPEC_BYTES = 256 * 1024
MAX_NODES = 256
MAX_ACCELERATORS_PER_NODE = 16
MAX_SCRIPT_CHARS = 64 * 1024

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$", max_length=63)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
Stack = Literal["cuda", "cann", "neuware", "dtk", "xpu", "maca", "musa", "corex", "tops", "cpu"]
if set(typing.get_args(Stack)) != set(STACKS):
    raise RuntimeError("Stack literal and STACKS disagree")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class AcceleratorRequest(_Strict):
    """Which accelerators, per node: exact model, any-of list, or minimums."""

    model: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=32
    )
    count: int = Field(default=1, ge=1, le=MAX_ACCELERATORS_PER_NODE)
    min_memory_gb: float | None = Field(default=None, gt=0, le=4096)
    min_tflops: float | None = Field(default=None, gt=0, le=100_000)

    @field_validator("model", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Resources(_Strict):
    """Per-node shape and the number of nodes (a gang: all nodes or none)."""

    accelerator: AcceleratorRequest | None = None
    nodes: int = Field(default=1, ge=1, le=MAX_NODES)
    cpus: int = Field(default=1, ge=1, le=1024)
    memory_gb: int = Field(default=1, ge=0, le=16384)


class DataInput(_Strict):
    """A dataset the job reads, and where it lives (data movement costs and takes time)."""

    name: Name
    uri: str = Field(pattern=r"^[a-z][a-z0-9+.-]*://\S+$", max_length=2048)
    region: str = Field(min_length=1, max_length=64)
    size_gb: float = Field(ge=0, le=10_000_000)


RetryCause = Literal["lost", "failed"]


class RetryPolicy(_Strict):
    """How often suanli starts the job again, and after what."""

    max_attempts: int = Field(default=3, ge=1, le=20)
    when: list[RetryCause] = Field(
        default_factory=lambda: list[RetryCause](["lost"]), max_length=2
    )


class JobSpec(_Strict):
    """A job as the tenant describes it (YAML file, API body or SDK call)."""

    name: Name
    description: str | None = Field(default=None, max_length=2000)
    resources: Resources = Field(default_factory=Resources)
    stacks: list[Stack] | None = Field(default=None, max_length=len(STACKS))
    frameworks: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=16
    )
    regions: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=32
    )
    domestic_only: bool = False
    inputs: list[DataInput] = Field(default_factory=list, max_length=32)
    image: str | None = Field(default=None, max_length=512)
    setup: str | None = Field(default=None, max_length=MAX_SCRIPT_CHARS)
    run: str = Field(min_length=1, max_length=MAX_SCRIPT_CHARS)
    env: dict[EnvName, Annotated[str, Field(max_length=8192)]] = Field(
        default_factory=dict, max_length=128
    )
    estimated_hours: float | None = Field(default=None, gt=0, le=8760)
    time_limit_hours: float = Field(default=24, gt=0, le=8760)
    budget_yuan: Decimal | None = Field(default=None, ge=0, le=Decimal("1e12"), decimal_places=2)
    deadline: AwareDatetime | None = None
    priority: int = Field(default=50, ge=0, le=100)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    objective: Literal["cost", "time"] = "cost"

    @property
    def accelerators_per_node(self) -> int:
        acc = self.resources.accelerator
        return acc.count if acc else 0

    @property
    def total_accelerators(self) -> int:
        return self.accelerators_per_node * self.resources.nodes

    @property
    def time_limit(self) -> dt.timedelta:
        return dt.timedelta(hours=self.time_limit_hours)
