"""Two api nodes: live media ingested on A is read live on B; faces indexed on A are found on B."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from tests.cluster.conftest import client
from tests.streams.conftest import mkv_from
from videolens.cli.local_cluster import LocalCluster
from videolens.media import kvs_tags
from videolens.media.mkv_reader import MkvReader, TagsElement
from videolens.producer import AckRecord, PutMediaResult, put_media, realtime_chunks


def test_live_media_through_a_read_now_through_b(cluster: LocalCluster, hamilton_clip: Path) -> None:
    a, b = cluster.api
    data = mkv_from(hamilton_clip, "-c", "copy")
    client("kinesisvideo", a.url).create_stream(StreamName="cluster-cam", DataRetentionInHours=24)
    persisted = threading.Event()
    results: list[PutMediaResult] = []

    def on_ack(ack: AckRecord) -> None:
        if ack.event == "PERSISTED":
            persisted.set()

    producer = threading.Thread(
        target=lambda: results.append(
            put_media(a.url, realtime_chunks(data), stream_name="cluster-cam", on_ack=on_ack)
        ),
        daemon=True,
    )
    producer.start()
    assert persisted.wait(30), "no fragment persisted through node A"
    media_b = client("kinesis-video-media", b.url)
    response = media_b.get_media(StreamName="cluster-cam", StartSelector={"StartSelectorType": "NOW"})
    received: list[tuple[float, dict[str, str]]] = []
    reader = MkvReader()
    for chunk in response["Payload"].iter_chunks(4096):
        for event in reader.feed(chunk):
            if isinstance(event, TagsElement):
                tags = dict(kvs_tags.parse_tags(event.raw))
                if kvs_tags.SERVER_TIMESTAMP in tags:
                    received.append((time.time(), tags))
    producer.join(60)
    assert len(results) == 1 and len(results[0].events("PERSISTED")) == 6
    assert not results[0].events("ERROR")

    archived_b = client("kinesis-video-archived-media", b.url)
    listed = archived_b.list_fragments(StreamName="cluster-cam")["Fragments"]
    numbers = sorted(f["FragmentNumber"] for f in listed)
    assert len(numbers) == 6
    got = [tags["AWS_KINESISVIDEO_FRAGMENT_NUMBER"] for _, tags in received]
    # every fragment persisted after the reader joined, in order, none missing, none twice
    assert len(got) >= 4 and got == numbers[len(numbers) - len(got) :]
    for arrived, tags in received:
        lag = arrived - float(tags[kvs_tags.SERVER_TIMESTAMP])
        assert 0 <= lag < 1.0, f"fragment reached node B {lag:.2f} s after it was persisted on A"

    selector = {
        "FragmentSelectorType": "SERVER_TIMESTAMP",
        "TimestampRange": {
            "StartTimestamp": min(f["ServerTimestamp"] for f in listed),
            "EndTimestamp": max(f["ServerTimestamp"] for f in listed),
        },
    }
    clips = [
        client("kinesis-video-archived-media", node.url)
        .get_clip(StreamName="cluster-cam", ClipFragmentSelector=selector)["Payload"]
        .read()
        for node in (a, b)
    ]
    assert len(clips[0]) > 100_000 and clips[0] == clips[1]


def _image(faces_dir: Path, name: str) -> dict[str, Any]:
    return {"Bytes": (faces_dir / name).read_bytes()}


def test_faces_indexed_on_a_found_on_b_at_once(cluster: LocalCluster, faces_dir: Path) -> None:
    a, b = cluster.api
    rek_a, rek_b = client("rekognition", a.url), client("rekognition", b.url)
    rek_a.create_collection(CollectionId="cluster-people")
    # B searches first, so it holds the collection (empty) in its vector cache
    assert rek_b.list_faces(CollectionId="cluster-people")["Faces"] == []
    obama = sorted((faces_dir / "obama").glob("*.jpg"))[0]
    indexed = rek_a.index_faces(
        CollectionId="cluster-people", Image={"Bytes": obama.read_bytes()}, ExternalImageId="obama"
    )
    face_id = indexed["FaceRecords"][0]["Face"]["FaceId"]
    found = rek_b.search_faces_by_image(
        CollectionId="cluster-people", Image=_image(faces_dir, "_test/obama1.jpg")
    )
    assert [m["Face"]["FaceId"] for m in found["FaceMatches"]] == [face_id]
    assert found["FaceMatches"][0]["Similarity"] > 80
    # a deletion on A is seen by B's next search too (no stale vector cache)
    rek_a.delete_faces(CollectionId="cluster-people", FaceIds=[face_id])
    found = rek_b.search_faces_by_image(
        CollectionId="cluster-people", Image=_image(faces_dir, "_test/obama1.jpg")
    )
    assert found["FaceMatches"] == []
