"""/api/v1/services: deploy (or roll out), list, show, scale, roll back, delete, logs, load.

Thin: each route checks who may act, hands the body to the one parser (bounded, every
field named) and the one use case in suanli.service.services, and answers the wire form.
A tenant sees and changes its own services; the operator names the tenant (``tenant``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from suanli.api.auth import CallerDep, open_to
from suanli.api.convert_services import load_points, service_to_response
from suanli.api.deps import LoopDep, PlatformDep
from suanli.domain.access import EVERYONE, TENANT_ROLES
from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.service_spec import ServiceSpec
from suanli.domain.services import Service
from suanli.domain.tenants import TENANT_PATTERN
from suanli.schemas.servicefile import parse_service_data, parse_service_text
from suanli.schemas.services import (
    DeployServiceRequest,
    LoadResponse,
    RollbackRequest,
    ScaleRequest,
    ServiceListResponse,
    ServiceResponse,
)
from suanli.service import services as svc
from suanli.service.deps import Platform
from suanli.service.services_autoscale import load_series
from suanli.workers.control_loop import ControlLoop

router = APIRouter(prefix="/services", tags=["services"])
TenantQuery = Annotated[str | None, Query(pattern=TENANT_PATTERN)]


def _spec(body: DeployServiceRequest) -> ServiceSpec:
    source = body.source or "<service>"
    if (body.spec is None) == (body.spec_yaml is None):
        wrong = FieldError("spec_yaml", "service.spec_or_yaml", None)
        raise InvalidInput("invalid_service_spec", errors=[wrong], source=source)
    if body.spec_yaml is not None:
        return parse_service_text(body.spec_yaml, source)
    return parse_service_data(body.spec, source)


def _view(
    p: Platform, s: Service, detail: bool, created: bool = False, changed: bool = False
) -> ServiceResponse:
    replicas = svc.replicas(p, s, live=not detail)
    return service_to_response(s, svc.revisions(p, s), replicas, detail, created, changed)


def _wake(loop: ControlLoop | None) -> None:
    if loop is not None:
        loop.wake()


@router.post("", response_model=ServiceResponse)
@open_to(*TENANT_ROLES)
def deploy(
    body: DeployServiceRequest,
    p: PlatformDep,
    caller: CallerDep,
    loop: LoopDep,
    response: Response,
) -> ServiceResponse:
    """Create a service, or roll out a changed spec as a new revision (the same spec again
    changes nothing). ``must_exist``: a rollout only."""
    owner = svc.owner_for(caller, body.tenant, "deploy services")
    spec = _spec(body)
    done = svc.rollout(p, owner, spec) if body.must_exist else svc.deploy(p, owner, spec)
    response.status_code = 201 if done.created else 200
    _wake(loop)
    return _view(p, done.service, True, done.created, done.changed)


@router.get("")
@open_to(*EVERYONE)
def list_services(
    p: PlatformDep, caller: CallerDep, tenant: TenantQuery = None
) -> ServiceListResponse:
    """The caller's services (the operator's view: every tenant's, or ``tenant``'s)."""
    if caller.is_operator:
        found = p.services.services(tenant)
    else:
        found = p.services.services(svc.owner_for(caller, tenant, "list services"))
    return ServiceListResponse(services=[_view(p, s, False) for s in found])


@router.get("/{name}")
@open_to(*EVERYONE)
def get_service(
    name: str, p: PlatformDep, caller: CallerDep, tenant: TenantQuery = None
) -> ServiceResponse:
    """One service: its replicas (where each runs, its address, ready or not) and revisions."""
    owner = svc.owner_for(caller, tenant, "read services")
    return _view(p, svc.get_service(p, owner, name), True)


@router.post("/{name}/scale")
@open_to(*TENANT_ROLES)
def scale(
    name: str,
    body: ScaleRequest,
    p: PlatformDep,
    caller: CallerDep,
    loop: LoopDep,
    tenant: TenantQuery = None,
) -> ServiceResponse:
    owner = svc.owner_for(caller, tenant, "scale services")
    done = svc.scale(p, owner, name, body.replicas)
    _wake(loop)
    return _view(p, done, True)


@router.post("/{name}/rollback")
@open_to(*TENANT_ROLES)
def rollback(
    name: str,
    body: RollbackRequest,
    p: PlatformDep,
    caller: CallerDep,
    loop: LoopDep,
    tenant: TenantQuery = None,
) -> ServiceResponse:
    owner = svc.owner_for(caller, tenant, "roll back services")
    done = svc.rollback(p, owner, name, body.revision)
    _wake(loop)
    return _view(p, done, True)


@router.delete("/{name}")
@open_to(*TENANT_ROLES)
def delete(
    name: str, p: PlatformDep, caller: CallerDep, loop: LoopDep, tenant: TenantQuery = None
) -> ServiceResponse:
    """Out of the routes now; replicas drain and stop, then the service is gone."""
    owner = svc.owner_for(caller, tenant, "delete services")
    done = svc.delete(p, owner, name)
    _wake(loop)
    return _view(p, done, True)


@router.get("/{name}/logs")
@open_to(*TENANT_ROLES)
def logs(
    name: str,
    p: PlatformDep,
    caller: CallerDep,
    replica: Annotated[str | None, Query(max_length=32)] = None,
    offset: Annotated[int, Query(ge=0, le=1 << 40)] = 0,
    tenant: TenantQuery = None,
) -> Response:
    """A replica's output (default: the newest); ``X-Replica`` says which, ``X-Next-Offset``
    where to read on."""
    owner = svc.owner_for(caller, tenant, "read service logs")
    chosen, chunk = svc.replica_logs(p, svc.get_service(p, owner, name), replica, offset)
    return Response(
        chunk.data,
        media_type="application/octet-stream",
        headers={"X-Next-Offset": str(chunk.next_offset), "X-Replica": chosen.id},
    )


@router.get("/{name}/load")
@open_to(*EVERYONE)
def load(name: str, p: PlatformDep, caller: CallerDep, tenant: TenantQuery = None) -> LoadResponse:
    """Requests/s, requests in flight and tokens/s over the last 15 minutes, as the gateways
    reported them (5 s buckets)."""
    owner = svc.owner_for(caller, tenant, "read services")
    service = svc.get_service(p, owner, name)
    return LoadResponse(service=name, points=load_points(load_series(p, service, p.clock.now())))
