"""`/docs`: Swagger UI served from this origin (swagger-ui-dist from npm, like hls.js), never from a CDN.

swagger-ui-dist is third-party code, so `make web-deps` installs it into the UI package's gitignored
node_modules/. Without it `/docs` says so and points at `/openapi.json`; it never falls back to a CDN.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from videolens.api.auth import public

SWAGGER_DIST = Path(__file__).parent / "ui" / "node_modules" / "swagger-ui-dist"
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}
MISSING = (
    "<!doctype html><title>videolens API</title><h1>videolens API</h1>"
    "<p>Swagger UI is not installed on this server (<code>make web-deps</code> installs it). "
    'The API description is at <a href="/openapi.json">/openapi.json</a>.</p>'
)


def installed() -> bool:
    return all((SWAGGER_DIST / name).is_file() for name in ASSETS)


def _asset(path: Path, media_type: str) -> Callable[[], FileResponse]:
    def serve() -> FileResponse:
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})

    return serve


def install_swagger_ui(app: FastAPI) -> None:
    """`/docs` and its two assets, public exactly when `/openapi.json` is (VIDEOLENS_DOCS_PUBLIC)."""
    present = installed()
    if present:
        for name, media_type in ASSETS.items():
            app.add_api_route(
                f"/docs/{name}",
                _asset(SWAGGER_DIST / name, media_type),
                methods=["GET"],
                include_in_schema=False,
                dependencies=[public(when="docs_public")],
            )

    def swagger_ui() -> HTMLResponse:
        if not present:
            return HTMLResponse(MISSING)
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="videolens API",
            swagger_js_url="/docs/swagger-ui-bundle.js",
            swagger_css_url="/docs/swagger-ui.css",
            swagger_favicon_url="/ui/icon.svg",
        )

    app.add_api_route(
        "/docs",
        swagger_ui,
        methods=["GET"],
        include_in_schema=False,
        dependencies=[public(when="docs_public")],
    )
