"""Fixtures of the media-library tests: Matroska made by ffmpeg from the shared Hamilton clip."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from videolens.media.mkv_fragmenter import Fragment, Fragmenter
from videolens.media.mkv_reader import MkvReader

REPO = Path(__file__).resolve().parents[2]


def shared_media() -> Path:
    return Path(os.environ.get("VIDEOLENS_TEST_MEDIA", REPO.parent / "shared" / "media"))


@pytest.fixture(scope="session")
def hamilton_mp4() -> Path:
    path = shared_media() / "video" / "short_hamilton_clip.mp4"
    assert path.is_file(), f"test media missing: {path}"
    return path


def ffmpeg_mkv(source: Path, *args: str, pre: tuple[str, ...] = ()) -> bytes:
    """Matroska from ffmpeg's live muxer writing to a pipe (unknown-size Segment, sized Clusters)."""
    cmd = ["ffmpeg", "-v", "error", *pre, "-i", str(source), *args, "-f", "matroska", "-live", "1", "pipe:1"]
    return subprocess.run(cmd, check=True, capture_output=True).stdout


@pytest.fixture(scope="session")
def hamilton_mkv(hamilton_mp4: Path) -> bytes:
    return ffmpeg_mkv(hamilton_mp4, "-c", "copy")


def fragment_stream(data: bytes, chunk: int = 4096, **options: float) -> list[Fragment]:
    reader = MkvReader()
    fragmenter = Fragmenter(**options)  # type: ignore[arg-type]
    out: list[Fragment] = []
    for i in range(0, len(data), chunk):
        for event in reader.feed(data[i : i + chunk]):
            out.extend(fragmenter.feed(event))
    for event in reader.close():
        out.extend(fragmenter.feed(event))
    return out + fragmenter.flush()


@pytest.fixture(scope="session")
def hamilton_fragments(hamilton_mkv: bytes) -> list[Fragment]:
    return fragment_stream(hamilton_mkv)


@pytest.fixture(scope="session")
def fragmenting() -> Callable[..., list[Fragment]]:
    """The fragment_stream helper, as a fixture so test modules need not import conftest."""
    return fragment_stream


@pytest.fixture(scope="session")
def megamind_mkv() -> bytes:
    """MPEG-4 Part 2 + AC-3 (codecs an MP4 GetClip refuses); AVI has no pts, so ffmpeg generates them."""
    return ffmpeg_mkv(
        shared_media() / "video" / "Megamind.avi", "-t", "3", "-c", "copy", pre=("-fflags", "+genpts")
    )
