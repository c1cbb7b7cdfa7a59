"""HLS: media/master playlist text and remuxing one Matroska fragment to an MPEG-TS segment (PyAV)."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import av


@dataclass(frozen=True)
class Segment:
    uri: str
    duration_s: float
    discontinuity: bool = False
    program_date_time: str | None = None  # ISO-8601, when the client should see wall-clock time


def media_playlist(
    segments: Sequence[Segment],
    *,
    media_sequence: int,
    ended: bool,
    target_duration_s: float | None = None,
    map_uri: str | None = None,
    playlist_type: str | None = None,
) -> str:
    """An HLS media playlist; `ended` adds EXT-X-ENDLIST (on-demand), otherwise the client reloads it."""
    longest = max((s.duration_s for s in segments), default=1.0)
    target = max(1, math.ceil(target_duration_s if target_duration_s is not None else longest))
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{7 if map_uri else 3}",
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-MEDIA-SEQUENCE:{media_sequence}",
    ]
    if playlist_type:
        lines.append(f"#EXT-X-PLAYLIST-TYPE:{playlist_type}")
    if map_uri:
        lines.append(f'#EXT-X-MAP:URI="{map_uri}"')
    for segment in segments:
        if segment.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        if segment.program_date_time:
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{segment.program_date_time}")
        lines.append(f"#EXTINF:{segment.duration_s:.3f},")
        lines.append(segment.uri)
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def master_playlist(media_uri: str, *, bandwidth: int, width: int | None, height: int | None) -> str:
    """A master playlist with one variant pointing at the media playlist."""
    attributes = f"BANDWIDTH={max(1, bandwidth)}"
    if width and height:
        attributes += f",RESOLUTION={width}x{height}"
    return f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:{attributes}\n{media_uri}\n"


def fragment_to_ts(fragment: bytes, *, offset_s: float = 0.0) -> bytes:
    """Remux one Matroska fragment to an MPEG-TS segment, shifting timestamps back by offset_s.

    MPEG-TS clocks wrap after ~26.5 h at 90 kHz, and producers often stamp epoch milliseconds, so
    callers pass the stream's first timestamp as offset to keep segment times small and continuous.
    """
    out = io.BytesIO()
    with (
        av.open(io.BytesIO(fragment), "r", format="matroska") as source,
        av.open(out, "w", format="mpegts") as target,
    ):
        mapping = {}
        for stream in source.streams:
            if stream.type in ("video", "audio"):
                mapping[stream.index] = target.add_stream_from_template(stream)
        for packet in source.demux():
            if packet.dts is None or packet.stream.index not in mapping or packet.size == 0:
                continue
            time_base = packet.stream.time_base
            assert time_base is not None
            shift = round(offset_s / time_base)
            packet.dts -= shift
            if packet.pts is not None:
                packet.pts -= shift
            packet.stream = mapping[packet.stream.index]
            target.mux(packet)
    return out.getvalue()
