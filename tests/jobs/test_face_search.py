"""Face search job (boto3 StartFaceSearch / GetFaceSearch) on a synthetic video with known people."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import RunningServer
from tests.jobs.conftest import aws_client
from tests.jobs.synthetic_search import ENROLLED, TRUTH, clearly_on_screen, make_search_video, on_screen


def _wait(rekognition, job_id: str, timeout: float = 300) -> dict:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = rekognition.get_face_search(JobId=job_id, MaxResults=1)
        if page["JobStatus"] != "IN_PROGRESS":
            return page  # type: ignore[no-any-return]
        time.sleep(0.5)
    raise TimeoutError(job_id)


def test_face_search_finds_each_person_with_one_index(
    server: RunningServer, media_dir: Path, tmp_path: Path
) -> None:
    video = make_search_video(media_dir, tmp_path / "search.mp4")
    s3 = aws_client("s3", server.url)
    rekognition = aws_client("rekognition", server.url)
    rekognition.create_collection(CollectionId="people")
    for person, photos in ENROLLED.items():
        for photo in photos:
            data = (media_dir / "faces" / person / photo).read_bytes()
            indexed = rekognition.index_faces(
                CollectionId="people", Image={"Bytes": data}, ExternalImageId=person, MaxFaces=1
            )
            assert len(indexed["FaceRecords"]) == 1
    s3.create_bucket(Bucket="cams")
    s3.put_object(Bucket="cams", Key="lobby/search.mp4", Body=video.read_bytes())

    job_id = rekognition.start_face_search(
        Video={"S3Object": {"Bucket": "cams", "Name": "lobby/search.mp4"}},
        CollectionId="people",
        FaceMatchThreshold=80,
        ClientRequestToken="search-1",
    )["JobId"]
    # same token, same request → same job; same token, other request → IdempotentParameterMismatch
    again = rekognition.start_face_search(
        Video={"S3Object": {"Bucket": "cams", "Name": "lobby/search.mp4"}},
        CollectionId="people",
        FaceMatchThreshold=80,
        ClientRequestToken="search-1",
    )
    assert again["JobId"] == job_id
    with pytest.raises(rekognition.exceptions.IdempotentParameterMismatchException):
        rekognition.start_face_search(
            Video={"S3Object": {"Bucket": "cams", "Name": "lobby/search.mp4"}},
            CollectionId="people",
            FaceMatchThreshold=90,
            ClientRequestToken="search-1",
        )

    first = _wait(rekognition, job_id)
    assert first["JobStatus"] == "SUCCEEDED", first.get("StatusMessage")
    assert first["VideoMetadata"]["FrameWidth"] == 480 and first["VideoMetadata"]["DurationMillis"] == 8000

    def all_persons(sort_by: str) -> list[dict]:
        out: list[dict] = []
        token = None
        while True:
            kwargs = {"JobId": job_id, "SortBy": sort_by, "MaxResults": 7}
            if token:
                kwargs["NextToken"] = token
            page = rekognition.get_face_search(**kwargs)
            out.extend(page["Persons"])
            token = page.get("NextToken")
            if not token:
                return out

    persons = all_persons("TIMESTAMP")
    assert [p["Timestamp"] for p in persons] == sorted(p["Timestamp"] for p in persons)
    by_index = all_persons("INDEX")
    assert [p["Person"]["Index"] for p in by_index] == sorted(p["Person"]["Index"] for p in by_index)
    assert sorted(map(repr, by_index)) == sorted(map(repr, persons))

    seen: dict[str, set[int]] = defaultdict(set)  # person → timestamps
    indexes: dict[str, set[int]] = defaultdict(set)
    unmatched: list[dict] = []
    for p in persons:
        names = {m["Face"]["ExternalImageId"] for m in p["FaceMatches"]}
        assert len(names) <= 1, names
        assert all(m["Similarity"] >= 80 for m in p["FaceMatches"])
        if not names:
            unmatched.append(p)
            continue
        name = names.pop()
        assert on_screen(name, p["Timestamp"]), (name, p["Timestamp"])
        seen[name].add(p["Timestamp"])
        indexes[name].add(p["Person"]["Index"])
    # every enrolled person: found all the time they are clearly on screen, under exactly one Index
    for person in ENROLLED:
        expected = {t for t in range(0, 8001, 500) if clearly_on_screen(person, t)}
        assert expected <= seen[person], (person, sorted(expected - seen[person]))
        assert len(indexes[person]) == 1, (person, indexes[person])
    assert len({i for ids in indexes.values() for i in ids}) == len(ENROLLED)
    # the person who is not enrolled: reported, with no match, only while she is on screen
    assert unmatched, "the unenrolled person was not reported"
    rose = {t for t in range(0, 8001, 500) if clearly_on_screen("rose_leslie", t)}
    assert rose <= {p["Timestamp"] for p in unmatched}
    assert all(on_screen("rose_leslie", p["Timestamp"]) for p in unmatched)
    assert len({p["Person"]["Index"] for p in unmatched}) == 1
    assert set(TRUTH) == {*ENROLLED, "rose_leslie"}
