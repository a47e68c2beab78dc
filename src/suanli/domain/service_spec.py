"""The service spec: a long-running model server, validated field by field at the edge.

A service is a job that does not end: ``run`` starts a server on ``$PORT``; suanli keeps
between ``replicas.min`` and ``replicas.max`` copies of it, each placed like a job (the
same ``resources``), ready once ``readiness.path`` answers, and scales them on one metric
per replica (``scaling``). An OpenAI-compatible service also says which model it serves
and at what price (``model``). Strict and bounded like the job spec (domain/spec.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from suanli.domain.spec import (
    MAX_SCRIPT_CHARS,
    EnvName,
    Name,
    Resources,
    Stack,
    _Strict,
)

MAX_SERVICE_SPEC_BYTES = 256 * 1024
MAX_REPLICAS = 256
MAX_PRICE_PER_MILLION = Decimal(10_000)  # yuan per million tokens; dearest public list ~¥600
ScalingMetric = Literal["in_flight", "rps", "tokens_per_s"]
Visibility = Literal["private", "tenants", "public"]
Payer = Literal["owner", "caller"]
ModelName = Annotated[
    str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
]
Price = Annotated[Decimal, Field(ge=0, le=MAX_PRICE_PER_MILLION, decimal_places=4, max_digits=12)]


class Readiness(_Strict):
    """How suanli knows a replica is ready: ``path`` answers 2xx within ``timeout_s`` of
    the replica's start (a replica that never does is replaced), polled every ``period_s``."""

    path: str = Field(default="/health", max_length=512, pattern=r"^/[\x21-\x7e]{0,511}$")
    timeout_s: float = Field(default=600, gt=0, le=7200)
    period_s: float = Field(default=5, ge=0.5, le=300)


class Replicas(_Strict):
    """How many copies run: ``min`` 0 lets an idle service scale to zero."""

    min: int = Field(default=1, ge=0, le=MAX_REPLICAS)
    max: int = Field(default=1, ge=1, le=MAX_REPLICAS, validate_default=True)

    @field_validator("max")
    @classmethod
    def _not_below_min(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("min")
        if isinstance(low, int) and value < low:
            raise PydanticCustomError(
                "service.max_below_min", "max below min", {"min": low, "max": value}
            )
        return value


class Scaling(_Strict):
    """Target tracking on one metric per ready replica, with delays against flapping.

    ``in_flight``: requests being answered; ``rps``: requests a second; ``tokens_per_s``:
    generated tokens a second (OpenAI-compatible services only: the gateway counts them).
    A rise must last ``up_delay_s`` before replicas are added, a fall ``down_delay_s``
    before they are removed; with ``replicas.min: 0`` the service goes to zero after
    ``idle_s`` without a request.
    """

    metric: ScalingMetric = "in_flight"
    target: float = Field(default=8, gt=0, le=1_000_000)
    up_delay_s: float = Field(default=0, ge=0, le=3600)
    down_delay_s: float = Field(default=300, ge=0, le=86_400)
    idle_s: float = Field(default=600, ge=0, le=86_400)


class Rollout(_Strict):
    """How a new revision replaces the old: ``surge`` replicas above the desired count may
    start beside the old ones; ``max_unavailable`` ready replicas may be missing meanwhile
    (0: an old ready replica is stopped only once a new one is ready in its place)."""

    surge: int = Field(default=1, ge=0, le=MAX_REPLICAS)
    max_unavailable: int = Field(default=0, ge=0, le=MAX_REPLICAS, validate_default=True)
    # Seconds a replica leaves the routes before it is stopped (its requests finish).
    drain_s: float = Field(default=10, ge=0, le=3600)

    @field_validator("max_unavailable")
    @classmethod
    def _moves(cls, value: int, info: ValidationInfo) -> int:
        if value == 0 and info.data.get("surge") == 0:
            raise PydanticCustomError("service.rollout_stuck", "rollout cannot move", {})
        return value


class ServedModel(_Strict):
    """What an OpenAI-compatible service serves, who publishes it and at what price."""

    served_name: ModelName
    base_model: ModelName
    publisher: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
    domestic: bool = False
    input_price_per_million_yuan: Price = Decimal(0)
    output_price_per_million_yuan: Price = Decimal(0)
    visibility: Visibility = "private"
    # Who pays: callers per token at the prices above (API calls, API调用), or the owner
    # for replica time like a job (private deployment, 私有化部署).
    payer: Payer = "caller"
    tenants: list[Name] = Field(default_factory=list, max_length=256, validate_default=True)

    @field_validator("tenants")
    @classmethod
    def _tenants_match_visibility(cls, value: list[str], info: ValidationInfo) -> list[str]:
        shown = info.data.get("visibility")
        if shown == "tenants" and not value:
            raise PydanticCustomError("service.tenants_needed", "tenants needed", {})
        if shown in ("private", "public") and value:
            raise PydanticCustomError(
                "service.tenants_unused", "tenants unused", {"visibility": shown}
            )
        if len(set(value)) != len(value):
            twice = next(t for t in value if value.count(t) > 1)
            raise PydanticCustomError("service.tenant_twice", "tenant twice", {"tenant": twice})
        return value


class ServiceSpec(_Strict):
    """A service as its owner describes it (YAML file, API body or SDK call)."""

    name: Name
    description: str | None = Field(default=None, max_length=2000)
    resources: Resources = Field(default_factory=Resources)
    stacks: list[Stack] | None = Field(default=None, max_length=10)
    regions: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=32
    )
    domestic_only: bool = False
    image: str | None = Field(default=None, max_length=512)
    setup: str | None = Field(default=None, max_length=MAX_SCRIPT_CHARS)
    run: str = Field(min_length=1, max_length=MAX_SCRIPT_CHARS)
    env: dict[EnvName, Annotated[str, Field(max_length=8192)]] = Field(
        default_factory=dict, max_length=128
    )
    readiness: Readiness = Field(default_factory=Readiness)
    replicas: Replicas = Field(default_factory=Replicas)
    scaling: Scaling = Field(default_factory=Scaling)
    rollout: Rollout = Field(default_factory=Rollout)
    objective: Literal["cost", "time"] = "cost"
    model: ServedModel | None = Field(default=None, validate_default=True)

    @field_validator("run")
    @classmethod
    def _serves_on_port(cls, value: str) -> str:
        if "PORT" not in value:
            raise PydanticCustomError("service.run_without_port", "no $PORT", {})
        return value

    @field_validator("env")
    @classmethod
    def _port_is_ours(cls, value: dict[str, str]) -> dict[str, str]:
        if "PORT" in value:
            raise PydanticCustomError("service.port_in_env", "PORT in env", {})
        return value

    @field_validator("model")
    @classmethod
    def _tokens_need_a_model(
        cls, value: ServedModel | None, info: ValidationInfo
    ) -> ServedModel | None:
        scaling = info.data.get("scaling")
        if value is None and isinstance(scaling, Scaling) and scaling.metric == "tokens_per_s":
            raise PydanticCustomError("service.model_needed", "model needed", {})
        return value
