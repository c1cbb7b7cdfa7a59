"""Timestamps of packets out of ffmpeg's RTSP demuxer: the untimed first picture, dts, a time-line jump."""

from __future__ import annotations

import av

from videolens.services.channels.rtsp_timestamps import _StreamTimes

T = 3003  # one frame at 29.97 fps, in 1/90000


def _run(pts: list[int | None]) -> list[tuple[int, int]]:
    times = _StreamTimes(T)
    out: list[av.Packet] = []
    for value in pts:
        packet = av.Packet(b"x")
        packet.pts = value
        out += times.push(packet)
    out += times.release()
    return [(int(p.pts), int(p.dts)) for p in out]  # type: ignore[arg-type]


def test_the_untimed_first_picture_gets_the_time_before_the_next_ones_and_dts_is_filled() -> None:
    # decode order I P B B P B B (presentation 0 3 1 2 6 4 5), the I frame without pts
    got = _run([None, 3 * T, 1 * T, 2 * T, 6 * T, 4 * T, 5 * T])
    assert [p for p, _d in got] == [0, 3 * T, 1 * T, 2 * T, 6 * T, 4 * T, 5 * T]
    dts = [d for _p, d in got]
    assert dts == [-2 * T, -T, 0, T, 2 * T, 3 * T, 4 * T]  # rising, never after its pts
    assert all(d <= p for p, d in got)


def test_without_b_frames_dts_trails_pts_by_the_reorder_depth() -> None:
    got = _run([None, *[i * T for i in range(1, 6)]])
    assert got == [(i * T, (i - 2) * T) for i in range(6)]


def test_a_time_line_jump_is_continued_after_the_latest_pts() -> None:
    # the demuxer moves the stream 0.2 s (6 frames) back after its third packet
    jump = -6 * T
    got = _run([0, T, 2 * T, 3 * T + jump, 4 * T + jump, 5 * T + jump])
    assert [p for p, _d in got] == [0, T, 2 * T, 5 * T, 6 * T, 7 * T]  # on from 2T + 3 frames
    dts = [d for _p, d in got]
    assert dts == sorted(dts) and len(set(dts)) == len(dts)
    # forward as well
    assert [p for p, _d in _run([0, T, 20 * T, 21 * T])] == [0, T, 4 * T, 5 * T]
