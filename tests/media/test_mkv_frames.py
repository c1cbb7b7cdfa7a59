"""Frames of stored fragments: decode timestamps for B-frames, entry points, lacing, in-band SPS/PPS."""

from __future__ import annotations

import io
import struct
import subprocess

import pytest

from tests.media.conftest import fragment_stream
from videolens.media import avc, mp4_clip
from videolens.media.mkv_elements import laced_frames
from videolens.media.mkv_events import Block
from videolens.media.mkv_fragmenter import Fragment
from videolens.media.mkv_frames import DecodeClock, FragmentFrames, Frame, entry_frames, read_fragment
from videolens.media.mkv_reader import TrackInfo

# x264 with B-pyramid at 30 fps (ms): I P B b b | I ... in decode order
PYRAMID = [0, 133, 67, 33, 100, 267, 200, 167, 233]


def test_dts_is_sorted_pts_delayed_by_the_reorder_depth() -> None:
    clock = DecodeClock()
    stamps = clock.stamp(PYRAMID)
    assert clock.depth == 2
    assert [p for p, _ in stamps] == PYRAMID  # presentation times untouched
    ordered = sorted(PYRAMID)
    # the first two DTS lie before the first frame, one frame step apart; then the PTS line, 2 behind
    assert [d for _, d in stamps] == [-66, -33, *ordered[:-2]]


def test_dts_continues_across_fragments_and_stays_valid() -> None:
    clock = DecodeClock()
    first = clock.stamp(PYRAMID)
    second = clock.stamp([p + 300 for p in PYRAMID])
    dts = [d for _, d in first + second]
    assert all(b > a for a, b in zip(dts, dts[1:], strict=False))
    assert all(d <= p for p, d in first + second)
    # the second fragment picks up where the first one's presentation line ended
    assert [d for _, d in second[:2]] == sorted(PYRAMID)[-2:]


def test_dts_when_the_depth_grows_mid_output() -> None:
    clock = DecodeClock()
    flat = clock.stamp([0, 33, 67, 100])  # no B-frames
    deeper = clock.stamp([133, 233, 200, 167])  # now one frame of reordering... and two
    pairs = flat + deeper
    dts = [d for _, d in pairs]
    assert all(b > a for a, b in zip(dts, dts[1:], strict=False))
    assert all(d <= p for p, d in pairs)
    assert [p for p, _ in pairs] == [0, 33, 67, 100, 133, 233, 200, 167]


def frames(track: int, items: list[tuple[int, bool]]) -> list[Frame]:
    return [Frame(track, pts, key, b"x") for pts, key in items]


def test_entry_frames_leave_out_leading_pictures_and_early_audio() -> None:
    video = TrackInfo(1, 1, "V_MPEG4/ISO/AVC", b"", None)
    audio = TrackInfo(2, 2, "A_AAC", b"", None)
    stored = (
        frames(1, [(1000, True)])
        + frames(2, [(990, False)])
        + frames(1, [(933, False), (967, False), (1100, False), (1033, False)])
        + frames(2, [(1010, False)])
    )
    fragment = FragmentFrames(1_000_000, (video, audio), 1000, tuple(stored), True)
    kept = [(f.track, f.pts) for f in entry_frames(fragment)]
    assert kept == [(1, 1000), (1, 1100), (1, 1033), (2, 1010)]
    with_audio = [(f.track, f.pts) for f in entry_frames(fragment, drop_audio_before=False)]
    assert (2, 990) in with_audio and (1, 933) not in with_audio


def block(flags: int, body: bytes) -> Block:
    header = b"\x81" + struct.pack(">h", 0) + bytes([flags])
    return Block(1, 0, 0, True, header + body, len(header))


def test_laced_blocks_split_into_frames() -> None:
    parts = [b"a" * 300, b"b" * 5, b"c" * 7]
    xiph = bytes([2, 255, 45, 5]) + b"".join(parts)
    assert laced_frames(block(0x80 | 0x02, xiph)) == parts
    # EBML lacing: 300 as a 2-byte vint, then signed differences (5 - 300 = -295 as a 2-byte svint)
    first = (0x4000 | 300).to_bytes(2, "big")
    delta = (0x4000 | (-295 + 8191)).to_bytes(2, "big")
    assert laced_frames(block(0x80 | 0x06, bytes([2]) + first + delta + b"".join(parts))) == parts
    assert laced_frames(block(0x80 | 0x04, bytes([2]) + b"abcdef")) == [b"ab", b"cd", b"ef"]
    assert laced_frames(block(0x80, b"whole")) == [b"whole"]


def test_key_frames_get_sps_pps_in_band() -> None:
    sps, pps = b"\x67\x64\x00\x1f\xac", b"\x68\xeb\xe3"
    avcc = bytes([1, 0x64, 0x00, 0x1F, 0xFF, 0xE1]) + struct.pack(">H", len(sps)) + sps
    avcc += bytes([1]) + struct.pack(">H", len(pps)) + pps
    assert avc.parameter_sets(avcc) == [sps, pps]
    slice_nal = b"\x21\x9a\x00"  # non-IDR slice (open-GOP I picture)
    frame = struct.pack(">I", len(slice_nal)) + slice_nal
    with_sets = avc.with_parameter_sets(frame, avcc)
    assert list(avc.nal_types(with_sets, 4)) == [7, 8, 1]
    assert avc.with_parameter_sets(with_sets, avcc) == with_sets  # already there: unchanged


def encoded(*args: str) -> list[Fragment]:
    cmd = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "3"]
    cmd += ["-c:v", "libx264", "-g", "25", *args, "-f", "matroska", "-live", "1", "pipe:1"]
    return fragment_stream(subprocess.run(cmd, check=True, capture_output=True).stdout)


def test_clip_from_mid_stream_b_frames_has_every_frame_and_its_key_frame() -> None:
    frags = encoded()  # libx264 defaults: B-frames
    fragment = read_fragment(frags[1].to_bytes())
    video = [f for f in fragment.frames if f.track == 1]
    assert video[0].keyframe and video[0].pts == fragment.start
    assert sorted(f.pts for f in video) != [f.pts for f in video]  # stored out of presentation order
    info = mp4_clip.write_mp4([f.to_bytes() for f in frags[1:]], io.BytesIO())
    assert info.video_packets == 50 and info.first_timestamp_s == pytest.approx(1.0)


def test_clip_refuses_a_codec_private_change() -> None:
    first = encoded()[0]
    other = encoded("-profile:v", "baseline")[1]
    with pytest.raises(mp4_clip.ClipError) as err:
        mp4_clip.clip_bytes([first.to_bytes(), other.to_bytes()])
    assert err.value.kind == "tracks-changed"
