"""Routes that serve the web UI's files: `/` (the page) and one route per file under `/ui/`.

The files are public (they hold no data; every call they make needs the API token in secure mode).
One route per file, made at start-up from the package folder, rather than a `{path}` catch-all: a
path that names no file is not served, and the route walk of tests/auth sees every route there is.
hls.js is third-party code, so it is not in the repository: `make web-deps` installs it with npm
into this package's gitignored node_modules/, and `/ui/vendor/hls.min.js` serves it from there.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse

from videolens.api.auth import public

STATIC = Path(__file__).parent / "static"
HLS_JS = Path(__file__).parent / "node_modules" / "hls.js" / "dist" / "hls.min.js"
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}
#: the page may load only what this server serves (no CDN, no inline script)
CSP = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
    "worker-src 'self' blob:; style-src 'self'; script-src 'self'; connect-src 'self'"
)


def _serve(path: Path, media_type: str) -> FileResponse:
    headers = {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
    }
    return FileResponse(path, media_type=media_type, headers=headers)


def ui_files() -> dict[str, Path]:
    """URL path -> file, for every UI file there is (hls.js only when it is installed)."""
    files = {
        "/ui/" + p.relative_to(STATIC).as_posix(): p
        for p in sorted(STATIC.rglob("*"))
        if p.is_file() and p.suffix in TYPES
    }
    if HLS_JS.is_file():
        files["/ui/vendor/hls.min.js"] = HLS_JS
    return files


def _endpoint(path: Path, media_type: str) -> Callable[[], FileResponse]:
    def serve() -> FileResponse:
        return _serve(path, media_type)

    return serve


def build_router() -> APIRouter:
    router = APIRouter(tags=["ui"], include_in_schema=False)

    def index() -> FileResponse:
        return _serve(STATIC / "index.html", "text/html")

    def config(request: Request) -> JSONResponse:
        # whether to ask for a token before the first API call (so no call is refused to find out)
        mode = request.app.state.container.settings.effective_auth_mode
        return JSONResponse({"auth_mode": mode}, headers={"Cache-Control": "no-store"})

    router.add_api_route("/", index, methods=["GET"], dependencies=[public()])
    router.add_api_route("/ui/config.json", config, methods=["GET"], dependencies=[public()])
    for url, path in ui_files().items():
        media_type = (
            TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        )

        router.add_api_route(url, _endpoint(path, media_type), methods=["GET"], dependencies=[public()])
    return router
