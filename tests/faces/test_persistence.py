"""Issue 2: collections and faces survive a restart; metadata works on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from videolens.container import Container
from videolens.runtime.settings import Settings
from videolens.services.errors import (
    AlreadyExistsError,
    InvalidPaginationTokenError,
    InvalidParameterError,
    NotFoundError,
)
from videolens.vision.models import ModelRegistry


def test_collections_and_faces_survive_restart(
    any_db_settings: Settings, models: ModelRegistry, faces_dir: Path
) -> None:
    first = Container(any_db_settings, models=models)
    first.faces.create_collection("keep")
    rec = first.faces.index_faces("keep", (faces_dir / "biden" / "biden.jpg").read_bytes(), "biden")
    face_id = rec.records[0].face.face_id
    first.close()

    second = Container(any_db_settings, models=models)
    try:
        assert second.faces.describe_collection("keep").face_count == 1
        faces, token = second.faces.list_faces("keep")
        assert [f.face_id for f in faces] == [face_id] and token is None
        found = second.faces.search_faces_by_image("keep", (faces_dir / "biden" / "biden2.jpg").read_bytes())
        assert [m.face.face_id for m in found.matches] == [face_id]
    finally:
        second.close()


def test_metadata_pagination_and_errors(
    any_db_settings: Settings, models: ModelRegistry, faces_dir: Path
) -> None:
    c = Container(any_db_settings, models=models)
    try:
        for i in range(5):
            c.faces.create_collection(f"c{i}")
        with pytest.raises(AlreadyExistsError):
            c.faces.create_collection("c1")
        page, token = c.faces.list_collections(max_results=2)
        seen = [x.collection_id for x in page]
        while token:
            page, token = c.faces.list_collections(max_results=2, next_token=token)
            seen += [x.collection_id for x in page]
        assert seen == ["c0", "c1", "c2", "c3", "c4"]
        with pytest.raises(InvalidPaginationTokenError):
            c.faces.list_collections(next_token="not-a-token")

        photo = (faces_dir / "_test" / "obama_and_biden.jpg").read_bytes()
        ids = [r.face.face_id for r in c.faces.index_faces("c0", photo, quality_filter="NONE").records]
        ids += [r.face.face_id for r in c.faces.index_faces("c0", photo, quality_filter="NONE").records]
        assert len(ids) == 6
        got: list[str] = []
        page_faces, token = c.faces.list_faces("c0", max_results=4)
        got += [f.face_id for f in page_faces]
        page_faces, token = c.faces.list_faces("c0", max_results=4, next_token=token)
        got += [f.face_id for f in page_faces]
        assert got == ids and token is None
        with pytest.raises(InvalidPaginationTokenError):
            c.faces.list_faces("c0", next_token=token or "x" * 20)

        other = (
            c.faces.index_faces("c1", (faces_dir / "obama" / "obama.jpg").read_bytes())
            .records[0]
            .face.face_id
        )
        with pytest.raises(InvalidParameterError):
            c.faces.search_faces("c0", other)  # a face id from another collection
        with pytest.raises(NotFoundError):
            c.faces.list_faces("nope")
        result = c.faces.delete_faces("c0", [ids[0], other])
        assert result.deleted == [ids[0]]
        assert [(u.face_id, u.reasons) for u in result.unsuccessful] == [(other, ["FACE_NOT_FOUND"])]
        assert c.faces.describe_collection("c0").face_count == 5
        c.faces.delete_collection("c0")
        with pytest.raises(NotFoundError):
            c.faces.describe_collection("c0")
    finally:
        c.close()


def test_recreated_collection_is_not_served_from_another_process_cache(
    settings: Settings, models: ModelRegistry, faces_dir: Path
) -> None:
    """Two containers on one database: B re-creates a collection that A has cached; A sees the new faces."""
    a = Container(settings, models=models)
    b = Container(settings, models=models)
    try:
        obama = (faces_dir / "obama" / "obama.jpg").read_bytes()
        biden = (faces_dir / "biden" / "biden.jpg").read_bytes()
        a.faces.create_collection("shared")
        a.faces.index_faces("shared", obama, "obama")
        assert [m.face.external_image_id for m in a.faces.search_faces_by_image("shared", obama).matches] == [
            "obama"
        ]
        b.faces.delete_collection("shared")
        b.faces.create_collection("shared")
        b.faces.index_faces("shared", biden, "biden")
        assert a.faces.search_faces_by_image("shared", obama).matches == []
        assert [m.face.external_image_id for m in a.faces.search_faces_by_image("shared", biden).matches] == [
            "biden"
        ]
    finally:
        a.close()
        b.close()
