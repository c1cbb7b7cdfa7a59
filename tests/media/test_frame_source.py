"""The frame source: frame times from each frame's pts (VFR), files / readables / fragments, skipping."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from videolens.media.frame_source import FrameSource, FrameSourceError

# irregular gaps (variable frame rate), in ms
PTS_MS = [0, 40, 120, 130, 200, 330, 340, 400, 520, 560, 600, 700, 710, 800, 960, 1000]


def _vfr_video(container: str, target: str | io.BytesIO) -> None:
    with av.open(target, mode="w", format=container) as out:
        stream = out.add_stream("libx264", rate=25)
        stream.codec_context.max_b_frames = 2
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        texture = np.random.default_rng(7).integers(0, 255, (96, 160, 3), dtype=np.uint8)
        for i, pts in enumerate(PTS_MS):
            image = np.roll(texture, 3 * i, axis=1)  # a pan: x264 codes B-frames between P-frames
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


@pytest.fixture(scope="module")
def vfr_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("vfr") / "vfr.mp4"
    _vfr_video("mp4", str(path))
    return path


def test_times_follow_each_frames_pts_under_variable_frame_rate(vfr_mp4: Path) -> None:
    with FrameSource(vfr_mp4) as source:
        times = [round(f.time * 1000) for f in source]
    assert times == PTS_MS


def test_rgb_is_converted_at_the_asked_size_and_bgr_at_full_size(vfr_mp4: Path) -> None:
    with FrameSource(vfr_mp4) as source:
        frame = next(iter(source))
        assert frame.rgb(80, 48).shape == (48, 80, 3)
        assert frame.bgr().shape == (96, 160, 3)
        assert frame.luma_thumbnail(16).shape == (6, 10)
        assert frame.key


def test_nonref_skips_b_frames_and_keeps_times_of_the_rest(vfr_mp4: Path) -> None:
    with FrameSource(vfr_mp4, skip="nonref") as source:
        times = [round(f.time * 1000) for f in source]
    assert 0 < len(times) < len(PTS_MS)
    assert set(times) <= set(PTS_MS) and times == sorted(times)
    with FrameSource(vfr_mp4, skip="nonkey") as source:
        keys = list(source)
    assert len(keys) == 1 and keys[0].key


def test_a_readable_and_matroska_fragments_decode_like_the_file(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    _vfr_video("matroska", buffer)
    data = buffer.getvalue()
    with FrameSource(io.BytesIO(data), name="upload") as source:
        from_readable = [round(f.time * 1000) for f in source]
    fragments = [data[i : i + 700] for i in range(0, len(data), 700)]  # blobs in order, cut anywhere
    with FrameSource(iter(fragments), name="stream") as source:
        from_fragments = [round(f.time * 1000) for f in source]
    assert from_readable == from_fragments == PTS_MS


def test_not_a_video_is_a_clear_error_naming_the_input(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.mp4"
    bogus.write_bytes(b"this is not a video at all" * 100)
    with pytest.raises(FrameSourceError, match="notes.mp4: not a readable video"):
        FrameSource(bogus)


def test_stopping_early_ends_the_decode_thread(vfr_mp4: Path) -> None:
    source = FrameSource(vfr_mp4, prefetch=2)
    it = iter(source)
    next(it)
    source.close()
    assert source._thread is not None and not source._thread.is_alive()
