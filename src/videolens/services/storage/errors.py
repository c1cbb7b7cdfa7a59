"""Storage-specific refinements of the service errors (front doors map each to its own code)."""

from __future__ import annotations

from videolens.services.errors import ConflictError, InvalidParameterError, NotFoundError, VideolensError


class NoSuchBucketError(NotFoundError):
    code = "no-such-bucket"


class NoSuchKeyError(NotFoundError):
    code = "no-such-key"


class NoSuchUploadError(NotFoundError):
    code = "no-such-upload"


class BucketNotEmptyError(ConflictError):
    code = "bucket-not-empty"


class InvalidBucketNameError(InvalidParameterError):
    code = "invalid-bucket-name"


class InvalidKeyError(InvalidParameterError):
    code = "invalid-key"


class InvalidPartError(InvalidParameterError):
    """A completed part list names a part that was not uploaded or whose ETag differs."""

    code = "invalid-part"


class InvalidPartOrderError(InvalidParameterError):
    code = "invalid-part-order"


class EntityTooSmallError(InvalidParameterError):
    code = "entity-too-small"


class PreconditionFailedError(VideolensError):
    code = "precondition-failed"
    http_status = 412


class InvalidRangeError(VideolensError):
    code = "invalid-range"
    http_status = 416
