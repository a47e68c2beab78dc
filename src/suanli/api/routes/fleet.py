"""/api/v1/fleet and /api/v1/accelerators."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter

from suanli.api.auth import CallerDep, open_to
from suanli.api.convert import (
    accelerator_to_response,
    fleet_to_response,
    inventory_to_response,
)
from suanli.api.deps import LangDep, PlatformDep
from suanli.domain.access import EVERYONE, Role
from suanli.scheduler.snapshot import build_snapshot
from suanli.schemas.api import AcceleratorResponse, ClusterInventoryResponse, FleetResponse
from suanli.schemas.operations import ProviderResponse
from suanli.service.inventory import read_inventories

router = APIRouter(tags=["fleet"])


@router.get("/fleet")
@open_to(*EVERYONE)
def get_fleet(p: PlatformDep, caller: CallerDep) -> FleetResponse:
    """The fleet's capacity and prices; a provider sees its own clusters only."""
    down = p.unavailable
    snapshot = build_snapshot(p.clock.now(), p.fleet, p.jobs.holding(), [], down)
    fleet = p.fleet
    if caller.provider is not None:
        own = tuple(x for x in fleet.providers if x.name == caller.provider)
        fleet = replace(fleet, providers=own)
    return fleet_to_response(fleet, snapshot, down)


@router.get("/providers")
@open_to(*EVERYONE)
def list_providers(p: PlatformDep) -> list[ProviderResponse]:
    """The fleet's providers, their names and regions (no capacity figures: see /fleet)."""
    return [
        ProviderResponse(
            name=x.name,
            display_name=x.display_name,
            clusters=[c.name for c in x.clusters],
            regions=sorted({c.region for c in x.clusters}),
        )
        for x in p.fleet.providers
    ]


@router.get("/inventory")
@open_to(Role.OPERATOR, Role.PROVIDER_ADMIN)
def get_inventory(
    p: PlatformDep, caller: CallerDep, lang: LangDep
) -> list[ClusterInventoryResponse]:
    """Each cluster's nodes, accelerators and free capacity, read from its engine now.

    Operators see every cluster, a provider its own; tenants see the fleet (/fleet) only.
    """
    return [inventory_to_response(x, lang) for x in read_inventories(p, caller.provider)]


@router.get("/accelerators")
@open_to(*EVERYONE)
def list_accelerators(p: PlatformDep) -> list[AcceleratorResponse]:
    return [accelerator_to_response(a) for a in p.fleet.catalog]
