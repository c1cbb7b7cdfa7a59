"""CLI group `tokens` (create|list|revoke): API tokens for the native REST API (Authorization: Bearer)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from videolens.cli.common import console, fail, service_errors
from videolens.runtime.settings import Settings
from videolens.services.auth.models import Role

if TYPE_CHECKING:
    from videolens.services.auth.service import AuthService, TokenInfo

tokens_app = typer.Typer(
    help="API tokens for the native REST API (bearer tokens with a role).", no_args_is_help=True
)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="data directory (default: VIDEOLENS_DATA_DIR)")
]
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@contextmanager
def _auth(data_dir: Path | None) -> Iterator[AuthService]:
    from videolens.container import Container

    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    container = Container(settings)
    try:
        with service_errors():
            yield container.auth
    finally:
        container.close()


def _duration(text: str) -> timedelta:
    m = _DURATION.match(text.strip())
    if m is None:
        fail(f"--expires-in takes a number and a unit (s, m, h, d), e.g. 90d; got {text!r}")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def _role(text: str) -> Role:
    try:
        return Role.parse(text)
    except ValueError as exc:
        fail(str(exc))


def _doc(t: TokenInfo) -> dict[str, object]:
    return {
        "token_id": t.token_id,
        "name": t.name,
        "role": t.role.value,
        "created_at": t.created_at.isoformat(),
        "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
        "expires_at": t.expires_at.isoformat() if t.expires_at else None,
        "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
    }


@tokens_app.command("create")
def create(
    role: Annotated[str, typer.Option(help="admin | operator | viewer")] = "viewer",
    name: Annotated[str, typer.Option(help="free text: who or what uses the token")] = "",
    expires_in: Annotated[str | None, typer.Option(help="lifetime, e.g. 12h or 90d (default: none)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print the token alone")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON (with the token)")] = False,
    data_dir: DataDir = None,
) -> None:
    """Create a token; it is shown once (only its SHA-256 is stored)."""
    lifetime = _duration(expires_in) if expires_in else None
    with _auth(data_dir) as auth:
        new = auth.create_token(name, _role(role), lifetime)
    if quiet:
        print(new.token)
    elif as_json:
        print(json.dumps({"token": new.token, **_doc(new.info)}))
    else:
        console.print(f"token id [bold]{new.info.token_id}[/] ({new.info.role.value}); shown once:")
        print(new.token)


@tokens_app.command("list")
def list_tokens(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    data_dir: DataDir = None,
) -> None:
    """List tokens (ids, names, roles, times; never the tokens)."""
    with _auth(data_dir) as auth:
        tokens = auth.tokens.list()
    if as_json:
        print(json.dumps([_doc(t) for t in tokens]))
        return
    table = Table("token id", "name", "role", "created", "last used", "expires", "revoked")
    for t in tokens:
        table.add_row(
            t.token_id,
            t.name,
            t.role.value,
            t.created_at.isoformat(timespec="seconds"),
            t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "-",
            t.expires_at.isoformat(timespec="seconds") if t.expires_at else "never",
            t.revoked_at.isoformat(timespec="seconds") if t.revoked_at else "-",
        )
    console.print(table)


@tokens_app.command("revoke")
def revoke(token_id: str, data_dir: DataDir = None) -> None:
    """Revoke a token: requests (and signed URLs) made with it are refused from now on."""
    with _auth(data_dir) as auth:
        auth.tokens.revoke(token_id)
    console.print(f"revoked {token_id}")
