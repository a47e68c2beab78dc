"""The API's docs page (Swagger UI) from the package's own files: nothing from a CDN.

``scripts/web-assets.sh`` fetches the pinned ``swagger-ui-dist`` from the npm registry into
``static/vendor/swagger-ui/``; without it the page says how to get it.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from suanli.api.auth import public
from suanli.web.view import VENDOR

router = APIRouter(include_in_schema=False)
ASSETS = "/console/static/vendor/swagger-ui"


@router.get("/api/v1/docs", response_class=HTMLResponse)
@public
def api_docs() -> HTMLResponse:
    if not (VENDOR / "swagger-ui" / "swagger-ui-bundle.js").exists():
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>suanli API</title>"
            "<p>The API docs page needs Swagger UI: run <code>scripts/web-assets.sh</code>. "
            'The API itself is described at <a href="/api/v1/openapi.json">openapi.json</a>.</p>'
            "<p>API 文档页需要 Swagger UI：请运行 <code>scripts/web-assets.sh</code>。</p>",
            status_code=503,
        )
    return get_swagger_ui_html(
        openapi_url="/api/v1/openapi.json",
        title="suanli API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url="/console/static/favicon.svg",
        # No validator badge: it would send the document to validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": False},
    )
