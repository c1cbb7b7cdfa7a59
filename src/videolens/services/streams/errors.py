"""Failure kinds of the streams capability, refining the shared service errors."""

from __future__ import annotations

from videolens.services.errors import (
    ConflictError,
    InvalidMediaError,
    InvalidParameterError,
    LimitExceededError,
)


class VersionMismatchError(ConflictError):
    """CurrentVersion does not match the stream's version."""

    code = "version-mismatch"


class NoDataRetentionError(InvalidParameterError):
    """Archived reads on a stream that keeps no data (retention 0)."""

    code = "no-data-retention"


class UnsupportedMediaTypeError(InvalidMediaError):
    """The fragments' codecs cannot be served in the requested form (e.g. MP4 clip of MPEG-4 Part 2)."""

    code = "unsupported-media-type"


class MissingCodecPrivateDataError(InvalidMediaError):
    code = "missing-codec-private-data"


class InvalidCodecPrivateDataError(InvalidMediaError):
    """The fragments of one clip change tracks or codec private data (KVS refuses that too)."""

    code = "invalid-codec-private-data"


class ConnectionLimitError(LimitExceededError):
    """Too many concurrent readers or producers on a stream."""

    code = "connection-limit"
