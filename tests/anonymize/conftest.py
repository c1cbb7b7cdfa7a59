"""Fixtures of the anonymization tests: one shared service and the synthetic scenes, made once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.anonymize import synthetic
from videolens.services.anonymize.service import AnonymizeService
from videolens.vision.models import ModelRegistry

MAGENTA = (255, 0, 255)  # BGR; no face or background of the scenes comes close to it


@dataclass(frozen=True)
class SceneVideo:
    scene: synthetic.Scene
    path: Path


@pytest.fixture(scope="session")
def service(models: ModelRegistry) -> AnonymizeService:
    return AnonymizeService(embedder_factory=lambda: models.embedder)


@pytest.fixture(scope="session")
def standard_video(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> SceneVideo:
    scene = synthetic.standard_scene(media_dir)
    path = synthetic.write_video(tmp_path_factory.mktemp("scenes") / "standard.mp4", scene)
    return SceneVideo(scene, path)


@pytest.fixture(scope="session")
def two_people_video(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> SceneVideo:
    scene = synthetic.two_people_scene(media_dir)
    path = synthetic.write_video(tmp_path_factory.mktemp("scenes") / "two_people.mp4", scene)
    return SceneVideo(scene, path)
