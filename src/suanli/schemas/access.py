"""Wire models of organisations, users, API tokens and the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from suanli.domain.access import NAME_PATTERN

RoleName = Literal["tenant_member", "tenant_admin", "provider_admin", "operator"]
KindName = Literal["tenant", "provider", "platform"]
ScopeName = Literal["read", "write"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WhoAmIResponse(_Wire):
    user: str
    role: RoleName
    organisation: str
    token_id: str
    scopes: list[ScopeName]


AttributeName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
AttributeValue = Annotated[str, Field(min_length=1, max_length=100)] | bool


class OrganisationRequest(_Wire):
    name: str = Field(pattern=NAME_PATTERN, description="a tenant's or a provider's name")
    kind: KindName
    # A tenant organisation whose tenant does not exist yet creates it with these:
    display_name: str = Field(default="", max_length=200)
    attributes: dict[AttributeName, AttributeValue] = Field(default_factory=dict, max_length=100)


class TenantRequest(_Wire):
    """A new tenant: its name, the name people read, and the facts programmes check."""

    name: str = Field(pattern=NAME_PATTERN)
    display_name: str = Field(default="", max_length=200)
    attributes: dict[AttributeName, AttributeValue] = Field(
        default_factory=dict,
        max_length=100,
        examples=[{"registered_zone": "yizhuang-new-town", "not_on_dishonesty_list": True}],
    )


class OrganisationResponse(_Wire):
    name: str
    kind: KindName
    created_at: dt.datetime


class UserRequest(_Wire):
    name: str = Field(pattern=NAME_PATTERN)
    organisation: str = Field(pattern=NAME_PATTERN)
    role: RoleName


class UserResponse(_Wire):
    name: str
    organisation: str
    role: RoleName
    created_at: dt.datetime


class TokenRequest(_Wire):
    user: str | None = Field(default=None, pattern=NAME_PATTERN, description="default: yourself")
    scopes: list[ScopeName] = Field(default=["read", "write"], min_length=1, max_length=2)
    days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="valid for this many days (default: 90, or as long as the caller's "
        "token has left, whichever is shorter; never longer than the caller's token)",
    )
    description: str = Field(default="", max_length=200)


class TokenResponse(_Wire):
    id: str
    user: str
    scopes: list[ScopeName]
    description: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


class IssuedTokenResponse(_Wire):
    token: str = Field(description="the secret: shown once, stored only as a hash")
    info: TokenResponse


class AuditEventResponse(_Wire):
    id: int
    at: dt.datetime
    actor: str
    role: str
    organisation: str
    token_id: str
    action: str
    target: str
    status: int
    remote: str
