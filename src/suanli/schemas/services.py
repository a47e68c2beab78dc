"""Wire models of /api/v1/services: requests bounded at the edge, answers the CLI reads."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from suanli.domain.service_spec import MAX_REPLICAS, MAX_SERVICE_SPEC_BYTES
from suanli.domain.tenants import TENANT_PATTERN

TENANT_FIELD = Field(
    default=None,
    pattern=TENANT_PATTERN,
    description="the owning tenant (default: the caller's; the operator names one)",
)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeployServiceRequest(_Wire):
    """Exactly one of ``spec`` (decoded) or ``spec_yaml`` (the file's text)."""

    spec: dict[str, Any] | None = None
    spec_yaml: str | None = Field(default=None, max_length=MAX_SERVICE_SPEC_BYTES)
    tenant: str | None = TENANT_FIELD
    source: str | None = Field(default=None, max_length=512, description="file name, for messages")
    must_exist: bool = Field(default=False, description="a rollout: refuse to create a service")


class ScaleRequest(_Wire):
    replicas: int = Field(ge=0, le=MAX_REPLICAS)


class RollbackRequest(_Wire):
    revision: int | None = Field(
        default=None, ge=1, le=1_000_000, description="default: the one before"
    )


class ReplicaResponse(_Wire):
    id: str
    revision: int
    status: Literal["starting", "ready", "draining", "stopped", "failed"]
    job_id: str
    attempt: int
    cluster: str
    url: str
    floor: bool
    created_at: dt.datetime
    ready_at: dt.datetime | None
    detail: str


class RevisionResponse(_Wire):
    number: int
    created_at: dt.datetime
    spec: dict[str, Any]


class ServiceResponse(_Wire):
    id: str
    owner: str
    name: str
    revision: int
    latest: int
    desired: int
    ready: int
    min_replicas: int
    max_replicas: int
    served_name: str | None
    deleting: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    created: bool = False  # this request created it
    changed: bool = False  # this request made a new revision
    replicas: list[ReplicaResponse] = Field(default_factory=list)
    revisions: list[RevisionResponse] = Field(default_factory=list)


class ServiceListResponse(_Wire):
    services: list[ServiceResponse]


class LoadPoint(_Wire):
    end: dt.datetime
    requests_per_s: float
    in_flight: float
    tokens_per_s: float


class LoadResponse(_Wire):
    service: str
    points: list[LoadPoint]
