"""The FastAPI application: native REST routers, AWS facades, health, OpenAPI and Swagger UI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from videolens import __version__
from videolens.api.auth import annotate_openapi, enforce_declared_access, public
from videolens.api.auth_gate import AuthGate
from videolens.api.aws.dispatch import AwsDispatcher
from videolens.api.http_metrics import HttpMetrics
from videolens.api.openapi import install_openapi
from videolens.api.problems import install_problem_handlers
from videolens.api.rest import access_keys as access_keys_routes
from videolens.api.rest import analyzers as analyzers_routes
from videolens.api.rest import anonymize as anonymize_routes
from videolens.api.rest import auth as auth_routes
from videolens.api.rest import buckets as buckets_routes
from videolens.api.rest import channels as channels_routes
from videolens.api.rest import datastreams as datastreams_routes
from videolens.api.rest import events as events_routes
from videolens.api.rest import faces as faces_routes
from videolens.api.rest import jobs as jobs_routes
from videolens.api.rest import metrics as metrics_routes
from videolens.api.rest import models as models_routes
from videolens.api.rest import processors as processors_routes
from videolens.api.rest import sightings as sightings_routes
from videolens.api.rest import streams as streams_routes
from videolens.api.rest import updates as updates_routes
from videolens.api.swagger import install_swagger_ui
from videolens.api.ui.routes import build_router as build_ui_router
from videolens.container import Container


def create_app(container: Container, *, run_background: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        container.start_ingest()
        if run_background:
            container.start_background()
        try:
            yield
        finally:
            if run_background:
                container.stop_background()
            container.stop_ingest()

    app = FastAPI(
        title="videolens",
        version=__version__,
        description="Self-hosted video analytics: faces, streams, jobs, anonymization. "
        "Native REST API under /v1; AWS-compatible endpoints for signed boto3 requests.",
        lifespan=lifespan,
        # deny by default: every route needs admin unless it declares less (api/auth.py)
        dependencies=[Depends(enforce_declared_access)],
        docs_url=None,
        openapi_url=None,
    )
    app.state.container = container
    install_problem_handlers(app)
    # native requests are authenticated before routing; SigV4-signed AWS requests (boto3, AWS CLI)
    # are taken by the AWS facades first (middleware added last runs first)
    app.add_middleware(AuthGate, container=container)
    app.add_middleware(AwsDispatcher, container=container)
    app.add_middleware(HttpMetrics)  # outermost: counts both doors

    @app.get("/healthz", tags=["health"], dependencies=[public()])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/openapi.json", include_in_schema=False, dependencies=[public(when="docs_public")])
    def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    install_swagger_ui(app)  # local swagger-ui-dist files: no request leaves the origin

    def openapi() -> dict[str, Any]:
        # FastAPI caches the document; adding the declared access to it again is idempotent
        return annotate_openapi(FastAPI.openapi(app), app.routes)

    app.openapi = openapi  # type: ignore[method-assign]
    install_openapi(app)  # after the access annotation: it documents every error response it adds

    app.include_router(auth_routes.router)
    app.include_router(access_keys_routes.router)
    app.include_router(faces_routes.router)
    app.include_router(jobs_routes.router)
    app.include_router(events_routes.router)
    app.include_router(buckets_routes.router)
    app.include_router(anonymize_routes.router)
    app.include_router(streams_routes.router)
    app.include_router(streams_routes.kvs_router)
    app.include_router(channels_routes.router)
    app.include_router(datastreams_routes.router)
    app.include_router(models_routes.router)
    app.include_router(analyzers_routes.router)
    app.include_router(processors_routes.router)
    app.include_router(sightings_routes.router)
    app.include_router(metrics_routes.router)
    app.include_router(updates_routes.router)
    app.include_router(build_ui_router())  # the web UI at / (public files; its data needs the API token)
    return app
