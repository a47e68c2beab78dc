"""Tenants files (YAML): the companies a platform serves and their eligibility attributes.

Checked field by field like the fleet file; ``suanli up --tenants FILE`` reads one, the
built-in demo is ``suanli/data/demo-tenants.yaml``. Issue 6 moves tenants into the
database behind the same ``TenantDirectory`` protocol.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.tenants import TENANT_PATTERN, Tenant
from suanli.schemas.validation import load_yaml_mapping, read_bounded, validate_model

MAX_TENANTS_BYTES = 4 * 1024 * 1024
_CODE = "invalid_tenants"

Name = Annotated[str, Field(pattern=TENANT_PATTERN)]
AttributeName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
AttributeValue = Annotated[str, Field(min_length=1, max_length=100)] | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantEntry(_Strict):
    name: Name
    display_name: str = Field(default="", max_length=200)
    attributes: dict[AttributeName, AttributeValue] = Field(default_factory=dict, max_length=100)


class TenantsFile(_Strict):
    format: Literal["suanli/tenants/v1"]
    tenants: list[TenantEntry] = Field(min_length=1, max_length=100_000)


def parse_tenants_text(text: str | bytes, source: str = "<tenants>") -> list[Tenant]:
    """Parse a tenants file, or raise InvalidInput naming the file and every bad field."""
    data = load_yaml_mapping(text, source, MAX_TENANTS_BYTES, "tenants file")
    parsed = validate_model(TenantsFile, data, source, _CODE)
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, entry in enumerate(parsed.tenants):
        if entry.name in seen:
            errors.append(FieldError(f"tenants[{i}].name", "duplicate_name", entry.name))
        seen.add(entry.name)
    if errors:
        raise InvalidInput(_CODE, errors=errors, source=source)
    return [
        Tenant(e.name, e.display_name or e.name, dict(sorted(e.attributes.items())))
        for e in parsed.tenants
    ]


def load_tenants_file(path: Path) -> list[Tenant]:
    """Read and check a tenants file from disk."""
    return parse_tenants_text(
        read_bounded(path, MAX_TENANTS_BYTES, "tenants file", _CODE), str(path)
    )


def demo_tenants() -> list[Tenant]:
    """The built-in demo tenants (``suanli/data/demo-tenants.yaml``)."""
    text = resources.files("suanli").joinpath("data/demo-tenants.yaml").read_bytes()
    return parse_tenants_text(text, "suanli/data/demo-tenants.yaml")
