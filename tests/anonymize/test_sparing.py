"""Sparing: the person enrolled in a collection stays visible on every frame, the other never is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.anonymize import synthetic
from tests.anonymize.conftest import MAGENTA, SceneVideo
from tests.conftest import free_port, make_settings
from videolens.container import Container
from videolens.services.anonymize.collection_matcher import CollectionMatcher
from videolens.services.anonymize.options import AnonymizeOptions
from videolens.services.anonymize.service import AnonymizeService
from videolens.services.errors import NotFoundError
from videolens.vision.models import ModelRegistry


@pytest.fixture(scope="module")
def enrolled(
    tmp_path_factory: pytest.TempPathFactory, models: ModelRegistry, faces_dir: Path
) -> Iterator[Container]:
    """Collection `staff` holds Obama, from photos other than the one pasted into the video."""
    c = Container(make_settings(tmp_path_factory.mktemp("spare"), port=free_port()), models=models)
    c.faces.create_collection("staff")
    for photo in ("obama2.jpg", "obama3.jpg"):
        result = c.faces.index_faces(
            "staff", (faces_dir / "obama" / photo).read_bytes(), "obama", max_faces=1
        )
        assert len(result.records) == 1
    yield c
    c.close()


def test_enrolled_person_stays_visible_and_the_other_never_is(
    service: AnonymizeService, enrolled: Container, two_people_video: SceneVideo, tmp_path: Path
) -> None:
    out, boxes = tmp_path / "out.mp4", tmp_path / "boxes.json"
    options = AnonymizeOptions(mode="solid", color=MAGENTA, spare_collection="staff")
    matcher = CollectionMatcher(enrolled.faces, "staff")
    result = service.anonymize_file(two_people_video.path, out, options, matcher=matcher, boxes_json=boxes)
    assert result.spared >= 1
    frames = synthetic.read_frames(out)
    scene = two_people_video.scene
    hidden = synthetic.solid_hidden(MAGENTA)

    biden = synthetic.coverage(scene, frames, hidden, persons={"biden"})
    assert biden.fraction >= 0.995
    assert biden.exposed == []

    # Obama is never hidden: on every frame less than half of his face is covered (in fact none of it)
    obama = synthetic.coverage(scene, frames, hidden, persons={"obama"})
    visible_frames = {frame for frame, _, _ in obama.exposed}
    assert visible_frames == set(range(len(scene.frames))) == set(range(90))
    assert obama.fraction < 0.01

    doc = json.loads(boxes.read_text())
    spared_tracks = [t for t in doc["tracks"] if t["spared_frames"]]
    assert spared_tracks, "the boxes file records the spared track"


def test_missing_collection_is_refused_before_any_work(enrolled: Container) -> None:
    with pytest.raises(NotFoundError):
        CollectionMatcher(enrolled.faces, "nobody")
