"""Bucket-name and object-key rules (S3's, plus no path-traversal segments in keys)."""

from __future__ import annotations

import re

from videolens.services.storage.errors import InvalidBucketNameError, InvalidKeyError

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_IP_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
MAX_KEY_BYTES = 1024


def check_bucket_name(name: str) -> str:
    if not _BUCKET_RE.match(name) or ".." in name or _IP_RE.match(name) or ".-" in name or "-." in name:
        raise InvalidBucketNameError(f"The specified bucket is not valid: {name!r}")
    return name


def check_key(key: str) -> str:
    """Keys are opaque to S3, but ours may become file paths (exports, PyAV): refuse traversal."""
    if not key:
        raise InvalidKeyError("Object key must not be empty")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidKeyError("Your key is too long (max 1024 bytes)")
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise InvalidKeyError("Object key must not contain control characters")
    if key.startswith("/") or any(part in (".", "..") for part in key.split("/")):
        raise InvalidKeyError(f"Object key must not contain '.' or '..' path segments: {key!r}")
    return key
