"""A channel's output destinations: `s3://` / `s3ssl://` URLs into videolens buckets, written and read back.

The native HLS URL serves the files from the node running the channel when it has them, else from the
destination bucket, which every node of a cluster reads (so any node serves any channel's output).
"""

from __future__ import annotations

from pathlib import Path

from videolens.backends.blobs.base import BlobNotFoundError
from videolens.services.channels.encoder_settings import plan_output
from videolens.services.channels.errors import UnprocessableSettingsError
from videolens.services.channels.hls_output import Put
from videolens.services.channels.models import Channel
from videolens.services.errors import InvalidObjectError, NotFoundError
from videolens.services.storage.service import StorageService

DESTINATION_SCHEMES = ("s3://", "s3ssl://")
#: a segment or playlist served from the bucket is read whole; an HLS segment is far below this
MAX_HLS_FILE_BYTES = 256 * 1024 * 1024


def split_destination(url: str) -> tuple[str, str, str]:
    """s3ssl://bucket/live/user → (bucket, "live/", "user")."""
    rest = url.split("://", 1)[1]
    bucket, _, path = rest.partition("/")
    prefix, _, base = path.rpartition("/")
    return bucket, f"{prefix}/" if prefix else "", base or "index"


def hls_base(channel: Channel) -> str:
    for d in channel.destinations:
        for s in d.get("Settings") or []:
            if s.get("Url"):
                return split_destination(str(s["Url"]))[2]
    return "index"


def bucket_put(storage: StorageService, bucket: str, prefix: str) -> Put:
    def put(name: str, data: bytes, content_type: str) -> None:
        storage.put_object_bytes(bucket, prefix + name, data, content_type)

    return put


def destination_puts(storage: StorageService, channel: Channel) -> tuple[str, list[Put]]:
    """(base name, a put per destination URL); a destination bucket that does not exist is a 422."""
    ids = [str(d.get("Id")) for d in channel.destinations]
    plan = plan_output(channel.encoder_settings, ids)
    destination = next(d for d in channel.destinations if str(d.get("Id")) == plan.destination_id)
    urls = [str(s["Url"]) for s in destination.get("Settings") or [] if s.get("Url")]
    puts: list[Put] = []
    base = "index"
    for url in urls:
        bucket, prefix, base = split_destination(url)
        try:
            storage.head_bucket(bucket)
        except NotFoundError as exc:
            raise UnprocessableSettingsError(
                f"destination bucket {bucket} does not exist",
                [("destinations.settings.url", exc.message)],
            ) from exc
        puts.append(bucket_put(storage, bucket, prefix))
    return base, puts


def hls_file(storage: StorageService, channel: Channel, local: Path | None, name: str) -> bytes:
    """From `local` (the directory of the node running the channel, None elsewhere) when it has the file
    (a run taken over keeps the earlier segments where they were written), else from the bucket."""
    if local is not None and (local / name).is_file():
        return (local / name).read_bytes()
    for d in channel.destinations:
        for setting in d.get("Settings") or []:
            if str(setting.get("Url", "")).startswith(DESTINATION_SCHEMES):
                bucket, prefix, _base = split_destination(str(setting["Url"]))
                data = _read_object(storage, bucket, prefix + name)
                if data is not None:
                    return data
    raise NotFoundError(f"no file {name} (yet)")


def _read_object(storage: StorageService, bucket: str, key: str) -> bytes | None:
    # a playlist is rewritten every segment: a read that found the version just replaced (its blob
    # deleted under it) reads the new one
    for _ in range(3):
        try:
            return storage.get_object_bytes(bucket, key, MAX_HLS_FILE_BYTES)
        except InvalidObjectError:
            return None
        except BlobNotFoundError:
            continue
    return None
