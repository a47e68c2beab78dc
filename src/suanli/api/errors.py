"""The one mapping from suanli errors to HTTP statuses and JSON bodies."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from suanli.domain.errors import (
    Conflict,
    EngineFailure,
    FieldError,
    InputTooLarge,
    InvalidInput,
    NotFound,
    SuanliError,
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
]


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
    return JSONResponse(ErrorResponse(error=body).model_dump(mode="json"), status_code=status)


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

    app.add_exception_handler(SuanliError, on_suanli)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_unexpected)
