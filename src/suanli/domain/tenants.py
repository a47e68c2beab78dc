"""Tenants: the organisations jobs belong to, with the attributes voucher policies check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEMO_TENANT = "demo"
TENANT_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"

Attribute = str | bool


@dataclass(frozen=True)
class Tenant:
    """A company (or team) using the platform; ``attributes`` are facts a programme checks,
    such as ``registered_zone`` or ``not_on_dishonesty_list`` (附则-style eligibility)."""

    name: str
    display_name: str = ""
    attributes: Mapping[str, Attribute] = field(default_factory=dict)
