"""Native REST error encoding: every failure becomes an RFC 9457 problem+json document."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from videolens.services.errors import InsufficientStorageError, VideolensError, storage_full

log = logging.getLogger(__name__)
PROBLEM_TYPE = "https://videolens.dev/problems/"


def problem(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": PROBLEM_TYPE + code, "title": code.replace("-", " "), "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(VideolensError)
    async def _service_error(_request: Request, exc: VideolensError) -> JSONResponse:
        return problem(exc.http_status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return problem(400, "invalid-request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(
            exc.status_code, "http-error"
        )
        return problem(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if storage_full(exc):
            log.error("storage full while serving %s: %s", request.url.path, exc)
            full = InsufficientStorageError("the server's storage is full; nothing was stored")
            return problem(full.http_status, full.code, full.message)
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem(500, "internal-error", "internal server error; see the server log")
