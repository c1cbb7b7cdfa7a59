"""HLS: media/master playlist text and remuxing one Matroska fragment to an MPEG-TS segment (PyAV)."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import av

from videolens.media.mkv_frames import entry_frames, read_fragment
from videolens.media.remux import ANY_CODEC, Remuxer, RemuxError, open_streams

__all__ = ["RemuxError", "Segment", "fragment_to_ts", "master_playlist", "media_playlist"]


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
    Each segment decodes on its own (a player may start or seek anywhere): it starts on the key frame
    with the SPS/PPS in front of it (also when that is an open-GOP I picture, not an IDR) and leaves
    out open-GOP leading pictures, which need the previous segment's frames.
    """
    try:
        frames = read_fragment(fragment)
    except ValueError as exc:
        raise RemuxError("invalid-media", f"fragment is not readable Matroska: {exc}") from exc
    out = io.BytesIO()
    with av.open(out, "w", format="mpegts") as target:
        mapping, video = open_streams(
            target, fragment, frames, keep={"video": ANY_CODEC, "audio": ANY_CODEC}, require_video=False
        )
        time_base = Fraction(frames.timecode_scale, 1_000_000_000)
        origin = round(Fraction(offset_s) / time_base)
        track = frames.track(video) if video is not None else None
        avcc = track.codec_private if track and track.codec_id == "V_MPEG4/ISO/AVC" else None
        remuxer = Remuxer(target, mapping, video, time_base, origin, inband_avcc=avcc or None)
        remuxer.add(entry_frames(frames, drop_audio_before=False))
    return out.getvalue()
