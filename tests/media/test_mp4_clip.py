"""GetClip remux: fragments → one MP4 that PyAV decodes with audio and a continuous time line."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from videolens.media import mp4_clip
from videolens.media.mkv_fragmenter import Fragment


def probe(data: bytes) -> tuple[int, int, float, list[float]]:
    with av.open(io.BytesIO(data)) as container:
        assert container.format.name.startswith("mov,mp4")
        duration = float(container.duration or 0) / 1e6
        video_pts = [float(f.pts * f.time_base) for f in container.decode(video=0)]
    with av.open(io.BytesIO(data)) as container:
        audio = sum(1 for _ in container.decode(audio=0))
    return len(video_pts), audio, duration, video_pts


def test_whole_clip(hamilton_fragments: list[Fragment], tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    with path.open("wb") as out:
        info = mp4_clip.write_mp4((f.to_bytes() for f in hamilton_fragments), out)
    # time zero is the first key frame (0.844 s into the source): the audio before it is left out
    assert (info.video_packets, info.audio_packets) == (275, 394)
    assert info.first_timestamp_s == pytest.approx(0.844)
    data = path.read_bytes()
    assert data[4:8] == b"ftyp"
    video, audio, duration, pts = probe(data)
    assert (video, audio) == (275, 394)
    assert pts[0] == 0.0
    assert duration == pytest.approx(10.02 - 0.844, abs=0.02)
    # continuous: no frame interval longer than one frame (29.97 fps)
    gaps = [b - a for a, b in zip(pts, pts[1:], strict=False)]
    assert max(gaps) < 0.035 and min(gaps) > 0.03


def test_sub_range_starts_at_zero(hamilton_fragments: list[Fragment]) -> None:
    chosen = hamilton_fragments[1:4]
    data = mp4_clip.clip_bytes(f.to_bytes() for f in chosen)
    video, audio, duration, pts = probe(data)
    assert video == 60 + 43 + 48
    assert audio > 0
    assert pts[0] == pytest.approx(0.0, abs=0.011)
    expected = sum(f.duration for f in chosen) / 1000
    assert duration == pytest.approx(expected, abs=0.04)


def test_no_fragments() -> None:
    with pytest.raises(mp4_clip.ClipError) as info:
        mp4_clip.clip_bytes([])
    assert info.value.kind == "no-fragments"


def test_codec_mp4_cannot_carry_is_refused(
    megamind_mkv: bytes, fragmenting: Callable[..., list[Fragment]]
) -> None:
    frags = fragmenting(megamind_mkv)
    assert frags
    with pytest.raises(mp4_clip.ClipError) as info:
        mp4_clip.clip_bytes(f.to_bytes() for f in frags)
    assert info.value.kind == "unsupported-codec"


def test_garbage_fragment() -> None:
    with pytest.raises(mp4_clip.ClipError) as info:
        mp4_clip.clip_bytes([b"not matroska at all"])
    assert info.value.kind == "invalid-media"
