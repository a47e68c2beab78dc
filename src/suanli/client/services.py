"""The /api/v1/services calls `suanli serve ...` makes (over SuanliClient.call)."""

from __future__ import annotations

from typing import Any

from suanli.client.http import SuanliClient
from suanli.schemas.services import LoadResponse, ServiceListResponse, ServiceResponse


def _params(tenant: str | None, **more: Any) -> dict[str, Any]:
    found = {k: v for k, v in more.items() if v is not None}
    if tenant is not None:
        found["tenant"] = tenant
    return found


def deploy(
    c: SuanliClient, spec_yaml: str, source: str, tenant: str | None, must_exist: bool = False
) -> ServiceResponse:
    body: dict[str, Any] = {"spec_yaml": spec_yaml, "source": source, "must_exist": must_exist}
    if tenant is not None:
        body["tenant"] = tenant
    return ServiceResponse.model_validate(c.call("POST", "/services", json=body).json())


def services(c: SuanliClient, tenant: str | None) -> ServiceListResponse:
    r = c.call("GET", "/services", params=_params(tenant))
    return ServiceListResponse.model_validate(r.json())


def service(c: SuanliClient, name: str, tenant: str | None) -> ServiceResponse:
    r = c.call("GET", f"/services/{name}", params=_params(tenant))
    return ServiceResponse.model_validate(r.json())


def scale(c: SuanliClient, name: str, replicas: int, tenant: str | None) -> ServiceResponse:
    r = c.call(
        "POST", f"/services/{name}/scale", json={"replicas": replicas}, params=_params(tenant)
    )
    return ServiceResponse.model_validate(r.json())


def rollback(
    c: SuanliClient, name: str, revision: int | None, tenant: str | None
) -> ServiceResponse:
    body = {"revision": revision} if revision is not None else {}
    r = c.call("POST", f"/services/{name}/rollback", json=body, params=_params(tenant))
    return ServiceResponse.model_validate(r.json())


def delete(c: SuanliClient, name: str, tenant: str | None) -> ServiceResponse:
    r = c.call("DELETE", f"/services/{name}", params=_params(tenant))
    return ServiceResponse.model_validate(r.json())


def logs(
    c: SuanliClient, name: str, replica: str | None, offset: int, tenant: str | None
) -> tuple[bytes, int, str]:
    r = c.call(
        "GET",
        f"/services/{name}/logs",
        params=_params(tenant, replica=replica, offset=offset),
    )
    return r.content, int(r.headers.get("X-Next-Offset", offset)), r.headers.get("X-Replica", "")


def load(c: SuanliClient, name: str, tenant: str | None) -> LoadResponse:
    r = c.call("GET", f"/services/{name}/load", params=_params(tenant))
    return LoadResponse.model_validate(r.json())
