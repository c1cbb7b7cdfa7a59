"""Reading a stream back with unchanged boto3 consumers: GetClip, GetMedia (archive and live), images, HLS."""

from __future__ import annotations

import base64
import io
import threading
import time
from typing import Any

import av
import cv2
import httpx
import numpy as np
import pytest
from botocore.exceptions import ClientError

from tests.streams.conftest import Kvs, WaitUntil
from videolens.media import kvs_tags
from videolens.media.mkv_reader import EbmlHeader, MkvReader, TagsElement
from videolens.producer import realtime_chunks

VIDEO_FRAMES = [60, 60, 43, 48, 60, 4]


def split_documents(payload: bytes) -> list[bytes]:
    """GetMedia's body is many Matroska documents back to back; cut it at each EBML header."""
    reader = MkvReader()
    starts = [e.offset for e in reader.feed(payload) + reader.close() if isinstance(e, EbmlHeader)]
    return [payload[a:b] for a, b in zip(starts, starts[1:] + [len(payload)], strict=False)]


def tags_of(document: bytes) -> list[dict[str, str]]:
    reader = MkvReader()
    return [dict(kvs_tags.parse_tags(e.raw)) for e in reader.feed(document) if isinstance(e, TagsElement)]


def frame_counts(document: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(document)) as container:
        video = sum(1 for _ in container.decode(video=0))
    with av.open(io.BytesIO(document)) as container:
        audio = sum(1 for _ in container.decode(audio=0))
    return video, audio


def ingest(kvs: Kvs, name: str, data: bytes) -> list[dict[str, Any]]:
    kvs.create(name)
    assert len(kvs.put(name, data).events("PERSISTED")) == 6
    return kvs.fragments(name)


def test_get_clip_seed_style(kvs: Kvs, hamilton_mkv: bytes) -> None:
    fragments = ingest(kvs, "clip-cam", hamilton_mkv)
    start = fragments[0]["ProducerTimestamp"]
    end = fragments[-1]["ProducerTimestamp"]
    archived = kvs.data_client("kinesis-video-archived-media", "clip-cam", "GET_CLIP")
    response = archived.get_clip(
        StreamName="clip-cam",
        ClipFragmentSelector={
            "FragmentSelectorType": "PRODUCER_TIMESTAMP",
            "TimestampRange": {"StartTimestamp": start, "EndTimestamp": end},
        },
    )
    assert response["ContentType"] == "video/mp4"
    data = response["Payload"].read()
    assert data[4:8] == b"ftyp"
    with av.open(io.BytesIO(data)) as container:
        assert container.duration is not None
        # the clip starts at the first key frame and lasts as long as the fragments it covers
        covered = sum(f["FragmentLengthInMilliseconds"] for f in fragments) / 1000
        assert container.duration / 1e6 == pytest.approx(covered, abs=0.002)
        assert [s.type for s in container.streams] == ["video", "audio"]
        assert (container.streams.video[0].width, container.streams.video[0].height) == (640, 360)
    assert frame_counts(data) == (275, 394)  # audio before the first key frame is left out

    # a window inside fragments 2..3 gives those two whole fragments
    inner = fragments[1]["ProducerTimestamp"].timestamp() + 0.5
    part = archived.get_clip(
        StreamName="clip-cam",
        ClipFragmentSelector={
            "FragmentSelectorType": "PRODUCER_TIMESTAMP",
            "TimestampRange": {"StartTimestamp": inner, "EndTimestamp": inner + 2.0},
        },
    )["Payload"].read()
    video, audio = frame_counts(part)
    assert video == 60 + 43 and audio > 0

    with pytest.raises(ClientError) as err:
        archived.get_clip(
            StreamName="clip-cam",
            ClipFragmentSelector={
                "FragmentSelectorType": "SERVER_TIMESTAMP",
                "TimestampRange": {"StartTimestamp": 1000, "EndTimestamp": 2000},
            },
        )
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_get_media_earliest_and_selectors(kvs: Kvs, hamilton_mkv: bytes) -> None:
    fragments = ingest(kvs, "media-cam", hamilton_mkv)
    media = kvs.data_client("kinesis-video-media", "media-cam", "GET_MEDIA")
    response = media.get_media(StreamName="media-cam", StartSelector={"StartSelectorType": "EARLIEST"})
    assert response["ContentType"] == "video/webm"
    documents = split_documents(response["Payload"].read())
    assert len(documents) == 6
    for document, fragment, frames in zip(documents, fragments, VIDEO_FRAMES, strict=True):
        pre, post = tags_of(document)
        assert pre == {
            "AWS_KINESISVIDEO_FRAGMENT_NUMBER": fragment["FragmentNumber"],
            "AWS_KINESISVIDEO_SERVER_TIMESTAMP": f"{fragment['ServerTimestamp'].timestamp():.3f}",
            "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP": f"{fragment['ProducerTimestamp'].timestamp():.3f}",
        }
        assert post["AWS_KINESISVIDEO_CONTINUATION_TOKEN"] == fragment["FragmentNumber"]
        assert int(post["AWS_KINESISVIDEO_MILLIS_BEHIND_NOW"]) >= 0
        video, audio = frame_counts(document)  # every fragment decodes on its own
        assert video == frames and audio > 0

    token = tags_of(documents[2])[1]["AWS_KINESISVIDEO_CONTINUATION_TOKEN"]
    resumed = media.get_media(
        StreamName="media-cam",
        StartSelector={"StartSelectorType": "CONTINUATION_TOKEN", "ContinuationToken": token},
    )
    numbers = [
        tags_of(d)[0]["AWS_KINESISVIDEO_FRAGMENT_NUMBER"] for d in split_documents(resumed["Payload"].read())
    ]
    assert numbers == [f["FragmentNumber"] for f in fragments[3:]]

    by_number = media.get_media(
        StreamName="media-cam",
        StartSelector={
            "StartSelectorType": "FRAGMENT_NUMBER",
            "AfterFragmentNumber": fragments[4]["FragmentNumber"],
        },
    )
    assert len(split_documents(by_number["Payload"].read())) == 2

    middle = fragments[2]["ProducerTimestamp"].timestamp() + 0.7
    by_time = media.get_media(
        StreamName="media-cam",
        StartSelector={"StartSelectorType": "PRODUCER_TIMESTAMP", "StartTimestamp": middle},
    )
    first = split_documents(by_time["Payload"].read())[0]
    assert tags_of(first)[0]["AWS_KINESISVIDEO_FRAGMENT_NUMBER"] == fragments[2]["FragmentNumber"]

    with pytest.raises(ClientError) as err:
        media.get_media(StreamName="media-cam", StartSelector={"StartSelectorType": "FRAGMENT_NUMBER"})
    assert err.value.response["Error"]["Code"] == "InvalidArgumentException"

    archived = kvs.data_client("kinesis-video-archived-media", "media-cam", "GET_MEDIA_FOR_FRAGMENT_LIST")
    listed = archived.get_media_for_fragment_list(
        StreamName="media-cam", Fragments=[fragments[5]["FragmentNumber"], fragments[0]["FragmentNumber"]]
    )
    docs = split_documents(listed["Payload"].read())
    assert [frame_counts(d)[0] for d in docs] == [4, 60]
    assert tags_of(docs[0])[0]["AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP"]


def test_live_now_reader(kvs: Kvs, hamilton_mkv: bytes, wait_until: WaitUntil) -> None:
    kvs.create("live-cam")
    media = kvs.data_client("kinesis-video-media", "live-cam", "GET_MEDIA")
    acks: list[Any] = []
    producer = threading.Thread(
        target=lambda: acks.append(kvs.put("live-cam", b"", chunks=realtime_chunks(hamilton_mkv))),
        daemon=True,
    )
    producer.start()
    wait_until(lambda: kvs.container.streams._active.get(1, 0) > 0)
    response = media.get_media(StreamName="live-cam", StartSelector={"StartSelectorType": "NOW"})
    received: list[tuple[float, bytes]] = []
    reader = MkvReader()
    for chunk in response["Payload"].iter_chunks(4096):
        for event in reader.feed(chunk):
            if isinstance(event, TagsElement):
                tags = dict(kvs_tags.parse_tags(event.raw))
                if kvs_tags.SERVER_TIMESTAMP in tags:
                    received.append((time.time(), tags))  # type: ignore[arg-type]
    producer.join(30)
    assert len(acks) == 1 and len(acks[0].events("PERSISTED")) == 6
    assert len(received) >= 5  # everything persisted after the reader joined
    for arrived, tags in received:
        lag = arrived - float(tags[kvs_tags.SERVER_TIMESTAMP])  # type: ignore[index]
        assert 0 <= lag < 1.0  # far below one fragment duration (~2 s)


def test_get_images(kvs: Kvs, hamilton_mkv: bytes) -> None:
    fragments = ingest(kvs, "images-cam", hamilton_mkv)
    archived = kvs.data_client("kinesis-video-archived-media", "images-cam", "GET_IMAGES")
    start = fragments[0]["ProducerTimestamp"].timestamp()
    response = archived.get_images(
        StreamName="images-cam",
        ImageSelectorType="PRODUCER_TIMESTAMP",
        StartTimestamp=start,
        EndTimestamp=start + 20,
        SamplingInterval=1000,
        Format="JPEG",
        WidthPixels=320,
    )
    images = response["Images"]
    assert len(images) == 10
    times = [i["TimeStamp"].timestamp() - start for i in images]
    assert times == pytest.approx(
        [0.0, 1.001, 2.002, 3.003, 4.004, 5.005, 6.006, 7.007, 8.008, 9.009], abs=0.002
    )
    picture = cv2.imdecode(
        np.frombuffer(base64.b64decode(images[0]["ImageContent"]), np.uint8), cv2.IMREAD_COLOR
    )
    assert picture.shape == (180, 320, 3)
    paged = archived.get_images(
        StreamName="images-cam",
        ImageSelectorType="PRODUCER_TIMESTAMP",
        StartTimestamp=start,
        EndTimestamp=start + 20,
        SamplingInterval=1000,
        Format="PNG",
        MaxResults=4,
    )
    assert len(paged["Images"]) == 4 and paged["NextToken"]
    rest = archived.get_images(
        StreamName="images-cam",
        ImageSelectorType="PRODUCER_TIMESTAMP",
        StartTimestamp=start,
        EndTimestamp=start + 20,
        SamplingInterval=1000,
        Format="PNG",
        MaxResults=100,
        NextToken=paged["NextToken"],
    )
    assert len(rest["Images"]) == 6


def test_hls_on_demand_playlists(kvs: Kvs, hamilton_mkv: bytes) -> None:
    fragments = ingest(kvs, "hls-cam", hamilton_mkv)
    archived = kvs.data_client("kinesis-video-archived-media", "hls-cam", "GET_HLS_STREAMING_SESSION_URL")
    url = archived.get_hls_streaming_session_url(
        StreamName="hls-cam",
        PlaybackMode="ON_DEMAND",
        HLSFragmentSelector={
            "FragmentSelectorType": "PRODUCER_TIMESTAMP",
            "TimestampRange": {
                "StartTimestamp": fragments[0]["ProducerTimestamp"],
                "EndTimestamp": fragments[-1]["ProducerTimestamp"],
            },
        },
    )["HLSStreamingSessionURL"]
    assert url.startswith(kvs.url + "/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=")
    master = httpx.get(url)
    assert master.status_code == 200 and "RESOLUTION=640x360" in master.text
    media_uri = master.text.strip().splitlines()[-1]
    playlist = httpx.get(kvs.url + "/hls/v1/" + media_uri).text
    lines = playlist.splitlines()
    assert [line for line in lines if line.startswith("#EXTINF")] == [
        "#EXTINF:2.002,",
        "#EXTINF:2.002,",
        "#EXTINF:1.435,",
        "#EXTINF:1.601,",
        "#EXTINF:2.002,",
        "#EXTINF:0.133,",
    ]
    assert lines[-1] == "#EXT-X-ENDLIST" and "#EXT-X-MEDIA-SEQUENCE:0" in lines
    segment = httpx.get(kvs.url + "/hls/v1/" + lines[lines.index("#EXTINF:1.435,") + 1])
    assert segment.headers["content-type"] == "video/mp2t"
    assert frame_counts(segment.content) == (43, pytest.approx(62, abs=2))
    assert httpx.get(url.replace("SessionToken=", "SessionToken=x")).status_code == 403
