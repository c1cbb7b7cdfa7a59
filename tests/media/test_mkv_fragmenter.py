"""GOP fragmenting of ffmpeg Matroska: exact cuts, no gaps, every fragment decodes on its own."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace

import av
import pytest

from videolens.media import kvs_tags
from videolens.media.mkv_fragmenter import Fragment, Fragmenter, FragmentError
from videolens.media.mkv_reader import Block, MkvReader, TagsElement

KEY_FRAMES_MS = [844, 2846, 4848, 6283, 7884, 9886]


def decode_counts(blob: bytes) -> tuple[int, int, int | None]:
    with av.open(io.BytesIO(blob)) as container:
        video = sum(1 for _ in container.decode(video=0))
    with av.open(io.BytesIO(blob)) as container:
        audio = sum(1 for _ in container.decode(audio=0))
    with av.open(io.BytesIO(blob)) as container:
        first = next(container.demux(video=0))
        key = first.is_keyframe
        pts = first.pts
    assert key
    return video, audio, pts


def test_one_fragment_per_gop(hamilton_fragments: list[Fragment]) -> None:
    frags = hamilton_fragments
    assert [f.timecode for f in frags] == KEY_FRAMES_MS
    # each fragment lasts until the next key frame: no gap, no overlap
    for current, following in zip(frags, frags[1:], strict=False):
        assert current.timecode + current.duration == following.timecode
    assert [f.duration for f in frags] == [2002, 2002, 1435, 1601, 2002, 133]
    assert all(f.track_numbers == {1, 2} for f in frags)  # audio kept in every fragment
    assert not any(f.over_max_duration for f in frags)
    assert sum(f.block_count for f in frags) == 275 + 431


def test_each_fragment_decodes_standalone(hamilton_fragments: list[Fragment]) -> None:
    counts = [decode_counts(f.to_bytes()) for f in hamilton_fragments]
    assert [c[0] for c in counts] == [60, 60, 43, 48, 60, 4]
    assert sum(c[1] for c in counts) == 431
    assert all(c[1] > 0 for c in counts)
    assert [c[2] for c in counts] == KEY_FRAMES_MS  # first video packet is the key frame, time kept
    # the known-size form decodes the same
    assert decode_counts(hamilton_fragments[2].to_bytes(unknown_size=False))[0] == 43


def test_chunk_size_does_not_change_fragments(
    hamilton_mkv: bytes, hamilton_fragments: list[Fragment], fragmenting: Callable[..., list[Fragment]]
) -> None:
    fragment_stream = fragmenting
    assert fragment_stream(hamilton_mkv, chunk=333) == hamilton_fragments
    assert fragment_stream(hamilton_mkv, chunk=len(hamilton_mkv)) == hamilton_fragments


def test_min_duration_merges_short_gops(
    hamilton_mkv: bytes, fragmenting: Callable[..., list[Fragment]]
) -> None:
    fragment_stream = fragmenting
    frags = fragment_stream(hamilton_mkv, min_duration_ms=3000)
    assert [f.timecode for f in frags] == [844, 4848, 7884]
    assert [f.duration for f in frags] == [4004, 3036, 2135]


def test_long_gops_are_reported_not_cut(
    hamilton_mkv: bytes, fragmenting: Callable[..., list[Fragment]]
) -> None:
    fragment_stream = fragmenting
    frags = fragment_stream(hamilton_mkv, max_duration_ms=1500)
    assert [f.timecode for f in frags] == KEY_FRAMES_MS
    assert [f.over_max_duration for f in frags] == [True, True, False, True, True, False]


def test_fragment_tags_are_readable(hamilton_fragments: list[Fragment]) -> None:
    tags = kvs_tags.fragment_tags(
        "91343852333181432000000000000000000000000000001", 1700000000.5, 1699999999.25
    )
    post = kvs_tags.trailing_tags(1500, "91343852333181432000000000000000000000000000002")
    blob = hamilton_fragments[0].to_bytes(tags, post)
    reader = MkvReader()
    events = reader.feed(blob) + reader.close()
    found = [kvs_tags.parse_tags(e.raw) for e in events if isinstance(e, TagsElement)]
    assert found == [
        [
            ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", "91343852333181432000000000000000000000000000001"),
            ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", "1700000000.500"),
            ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", "1699999999.250"),
        ],
        [
            ("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "1500"),
            ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "91343852333181432000000000000000000000000000002"),
        ],
    ]
    # ffmpeg sees segment-wide tags as container metadata, and still decodes the fragment
    with av.open(io.BytesIO(blob)) as container:
        assert container.metadata["AWS_KINESISVIDEO_FRAGMENT_NUMBER"].endswith("0001")
    assert decode_counts(blob)[0] == 60


def feed_events(events: list, **options: float) -> tuple[list[Fragment], Fragmenter]:
    fragmenter = Fragmenter(**options)  # type: ignore[arg-type]
    out: list[Fragment] = []
    for event in events:
        out.extend(fragmenter.feed(event))
    return out + fragmenter.flush(), fragmenter


def hamilton_events(data: bytes) -> list:
    reader = MkvReader()
    return reader.feed(data) + reader.close()


def test_frames_before_the_first_key_frame_are_dropped(hamilton_mkv: bytes) -> None:
    events = hamilton_events(hamilton_mkv)
    first_key = next(i for i, e in enumerate(events) if isinstance(e, Block) and e.keyframe and e.track == 1)
    frags, fragmenter = feed_events(events[:first_key] + events[first_key + 1 :])
    assert [f.timecode for f in frags] == KEY_FRAMES_MS[1:]
    assert fragmenter.skipped_leading_blocks == 59


def test_backwards_timecode_is_refused(hamilton_mkv: bytes) -> None:
    events = hamilton_events(hamilton_mkv)
    keys = [i for i, e in enumerate(events) if isinstance(e, Block) and e.keyframe and e.track == 1]
    block = events[keys[3]]
    events[keys[3]] = replace(block, relative_timecode=KEY_FRAMES_MS[1] - block.cluster_timecode)
    with pytest.raises(FragmentError) as info:
        feed_events(events)
    assert info.value.kind == "timecode-backwards"
    assert info.value.timecode == KEY_FRAMES_MS[1]


def test_unknown_track_and_missing_header(hamilton_mkv: bytes) -> None:
    events = hamilton_events(hamilton_mkv)
    first_block = next(i for i, e in enumerate(events) if isinstance(e, Block))
    with pytest.raises(FragmentError) as info:
        feed_events(events[:first_block] + [replace(events[first_block], track=7)])
    assert info.value.kind == "unknown-track"
    with pytest.raises(FragmentError) as info:
        feed_events([events[first_block]])
    assert info.value.kind == "no-header"


def test_fragment_size_limit(hamilton_mkv: bytes, fragmenting: Callable[..., list[Fragment]]) -> None:
    fragment_stream = fragmenting
    with pytest.raises(FragmentError) as info:
        fragment_stream(hamilton_mkv, max_fragment_bytes=100_000)
    assert info.value.kind == "too-large"


def test_timecode_offset_and_cluster_offset(
    hamilton_mkv: bytes, fragmenting: Callable[..., list[Fragment]]
) -> None:
    frags = fragmenting(hamilton_mkv, timecode_offset=1_700_000_000_000)
    fragment = frags[1]
    assert fragment.timecode == 2846  # the producer's own time line, as acks report it
    blob = fragment.to_bytes()
    assert blob[fragment.cluster_offset : fragment.cluster_offset + 4] == bytes.fromhex("1f43b675")
    with av.open(io.BytesIO(blob)) as container:
        first = next(container.demux(video=0))
        assert first.pts == 1_700_000_002_846  # clusters carry absolute producer time
