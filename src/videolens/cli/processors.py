"""`videolens processors ...`: create, list, describe, start, stop, delete stream processors; watch, worker.

Commands run in-process on the configured data directory (like the other groups). `watch NAME` tails
the processor's output data stream and prints each match live; `worker` runs processors (and the
other background tasks) in this process — scale out with one per machine.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from videolens.cli.common import cli_container, console, fail
from videolens.services.live.service import NO_WORKER

processors_app = typer.Typer(
    help="Stream processors (live face search on video streams).", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


@processors_app.command("create")
def create(
    name: str,
    stream: Annotated[str, typer.Option(help="input video stream name")],
    data_stream: Annotated[str, typer.Option(help="output data stream name")],
    collection: Annotated[str, typer.Option(help="face collection to search")],
    threshold: Annotated[float, typer.Option(help="FaceMatchThreshold (values under 80 count as 80)")] = 80.0,
    lag_policy: Annotated[str, typer.Option(help="catch-up | live")] = "catch-up",
) -> None:
    """Create a FaceSearch processor: STREAM → matches in DATA_STREAM."""
    with cli_container() as c:
        video_arn = c.streams.describe_stream(name=stream).arn
        data_arn = c.datastreams.describe_stream_summary(name=data_stream).arn
        definition = {
            "Input": {"KinesisVideoStream": {"Arn": video_arn}},
            "Output": {"KinesisDataStream": {"Arn": data_arn}},
            "Settings": {"FaceSearch": {"CollectionId": collection, "FaceMatchThreshold": threshold}},
            "RoleArn": f"arn:aws:iam::{c.settings.account_id}:role/videolens",
        }
        info = c.processors.create(name, definition, lag_policy=lag_policy)
        console.print(info.arn)


@processors_app.command("list")
def list_(as_json: JsonOption = False) -> None:
    with cli_container() as c:
        page, token = c.processors.list_processors()
        while token:
            more, token = c.processors.list_processors(next_token=token)
            page += more
    if as_json:
        console.print_json(json.dumps([{"Name": p.name, "Status": p.status} for p in page]))
        return
    table = Table("name", "status", "kind", "fragments", "skipped", "records")
    for p in page:
        table.add_row(
            p.name, p.status, p.kind, str(p.fragments_done), str(p.fragments_skipped), str(p.records_out)
        )
    console.print(table)


@processors_app.command("describe")
def describe(name: str) -> None:
    with cli_container() as c:
        p = c.processors.describe(name)
    doc = {
        "Name": p.name,
        "StreamProcessorArn": p.arn,
        "Status": p.status,
        "StatusMessage": p.status_message,
        "LagPolicy": p.lag_policy,
        "FragmentsDone": p.fragments_done,
        "FragmentsSkipped": p.fragments_skipped,
        "LagFragments": p.lag_fragments,
        "RecordsOut": p.records_out,
        **p.definition,
    }
    console.print_json(json.dumps(doc, default=str))


@processors_app.command("start")
def start(name: str) -> None:
    """Start it (a `videolens serve` or `processors worker` runs it)."""
    with cli_container() as c:
        console.print(c.processors.start(name))
        if c.processors.live_workers() == 0:
            console.print(f"[yellow]{NO_WORKER}[/]")


@processors_app.command("stop")
def stop(name: str) -> None:
    with cli_container() as c:
        c.processors.stop(name)


@processors_app.command("delete")
def delete(name: str) -> None:
    with cli_container() as c:
        c.processors.delete(name)


def _line(doc: dict[str, Any]) -> str | None:
    kv = doc["InputInformation"]["KinesisVideo"]
    faces = doc["FaceSearchResponse"]
    if not faces:
        return None
    t = time.strftime("%H:%M:%S", time.localtime(kv["ProducerTimestamp"] + kv["FrameOffsetInSeconds"]))
    parts = []
    for face in faces:
        if face["MatchedFaces"]:
            best = face["MatchedFaces"][0]
            who = best["Face"].get("ExternalImageId") or best["Face"]["FaceId"]
            parts.append(f"[green]{who}[/] {best['Similarity']:.1f}")
        else:
            parts.append("[yellow]unknown[/]")
    return f"{t} fragment …{kv['FragmentNumber'][-6:]}  " + ", ".join(parts)


@processors_app.command("watch")
def watch(name: str) -> None:
    """Print the processor's matches as they are published (Ctrl-C to stop)."""
    with cli_container() as c:
        info = c.processors.describe(name)
        if info.output_arn is None:
            fail(f"{name} writes no data stream")
        shards, _ = c.datastreams.list_shards(arn=info.output_arn)
        iterators = {
            s.shard_id: c.datastreams.get_shard_iterator(s.shard_id, "LATEST", arn=info.output_arn)
            for s in shards
        }
        console.print(f"watching {name} ({info.status}); Ctrl-C to stop")
        try:
            while iterators:
                for shard, iterator in list(iterators.items()):
                    page = c.datastreams.get_records(iterator)
                    for record in page.records:
                        line = _line(json.loads(record.data))
                        if line:
                            console.print(line)
                    if page.next_iterator is None:
                        del iterators[shard]
                    else:
                        iterators[shard] = page.next_iterator
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass


@processors_app.command("worker")
def worker() -> None:
    """Run stream processors (and the other background tasks) in this process."""
    stop_event = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    with cli_container() as c:
        c.start_background()
        console.print(f"processor worker {c.live.owner}: up to {c.settings.processor_slots} processors")
        try:
            while not stop_event.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
