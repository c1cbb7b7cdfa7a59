"""Fixtures of the faces tests: an enrolled collection of the five shared people."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, make_settings
from videolens.container import Container
from videolens.vision.models import ModelRegistry

PEOPLE = ("alex_lacamoire", "biden", "kit_harington", "obama", "rose_leslie")


def enrolment_photos(faces_dir: Path) -> list[tuple[str, Path]]:
    return [(person, p) for person in PEOPLE for p in sorted((faces_dir / person).iterdir())]


@pytest.fixture(scope="module")
def enrolled(
    tmp_path_factory: pytest.TempPathFactory, models: ModelRegistry, faces_dir: Path
) -> Iterator[Container]:
    """A container whose collection `people` holds every enrolment photo (external id = person)."""
    data = tmp_path_factory.mktemp("enrolled")
    c = Container(make_settings(data, port=free_port()), models=models)
    c.faces.create_collection("people")
    for person, photo in enrolment_photos(faces_dir):
        result = c.faces.index_faces("people", photo.read_bytes(), external_image_id=person, max_faces=1)
        assert len(result.records) == 1, f"{photo} should index exactly its one main face"
    yield c
    c.close()
