"""Remux a run of Matroska fragments into one MP4 (GetClip): no re-encode, audio kept.

What a clip holds (the guarantees docs/streams.md states):
- whole fragments, each starting on its key frame; the clip's time zero is the first fragment's key
  frame, and every frame keeps its producer timing relative to it (gaps between fragments stay gaps);
- every stored video frame of those fragments, in decode order with a key-frame flag and a DTS, except
  the open-GOP leading pictures of the first fragment (they present before its key frame and need the
  GOP before it), and audio presented before time zero;
- one set of tracks and codec private data: a fragment whose tracks or CodecPrivate differ from the
  first one's is refused (as KVS does), never written into a file no decoder can follow.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import IO

import av
import av.container

from videolens.media.mkv_events import MkvError
from videolens.media.mkv_frames import entry_frames, read_fragment
from videolens.media.remux import Remuxer, RemuxError, open_streams

#: the error GetClip raises; kinds as RemuxError's plus "no-fragments"
ClipError = RemuxError

#: codecs an MP4 clip may carry, as GetClip allows them (video first track, optional audio)
VIDEO_CODECS = frozenset({"h264", "hevc"})
AUDIO_CODECS = frozenset({"aac", "pcm_alaw", "pcm_mulaw", "mp3", "opus"})


@dataclass(frozen=True)
class ClipInfo:
    video_packets: int
    audio_packets: int
    duration_s: float  # from time zero to the last video frame's presentation time
    first_timestamp_s: float  # time zero on the fragments' (producer) time line


def write_mp4(
    fragments: Iterable[bytes], out: IO[bytes], *, fmt: str = "mp4", options: dict[str, str] | None = None
) -> ClipInfo:
    """Concatenate fragment blobs (each a standalone Matroska document) into `out` as one MP4.

    `out` must be seekable for a plain MP4 (moov at the end).
    """
    output: av.container.OutputContainer | None = None
    remuxer: Remuxer | None = None
    signature: tuple[object, ...] = ()
    try:
        for blob in fragments:
            try:
                fragment = read_fragment(blob)
            except (MkvError, ValueError) as exc:
                raise ClipError("invalid-media", f"fragment is not readable Matroska: {exc}") from exc
            if remuxer is None:
                output = av.open(out, "w", format=fmt, options=options or {})
                mapping, video = open_streams(
                    output, blob, fragment, keep={"video": VIDEO_CODECS, "audio": AUDIO_CODECS}
                )
                signature = fragment.signature
                time_base = Fraction(fragment.timecode_scale, 1_000_000_000)
                remuxer = Remuxer(output, mapping, video, time_base, origin=fragment.start)
                remuxer.add(entry_frames(fragment))
                continue
            if fragment.signature != signature:
                raise ClipError(
                    "tracks-changed",
                    f"the fragment at {fragment.start} changes tracks or codec private data within the clip",
                )
            remuxer.add(list(fragment.frames))
        if remuxer is None:
            raise ClipError("no-fragments", "no fragments to put in the clip")
    finally:
        if output is not None:
            output.close()
    return _info(remuxer)


def _info(remuxer: Remuxer) -> ClipInfo:
    video = remuxer.counts.get(remuxer.video_track) if remuxer.video_track is not None else None
    audio = sum(c.frames for t, c in remuxer.counts.items() if t != remuxer.video_track)
    scale = float(remuxer.time_base)
    return ClipInfo(
        video_packets=video.frames if video else 0,
        audio_packets=audio,
        duration_s=(video.end if video else 0) * scale,
        first_timestamp_s=remuxer.origin * scale,
    )


def clip_bytes(fragments: Iterable[bytes]) -> bytes:
    buffer = io.BytesIO()
    write_mp4(fragments, buffer)
    return buffer.getvalue()
