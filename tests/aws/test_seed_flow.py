"""Seed-project style boto3 code, unchanged except for the endpoint (AWS_ENDPOINT_URL), end to end."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from tests.aws.conftest import ShapeChecker
from tests.conftest import RunningServer

PEOPLE = ["alex_lacamoire", "biden", "kit_harington", "obama", "rose_leslie"]


# ---- the code below is written exactly as against AWS -------------------------------------------
def enrol(bucket: str, collection_id: str, faces_dir: Path) -> dict[str, list[str]]:
    s3 = boto3.client("s3")
    rekognition = boto3.client("rekognition")
    rekognition.create_collection(CollectionId=collection_id)
    s3.create_bucket(Bucket=bucket)
    face_ids: dict[str, list[str]] = {}
    for person in PEOPLE:
        for photo in sorted((faces_dir / person).iterdir()):
            key = f"enrol/{person}/{photo.name}"
            s3.upload_file(str(photo), bucket, key)
            response = rekognition.index_faces(
                CollectionId=collection_id,
                Image={"S3Object": {"Bucket": bucket, "Name": key}},
                ExternalImageId=person,
                MaxFaces=1,
                QualityFilter="AUTO",
                DetectionAttributes=["DEFAULT"],
            )
            for record in response["FaceRecords"]:
                face_ids.setdefault(person, []).append(record["Face"]["FaceId"])
    return face_ids


def who_is(collection_id: str, image_path: Path, threshold: float = 80) -> list[str]:
    rekognition = boto3.client("rekognition")
    with open(image_path, "rb") as image:
        response = rekognition.search_faces_by_image(
            CollectionId=collection_id,
            Image={"Bytes": image.read()},
            FaceMatchThreshold=threshold,
            MaxFaces=5,
        )
    return [match["Face"]["ExternalImageId"] for match in response["FaceMatches"]]


def all_faces(collection_id: str) -> list[dict]:
    rekognition = boto3.client("rekognition")
    paginator = rekognition.get_paginator("list_faces")
    faces = []
    for page in paginator.paginate(CollectionId=collection_id, PaginationConfig={"PageSize": 4}):
        faces.extend(page["Faces"])
    return faces


# --------------------------------------------------------------------------------------------------


@pytest.fixture
def aws_env(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shape_checker: ShapeChecker
) -> None:
    """Only the environment changes: endpoint, fake credentials, region; ~/.aws is ignored."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-parse", shape_checker)
    yield
    boto3.DEFAULT_SESSION = None


def test_seed_style_flow(aws_env: None, faces_dir: Path, shape_checker: ShapeChecker) -> None:
    probes = faces_dir / "_test"
    face_ids = enrol("family-photos", "family", faces_dir)
    assert sorted(face_ids) == PEOPLE
    assert {p: len(ids) for p, ids in face_ids.items()} == {
        p: len(list((faces_dir / p).iterdir())) for p in PEOPLE
    }

    assert set(who_is("family", probes / "obama1.jpg")) == {"obama"}
    assert set(who_is("family", probes / "alex_lacamoire1.jpg")) == {"alex_lacamoire"}
    assert set(who_is("family", probes / "johnsnow_test1.jpg")) == {"kit_harington"}
    assert who_is("family", probes / "messi5.jpg") == []

    rekognition = boto3.client("rekognition")
    detected = rekognition.detect_faces(
        Image={"Bytes": (probes / "obama_and_biden.jpg").read_bytes()}, Attributes=["ALL"]
    )
    assert len(detected["FaceDetails"]) >= 2
    for face in detected["FaceDetails"]:
        assert {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality", "EyesOpen", "MouthOpen"} <= set(
            face
        )
        assert {lm["Type"] for lm in face["Landmarks"]} >= {
            "eyeLeft",
            "eyeRight",
            "nose",
            "mouthLeft",
            "mouthRight",
        }
        box = face["BoundingBox"]
        assert 0 <= box["Left"] <= 1 and 0 <= box["Top"] <= 1 and 0 < box["Width"] <= 1

    with (
        open(faces_dir / "obama" / "obama.jpg", "rb") as src,
        open(probes / "obama_and_biden.jpg", "rb") as tgt,
    ):
        compared = rekognition.compare_faces(
            SourceImage={"Bytes": src.read()}, TargetImage={"Bytes": tgt.read()}, SimilarityThreshold=80
        )
    assert len(compared["FaceMatches"]) == 1
    assert compared["FaceMatches"][0]["Similarity"] >= 80
    assert len(compared["UnmatchedFaces"]) >= 1

    faces = all_faces("family")
    assert len(faces) == sum(len(v) for v in face_ids.values())
    assert {f["ExternalImageId"] for f in faces} == set(PEOPLE)

    same = rekognition.search_faces(CollectionId="family", FaceId=face_ids["obama"][0], FaceMatchThreshold=80)
    assert same["SearchedFaceId"] == face_ids["obama"][0]
    assert {m["Face"]["ExternalImageId"] for m in same["FaceMatches"]} == {"obama"}
    assert face_ids["obama"][0] not in {m["Face"]["FaceId"] for m in same["FaceMatches"]}

    deleted = rekognition.delete_faces(CollectionId="family", FaceIds=face_ids["obama"])
    assert sorted(deleted["DeletedFaces"]) == sorted(face_ids["obama"])
    assert "obama" not in who_is("family", probes / "obama1.jpg")
    assert rekognition.describe_collection(CollectionId="family")["FaceCount"] == len(faces) - len(
        face_ids["obama"]
    )

    assert rekognition.delete_collection(CollectionId="family")["StatusCode"] == 200
    assert "family" not in rekognition.list_collections()["CollectionIds"]
    assert {
        "IndexFaces",
        "SearchFacesByImage",
        "DetectFaces",
        "CompareFaces",
        "ListFaces",
        "PutObject",
    } <= set(shape_checker.checked)
