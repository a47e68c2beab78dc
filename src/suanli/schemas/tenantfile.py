"""Tenants files (YAML): the companies a platform serves, their eligibility attributes,
and their share of the fleet (fair queues).

Checked field by field like the fleet file; ``suanli up --tenants FILE`` reads one, the
built-in demo is ``suanli/data/demo-tenants.yaml``. Issue 6 moves tenants into the
database behind the same ``TenantDirectory`` protocol. Every queue field is optional::

    tenants:
      - name: demo
        weight: 2                  # its fair share against the others' (default 1)
        quota: {A100: 8, "*": 4}   # guaranteed accelerators per model ("*": any other)
        cohort: beijing            # tenants of a cohort lend each other idle quota ...
        borrow: true               # ... to those that may borrow (needs a cohort)
        pools: [vc-a, lab]         # where its jobs may run: pools, clusters or cluster/pool
    queue: {grace_s: 30, min_run_s: 600, backfill: true, aging_s: 14400, reserve: true}

A tenant with no quota is bound by the fleet alone; one with no ``pools`` may use any pool
(a virtual cluster is a tenant whose ``pools`` are its own). ``queue`` has the same knobs as a
simulation scenario's (``suanli.schemas.queuefile``), so the simulator and the live server
can be given the same terms.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.fleet import Fleet
from suanli.domain.tenants import ANY, TENANT_PATTERN, Tenant, TenantTerms
from suanli.schemas.queuefile import QueueEntry
from suanli.schemas.validation import load_yaml_mapping, read_bounded, validate_model

MAX_TENANTS_BYTES = 4 * 1024 * 1024
_CODE = "invalid_tenants"

Name = Annotated[str, Field(pattern=TENANT_PATTERN)]
AttributeName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
AttributeValue = Annotated[str, Field(min_length=1, max_length=100)] | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


QuotaKey = Annotated[str, Field(min_length=1, max_length=64)]
PoolRef = Annotated[str, Field(min_length=1, max_length=129)]  # pool, cluster or cluster/pool


class TenantEntry(_Strict):
    name: Name
    display_name: str = Field(default="", max_length=200)
    attributes: dict[AttributeName, AttributeValue] = Field(default_factory=dict, max_length=100)
    weight: float = Field(default=1.0, gt=0, le=1e6)
    quota: dict[QuotaKey, Annotated[int, Field(ge=0, le=10_000_000)]] = Field(
        default_factory=dict, max_length=100
    )
    cohort: Name | None = None
    borrow: bool = False
    pools: list[PoolRef] | None = Field(default=None, min_length=1, max_length=1000)


class TenantsFile(_Strict):
    format: Literal["suanli/tenants/v1"]
    tenants: list[TenantEntry] = Field(min_length=1, max_length=100_000)
    queue: QueueEntry = QueueEntry()


@dataclass(frozen=True)
class TenantsSetup:
    """A tenants file read: the tenants (with their queue terms) and the queue's knobs."""

    tenants: list[Tenant]
    queue: QueueEntry


def parse_tenants_setup(
    text: str | bytes,
    source: str = "<tenants>",
    models: Collection[str] | None = None,
    places: Collection[str] | None = None,
) -> TenantsSetup:
    """Parse a tenants file, or raise InvalidInput naming the file and every bad field.

    ``models``: the accelerator models a quota may name (besides ``*``); None: any.
    ``places``: what a tenant's ``pools`` may name (``pool_places``); None: anything.
    """
    data = load_yaml_mapping(text, source, MAX_TENANTS_BYTES, "tenants file")
    parsed = validate_model(TenantsFile, data, source, _CODE)
    errors: list[FieldError] = []
    seen: set[str] = set()
    allowed = ", ".join([ANY, *sorted(models)]) if models is not None else ""
    for i, entry in enumerate(parsed.tenants):
        if entry.name in seen:
            errors.append(FieldError(f"tenants[{i}].name", "duplicate_name", entry.name))
        seen.add(entry.name)
        if models is not None:
            errors.extend(
                FieldError(f"tenants[{i}].quota.{key}", "unknown_accelerator", key, allowed)
                for key in entry.quota
                if key != ANY and key not in models
            )
        errors.extend(pool_errors(f"tenants[{i}].pools", entry.pools, places))
        if entry.borrow and entry.cohort is None:
            errors.append(
                FieldError(
                    f"tenants[{i}].borrow",
                    "not_allowed",
                    True,
                    "false, unless the tenant names a cohort to borrow from",
                )
            )
    if errors:
        raise InvalidInput(_CODE, errors=errors, source=source)
    return TenantsSetup(
        [
            Tenant(
                e.name,
                e.display_name or e.name,
                dict(sorted(e.attributes.items())),
                TenantTerms(
                    e.name,
                    e.weight,
                    dict(e.quota),
                    e.cohort,
                    e.borrow,
                    frozenset(e.pools) if e.pools is not None else None,
                ),
            )
            for e in parsed.tenants
        ],
        parsed.queue,
    )


def pool_places(fleet: Fleet) -> set[str]:
    """What a tenant's ``pools`` may name: each pool, each cluster, each ``cluster/pool``."""
    out: set[str] = set()
    for cluster, pool in fleet.pools():
        out |= {pool.name, cluster.name, f"{cluster.name}/{pool.name}"}
    return out


def pool_errors(
    field: str, pools: Sequence[str] | None, places: Collection[str] | None
) -> list[FieldError]:
    """A tenant's ``pools`` entries the fleet does not have, and repeated ones."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for j, ref in enumerate(pools or []):
        if ref in seen:
            errors.append(FieldError(f"{field}[{j}]", "duplicate_name", ref))
        seen.add(ref)
        if places is not None and ref not in places:
            shown = sorted(places)
            more = f" (+{len(shown) - 20})" if len(shown) > 20 else ""
            errors.append(
                FieldError(f"{field}[{j}]", "not_allowed", ref, ", ".join(shown[:20]) + more)
            )
    return errors


def parse_tenants_text(text: str | bytes, source: str = "<tenants>") -> list[Tenant]:
    """Parse a tenants file's tenants (see ``parse_tenants_setup``)."""
    return parse_tenants_setup(text, source).tenants


def load_tenants_setup(
    path: Path, models: Collection[str] | None = None, places: Collection[str] | None = None
) -> TenantsSetup:
    """Read and check a tenants file from disk, its queue terms included."""
    raw = read_bounded(path, MAX_TENANTS_BYTES, "tenants file", _CODE)
    return parse_tenants_setup(raw, str(path), models, places)


def load_tenants_file(path: Path) -> list[Tenant]:
    """Read and check a tenants file from disk."""
    return load_tenants_setup(path).tenants


def demo_tenants_setup(
    models: Collection[str] | None = None, places: Collection[str] | None = None
) -> TenantsSetup:
    """The built-in demo tenants (``suanli/data/demo-tenants.yaml``) and their queue terms."""
    text = resources.files("suanli").joinpath("data/demo-tenants.yaml").read_bytes()
    return parse_tenants_setup(text, "suanli/data/demo-tenants.yaml", models, places)


def demo_tenants() -> list[Tenant]:
    """The built-in demo tenants (``suanli/data/demo-tenants.yaml``)."""
    return demo_tenants_setup().tenants
