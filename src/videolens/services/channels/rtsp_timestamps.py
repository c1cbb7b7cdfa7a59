"""Timestamps for packets out of ffmpeg's RTSP demuxer: the first picture's pts and every dts filled in.

RTP carries presentation times only. ffmpeg's RTSP demuxer gives the first picture of a session (the
key frame every later picture refers to) neither pts nor dts, and guesses dts for the rest only once
its reorder buffer filled up. Decoding then drops that first picture, and the recorder (Matroska) cannot
mux a packet without dts. So per stream: the leading packets without pts are held until a few timed
ones follow and get the times just before the earliest of them (one frame apart), and dts is derived
from pts the way libavformat's muxer does it, with a reorder depth of two (enough for B-frames and a
B-pyramid): a new pts replaces the smallest of the three largest so far, and dts is the smallest of
them then, which grows with every packet and is never after the packet's own pts.

With audio and video, the demuxer also moves a stream's time line once that stream's first RTCP sender
report arrives (to line it up with the other stream's), a jump of a few hundred ms either way after its
first packets; whichever stream's report comes second jumps, so it varies from push to push. A pts
further from the latest one than reordering explains is taken for such a jump: the stream's times are
shifted from there on to continue just after the latest (a gap of at most two frames, never a repeat).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction

import av

#: timed packets looked at before the pts of the untimed leading ones is decided (covers B-frame reorder)
LOOK_AHEAD = 4
REORDER_DEPTH = 2


class _StreamTimes:
    def __init__(self, ticks: int) -> None:
        self.ticks = max(ticks, 1)  # one frame in the stream's time base
        self.held: list[av.Packet] = []  # leading packets without pts
        self.timed: list[av.Packet] = []  # the timed packets that followed them, not yet released
        self.ready = False
        self.largest: list[int] = []  # the REORDER_DEPTH + 1 largest pts so far, ascending
        self.offset = 0  # added to the demuxer's pts since its time line jumped
        self.high: int | None = None  # the largest pts so far (after the offset)
        self.jumps = 0

    def push(self, packet: av.Packet) -> list[av.Packet]:
        if packet.pts is not None:
            self._continue(packet)
        if self.ready:
            return [self._dts(packet)] if packet.pts is not None else []
        if packet.pts is None:
            if self.timed:  # untimed after timed, before the look-ahead closed: nothing to anchor it on
                return []
            self.held.append(packet)
            return []
        self.timed.append(packet)
        if len(self.timed) < LOOK_AHEAD and self.held:
            return []
        return self.release()

    def _continue(self, packet: av.Packet) -> None:
        pts = int(packet.pts or 0) + self.offset
        if self.high is not None:
            reach = (REORDER_DEPTH + 2) * self.ticks
            if not self.high - reach <= pts <= self.high + reach:
                target = self.high + (REORDER_DEPTH + 1) * self.ticks
                self.offset += target - pts
                pts = target
                self.jumps += 1
        self.high = pts if self.high is None else max(self.high, pts)
        packet.pts = pts

    def release(self) -> list[av.Packet]:
        """Everything held so far, with times (also at the end of the connection)."""
        if self.ready:
            return []
        self.ready = True
        if self.timed:
            start = min(int(p.pts) for p in self.timed if p.pts is not None)
            for i, packet in enumerate(self.held):
                packet.pts = start - (len(self.held) - i) * self.ticks
            out = [*self.held, *self.timed]
        else:
            out = []
        self.held, self.timed = [], []
        return [self._dts(p) for p in out]

    def _dts(self, packet: av.Packet) -> av.Packet:
        pts = int(packet.pts) if packet.pts is not None else 0
        if not self.largest:
            self.largest = [pts - (REORDER_DEPTH - i) * self.ticks for i in range(REORDER_DEPTH)] + [pts]
        else:
            self.largest = sorted([pts, *self.largest[1:]])
        packet.dts = self.largest[0]
        return packet


def _frame_ticks(stream: av.stream.Stream) -> int:
    time_base = stream.time_base or Fraction(1, 90000)
    if stream.type == "video":
        rate = stream.average_rate or stream.guessed_rate or 30
        return round(1 / (float(rate) * time_base))
    if stream.type == "audio":
        sample_rate = getattr(stream.codec_context, "sample_rate", 0) or 48000
        frame_size = getattr(stream.codec_context, "frame_size", 0) or 1024
        return round(Fraction(frame_size, sample_rate) / time_base)
    return 1


def with_timestamps(packets: Iterable[av.Packet]) -> Iterator[av.Packet]:
    """The demuxed packets with pts and dts on every one of them (untimed flush packets are dropped)."""
    streams: dict[int, _StreamTimes] = {}
    for packet in packets:
        if packet.size == 0:
            continue
        times = streams.get(packet.stream.index)
        if times is None:
            times = streams[packet.stream.index] = _StreamTimes(_frame_ticks(packet.stream))
        yield from times.push(packet)
    for times in streams.values():
        yield from times.release()
