"""A channel's HLS output: segments and playlists written to the native directory and the bucket destination.

Names follow MediaLive: destination `s3ssl://bucket/live/user` gives the master `live/user.m3u8`, one media
playlist per rendition `live/user<NameModifier>.m3u8` and segments `live/user<NameModifier>_00001.ts`.
While running, media playlists list the newest `IndexNSegments` segments (a rolling live window); on stop
they are rewritten with every segment of the run and `#EXT-X-ENDLIST` (a complete VOD playlist).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from videolens.services.channels.models import OutputPlan

log = logging.getLogger(__name__)

M3U8 = "application/vnd.apple.mpegurl"
TS = "video/mp2t"
#: added to a variant's BANDWIDTH when it carries audio (AAC at the usual 128 kbit/s)
AUDIO_BANDWIDTH = 128_000

#: (key, bytes, content type) → stored; one per destination
Put = Callable[[str, bytes, str], None]


@dataclass(frozen=True)
class SegmentEntry:
    sequence: int
    uri: str
    duration_s: float
    discontinuity: bool


def media_playlist_text(
    entries: list[SegmentEntry], *, target_s: float, ended: bool, discontinuity_sequence: int = 0
) -> str:
    target = max(1, math.ceil(max([e.duration_s for e in entries] + [target_s])))
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}"]
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{entries[0].sequence if entries else 0}")
    if discontinuity_sequence:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuity_sequence}")
    if ended:
        lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
    for entry in entries:
        if entry.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXTINF:{entry.duration_s:.3f},")
        lines.append(entry.uri)
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


class HlsOutput:
    """Collects each rendition's segments and keeps the playlists current at every destination."""

    def __init__(
        self, plan: OutputPlan, base_name: str, puts: list[Put], sizes: list[tuple[int, int]]
    ) -> None:
        self.plan = plan
        self.base = base_name
        self.puts = puts
        self.sizes = sizes
        self.entries: list[list[SegmentEntry]] = [[] for _ in plan.renditions]
        self._lock = threading.Lock()
        self._master_written = False
        #: per rendition, the RFC 6381 name of its audio codec (None: no audio)
        self.audio_codecs: list[str | None] = [None] * len(plan.renditions)

    def media_name(self, index: int) -> str:
        return f"{self.base}{self.plan.renditions[index].name_modifier}.m3u8"

    def _put(self, name: str, data: bytes, content_type: str) -> None:
        for put in self.puts:
            try:
                put(name, data, content_type)
            except Exception as exc:  # noqa: BLE001 - one failing destination must not stop the channel
                log.warning("channels: writing %s failed: %s", name, exc)

    def set_audio_codecs(self, codecs: list[str | None]) -> None:
        """The audio of the connection now in (a pusher may come back with or without audio): the
        master playlist's CODECS follow it, rewritten if it was out already."""
        with self._lock:
            changed = codecs != self.audio_codecs
            self.audio_codecs = list(codecs)
            rewrite = changed and self._master_written
        if rewrite:
            self._put(f"{self.base}.m3u8", self._master().encode(), M3U8)

    def _master(self) -> str:
        lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
        for i, rendition in enumerate(self.plan.renditions):
            width, height = self.sizes[i]
            codecs = ",".join(c for c in ("avc1.64001f", self.audio_codecs[i]) if c)
            bandwidth = rendition.bitrate + (AUDIO_BANDWIDTH if self.audio_codecs[i] else 0)
            lines.append(
                f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={width}x{height},CODECS="{codecs}"'
            )
            lines.append(self.media_name(i))
        return "\n".join(lines) + "\n"

    def add_segment(self, index: int, data: bytes, duration_s: float, discontinuity: bool) -> None:
        rendition = self.plan.renditions[index]
        with self._lock:
            sequence = len(self.entries[index]) + 1
            uri = f"{self.base}{rendition.name_modifier}_{sequence:05d}.ts"
            self.entries[index].append(SegmentEntry(sequence, uri, duration_s, discontinuity))
            window = self.entries[index][-self.plan.index_segments :]
            dropped = self.entries[index][: -self.plan.index_segments]
        self._put(uri, data, TS)
        text = media_playlist_text(
            window,
            target_s=self.plan.segment_seconds,
            ended=False,
            discontinuity_sequence=sum(1 for e in dropped if e.discontinuity),
        )
        self._put(self.media_name(index), text.encode(), M3U8)
        # the master goes out once every rendition has a playlist, so a player never finds one missing
        if not self._master_written and all(self.entries):
            self._put(f"{self.base}.m3u8", self._master().encode(), M3U8)
            self._master_written = True

    def finish(self) -> None:
        """Rewrite every media playlist as the complete VOD playlist of the run."""
        if not self._master_written:
            return
        for index in range(len(self.plan.renditions)):
            with self._lock:
                entries = list(self.entries[index])
            if entries:
                text = media_playlist_text(entries, target_s=self.plan.segment_seconds, ended=True)
                self._put(self.media_name(index), text.encode(), M3U8)


def local_put(directory: Path) -> Put:
    directory.mkdir(parents=True, exist_ok=True)

    def put(name: str, data: bytes, _content_type: str) -> None:
        tmp = directory / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(directory / name)  # readers never see half a playlist

    return put
