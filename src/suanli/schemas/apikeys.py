"""Wire models of model services' API keys (/api/v1/apikeys)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from suanli.domain.access import NAME_PATTERN
from suanli.domain.apikeys import MAX_BURST, MAX_NAME, MAX_RATE_PER_S, MAX_SCOPE

SERVICE_PATTERN = NAME_PATTERN[:-1] + r"(/[a-z0-9][a-z0-9._-]{0,62})?$"  # name or owner/name


class ApiKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME, pattern=r"^[^\x00-\x1f\x7f]+$")
    tenant: str | None = Field(default=None, pattern=NAME_PATTERN, description="default: yours")
    services: list[Annotated[str, Field(pattern=SERVICE_PATTERN)]] = Field(
        default=[],
        max_length=MAX_SCOPE,
        description="services the key may call, as name (yours) or owner/name; empty: all",
    )
    rate_per_s: float | None = Field(default=None, gt=0, le=MAX_RATE_PER_S)
    burst: int | None = Field(default=None, ge=1, le=MAX_BURST)
    days: int | None = Field(default=None, ge=1, le=3650, description="default: no expiry")


class ApiKeyResponse(BaseModel):
    id: str
    tenant: str
    name: str
    services: list[str]
    rate_per_s: float | None
    burst: int | None
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class IssuedApiKeyResponse(BaseModel):
    key: str = Field(description="the whole key: shown once, stored only as a hash")
    info: ApiKeyResponse
