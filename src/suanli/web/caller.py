"""ApiCaller: the one place the console calls /api/v1, carrying the viewer's identity.

Pages never reach the service layer: they ask the API in-process (an ASGI transport on the
same application, no socket), forwarding the headers that say who is asking. When the API
requires authentication, its token or session cookie is already in FORWARDED.
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from fastapi import Request
from pydantic import TypeAdapter

from suanli.domain.i18n import Lang
from suanli.schemas.api import ErrorBody, ErrorResponse

FORWARDED = ("authorization", "cookie", "x-request-id")
T = TypeVar("T")


class ApiFailure(Exception):
    """The API said no; ``body`` carries its code, translated message and field errors."""

    def __init__(self, status: int, body: ErrorBody) -> None:
        self.status = status
        self.body = body
        super().__init__(body.message)


class ApiCaller:
    def __init__(self, request: Request, lang: Lang) -> None:
        headers = {h: request.headers[h] for h in FORWARDED if h in request.headers}
        headers["accept-language"] = "zh-CN" if lang == "zh" else "en"
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=request.app),
            base_url="http://console.internal/api/v1",
            headers=headers,
            timeout=30,
        )

    async def get(self, path: str, model: type[T], **params: Any) -> T:
        shown = {k: v for k, v in params.items() if v is not None and v != ""}
        response = await self._client.get(path, params=shown)
        if response.status_code >= 400:
            raise ApiFailure(response.status_code, _error_body(response))
        return TypeAdapter(model).validate_json(response.content)

    async def get_bytes(self, path: str, **params: Any) -> tuple[bytes, httpx.Headers]:
        """A plain (not JSON) answer, such as a page of a job's log, and its headers."""
        response = await self._client.get(path, params=params)
        if response.status_code >= 400:
            raise ApiFailure(response.status_code, _error_body(response))
        return response.content, response.headers

    async def close(self) -> None:
        await self._client.aclose()


def _error_body(response: httpx.Response) -> ErrorBody:
    try:
        return ErrorResponse.model_validate_json(response.content).error
    except ValueError:
        return ErrorBody(code="http_error", message=f"HTTP {response.status_code}")
