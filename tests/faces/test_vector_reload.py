"""Two services over one metadata DB: each node's vector cache follows the other's changes incrementally."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from tests.conftest import free_port
from videolens.backends.metadata import database
from videolens.container import Container
from videolens.runtime.settings import Settings
from videolens.services.errors import NotFoundError
from videolens.services.faces import vector_cache
from videolens.services.faces.vector_cache import Reload
from videolens.vision.models import ModelRegistry


def _node(settings: Settings, models: ModelRegistry, name: str) -> Container:
    """Another node: its own data dir and port, the same metadata database."""
    url = settings.database_url_resolved
    return Container(
        settings.model_copy(
            update={"data_dir": settings.data_dir / name, "port": free_port(), "database_url": url}
        ),
        models=models,
    )


@pytest.fixture
def nodes(any_db_settings: Settings, models: ModelRegistry) -> Iterator[tuple[Container, Container]]:
    a = _node(any_db_settings, models, "a")
    b = _node(any_db_settings, models, "b")
    yield a, b
    a.close()
    b.close()


def _index(node: Container, photo: Path) -> str:
    result = node.faces.index_faces("people", photo.read_bytes(), max_faces=1)
    assert len(result.records) == 1
    return result.records[0].face.face_id


def _all_ids(node: Container) -> set[str]:
    """Every face the node's in-memory index returns (threshold 0: no distance cut)."""
    matches = node.faces.search_embedding("people", np.zeros(128, np.float32), max_faces=4096, threshold=0)
    return {m.face.face_id for m in matches}


def _kind(node: Container) -> tuple[str, int, int]:
    r: Reload = node.faces.vectors.last_reload["people"]
    return r.kind, r.added, r.removed


def test_add_and_delete_on_a_are_seen_by_b_reading_only_the_change(
    nodes: tuple[Container, Container], faces_dir: Path
) -> None:
    a, b = nodes
    a.faces.create_collection("people")
    first = [
        _index(a, faces_dir / p) for p in ("alex_lacamoire/img1.jpg", "biden/biden.jpg", "obama/obama.jpg")
    ]
    assert _all_ids(b) == set(first)
    assert _kind(b) == ("full", 3, 0)

    rose = _index(a, faces_dir / "rose_leslie/img1.jpg")
    query = a.faces.face_descriptor("people", rose)
    best = b.faces.search_embedding("people", query, max_faces=1)
    assert [m.face.face_id for m in best] == [rose] and best[0].similarity > 99
    assert _kind(b) == ("delta", 1, 0)  # one face row read, not the collection

    assert a.faces.delete_faces("people", [first[1]]).deleted == [first[1]]
    assert _all_ids(b) == {first[0], first[2], rose}
    assert _kind(b) == ("delta", 0, 1)

    # a search with no change in between reads nothing: the last reload stays the one above
    before = b.faces.vectors.last_reload["people"]
    assert _all_ids(b) == {first[0], first[2], rose}
    assert b.faces.vectors.last_reload["people"] is before

    # added and deleted between two searches of B: neither returned, the tombstone is a no-op
    short_lived = _index(a, faces_dir / "kit_harington/john1.jpeg")
    a.faces.delete_faces("people", [short_lived])
    assert _all_ids(b) == {first[0], first[2], rose}
    assert _kind(b) == ("delta", 0, 1)


def test_a_recreated_collection_is_not_served_from_the_old_cache(
    nodes: tuple[Container, Container], faces_dir: Path
) -> None:
    a, b = nodes
    a.faces.create_collection("people")
    old = _index(a, faces_dir / "biden/biden.jpg")
    assert _all_ids(b) == {old}
    a.faces.delete_collection("people")
    with pytest.raises(NotFoundError):
        _all_ids(b)
    assert "people" not in b.faces.vectors.last_reload  # B freed the vectors of the deleted collection
    a.faces.create_collection("people")
    new = _index(a, faces_dir / "obama/obama.jpg")
    assert _all_ids(b) == {new}
    assert _kind(b) == ("full", 1, 0)


def test_concurrent_writers_on_two_nodes_never_make_a_reader_miss_a_row(
    nodes: tuple[Container, Container], any_db_settings: Settings, models: ModelRegistry, faces_dir: Path
) -> None:
    a, b = nodes
    c = _node(any_db_settings, models, "c")
    try:
        a.faces.create_collection("people")
        photos = [faces_dir / "obama/obama2.jpg", faces_dir / "rose_leslie/img2.jpg"]
        written: list[str] = []
        errors: list[BaseException] = []

        def writer(node: Container, photo: Path) -> None:
            try:
                for i in range(5):
                    face = _index(node, photo)
                    written.append(face)
                    if i % 2:  # interleave deletes, so tombstones race with adds too
                        node.faces.delete_faces("people", [face])
                        written.remove(face)
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=writer, args=(n, p)) for n, p in zip((a, c), photos, strict=True)]
        for t in threads:
            t.start()
        refreshes = 0
        while any(t.is_alive() for t in threads):
            _all_ids(b)  # B refreshes while both write
            refreshes += 1
        for t in threads:
            t.join()
        assert not errors
        assert len(written) == 6 and refreshes > 1
        assert _all_ids(b) == set(written)
        assert _kind(b)[0] == "delta"
        # and B's incremental state equals a fresh full load
        fresh = _node(any_db_settings, models, "d")
        try:
            assert _all_ids(fresh) == set(written)
            assert _kind(fresh)[0] == "full"
        finally:
            fresh.close()
    finally:
        c.close()


def test_a_database_made_before_face_versions_upgrades_and_reloads_incrementally(
    any_db_settings: Settings, models: ModelRegistry, faces_dir: Path
) -> None:
    url = any_db_settings.database_url_resolved
    if url.startswith("sqlite"):
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files(database.__package__) / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    engine = sa.create_engine(url)
    vector = np.ones(128, np.float32) / np.sqrt(128)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001_base")  # the schema of an existing install: no faces.version
        now = "2026-01-01 10:00:00"
        conn.execute(sa.text("INSERT INTO collections VALUES ('people', :now, '6.0', '{}', 7)"), {"now": now})
        conn.execute(
            sa.text(
                "INSERT INTO faces (face_id, collection_id, seq, image_id, box_left, box_top, box_width,"
                " box_height, confidence, embedding, created_at) VALUES"
                " ('11111111-1111-4111-8111-111111111111', 'people', 1,"
                " '22222222-2222-4222-8222-222222222222', 0.1, 0.1, 0.5, 0.5, 99.0, :e, :now)"
            ),
            {"e": vector.astype("<f4").tobytes(), "now": now},
        )
    engine.dispose()
    a = _node(any_db_settings, models, "a")  # migrates to every head
    b = _node(any_db_settings, models, "b")
    try:
        old = "11111111-1111-4111-8111-111111111111"
        assert [m.face.face_id for m in b.faces.search_embedding("people", vector, 1)] == [old]
        assert _kind(b) == ("full", 1, 0)
        new = _index(a, faces_dir / "biden/biden2.jpg")
        a.faces.delete_faces("people", [old])
        assert _all_ids(b) == {new}
        assert _kind(b) == ("delta", 1, 1)
    finally:
        a.close()
        b.close()


def test_a_writer_waits_for_an_open_change_so_versions_commit_in_order(
    nodes: tuple[Container, Container], faces_dir: Path
) -> None:
    """A change in flight holds the collection's version: a second writer waits for it instead of
    committing a higher version first (which a reader could see, and then skip the lower one)."""
    a, b = nodes
    a.faces.create_collection("people")
    first = _index(a, faces_dir / "obama/obama.jpg")
    assert _all_ids(b) == {first}
    engine = sa.create_engine(a.settings.database_url_resolved)
    slow = "33333333-3333-4333-8333-333333333333"
    later: list[str] = []
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":  # take the write lock now, as the UPDATE does on PostgreSQL
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        # the slow writer, as the service writes: bump under the lock, stamp its face with that version
        version = conn.scalar(
            sa.text(
                "UPDATE collections SET version = version + 1 WHERE collection_id = 'people'"
                " RETURNING version"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO faces (face_id, collection_id, seq, image_id, box_left, box_top, box_width,"
                " box_height, confidence, embedding, created_at, version) VALUES (:f, 'people', 99,"
                " '44444444-4444-4444-8444-444444444444', 0.1, 0.1, 0.5, 0.5, 99.0, :e,"
                " '2026-01-01 10:00:00', :v)"
            ),
            {"f": slow, "e": np.ones(128, "<f4").tobytes(), "v": version},
        )
        writer = threading.Thread(target=lambda: later.append(_index(a, faces_dir / "biden/biden.jpg")))
        writer.start()
        writer.join(1.5)
        assert writer.is_alive(), "the second writer committed while the first still held the version"
        assert _all_ids(b) == {first}  # neither change is visible yet (readers do not wait)
        conn.commit()
    writer.join(30)
    engine.dispose()
    assert len(later) == 1
    assert _all_ids(b) == {first, slow, later[0]}
    assert _kind(b)[0] == "delta"


def test_a_node_behind_pruned_tombstones_loads_in_full(
    nodes: tuple[Container, Container], faces_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vector_cache, "TOMBSTONE_VERSIONS_KEPT", 2)
    a, b = nodes
    a.faces.create_collection("people")
    keep = _index(a, faces_dir / "obama/obama.jpg")
    assert _all_ids(b) == {keep}
    photo = faces_dir / "biden/biden.jpg"
    for _ in range(3):  # six versions while B does not search: the oldest tombstones are pruned
        a.faces.delete_faces("people", [_index(a, photo)])
    engine = sa.create_engine(a.settings.database_url_resolved)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM face_tombstones")) == 1  # versions > current - 2
    engine.dispose()
    assert _all_ids(b) == {keep}
    assert _kind(b) == ("full", 1, 0)
    # within the window: incremental again
    a.faces.delete_faces("people", [_index(a, photo)])
    assert _all_ids(b) == {keep}
    assert _kind(b) == ("delta", 0, 1)
