"""/api/v1/fleet and /api/v1/accelerators."""

from __future__ import annotations

from fastapi import APIRouter

from suanli.api.convert import accelerator_to_response, fleet_to_response
from suanli.api.deps import PlatformDep
from suanli.scheduler.snapshot import build_snapshot
from suanli.schemas.api import AcceleratorResponse, FleetResponse

router = APIRouter(tags=["fleet"])


@router.get("/fleet")
def get_fleet(p: PlatformDep) -> FleetResponse:
    snapshot = build_snapshot(
        p.clock.now(), p.fleet, p.jobs.active(), [], frozenset(p.unavailable)
    )
    return fleet_to_response(p.fleet, snapshot, p.unavailable)


@router.get("/accelerators")
def list_accelerators(p: PlatformDep) -> list[AcceleratorResponse]:
    return [accelerator_to_response(a) for a in p.fleet.catalog]
