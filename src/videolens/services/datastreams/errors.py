"""Failure kinds of the data streams capability; the kinesis door maps each to its Kinesis error code."""

from __future__ import annotations

from videolens.services.errors import (
    ConflictError,
    InvalidParameterError,
    LimitExceededError,
    NotFoundError,
    VideolensError,
)


class StreamNotFoundError(NotFoundError):
    """Unknown stream, shard or consumer (ResourceNotFoundException)."""

    code = "datastream-not-found"


class ResourceInUseError(ConflictError):
    """Stream exists already, or is not ACTIVE for the change (ResourceInUseException)."""

    code = "resource-in-use"


class InvalidArgumentError(InvalidParameterError):
    """A value the model allows but Kinesis rejects (InvalidArgumentException)."""

    code = "invalid-argument"


class ExpiredIteratorError(InvalidParameterError):
    """A shard iterator older than its expiry (ExpiredIteratorException)."""

    code = "expired-iterator"


class ExpiredNextTokenError(InvalidParameterError):
    """A pagination token that is stale or belongs to another request (ExpiredNextTokenException)."""

    code = "expired-next-token"


class StreamLimitExceededError(LimitExceededError):
    """Shard count or consumer count over the account limit (LimitExceededException)."""

    code = "datastream-limit-exceeded"


class ThroughputExceededError(LimitExceededError):
    """Per-shard rate exceeded (ProvisionedThroughputExceededException)."""

    code = "provisioned-throughput-exceeded"


class StorageUnavailableError(VideolensError):
    """The shard-log backend cannot serve now (InternalFailureException, HTTP 500)."""

    code = "datastream-storage-unavailable"
    http_status = 503
