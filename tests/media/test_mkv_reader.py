"""Incremental Matroska parsing of ffmpeg output: live (unknown sizes), file (known sizes), bad input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from videolens.media import ebml
from videolens.media.mkv_reader import (
    Block,
    ClusterEnd,
    ClusterStart,
    EbmlHeader,
    Event,
    MkvError,
    MkvReader,
    SegmentInfo,
    SegmentStart,
    StreamEnd,
    Tracks,
)

KEY_FRAMES_MS = [844, 2846, 4848, 6283, 7884, 9886]


def read_all(data: bytes, chunk: int) -> list[Event]:
    reader = MkvReader()
    events: list[Event] = []
    for i in range(0, len(data), chunk):
        events.extend(reader.feed(data[i : i + chunk]))
    return events + reader.close()


def test_live_ffmpeg_stream(hamilton_mkv: bytes) -> None:
    events = read_all(hamilton_mkv, 4096)
    assert isinstance(events[0], EbmlHeader) and events[0].doc_type == "matroska"
    segment = next(e for e in events if isinstance(e, SegmentStart))
    assert segment.size is None  # ffmpeg -live 1 writes an unknown-size Segment
    info = next(e for e in events if isinstance(e, SegmentInfo))
    assert info.timecode_scale == 1_000_000
    tracks = next(e for e in events if isinstance(e, Tracks)).tracks
    assert [(t.number, t.type, t.codec_id) for t in tracks] == [(1, 1, "V_MPEG4/ISO/AVC"), (2, 2, "A_AAC")]
    assert (tracks[0].width, tracks[0].height) == (640, 360)
    assert tracks[0].codec_private[:1] == b"\x01"  # avcC
    blocks = [e for e in events if isinstance(e, Block)]
    video = [b for b in blocks if b.track == 1]
    assert len(video) == 275 and len(blocks) - len(video) == 431
    assert [b.timecode for b in video if b.keyframe] == KEY_FRAMES_MS
    starts = [e for e in events if isinstance(e, ClusterStart)]
    ends = [e for e in events if isinstance(e, ClusterEnd)]
    assert len(starts) == len(ends) > 6
    assert all(s.size for s in starts)  # ffmpeg buffers each cluster, so their sizes are known
    assert events[-1] == StreamEnd(complete=True)


def unknown_size_clusters(data: bytes) -> bytes:
    """Rewrite every Cluster header to unknown size, as GStreamer's streamable matroskamux writes them."""
    events = read_all(data, len(data))
    out = bytearray()
    pos = 0
    for start in (e for e in events if isinstance(e, ClusterStart)):
        header = ebml.read_element_header(data, start.offset)
        assert header is not None
        out += data[pos : start.offset] + ebml.unknown_size_header(ebml.CLUSTER)
        pos = start.offset + header[2]
    return bytes(out + data[pos:])


def test_unknown_size_clusters(hamilton_mkv: bytes) -> None:
    rewritten = unknown_size_clusters(hamilton_mkv)
    events = read_all(rewritten, 1500)
    starts = [e for e in events if isinstance(e, ClusterStart)]
    assert starts and all(s.size is None for s in starts)
    strip = [(b.track, b.timecode, b.keyframe, b.data) for b in events if isinstance(b, Block)]
    original = [
        (b.track, b.timecode, b.keyframe, b.data)
        for b in read_all(hamilton_mkv, 4096)
        if isinstance(b, Block)
    ]
    assert strip == original
    assert sum(isinstance(e, ClusterEnd) for e in events) == len(starts)
    assert events[-1] == StreamEnd(complete=True)


def test_chunking_does_not_change_events(hamilton_mkv: bytes) -> None:
    whole = read_all(hamilton_mkv, len(hamilton_mkv))
    assert read_all(hamilton_mkv, 997) == whole
    assert read_all(hamilton_mkv[:50_000], 1) == read_all(hamilton_mkv[:50_000], 50_000)


def test_known_size_file(hamilton_mp4: Path, tmp_path: Path) -> None:
    path = tmp_path / "clip.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(hamilton_mp4), "-c", "copy", str(path)], check=True)
    events = read_all(path.read_bytes(), 65536)
    assert next(e for e in events if isinstance(e, SegmentStart)).size is not None
    assert next(e for e in events if isinstance(e, SegmentInfo)).duration is not None
    assert all(e.size is not None for e in events if isinstance(e, ClusterStart))
    video = [e for e in events if isinstance(e, Block) and e.track == 1]
    assert [b.timecode for b in video if b.keyframe] == KEY_FRAMES_MS
    assert events[-1] == StreamEnd(complete=True)


def test_truncated_cluster_is_reported(hamilton_mkv: bytes) -> None:
    events = read_all(hamilton_mkv[:100_000], 4096)
    end = events[-1]
    assert isinstance(end, StreamEnd) and not end.complete
    last_start = [e for e in events if isinstance(e, ClusterStart)][-1]
    assert end.incomplete_cluster_timecode == last_start.timecode
    assert end.incomplete_cluster_offset == last_start.offset
    assert end.pending_bytes > 0


@pytest.mark.parametrize(
    "data", [b"GET / HTTP/1.1\r\n\r\n", b"\x00\x00\x00\x18ftypmp42", b"\x1aE\xdf\xa3\x80"]
)
def test_not_matroska(data: bytes) -> None:
    with pytest.raises(MkvError) as info:
        read_all(data, 7)
    assert info.value.kind == "not-mkv"


def test_block_group_and_concatenated_documents() -> None:
    header = ebml.element(ebml.EBML, ebml.string_element(ebml.DOC_TYPE, "webm"))
    tracks = ebml.element(
        ebml.TRACKS,
        ebml.element(
            ebml.TRACK_ENTRY,
            ebml.uint_element(ebml.TRACK_NUMBER, 1)
            + ebml.uint_element(ebml.TRACK_TYPE, 1)
            + ebml.string_element(ebml.CODEC_ID, "V_VP8"),
        ),
    )
    group = ebml.element(
        ebml.BLOCK_GROUP,
        ebml.element(ebml.BLOCK, b"\x81\x00\x05\x00frame")
        + ebml.element(ebml.REFERENCE_BLOCK, b"\xfb")
        + ebml.uint_element(ebml.BLOCK_DURATION, 40),
    )
    cluster = ebml.element(
        ebml.CLUSTER,
        ebml.uint_element(ebml.TIMECODE, 1000)
        + ebml.element(ebml.SIMPLE_BLOCK, b"\x81\x00\x00\x80key")
        + group,
    )
    doc = header + ebml.element(ebml.SEGMENT, tracks + cluster)
    events = read_all(doc + doc, 3)
    blocks = [e for e in events if isinstance(e, Block)]
    assert [(b.timecode, b.keyframe, b.duration) for b in blocks] == [
        (1000, True, None),
        (1005, False, 40),
    ] * 2
    assert blocks[1].data == b"\x81\x00\x05\x00frame"
    assert sum(isinstance(e, EbmlHeader) for e in events) == 2
    assert events[-1] == StreamEnd(complete=True)


def test_block_before_timecode_is_malformed() -> None:
    header = ebml.element(ebml.EBML, ebml.string_element(ebml.DOC_TYPE, "matroska"))
    cluster = ebml.element(ebml.CLUSTER, ebml.element(ebml.SIMPLE_BLOCK, b"\x81\x00\x00\x80x"))
    with pytest.raises(MkvError) as info:
        read_all(header + ebml.element(ebml.SEGMENT, cluster), 100)
    assert info.value.kind == "malformed"
