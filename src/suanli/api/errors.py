"""The one mapping from suanli errors to HTTP statuses and JSON bodies."""

from __future__ import annotations

import functools
import logging
import math
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from suanli.domain.errors import (
    Conflict,
    EngineFailure,
    FieldError,
    Forbidden,
    InputTooLarge,
    InvalidInput,
    NotFound,
    SuanliError,
    TooManyRequests,
    Unauthenticated,
)
from suanli.domain.i18n import Lang, pick_lang, render
from suanli.schemas.api import ErrorBody, ErrorResponse, FieldErrorResponse
from suanli.schemas.validation import field_path

log = logging.getLogger("suanli.api")

STATUS: list[tuple[type[SuanliError], int]] = [
    (InputTooLarge, 413),
    (InvalidInput, 422),
    (NotFound, 404),
    (Conflict, 409),
    (EngineFailure, 502),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (TooManyRequests, 429),
]


HTTP_CODES = {400: "http.bad_request", 404: "http.not_found", 405: "http.method_not_allowed"}


def request_lang(request: Request) -> Lang:
    explicit = request.query_params.get("lang")
    return pick_lang(explicit or request.headers.get("accept-language"))


def error_response(exc: SuanliError, lang: Lang) -> JSONResponse:
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), 500)
    errors = getattr(exc, "errors", [])
    body = ErrorBody(
        code=exc.code,
        message=render(exc.code, lang, **exc.params),
        source=getattr(exc, "source", None),
        errors=[FieldErrorResponse(**e.to_dict(lang)) for e in errors],
    )
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyRequests) and exc.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
    return JSONResponse(
        ErrorResponse(error=body).model_dump(mode="json"), status_code=status, headers=headers
    )


def install(app: FastAPI) -> None:
    async def on_suanli(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SuanliError)  # noqa: S101 - registered for this type only
        return error_response(exc, request_lang(request))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
        errors = [
            FieldError(
                field_path(e["loc"]),
                "invalid_value",
                e.get("input"),
                params={"detail": e.get("msg", "")},
            )
            for e in exc.errors()
        ]
        return error_response(
            InvalidInput("invalid_request", errors=errors), request_lang(request)
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        body = ErrorBody(code="internal", message=render("internal", request_lang(request)))
        return JSONResponse(ErrorResponse(error=body).model_dump(mode="json"), status_code=500)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        # Starlette's own refusals (no such path, method, unreadable body) in our error shape.
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
        code = HTTP_CODES.get(exc.status_code, "invalid_request")
        lang = request_lang(request)
        body = ErrorBody(code=code, message=render(code, lang, detail=exc.detail))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names the first route's methods only
            headers["Allow"] = ", ".join(allowed_methods(request))
        return JSONResponse(
            ErrorResponse(error=body).model_dump(mode="json"),
            status_code=exc.status_code,
            headers=headers,
        )

    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(SuanliError, on_suanli)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_unexpected)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the application answers on the request's path."""
    from suanli.api.auth import audiences  # noqa: PLC0415 - only on a 405, which is rare

    path = request.url.path
    routes = [(m, t) for m, t, _ in audiences(request.app)]
    routes += [  # the application's own (health, the OpenAPI document)
        (m, str(r.path))
        for r in request.app.router.routes
        if isinstance(getattr(r, "path", None), str)
        for m in getattr(r, "methods", None) or ()
        if m != "HEAD"
    ]
    return sorted({method for method, template in routes if _regex(template).match(path)})


@functools.lru_cache(maxsize=256)
def _regex(template: str) -> re.Pattern[str]:
    return compile_path(template)[0]
