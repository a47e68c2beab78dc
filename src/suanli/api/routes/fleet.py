"""/api/v1/fleet and /api/v1/accelerators."""

from __future__ import annotations

from fastapi import APIRouter

from suanli.api.convert import fleet_to_response
from suanli.api.deps import PlatformDep
from suanli.scheduler.snapshot import build_snapshot
from suanli.schemas.api import AcceleratorResponse, FigureResponse, FleetResponse

router = APIRouter(tags=["fleet"])


@router.get("/fleet")
def get_fleet(p: PlatformDep) -> FleetResponse:
    snapshot = build_snapshot(
        p.clock.now(), p.fleet, p.jobs.active(), [], frozenset(p.unavailable)
    )
    return fleet_to_response(p.fleet, snapshot, p.unavailable)


@router.get("/accelerators")
def list_accelerators(p: PlatformDep) -> list[AcceleratorResponse]:
    return [
        AcceleratorResponse(
            model=a.model,
            name=a.name,
            vendor=a.vendor,
            domestic=a.domestic,
            china_market_variant=a.china_market_variant,
            stack=a.stack,
            frameworks=list(a.frameworks),
            fp16_tflops=FigureResponse(value=a.fp16_tflops.value, source=a.fp16_tflops.source),
            memory_gb=FigureResponse(value=a.memory_gb.value, source=a.memory_gb.source),
            memory_bandwidth_gbps=FigureResponse(
                value=a.memory_bandwidth_gbps.value, source=a.memory_bandwidth_gbps.source
            ),
            interconnect=FigureResponse(value=a.interconnect.value, source=a.interconnect.source),
            notes=a.notes,
        )
        for a in p.fleet.catalog
    ]
