"""`videolens keys create|list|delete`: manage the access keys SigV4-signed clients use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from videolens.cli.common import cli_container, console, fail
from videolens.services.auth.models import Role

if TYPE_CHECKING:
    from videolens.services.auth.keys import KeysService

keys_app = typer.Typer(help="Access keys for boto3 / AWS CLI clients (SigV4).", no_args_is_help=True)


@contextmanager
def _service() -> Iterator[KeysService]:
    with cli_container() as container:
        yield container.keys


@keys_app.command("create")
def create(
    description: Annotated[str, typer.Option(help="free text, e.g. who uses the key")] = "",
    access_key_id: Annotated[
        str | None, typer.Option(help="keep an existing key id (A-Z0-9, 16+ chars)")
    ] = None,
    secret: Annotated[str | None, typer.Option(help="keep an existing secret (16+ chars)")] = None,
    role: Annotated[str, typer.Option(help="admin | operator | viewer")] = "admin",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Create a key pair; the secret is shown once (it is stored encrypted)."""
    try:
        key_role = Role.parse(role)
    except ValueError as exc:
        fail(str(exc))
    with _service() as keys:
        key = keys.create(description, access_key_id, secret, key_role)
    if as_json:
        print(
            json.dumps(
                {
                    "AccessKeyId": key.access_key_id,
                    "SecretAccessKey": key.secret_access_key,
                    "Role": key.role.value,
                }
            )
        )
        return
    console.print(f"AWS_ACCESS_KEY_ID={key.access_key_id}")
    console.print(f"AWS_SECRET_ACCESS_KEY={key.secret_access_key}")


@keys_app.command("list")
def list_keys(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List access key ids (never the secrets)."""
    with _service() as service:
        keys = service.list()
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "AccessKeyId": k.access_key_id,
                        "Description": k.description,
                        "CreatedAt": k.created_at.isoformat(),
                        "Role": k.role.value,
                    }
                    for k in keys
                ]
            )
        )
        return
    table = Table("access key id", "role", "description", "created")
    for k in keys:
        table.add_row(
            k.access_key_id, k.role.value, k.description, k.created_at.isoformat(timespec="seconds")
        )
    console.print(table)


@keys_app.command("delete")
def delete(access_key_id: str) -> None:
    """Delete a key; requests signed with it are rejected from now on."""
    with _service() as keys:
        keys.delete(access_key_id)
    console.print(f"deleted {access_key_id}")
