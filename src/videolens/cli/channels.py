"""`videolens channels ...`: manage live channels of a running server (its REST API; runners live there)."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import httpx
import typer

from videolens.cli.common import console, fail

channels_app = typer.Typer(
    help="Live channels (MediaLive compatible): inputs, channels, start/stop.", no_args_is_help=True
)
Endpoint = Annotated[str, typer.Option(envvar="VIDEOLENS_ENDPOINT", help="the server's base URL")]
DEFAULT_ENDPOINT = "http://127.0.0.1:8080"


def _call(endpoint: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    headers = {}
    token = os.environ.get("VIDEOLENS_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = httpx.request(method, endpoint.rstrip("/") + path, json=body, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        fail(f"cannot reach {endpoint}: {exc}")
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail") or response.text
        except ValueError:
            detail = response.text
        fail(f"{response.status_code}: {detail}")
    return response.json()


def _print(doc: Any) -> None:
    console.print_json(json.dumps(doc))


@channels_app.command("create-group")
def create_group(cidrs: list[str], endpoint: Endpoint = DEFAULT_ENDPOINT) -> None:
    """An input security group: the CIDRs allowed to push."""
    _print(_call(endpoint, "POST", "/v1/channels/security-groups", {"cidrs": cidrs}))


@channels_app.command("create-input")
def create_input(
    name: str,
    group: Annotated[list[str], typer.Option(help="security group id (push inputs)")] = [],  # noqa: B006
    stream_name: Annotated[str | None, typer.Option(help="push: app/instance, e.g. live/alice")] = None,
    source: Annotated[str | None, typer.Option(help="pull: the source URL")] = None,
    input_type: Annotated[
        str, typer.Option("--type", help="RTMP_PUSH, RTSP_PUSH, RTMP_PULL or URL_PULL")
    ] = "RTMP_PUSH",
    endpoint: Endpoint = DEFAULT_ENDPOINT,
) -> None:
    """An input; push inputs print their URL with its stream key."""
    body = {
        "name": name,
        "type": input_type,
        "stream_name": stream_name,
        "source": source,
        "security_groups": group,
    }
    _print(_call(endpoint, "POST", "/v1/channels/inputs", body))


@channels_app.command("create")
def create(
    name: str,
    input_id: str,
    destination: Annotated[str, typer.Argument(help="s3://bucket/prefix/name of a videolens bucket")],
    anonymize: Annotated[str | None, typer.Option(help="pixelate, blur, solid or none")] = None,
    spare: Annotated[str | None, typer.Option(help="collection whose people stay visible")] = None,
    segment_seconds: int = 2,
    endpoint: Endpoint = DEFAULT_ENDPOINT,
) -> None:
    """A channel with one HLS rendition at the input's size."""
    spec = (
        None if anonymize is None else {"mode": anonymize, **({"spare_collection": spare} if spare else {})}
    )
    body = {"name": name, "input_id": input_id, "destination": destination, "anonymize": spec,
            "segment_seconds": segment_seconds}  # fmt: skip
    _print(_call(endpoint, "POST", "/v1/channels", body))


@channels_app.command("list")
def list_channels(endpoint: Endpoint = DEFAULT_ENDPOINT) -> None:
    for channel in _call(endpoint, "GET", "/v1/channels")["channels"]:
        console.print(f"{channel['id']}  {channel['state']:<9} {channel['name']}  {channel['hls_url']}")


@channels_app.command("describe")
def describe(channel_id: str, endpoint: Endpoint = DEFAULT_ENDPOINT) -> None:
    _print(_call(endpoint, "GET", f"/v1/channels/{channel_id}"))


@channels_app.command("start")
def start(channel_id: str, endpoint: Endpoint = DEFAULT_ENDPOINT) -> None:
    _print(_call(endpoint, "POST", f"/v1/channels/{channel_id}/start"))


@channels_app.command("stop")
def stop(channel_id: str, endpoint: Endpoint = DEFAULT_ENDPOINT) -> None:
    _print(_call(endpoint, "POST", f"/v1/channels/{channel_id}/stop"))


@channels_app.command("delete")
def delete(channel_id: str, endpoint: Endpoint = DEFAULT_ENDPOINT) -> None:
    _print(_call(endpoint, "DELETE", f"/v1/channels/{channel_id}"))
