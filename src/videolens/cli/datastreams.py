"""`videolens datastreams ...`: create, list, describe, put to, tail and delete data streams.

Each command runs in-process on the configured data directory, or with `--endpoint URL` against a
running server through its Kinesis door (boto3) — use that while `videolens serve` owns an embedded
data directory. `tail` prints one JSON document per record, live, like `kcat -C`.
"""

from __future__ import annotations

import base64
import json
import signal
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from videolens.cli.common import cli_container, console, fail

if TYPE_CHECKING:
    from videolens.consumer import ShardSource
    from videolens.services.datastreams.service import DataStreamsService

app = typer.Typer(help="Data streams (Kinesis Data Streams compatible).", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]
EndpointOption = Annotated[
    str | None,
    typer.Option(help="talk to a running server (its Kinesis door) instead of the data directory"),
]


@contextmanager
def _service() -> Iterator[DataStreamsService]:
    with cli_container() as container:
        yield container.datastreams


@contextmanager
def _kinesis(endpoint: str) -> Iterator[Any]:
    """A boto3 kinesis client on the endpoint; AWS errors become a red message and exit code 2."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.session.Session()
    dev = session.get_credentials() is None  # a loopback videolens accepts any key in dev mode
    client = boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name=session.region_name or "us-east-1",
        aws_access_key_id="AKIDVIDEOLENSDEV" if dev else None,
        aws_secret_access_key="videolens-dev" if dev else None,
    )
    try:
        yield client
    except ClientError as exc:
        error = exc.response.get("Error", {})
        fail(f"{error.get('Code')}: {error.get('Message')}")
    except BotoCoreError as exc:
        fail(str(exc))


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def _print_json(doc: object) -> None:
    print(json.dumps(doc, default=str), flush=True)


@app.command("create")
def create(
    name: str,
    shards: Annotated[int | None, typer.Option(help="shard count (provisioned mode)")] = 1,
    on_demand: Annotated[bool, typer.Option("--on-demand", help="ON_DEMAND capacity mode")] = False,
    endpoint: EndpointOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a data stream."""
    mode = "ON_DEMAND" if on_demand else "PROVISIONED"
    if endpoint:
        with _kinesis(endpoint) as k:
            kwargs: dict[str, Any] = {"StreamName": name, "StreamModeDetails": {"StreamMode": mode}}
            if not on_demand:
                kwargs["ShardCount"] = shards
            k.create_stream(**kwargs)
            arn = k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    else:
        with _service() as svc:
            arn = svc.create_stream(name, None if on_demand else shards, mode=mode).arn
    _print_json({"StreamARN": arn}) if as_json else console.print(arn)


@app.command("list")
def list_streams(endpoint: EndpointOption = None, as_json: JsonOption = False) -> None:
    """List data streams."""
    rows: list[dict[str, Any]] = []
    if endpoint:
        with _kinesis(endpoint) as k:
            for page in k.get_paginator("list_streams").paginate():
                for s in page.get("StreamSummaries", []):
                    rows.append(
                        {
                            "name": s["StreamName"],
                            "arn": s["StreamARN"],
                            "status": s["StreamStatus"],
                            "mode": s.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED"),
                        }
                    )
    else:
        with _service() as svc:
            token: str | None = None
            while True:
                streams, _, token = svc.list_streams(limit=1000, next_token=token)
                rows += [{"name": s.name, "arn": s.arn, "status": s.status, "mode": s.mode} for s in streams]
                if not token:
                    break
    if as_json:
        _print_json(rows)
        return
    table = Table("name", "status", "mode", "ARN")
    for row in rows:
        table.add_row(row["name"], row["status"], row["mode"], row["arn"])
    console.print(table)


@app.command("describe")
def describe(name: str, endpoint: EndpointOption = None) -> None:
    """Show a data stream and its shards as JSON."""
    if endpoint:
        with _kinesis(endpoint) as k:
            summary = k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
            shards = [
                s for page in k.get_paginator("list_shards").paginate(StreamName=name) for s in page["Shards"]
            ]
        doc = {
            "name": summary["StreamName"],
            "arn": summary["StreamARN"],
            "status": summary["StreamStatus"],
            "mode": summary.get("StreamModeDetails", {}).get("StreamMode"),
            "retention_hours": summary["RetentionPeriodHours"],
            "open_shard_count": summary["OpenShardCount"],
            "shards": [
                {
                    "shard_id": s["ShardId"],
                    "parent_shard_id": s.get("ParentShardId"),
                    "adjacent_parent_shard_id": s.get("AdjacentParentShardId"),
                    "hash_key_range": [
                        s["HashKeyRange"]["StartingHashKey"],
                        s["HashKeyRange"]["EndingHashKey"],
                    ],
                    "open": "EndingSequenceNumber" not in s["SequenceNumberRange"],
                }
                for s in shards
            ],
        }
    else:
        with _service() as svc:
            info = svc.describe_stream_summary(name)
            shard_infos = []
            token: str | None = None
            while True:
                page, token = svc.list_shards(None if token else name, next_token=token)
                shard_infos += page
                if not token:
                    break
        doc = {
            "name": info.name,
            "arn": info.arn,
            "status": info.status,
            "mode": info.mode,
            "retention_hours": info.retention_hours,
            "open_shard_count": info.open_shard_count,
            "shards": [
                {
                    "shard_id": s.shard_id,
                    "parent_shard_id": s.parent_shard_id,
                    "adjacent_parent_shard_id": s.adjacent_parent_shard_id,
                    "hash_key_range": [str(s.starting_hash_key), str(s.ending_hash_key)],
                    "open": s.is_open,
                }
                for s in shard_infos
            ],
        }
    console.print_json(json.dumps(doc))


def _lines(records: list[str], from_file: Path | None) -> Iterator[bytes]:
    yield from (r.encode() for r in records)
    if from_file is not None:
        stream = sys.stdin.buffer if str(from_file) == "-" else from_file.open("rb")
        with stream:
            for line in stream:
                yield line.rstrip(b"\r\n")


@app.command("put")
def put(
    name: str,
    records: Annotated[list[str] | None, typer.Argument(help="record payloads (UTF-8)")] = None,
    partition_key: Annotated[
        str | None, typer.Option("--partition-key", "-k", help="default: a random key per record")
    ] = None,
    from_file: Annotated[
        Path | None, typer.Option("--file", "-f", help="one record per line of this file ('-': stdin)")
    ] = None,
    endpoint: EndpointOption = None,
) -> None:
    """Put records (arguments and/or lines of a file), 500 per call; prints one JSON line per record."""
    from videolens.services.datastreams.models import PutRecordInput

    def chunks() -> Iterator[list[tuple[str, bytes]]]:
        chunk: list[tuple[str, bytes]] = []
        for data in _lines(records or [], from_file):  # streamed: a long file is never held whole
            chunk.append((partition_key or uuid.uuid4().hex, data))
            if len(chunk) == 500:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def report(results: list[tuple[str | None, str | None, str | None]]) -> int:
        for shard_id, seq, error in results:
            doc = {"shard_id": shard_id, "sequence_number": seq, "error": error}
            _print_json({k: v for k, v in doc.items() if v is not None})
        return sum(1 for *_, error in results if error)

    failed = sent = 0
    if endpoint:
        with _kinesis(endpoint) as k:
            for chunk in chunks():
                entries = [{"PartitionKey": pk, "Data": d} for pk, d in chunk]
                answer = k.put_records(StreamName=name, Records=entries)["Records"]
                failed += report(
                    [(r.get("ShardId"), r.get("SequenceNumber"), r.get("ErrorCode")) for r in answer]
                )
                sent += len(chunk)
    else:
        with _service() as svc:
            for chunk in chunks():
                outcome = svc.put_records([PutRecordInput(d, pk) for pk, d in chunk], name)
                failed += report([(r.shard_id, r.sequence_number, r.error_code) for r in outcome])
                sent += len(chunk)
    if not sent:
        fail("no records: give payloads as arguments or --file")
    if failed:
        raise typer.Exit(1)


def record_doc(shard_id: str, seq: str, key: str, data: bytes, arrival: float) -> dict[str, Any]:
    """One tail line: the data as base64, and as text too when it is UTF-8."""
    doc: dict[str, Any] = {
        "shard_id": shard_id,
        "sequence_number": seq,
        "partition_key": key,
        "arrival": _stamp(arrival),
        "data": base64.b64encode(data).decode(),
    }
    with suppress(UnicodeDecodeError):
        doc["text"] = data.decode()
    return doc


@app.command("tail")
def tail(
    name: str,
    start: Annotated[
        str, typer.Option("--from", help="trim-horizon, latest or an ISO 8601 timestamp (UTC if no zone)")
    ] = "latest",
    follow: Annotated[
        bool, typer.Option(help="keep waiting for new records (--no-follow: stop at the end)")
    ] = True,
    count: Annotated[int | None, typer.Option("--count", "-c", help="stop after this many records")] = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="JSON checkpoint file: resume where the last tail stopped")
    ] = None,
    endpoint: EndpointOption = None,
) -> None:
    """Print records of every shard as JSON lines, following child shards after resharding."""
    from videolens.consumer import (
        FileCheckpoints,
        KinesisSource,
        MemoryCheckpoints,
        ServiceSource,
        StreamConsumer,
        start_kind,
    )

    try:
        start_kind(start)
    except ValueError as exc:
        fail(str(exc))

    def run(source: ShardSource) -> None:
        store = FileCheckpoints(checkpoint) if checkpoint else MemoryCheckpoints()
        consumer = StreamConsumer(source, checkpoints=store, start=start, idle_s=0.1)
        signal.signal(signal.SIGINT, lambda *_: consumer.stop())
        signal.signal(signal.SIGTERM, lambda *_: consumer.stop())
        for seen, r in enumerate(consumer.records(follow=follow), 1):
            _print_json(record_doc(r.shard_id, r.sequence_number, r.partition_key, r.data, r.arrival))
            if count is not None and seen >= count:
                store.set(r.shard_id, r.sequence_number)  # exactly up to the last line printed
                break

    if endpoint:
        with _kinesis(endpoint) as k:
            run(KinesisSource(k, name))
    else:
        with _service() as svc:
            run(ServiceSource(svc, name))


@app.command("delete")
def delete(
    name: str,
    force: Annotated[bool, typer.Option(help="also deregister its enhanced fan-out consumers")] = False,
    endpoint: EndpointOption = None,
) -> None:
    """Delete a data stream and all its records."""
    if endpoint:
        with _kinesis(endpoint) as k:
            k.delete_stream(StreamName=name, EnforceConsumerDeletion=force)
    else:
        with _service() as svc:
            svc.delete_stream(name, enforce_consumer_deletion=force)
    console.print(f"deleted {name}")
