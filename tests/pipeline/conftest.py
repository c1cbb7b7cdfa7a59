"""Fixtures of the pipeline tests: the synthetic ground-truth scenes as videos (with B-frames), made once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.anonymize import synthetic


@pytest.fixture(scope="session")
def scene_videos(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pipeline_scenes")
    return {
        "standard": synthetic.write_video(out / "standard.mp4", synthetic.standard_scene(media_dir)),
        "two_people": synthetic.write_video(out / "two_people.mp4", synthetic.two_people_scene(media_dir)),
    }
