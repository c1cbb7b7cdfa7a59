"""CLI command `serve`: the HTTP server (native REST API + AWS-compatible endpoints)."""

from __future__ import annotations

from typing import Annotated

import typer

from videolens.runtime.settings import Settings


def serve(
    host: Annotated[str | None, typer.Option(help="bind address (VIDEOLENS_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (VIDEOLENS_PORT)")] = None,
) -> None:
    """Run the HTTP server (native REST API + AWS-compatible endpoints)."""
    import uvicorn

    from videolens.api.app import create_app
    from videolens.container import Container
    from videolens.runtime.logging import configure_logging

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    configure_logging(settings.log_level, settings.log_json)
    container = Container(settings)
    try:
        uvicorn.run(
            create_app(container),
            host=settings.host,
            port=settings.port,
            log_config=None,
            timeout_graceful_shutdown=5,
        )
    finally:
        container.close()
