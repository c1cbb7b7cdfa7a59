"""Reading stored fragments back: GetMedia documents, selectors, the live tail, and GetClip's MP4."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from videolens.media import kvs_tags, mp4_clip
from videolens.services.errors import InvalidParameterError
from videolens.services.streams import identifiers
from videolens.services.streams.errors import (
    InvalidCodecPrivateDataError,
    MissingCodecPrivateDataError,
    UnsupportedMediaTypeError,
)
from videolens.services.streams.fragments import FragmentIndex
from videolens.services.streams.models import FragmentInfo

SelectorType = Literal[
    "FRAGMENT_NUMBER", "SERVER_TIMESTAMP", "PRODUCER_TIMESTAMP", "NOW", "EARLIEST", "CONTINUATION_TOKEN"
]


@dataclass(frozen=True)
class StartSelector:
    type: SelectorType
    after_fragment_number: str | None = None
    start_timestamp: float | None = None  # epoch seconds
    continuation_token: str | None = None


def media_document(
    index: FragmentIndex, fragment: FragmentInfo, *, now: float, next_token: str, fragment_list: bool = False
) -> bytes:
    """One fragment as GetMedia sends it: tags spliced in before the Cluster, trailing tags after it."""
    blob = index.read(fragment)
    pre = kvs_tags.fragment_tags(
        fragment.fragment_number, fragment.server_ts, fragment.producer_ts, fragment_list=fragment_list
    )
    offset = fragment.cluster_offset
    if fragment_list:
        return blob[:offset] + pre + blob[offset:]
    behind = int((now - fragment.server_ts) * 1000)
    return blob[:offset] + pre + blob[offset:] + kvs_tags.trailing_tags(behind, next_token)


def start_seq(index: FragmentIndex, stream_id: int, selector: StartSelector) -> int:
    """The seq after which reading starts (the first fragment sent has a larger seq)."""
    kind = selector.type
    if kind == "EARLIEST":
        oldest = index.oldest(stream_id)
        return -1 if oldest is None else oldest.seq - 1
    if kind == "NOW":
        latest = index.latest(stream_id)
        return -1 if latest is None else latest.seq
    if kind == "FRAGMENT_NUMBER":
        if not selector.after_fragment_number:
            raise InvalidParameterError("AfterFragmentNumber is required for FRAGMENT_NUMBER")
        identifiers.fragment_id(selector.after_fragment_number)
        return index.by_number(stream_id, selector.after_fragment_number).seq - 1
    if kind == "CONTINUATION_TOKEN":
        if not selector.continuation_token:
            raise InvalidParameterError("ContinuationToken is required for CONTINUATION_TOKEN")
        identifiers.fragment_id(selector.continuation_token)
        return index.by_number(stream_id, selector.continuation_token).seq
    if selector.start_timestamp is None:
        raise InvalidParameterError(f"StartTimestamp is required for {kind}")
    first = index.first_at(stream_id, kind, selector.start_timestamp)
    if first is None:
        latest = index.latest(stream_id)
        return -1 if latest is None else latest.seq
    return first.seq - 1


def tail(
    index: FragmentIndex,
    stream_id: int,
    after_seq: int,
    *,
    wait: Callable[[float], None],
    keep_waiting: Callable[[float], bool],
    clock: Callable[[], float] = time.time,
) -> Iterator[FragmentInfo]:
    """Fragments after `after_seq` in order, then new ones as they arrive while keep_waiting(idle_s)."""
    last = after_seq
    idle_since = clock()
    while True:
        batch = index.after_seq(stream_id, last, 16)
        if batch:
            for fragment in batch:
                last = fragment.seq
                yield fragment
            idle_since = clock()
            continue
        if not keep_waiting(clock() - idle_since):
            return
        wait(0.2)


def clip_chunks(
    index: FragmentIndex, fragments: Sequence[FragmentInfo], *, max_bytes: int
) -> tuple[Iterator[bytes], mp4_clip.ClipInfo]:
    """GetClip: the first fragments (up to max_bytes, at least one) as one MP4, spooled, read in chunks.

    The MP4 is complete before the first byte goes out, so media errors surface as errors; which frames
    it holds and how its times map is `mp4_clip`'s contract.
    """
    total = 0
    chosen: list[FragmentInfo] = []
    for fragment in fragments:
        total += fragment.size
        if chosen and total > max_bytes:
            break
        chosen.append(fragment)
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - handed to the iterator
    try:
        info = mp4_clip.write_mp4((index.read(f) for f in chosen), spool)
    except mp4_clip.ClipError as exc:
        spool.close()
        if exc.kind == "missing-codec-private":
            raise MissingCodecPrivateDataError(str(exc)) from exc
        if exc.kind == "tracks-changed":
            raise InvalidCodecPrivateDataError(str(exc)) from exc
        raise UnsupportedMediaTypeError(str(exc)) from exc
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        try:
            while True:
                block = spool.read(256 * 1024)
                if not block:
                    return
                yield block
        finally:
            spool.close()

    return chunks(), info
