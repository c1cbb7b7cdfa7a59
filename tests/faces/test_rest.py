"""Issue 2: the native REST API over real HTTP — happy path and every bad input as problem+json."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningServer, free_port, make_settings
from videolens.container import Container
from videolens.vision.models import ModelRegistry


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, models: ModelRegistry):  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path_factory.mktemp("rest"), port=free_port(), max_image_bytes=2_000_000)
    c = Container(settings, models=models)
    srv = RunningServer(c).start()
    with httpx.Client(base_url=srv.url, timeout=60) as client:
        yield client
    srv.stop()
    c.close()


def assert_problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"].endswith("/" + code) and body["status"] == status and body["detail"]


def test_openapi_docs_and_health(api: httpx.Client) -> None:
    assert api.get("/healthz").json()["status"] == "ok"
    spec = api.get("/openapi.json").json()
    assert "/v1/collections/{collection_id}/faces" in spec["paths"]
    assert "swagger-ui" in api.get("/docs").text


def test_rest_flow(api: httpx.Client, faces_dir: Path) -> None:
    r = api.post("/v1/collections", json={"collection_id": "rest"})
    assert r.status_code == 201 and r.json()["collection_id"] == "rest" and r.json()["face_count"] == 0
    for person in ("obama", "biden"):
        photo = sorted((faces_dir / person).iterdir())[0]
        r = api.post(
            "/v1/collections/rest/faces",
            params={"external_image_id": person},
            content=photo.read_bytes(),
            headers={"content-type": "image/jpeg"},
        )
        assert r.status_code == 200, r.text
        assert len(r.json()["records"]) == 1
    assert api.get("/v1/collections/rest").json()["face_count"] == 2

    probe = (faces_dir / "_test" / "obama_and_biden.jpg").read_bytes()
    r = api.post("/v1/collections/rest/recognize", files={"image": ("p.jpg", probe, "image/jpeg")})
    found = sorted(f["matches"][0]["face"]["external_image_id"] for f in r.json()["faces"] if f["matches"])
    assert found == ["biden", "obama"]

    r = api.post("/v1/faces/detect", content=probe, params={"attributes": "ALL"})
    faces = r.json()["faces"]
    assert len(faces) == 3
    box = faces[0]["bounding_box"]
    assert 0 <= box["left"] <= 1 and 0 < box["width"] <= 1
    assert {"yaw", "pitch", "roll"} <= set(faces[0]["pose"])
    assert faces[0]["eyes_open"] is not None

    r = api.post(
        "/v1/faces/compare",
        files={
            "source": ("s.jpg", (faces_dir / "biden" / "biden.jpg").read_bytes(), "image/jpeg"),
            "target": ("t.jpg", probe, "image/jpeg"),
        },
    )
    assert len(r.json()["matches"]) == 1 and len(r.json()["unmatched"]) == 2

    listing = api.get("/v1/collections/rest/faces", params={"max_results": 1}).json()
    assert len(listing["faces"]) == 1 and listing["next_token"]
    second = api.get("/v1/collections/rest/faces", params={"next_token": listing["next_token"]}).json()
    assert len(second["faces"]) == 1 and second["next_token"] is None
    fid = listing["faces"][0]["face_id"]
    r = api.post("/v1/collections/rest/faces/delete", json={"face_ids": [fid]})
    assert r.json()["deleted"] == [fid]
    assert api.delete("/v1/collections/rest").status_code == 204


def test_bad_inputs(api: httpx.Client, faces_dir: Path) -> None:
    api.post("/v1/collections", json={"collection_id": "bad"})
    jpeg = (faces_dir / "obama" / "obama.jpg").read_bytes()
    assert_problem(api.post("/v1/faces/detect", content=b"this is not an image"), 400, "invalid-image")
    assert_problem(api.post("/v1/faces/detect", content=b""), 400, "invalid-image")
    assert_problem(
        api.post("/v1/faces/detect", content=b"\xff\xd8" + b"0" * 2_100_000), 413, "image-too-large"
    )
    assert_problem(api.post("/v1/collections/nope/faces", content=jpeg), 404, "not-found")
    assert_problem(api.post("/v1/collections", json={"collection_id": "bad"}), 409, "already-exists")
    assert_problem(api.post("/v1/collections", json={"collection_id": "no spaces"}), 400, "invalid-request")
    assert_problem(
        api.post("/v1/collections", content=b"{not json", headers={"content-type": "application/json"}),
        400,
        "invalid-request",
    )
    assert_problem(
        api.get("/v1/collections/bad/faces", params={"next_token": "garbage"}),
        400,
        "invalid-pagination-token",
    )
    api.post("/v1/collections", json={"collection_id": "other"})
    other = api.post("/v1/collections/other/faces", content=jpeg).json()["records"][0]["face"]["face_id"]
    assert_problem(api.get(f"/v1/collections/bad/faces/{other}/matches"), 400, "invalid-parameter")
    assert_problem(api.get("/v1/collections/bad/faces/not-a-uuid/matches"), 400, "invalid-parameter")
    assert_problem(api.get("/v1/nothing-here"), 404, "not-found")
