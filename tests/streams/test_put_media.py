"""PutMedia ingest: real ffmpeg over chunked HTTP, acks while sending, and every kind of bad input."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.streams.conftest import Kvs, WaitUntil
from videolens.media import ebml
from videolens.media.mkv_fragmenter import Fragment, Fragmenter
from videolens.media.mkv_reader import MkvReader
from videolens.producer import PutMediaError, chunks_of, put_media, realtime_chunks

KEY_FRAMES_MS = [844, 2846, 4848, 6283, 7884, 9886]
DURATIONS_MS = [2002, 2002, 1435, 1601, 2002, 133]


def gops(data: bytes) -> list[Fragment]:
    reader = MkvReader()
    fragmenter = Fragmenter()
    out: list[Fragment] = []
    for event in reader.feed(data) + reader.close():
        out.extend(fragmenter.feed(event))
    return out + fragmenter.flush()


def assemble(frags: list[Fragment], clusters: list[bytes]) -> bytes:
    """One live-style Matroska stream (unknown-size Segment) holding the given clusters."""
    first = frags[0]
    return (
        first.ebml_header
        + ebml.unknown_size_header(ebml.SEGMENT)
        + first.info
        + first.tracks
        + b"".join(clusters)
    )


def without_first_key_frame(cluster: bytes) -> bytes:
    """The cluster with its first video frame's key-frame flag cleared."""
    header = ebml.read_element_header(cluster, 0)
    assert header is not None
    body = bytearray(cluster[header[2] :])
    for child in ebml.iter_children(bytes(body)):
        if child.id == ebml.SIMPLE_BLOCK and body[child.offset + child.header_len] == 0x81:
            flags_at = child.offset + child.header_len + 3
            body[flags_at] &= 0x7F
            break
    return cluster[: header[2]] + bytes(body)


def assert_contiguous(fragments: list[dict]) -> None:
    for current, following in zip(fragments, fragments[1:], strict=False):
        end = current["ProducerTimestamp"].timestamp() + current["FragmentLengthInMilliseconds"] / 1000
        assert following["ProducerTimestamp"].timestamp() == pytest.approx(end, abs=0.0015)


def test_ffmpeg_chunked_post(kvs: Kvs, hamilton_clip: Path, wait_until: WaitUntil) -> None:
    kvs.create("ffmpeg-cam")
    endpoint = kvs.video.get_data_endpoint(StreamName="ffmpeg-cam", APIName="PUT_MEDIA")["DataEndpoint"]
    start = time.time()
    headers = (
        "x-amzn-stream-name: ffmpeg-cam\r\n"
        "x-amzn-fragment-timecode-type: RELATIVE\r\n"
        f"x-amzn-producer-start-timestamp: {start:.3f}\r\n"
    )
    cmd = ["ffmpeg", "-v", "error", "-re", "-i", str(hamilton_clip), "-c", "copy", "-f", "matroska"]
    cmd += [
        "-live",
        "1",
        "-method",
        "POST",
        "-chunked_post",
        "1",
        "-headers",
        headers,
        endpoint + "/putMedia",
    ]
    subprocess.run(cmd, check=True, timeout=60)
    finished = time.time()
    # ffmpeg does not wait for the acks: the tail of the upload may still be in flight on our side
    wait_until(lambda: len(kvs.fragments("ffmpeg-cam")) == 6, timeout=10)
    fragments = kvs.fragments("ffmpeg-cam")
    assert [f["FragmentLengthInMilliseconds"] for f in fragments] == DURATIONS_MS
    assert_contiguous(fragments)
    first = fragments[0]["ProducerTimestamp"].timestamp()
    assert first == pytest.approx(start + 0.844, abs=0.0015)
    covered = fragments[-1]["ProducerTimestamp"].timestamp() + 0.133 - first
    assert covered == pytest.approx(9.175, abs=0.002)
    # persisted while ffmpeg was still sending in real time, not at the end of the upload
    server_times = [f["ServerTimestamp"].timestamp() for f in fragments]
    assert server_times[0] < finished - 5
    assert server_times == sorted(server_times)
    assert sum(f["FragmentSizeInBytes"] for f in fragments) > 500_000


def test_acks_arrive_while_sending(kvs: Kvs, hamilton_mkv: bytes) -> None:
    kvs.create("paced")
    result = kvs.put("paced", hamilton_mkv, chunks=realtime_chunks(hamilton_mkv, speed=2.0))
    persisted = result.events("PERSISTED")
    assert [a.doc["FragmentTimecode"] for a in persisted] == KEY_FRAMES_MS
    assert [a.doc["FragmentTimecode"] for a in result.events("BUFFERING")] == KEY_FRAMES_MS
    assert [a.doc["FragmentTimecode"] for a in result.events("RECEIVED")] == KEY_FRAMES_MS
    assert not result.events("ERROR")
    # the first fragments were acknowledged long before the upload ended (speed 2: ~5 s upload)
    assert persisted[0].received_at < result.finished_sending_at - 2.0
    numbers = [f["FragmentNumber"] for f in kvs.fragments("paced")]
    assert [a.doc["FragmentNumber"] for a in persisted] == numbers
    assert all(len(n) == 47 and n.isdigit() for n in numbers)
    # per fragment: BUFFERING, then RECEIVED, then PERSISTED
    order = [(a.event, a.doc["FragmentTimecode"]) for a in result.acks]
    for timecode in KEY_FRAMES_MS:
        events = [e for e, t in order if t == timecode]
        assert events == ["BUFFERING", "RECEIVED", "PERSISTED"]


def test_absolute_timecodes(kvs: Kvs, hamilton_mkv: bytes) -> None:
    kvs.create("absolute")
    result = kvs.put("absolute", hamilton_mkv, timecode_type="ABSOLUTE", producer_start=5.0)
    assert len(result.events("PERSISTED")) == 6
    fragments = kvs.fragments("absolute")
    # ABSOLUTE: cluster timecodes are producer time itself (here: seconds after the epoch)
    assert [round(f["ProducerTimestamp"].timestamp() * 1000) for f in fragments] == KEY_FRAMES_MS


def test_not_matroska(kvs: Kvs) -> None:
    kvs.create("garbage")
    result = kvs.put("garbage", b"RIFF....WAVEfmt " + bytes(5000))
    assert [(a.event, a.doc.get("ErrorId")) for a in result.acks] == [("ERROR", 4006)]
    assert kvs.fragments("garbage") == []


def test_video_not_starting_on_a_key_frame(kvs: Kvs, hamilton_mkv: bytes) -> None:
    frags = gops(hamilton_mkv)
    clusters = [without_first_key_frame(frags[0].cluster)] + [f.cluster for f in frags[1:]]
    kvs.create("mid-gop")
    result = kvs.put("mid-gop", assemble(frags, clusters))
    errors = result.events("ERROR")
    assert [a.doc["ErrorId"] for a in errors] == [4006]
    assert [a.doc["FragmentTimecode"] for a in result.events("PERSISTED")] == KEY_FRAMES_MS[1:]
    assert len(kvs.fragments("mid-gop")) == 5


def test_timecode_going_backwards(kvs: Kvs, hamilton_mkv: bytes) -> None:
    frags = gops(hamilton_mkv)
    clusters = [f.cluster for f in frags[:3]] + [frags[1].cluster] + [f.cluster for f in frags[3:]]
    kvs.create("backwards")
    result = kvs.put("backwards", assemble(frags, clusters))
    assert [a.doc["FragmentTimecode"] for a in result.events("PERSISTED")] == KEY_FRAMES_MS[:2]
    errors = result.events("ERROR")
    assert [(a.doc["ErrorId"], a.doc["FragmentTimecode"]) for a in errors] == [(4004, 2846)]
    assert result.acks[-1].event == "ERROR"  # the session ends at a fatal error
    assert len(kvs.fragments("backwards")) == 2


def test_body_ends_inside_a_cluster(kvs: Kvs, hamilton_mkv: bytes) -> None:
    kvs.create("cut")
    cut = hamilton_mkv[: int(len(hamilton_mkv) * 0.6)]  # inside a cluster of the GOP at 4848 ms
    result = kvs.put("cut", cut)
    persisted = result.events("PERSISTED")
    assert [a.doc["FragmentTimecode"] for a in persisted] == KEY_FRAMES_MS[:2]
    errors = result.events("ERROR")
    assert [(a.doc["ErrorId"], a.doc["FragmentTimecode"]) for a in errors] == [(4000, 4848)]
    assert [f["FragmentNumber"] for f in kvs.fragments("cut")] == [a.doc["FragmentNumber"] for a in persisted]


def test_producer_vanishes_mid_cluster(kvs: Kvs, hamilton_mkv: bytes, wait_until: WaitUntil) -> None:
    kvs.create("vanish")
    host, port = kvs.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    head = "POST /putMedia HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nx-amzn-stream-name: vanish"
    sock.sendall(head.encode() + b"\r\n\r\n")
    half = hamilton_mkv[: len(hamilton_mkv) // 2]
    for chunk in chunks_of(half):
        sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    wait_until(lambda: len(kvs.container.streams.index.after_seq(1, -1)) == 2)
    sock.close()  # no terminating chunk: the producer is simply gone
    time.sleep(0.3)
    assert [f["FragmentLengthInMilliseconds"] for f in kvs.fragments("vanish")] == DURATIONS_MS[:2]
    # the stream takes a new producer session afterwards
    result = kvs.put("vanish", hamilton_mkv)
    assert len(result.events("PERSISTED")) == 6
    assert len(kvs.fragments("vanish")) == 8


def test_refused_sessions(kvs: Kvs, hamilton_mkv: bytes) -> None:
    with pytest.raises(PutMediaError) as err:
        put_media(kvs.url, chunks_of(hamilton_mkv), stream_name="no-such-stream")
    assert (err.value.status, err.value.code) == (404, "ResourceNotFoundException")
    with pytest.raises(PutMediaError) as err:
        put_media(kvs.url, chunks_of(hamilton_mkv))
    assert (err.value.status, err.value.code) == (400, "InvalidArgumentException")
    kvs.create("typed")
    with pytest.raises(PutMediaError) as err:
        put_media(kvs.url, chunks_of(hamilton_mkv), stream_name="typed", timecode_type="SOMETIMES")
    assert (err.value.status, err.value.code) == (400, "InvalidArgumentException")
