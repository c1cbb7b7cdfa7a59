"""CLI command `serve`: the HTTP server (native REST API + AWS-compatible endpoints)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from videolens.runtime.settings import Settings

if TYPE_CHECKING:
    from videolens.container import Container


def serve(
    host: Annotated[str | None, typer.Option(help="bind address (VIDEOLENS_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (VIDEOLENS_PORT)")] = None,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="also run jobs, processors, pulls and event delivery here (--no-worker: an API + ingest "
            "node; run `videolens worker` nodes beside it)",
        ),
    ] = True,
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
    if settings.effective_auth_mode == "secure":
        announce_first_admin(container)
    try:
        uvicorn.run(
            create_app(container, run_background=worker),
            host=settings.host,
            port=settings.port,
            log_config=None,
            timeout_graceful_shutdown=5,
        )
    finally:
        container.close()


def announce_first_admin(container: Container) -> None:
    """First secure start with no admin credential: create an admin token and show it this once."""
    from videolens.cli.common import err_console

    first = container.auth.first_admin_token()
    if first is None:
        return
    # to the terminal only (stderr, outside the JSON logs)
    err_console.print(
        "[bold]videolens: secure mode, no admin credential yet. First admin token "
        f"(id {first.info.token_id}), shown once:[/]"
    )
    err_console.print(first.token, soft_wrap=True, highlight=False)
