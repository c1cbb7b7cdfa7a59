"""media.video_transcode: timing, rotation, metadata, subtitles and audio survive the re-encode."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from videolens.media.video_transcode import Frame, MediaError, probe_video, transcode_video


class Passthrough:
    def push(self, frame: Frame) -> list[Frame]:
        return [frame]

    def flush(self) -> list[Frame]:
        return []


class Invert:
    """Draws on every frame (forces the BGR path) and delays output by a few frames like the pipeline."""

    def __init__(self) -> None:
        self.held: list[Frame] = []

    def push(self, frame: Frame) -> list[Frame]:
        frame.image[...] = 255 - frame.image
        frame.modified = True
        self.held.append(frame)
        if len(self.held) > 5:
            return [self.held.pop(0)]
        return []

    def flush(self) -> list[Frame]:
        out, self.held = self.held, []
        return out


def _write(
    path: Path, pts: list[int], time_base: Fraction, rotation: int = 0, metadata: dict[str, str] | None = None
) -> None:
    with av.open(str(path), mode="w") as out:
        if metadata:
            out.metadata.update(metadata)
        stream = out.add_stream("libx264", rate=30, options={"crf": "20", "preset": "ultrafast", "bf": "0"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        if rotation:
            stream.set_display_rotation(rotation)
        for i, p in enumerate(pts):
            img = np.full((48, 64, 3), (i * 7) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts, frame.time_base = p, time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _pts(path: Path) -> tuple[list[int], Fraction]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [int(f.pts) for f in c.decode(s)], Fraction(s.time_base)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_variable_frame_rate_pts_are_carried_through(tmp_path: Path, suffix: str) -> None:
    durations = [33, 33, 50, 17, 100, 33, 40, 200, 33, 33, 60, 33]
    pts = [int(sum(durations[:i])) for i in range(len(durations))]
    src, dst = tmp_path / f"vfr{suffix}", tmp_path / f"out{suffix}"
    _write(src, pts, Fraction(1, 1000))
    src_pts, src_tb = _pts(src)
    result = transcode_video(src, dst, Invert())
    out_pts, out_tb = _pts(dst)
    assert result.frames == len(pts)
    assert [p * out_tb for p in out_pts] == [p * src_tb for p in src_pts]
    assert result.warning is None


def test_rotation_and_creation_time_are_kept(tmp_path: Path) -> None:
    src, dst = tmp_path / "rotated.mp4", tmp_path / "out.mp4"
    created = "2024-05-01T12:34:56.000000Z"
    _write(
        src,
        list(range(0, 20 * 512, 512)),
        Fraction(1, 15360),
        rotation=90,
        metadata={"creation_time": created},
    )
    assert probe_video(src).rotation == 90
    transcode_video(src, dst, Invert())
    assert probe_video(dst).rotation == 90
    with av.open(str(dst)) as c:
        assert c.metadata["creation_time"] == created


def test_subtitles_and_audio_are_remuxed_without_re_encoding(hamilton_clip: Path, tmp_path: Path) -> None:
    srt = tmp_path / "subs.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,500\nHello\n\n2\n00:00:04,000 --> 00:00:05,000\nWorld\n")
    src = tmp_path / "with_subs.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(hamilton_clip), "-i", str(srt), "-map", "0", "-map", "1",
         "-c", "copy", "-t", "6", str(src)],
        check=True,
    )  # fmt: skip
    dst = tmp_path / "out.mkv"
    result = transcode_video(src, dst, Passthrough())
    assert result.copied_streams == ["#1 audio aac", "#2 subtitle srt"]

    def packets(path: Path, kind: str) -> list[bytes]:
        with av.open(str(path)) as c:
            stream = next(s for s in c.streams if s.type == kind)
            return [bytes(p) for p in c.demux(stream) if p.size]

    assert packets(dst, "subtitle") == packets(src, "subtitle") == [b"Hello", b"World"]
    assert packets(dst, "audio") == packets(src, "audio")


def test_truncated_file_is_processed_up_to_where_it_stops(hamilton_clip: Path, tmp_path: Path) -> None:
    full = tmp_path / "faststart.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-i",
            str(hamilton_clip),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            str(full),
        ],
        check=True,
    )
    cut = tmp_path / "cut.mp4"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    result = transcode_video(cut, tmp_path / "out.mp4", Passthrough())
    assert 100 < result.frames < 200
    assert result.truncated_at_s is not None and 3.0 < result.truncated_at_s < 6.0
    assert result.warning is not None and "ended early" in result.warning and "of 9.18 s" in result.warning
    assert probe_video(tmp_path / "out.mp4").frame_count == result.frames


def test_not_media_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 100)
    with pytest.raises(MediaError, match="not a readable media file"):
        transcode_video(fake, tmp_path / "out.mp4", Passthrough())
    audio_only = tmp_path / "tone.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", str(audio_only)],
        check=True,
    )
    with pytest.raises(MediaError, match="no video stream"):
        transcode_video(audio_only, tmp_path / "out.mp4", Passthrough())


def test_avi_with_packed_b_frames_gets_increasing_timestamps(media_dir: Path, tmp_path: Path) -> None:
    src = media_dir / "video" / "Megamind.avi"
    dst = tmp_path / "out.avi"
    result = transcode_video(src, dst, Passthrough())
    assert result.frames == 270
    assert result.copied_streams == ["#1 audio ac3"]
    out_pts, _ = _pts(dst)
    assert len(out_pts) == 270 and out_pts == sorted(out_pts) and len(set(out_pts)) == 270


class DeferredSquare:
    """Defers drawing a white square on the luma plane (as the anonymizer defers its redaction)."""

    def __init__(self) -> None:
        self.seen_before_encode: list[int] = []

    def push(self, frame: Frame) -> list[Frame]:
        def draw(f: Frame) -> None:
            planes = f.yuv
            assert planes is not None
            planes[8:24, 8:24] = 255
            f.yuv_modified = True

        frame.defer(draw)
        if frame.index == 3:
            # whoever reads the pixels before the encoder sees them drawn
            self.seen_before_encode.append(int(frame.image[16, 16].min()))
        return [frame]

    def flush(self) -> list[Frame]:
        return []


def test_deferred_drawing_reaches_every_encoded_frame_and_every_reader(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    _write(src, list(range(0, 300, 10)), Fraction(1, 300))
    processor = DeferredSquare()
    result = transcode_video(src, dst, processor)
    assert result.frames == 30
    assert processor.seen_before_encode and processor.seen_before_encode[0] > 240
    with av.open(str(dst)) as c:
        lumas = [f.to_ndarray()[:48][8:24, 8:24] for f in c.decode(video=0)]
    assert len(lumas) == 30
    assert all(float(y.mean()) > 240 for y in lumas)
