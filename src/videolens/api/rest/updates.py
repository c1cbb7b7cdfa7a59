"""Server-Sent Events of the native door: live changes (jobs, processors, sightings), a processor's results.

The web UI follows these instead of polling: the server looks at the services every `TICK_S` and sends
only what changed. Both are reads, so a viewer may follow them. SSE over plain HTTP works with
`fetch()` streaming (which can carry the Authorization header) and with curl (`curl -N`).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from videolens.api.auth import require_role
from videolens.api.deps import ContainerDep
from videolens.container import Container
from videolens.services.auth.models import Role
from videolens.services.errors import InvalidParameterError

router = APIRouter(prefix="/v1", tags=["updates"])
#: how often the services are looked at; the browser sees a change at most this late
TICK_S = 0.5
#: a comment line this often keeps proxies from closing an idle stream
KEEPALIVE_S = 15.0
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def sse(event: str, data: Any, event_id: str | None = None) -> bytes:
    """One SSE message: `event:`, optional `id:`, one `data:` line of compact JSON."""
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id else "")
    return (head + "data: " + json.dumps(data, separators=(",", ":"), default=str) + "\n\n").encode()


def _job_view(job: Any) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "job_type": job.job_type,
        "status": job.status,
        "status_message": job.status_message,
        "progress": round(float(job.progress), 1),
        "key": job.key,
    }


def _jobs(c: Container) -> dict[str, dict[str, Any]]:
    jobs, _ = c.jobs.list(None, None, 100, None)
    return {j.job_id: _job_view(j) for j in jobs}


def _processors(c: Container) -> dict[str, dict[str, Any]]:
    page, _ = c.processors.list_processors(100, None)
    return {
        p.name: {
            "name": p.name,
            "status": p.status,
            "status_message": p.status_message,
            "lag_fragments": p.lag_fragments,
            "fragments_done": p.fragments_done,
            "records_out": p.records_out,
        }
        for p in page
    }


def _sightings(c: Container) -> dict[str, dict[str, Any]]:
    # one entry per unknown-person group: a new one (or a bigger one) is news for the Sightings page
    return {
        g.group_id: {"group_id": g.group_id, "size": len(g.sighting_ids), "last_s": g.last_s}
        for g in c.sightings.groups()
    }


WATCHED: dict[str, Callable[[Container], dict[str, dict[str, Any]]]] = {
    "job": _jobs,
    "processor": _processors,
    "sighting": _sightings,
}


async def _changes(request: Request, c: Container, kinds: list[str]) -> AsyncIterator[bytes]:
    seen: dict[str, dict[str, dict[str, Any]]] = {}
    yield b"retry: 2000\n\n"
    idle = 0.0
    while not await request.is_disconnected():
        sent = False
        for kind in kinds:
            now = await run_in_threadpool(WATCHED[kind], c)
            before = seen.get(kind)
            for key, value in now.items():
                if before is None or before.get(key) != value:
                    yield sse(kind, value)
                    sent = True
            seen[kind] = now
        if not sent:
            idle += TICK_S
            if idle >= KEEPALIVE_S:
                idle = 0.0
                yield b": keep-alive\n\n"
        await asyncio.sleep(TICK_S)


#: what the OpenAPI document says of an event stream (it does not end: clients read it as it comes)
SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "an endless stream of Server-Sent Events (`text/event-stream`)",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/updates",
    response_class=StreamingResponse,
    responses=SSE_RESPONSE,
    summary="Server-Sent Events: job progress, processor state, new sightings groups",
    dependencies=[require_role(Role.VIEWER)],
)
async def updates(
    request: Request,
    c: ContainerDep,
    kinds: str = Query("job,processor,sighting", description="comma-separated: job, processor, sighting"),
) -> StreamingResponse:
    """The current state of each item first, then one event per change (`event: job|processor|sighting`)."""
    wanted = [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = sorted(set(wanted) - set(WATCHED))
    if unknown or not wanted:
        raise InvalidParameterError(f"kinds must be among {', '.join(WATCHED)}; got {', '.join(unknown)}")
    return StreamingResponse(
        _changes(request, c, wanted), media_type="text/event-stream", headers=SSE_HEADERS
    )


def _output_arn(c: Container, name: str) -> str:
    info = c.processors.describe(name)
    arn = (info.definition.get("Output") or {}).get("KinesisDataStream", {}).get("Arn")
    if not arn:
        raise InvalidParameterError(f"processor {name} does not write to a data stream")
    return str(arn)


def _open_iterators(c: Container, arn: str) -> dict[str, str]:
    shards, _ = c.datastreams.list_shards(arn=arn)
    return {s.shard_id: c.datastreams.get_shard_iterator(s.shard_id, "LATEST", arn=arn) for s in shards}


def _read(c: Container, iterators: dict[str, str]) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for shard, iterator in list(iterators.items()):
        page = c.datastreams.get_records(iterator, 1000)
        out += [(r.sequence_number, r.data) for r in page.records]
        if page.next_iterator:
            iterators[shard] = page.next_iterator
        else:
            del iterators[shard]
    return out


async def _results(request: Request, c: Container, arn: str) -> AsyncIterator[bytes]:
    iterators = await run_in_threadpool(_open_iterators, c, arn)
    yield b"retry: 2000\n\n"
    idle = 0.0
    while iterators and not await request.is_disconnected():
        records = await run_in_threadpool(_read, c, iterators)
        for sequence, data in records:
            try:
                doc: Any = json.loads(data)
            except ValueError:  # someone else's record on the stream: hand it on as it is
                doc = {"raw": base64.b64encode(data).decode()}
            yield sse("result", doc, sequence)
        idle = 0.0 if records else idle + TICK_S / 2
        if idle >= KEEPALIVE_S:
            idle = 0.0
            yield b": keep-alive\n\n"
        await asyncio.sleep(TICK_S / 2)


@router.get(
    "/processors/{name}/results",
    response_class=StreamingResponse,
    responses=SSE_RESPONSE,
    tags=["processors"],
    summary="Server-Sent Events: the records a processor writes from now on (its output data stream)",
    dependencies=[require_role(Role.VIEWER)],
)
async def processor_results(name: str, request: Request, c: ContainerDep) -> StreamingResponse:
    """`event: result`, `id:` the record's sequence number, `data:` the record (the face-search JSON of
    aws-api-subset.md §3, with FragmentNumber and FrameOffsetInSeconds to align it with the video)."""
    arn = await run_in_threadpool(_output_arn, c, name)
    return StreamingResponse(_results(request, c, arn), media_type="text/event-stream", headers=SSE_HEADERS)
