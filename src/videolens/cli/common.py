"""Plumbing shared by the CLI modules: consoles, the container of the data directory, error exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from videolens.runtime.settings import Settings
from videolens.services.errors import VideolensError

if TYPE_CHECKING:
    from videolens.container import Container

console = Console()
err_console = Console(stderr=True)

#: exit code of a command refused for bad input (unknown id, invalid file, ...)
EXIT_BAD_INPUT = 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def service_errors() -> Iterator[None]:
    """Service errors become a red message and exit code 2 instead of a traceback."""
    try:
        yield
    except VideolensError as exc:
        fail(exc.message)


@contextmanager
def cli_container() -> Iterator[Container]:
    """The container of the configured data directory (VIDEOLENS_* settings), closed afterwards."""
    # imported here: building the whole service graph is not needed for `--help` or `anonymize`
    from videolens.container import Container

    container = Container(Settings())
    try:
        with service_errors():
            yield container
    finally:
        container.close()
