"""Face thumbnails (kept at index time on both doors, served over REST, deleted with the face), rename."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config
from PIL import Image

from tests.conftest import RunningServer, free_port, make_settings
from videolens.container import Container
from videolens.services.faces.thumbnails import THUMBNAIL_SIDE, thumbnail_key
from videolens.vision.models import ModelRegistry


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models: ModelRegistry) -> Iterator[RunningServer]:
    c = Container(make_settings(tmp_path_factory.mktemp("thumbs"), port=free_port()), models=models)
    srv = RunningServer(c).start()
    yield srv
    srv.stop()
    c.close()


def index(client: httpx.Client, collection: str, photo: Path, person: str) -> str:
    r = client.post(
        f"/v1/collections/{collection}/faces",
        params={"external_image_id": person, "max_faces": 1},
        content=photo.read_bytes(),
        headers={"content-type": "image/jpeg"},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["records"][0]["face"]["face_id"])


def test_thumbnail_of_each_indexed_face(server: RunningServer, faces_dir: Path) -> None:
    photo = sorted((faces_dir / "obama").iterdir())[0]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.post("/v1/collections", json={"collection_id": "thumbs"}).status_code == 201
        face_id = index(client, "thumbs", photo, "obama")
        r = client.get(f"/v1/collections/thumbs/faces/{face_id}/thumbnail")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        thumb = Image.open(io.BytesIO(r.content))
        assert thumb.format == "JPEG" and max(thumb.size) <= THUMBNAIL_SIDE and min(thumb.size) >= 32
        # the crop is the face: the face detector finds exactly one face in it, covering most of it
        found = server.container.faces.detect_faces(r.content).faces
        assert len(found) == 1 and found[0].bounding_box.width > 0.4
        assert server.container.blobs.exists(thumbnail_key(face_id))

        # unknown face / wrong collection: 404 problem+json, and a malformed id is a 400
        other = "00000000-0000-4000-8000-000000000000"
        r = client.get(f"/v1/collections/thumbs/faces/{other}/thumbnail")
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        assert client.get(f"/v1/collections/nope/faces/{face_id}/thumbnail").status_code == 404
        assert client.get("/v1/collections/thumbs/faces/NOT-A-UUID/thumbnail").status_code == 400

        # deleted with the face
        assert client.delete(f"/v1/collections/thumbs/faces/{face_id}").json()["deleted"] == [face_id]
        assert not server.container.blobs.exists(thumbnail_key(face_id))
        assert client.get(f"/v1/collections/thumbs/faces/{face_id}/thumbnail").status_code == 404

        # and with the collection
        kept = index(client, "thumbs", photo, "obama")
        assert server.container.blobs.exists(thumbnail_key(kept))
        assert client.delete("/v1/collections/thumbs").status_code == 204
        assert not server.container.blobs.exists(thumbnail_key(kept))


def test_faces_indexed_through_the_aws_door_have_thumbnails(server: RunningServer, faces_dir: Path) -> None:
    rekognition = boto3.client(
        "rekognition",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )
    rekognition.create_collection(CollectionId="aws-thumbs")
    photo = sorted((faces_dir / "biden").iterdir())[0]
    out = rekognition.index_faces(
        CollectionId="aws-thumbs", Image={"Bytes": photo.read_bytes()}, ExternalImageId="biden", MaxFaces=1
    )
    face_id = out["FaceRecords"][0]["Face"]["FaceId"]
    r = httpx.get(f"{server.url}/v1/collections/aws-thumbs/faces/{face_id}/thumbnail")
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).format == "JPEG"
    rekognition.delete_faces(CollectionId="aws-thumbs", FaceIds=[face_id])
    assert not server.container.blobs.exists(thumbnail_key(face_id))


def test_rename_person(server: RunningServer, faces_dir: Path) -> None:
    photos = sorted((faces_dir / "kit_harington").iterdir())[:2]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        client.post("/v1/collections", json={"collection_id": "rename"})
        ids = {index(client, "rename", p, "kit") for p in photos}
        other = index(client, "rename", sorted((faces_dir / "rose_leslie").iterdir())[0], "rose")
        r = client.post(
            "/v1/collections/rename/people/kit/rename", json={"new_external_image_id": "jon.snow"}
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"external_image_id": "jon.snow", "faces_renamed": len(photos)}
        faces = {
            f["face_id"]: f["external_image_id"]
            for f in client.get("/v1/collections/rename/faces").json()["faces"]
        }
        assert faces == {**{i: "jon.snow" for i in ids}, other: "rose"}
        # searches answer with the new name too
        probe = sorted((faces_dir / "kit_harington").iterdir())[-1].read_bytes()
        hit = client.post(
            "/v1/collections/rename/search", content=probe, headers={"content-type": "image/jpeg"}
        )
        assert hit.json()["matches"][0]["face"]["external_image_id"] == "jon.snow"

        # nobody by that name any more: 404; a bad new name: 400; an unknown collection: 404
        gone = client.post("/v1/collections/rename/people/kit/rename", json={"new_external_image_id": "x"})
        assert gone.status_code == 404 and gone.headers["content-type"].startswith("application/problem+json")
        bad = client.post("/v1/collections/rename/people/rose/rename", json={"new_external_image_id": "a b"})
        assert bad.status_code == 400
        missing = client.post("/v1/collections/none/people/rose/rename", json={"new_external_image_id": "r"})
        assert missing.status_code == 404
        # renaming onto a name in use merges the two people
        merged = client.post(
            "/v1/collections/rename/people/rose/rename", json={"new_external_image_id": "jon.snow"}
        )
        assert merged.json()["faces_renamed"] == 1
        names = {f["external_image_id"] for f in client.get("/v1/collections/rename/faces").json()["faces"]}
        assert names == {"jon.snow"}
