"""Picks the shard-log backend from `settings.datastreams_url` (embedded segment files or Redis)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from videolens.backends.datastreams.base import ShardLog


def open_shard_log(url: str, data_dir: Path, *, segment_bytes: int = 64 * 1024 * 1024) -> ShardLog:
    """`embedded` → segment files in data_dir/datastreams; `file:///dir`; `redis://...` → Redis Streams."""
    if url in ("", "embedded"):
        from videolens.backends.datastreams.segment_log import SegmentLog

        return SegmentLog(data_dir / "datastreams", segment_bytes=segment_bytes)
    parsed = urlparse(url)
    if parsed.scheme == "file":
        from videolens.backends.datastreams.segment_log import SegmentLog

        return SegmentLog(Path(parsed.path), segment_bytes=segment_bytes)
    if parsed.scheme in ("redis", "rediss", "unix"):
        from videolens.backends.datastreams.redis_streams import RedisShardLog

        return RedisShardLog(url)
    raise ValueError(
        f"VIDEOLENS_DATASTREAMS_URL: unsupported scheme in {url!r} (embedded, file://, redis://)"
    )
