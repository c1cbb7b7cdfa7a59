"""`videolens streams ...`: create and inspect video streams, ingest files, pull cameras, export clips."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from videolens.cli.common import cli_container, console, err_console

if TYPE_CHECKING:
    from videolens.services.streams.service import StreamsService

streams_app = typer.Typer(help="Video streams (Kinesis Video Streams compatible).", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


@contextmanager
def _service() -> Iterator[StreamsService]:
    with cli_container() as container:
        yield container.streams


@streams_app.command("create")
def create(
    name: str,
    retention_hours: Annotated[int, typer.Option(help="hours fragments are kept (0: live buffer only)")] = 24,
    media_type: Annotated[str | None, typer.Option(help="e.g. video/h264")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a stream."""
    with _service() as svc:
        info = svc.create_stream(name, retention_hours=retention_hours, media_type=media_type)
    print(json.dumps({"StreamARN": info.arn})) if as_json else console.print(info.arn)


@streams_app.command("list")
def list_streams(as_json: JsonOption = False) -> None:
    """List streams."""
    with _service() as svc:
        streams, _ = svc.catalog.list()
    if as_json:
        print(
            json.dumps(
                [{"name": s.name, "arn": s.arn, "retention_hours": s.retention_hours} for s in streams]
            )
        )
        return
    table = Table("name", "retention (h)", "created", "ARN")
    for s in streams:
        table.add_row(
            s.name, str(s.retention_hours), time.strftime("%F %T", time.gmtime(s.created_at)), s.arn
        )
    console.print(table)


@streams_app.command("delete")
def delete(name: str) -> None:
    """Delete a stream and all its fragments."""
    with _service() as svc:
        svc.delete_stream(svc.describe_stream(name).arn)
    console.print(f"deleted {name}")


@streams_app.command("fragments")
def fragments(name: str, as_json: JsonOption = False) -> None:
    """List a stream's fragments (oldest first)."""
    with _service() as svc:
        rows, _ = svc.list_fragments(name=name, max_results=1000)
    if as_json:
        keys = ("number", "producer", "server", "ms", "bytes")
        rows_out = [(r.fragment_number, r.producer_ts, r.server_ts, r.duration_ms, r.size) for r in rows]
        print(json.dumps([dict(zip(keys, row, strict=True)) for row in rows_out]))
        return
    table = Table("fragment number", "producer time (UTC)", "duration ms", "bytes")
    for r in rows:
        millis = int(r.producer_ts * 1000) % 1000
        stamp = time.strftime("%F %T", time.gmtime(r.producer_ts)) + f".{millis:03d}"
        table.add_row(r.fragment_number, stamp, str(r.duration_ms), str(r.size))
    console.print(table)


@streams_app.command("put")
def put(
    name: str,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="any media file PyAV reads")],
    endpoint: Annotated[
        str | None, typer.Option(help="send to a running server (PutMedia) instead of in-process")
    ] = None,
    realtime: Annotated[bool, typer.Option(help="pace the upload like a live camera")] = False,
) -> None:
    """Ingest a media file into a stream (remuxed to Matroska, no re-encode)."""
    from videolens.producer import chunks_of, put_media, realtime_chunks, to_matroska

    data = path.read_bytes() if path.suffix.lower() in (".mkv", ".webm") else to_matroska(path)
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn()
    )
    with progress:
        task = progress.add_task(f"put {path.name}", total=len(data))

        def tracked() -> Iterator[bytes]:
            for chunk in realtime_chunks(data) if realtime else chunks_of(data):
                yield chunk
                progress.advance(task, len(chunk))

        if endpoint:
            result = put_media(endpoint, tracked(), stream_name=name)
            acks = [a.doc for a in result.acks]
        else:
            with _service() as svc, svc.ingest(name=name) as session:
                acks = []
                for chunk in tracked():
                    acks += [a.to_wire() for a in session.feed(chunk)]
                acks += [a.to_wire() for a in session.finish()]
    persisted = [a for a in acks if a["EventType"] in ("PERSISTED", "RECEIVED")]
    errors = [a for a in acks if a["EventType"] == "ERROR"]
    console.print(f"{len({a['FragmentNumber'] for a in persisted})} fragments stored")
    for error in errors:
        err_console.print(f"[bold red]ERROR {error.get('ErrorId')}[/] {error.get('Message', '')}")
    if errors:
        raise typer.Exit(1)


@streams_app.command("clip")
def clip(
    name: str,
    out: Annotated[Path, typer.Argument(help="MP4 file to write")],
    start: Annotated[
        float | None, typer.Option(help="producer time, epoch seconds (default: oldest)")
    ] = None,
    end: Annotated[float | None, typer.Option(help="producer time, epoch seconds (default: newest)")] = None,
) -> None:
    """Export a time range as an MP4 (GetClip)."""
    with _service() as svc:
        rows, _ = svc.list_fragments(name=name, max_results=1000)
        if not rows:
            err_console.print("[bold red]error:[/] the stream has no fragments")
            raise typer.Exit(1)
        low = start if start is not None else rows[0].producer_ts
        high = end if end is not None else rows[-1].end_producer_ts
        chunks, info = svc.clip(name=name, kind="PRODUCER_TIMESTAMP", start=low, end=high)
        with out.open("wb") as f:
            for chunk in chunks:
                f.write(chunk)
    console.print(
        f"{out}: {info.duration_s:.2f} s, {info.video_packets} video / {info.audio_packets} audio packets"
    )


@streams_app.command("pull")
def pull(
    name: str,
    url: Annotated[str, typer.Argument(help="rtsp://, rtmp://, http(s):// URL or file")],
) -> None:
    """Pull a camera into a stream in the foreground until Ctrl-C (reconnects with back-off)."""
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with _service() as svc:
        status = svc.pulls.add(name, url)
        with console.status(f"pulling {url} into {name}") as spinner:
            while not stop.wait(1.0):
                spinner.update(
                    f"{status.state}: {status.fragments} fragments, {status.sessions} sessions, "
                    f"{status.reconnects} reconnects"
                    + (f" (last error: {status.last_error})" if status.last_error else "")
                )
        # a foreground pull is not left attached: no server takes it over after Ctrl-C
        svc.pulls.remove(name)
    console.print(f"stopped: {status.fragments} fragments stored")
