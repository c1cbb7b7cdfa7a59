"""Typed service errors; every front door maps them to its own wire format."""

from __future__ import annotations

import errno


class VideolensError(Exception):
    """Base class of every error a service raises on purpose."""

    #: short stable code used by the native REST API (problem+json "type" suffix)
    code = "error"
    #: HTTP status the native REST API answers with
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParameterError(VideolensError):
    code = "invalid-parameter"


class NotFoundError(VideolensError):
    code = "not-found"
    http_status = 404


class AlreadyExistsError(VideolensError):
    code = "already-exists"
    http_status = 409


class ConflictError(VideolensError):
    """The resource is in a state that does not allow the operation (e.g. bucket not empty)."""

    code = "conflict"
    http_status = 409


class InvalidImageError(VideolensError):
    """Bytes that are not a decodable image (or an empty image)."""

    code = "invalid-image"


class ImageTooLargeError(VideolensError):
    code = "image-too-large"
    http_status = 413


class PayloadTooLargeError(VideolensError):
    code = "payload-too-large"
    http_status = 413


class InvalidMediaError(VideolensError):
    """Bytes that are not decodable audio/video media."""

    code = "invalid-media"


class InvalidPaginationTokenError(InvalidParameterError):
    """A pagination token that this scheme did not issue, or issued for another listing."""

    code = "invalid-pagination-token"


class UnknownJobTypeError(InvalidParameterError):
    """A job type name no capability registered (a request, a rule, or a stored job row)."""

    code = "unknown-job-type"


class DuplicateJobTypeError(VideolensError):
    """Two capabilities registered job types of the same name (a wiring mistake, found at start-up)."""

    code = "duplicate-job-type"
    http_status = 500


class InvalidObjectError(VideolensError):
    """A referenced storage object (bucket/key) is missing or unreadable."""

    code = "invalid-object"


class IdempotencyMismatchError(VideolensError):
    """A client request token was reused with different parameters."""

    code = "idempotency-mismatch"


class AuthError(VideolensError):
    code = "unauthorized"
    http_status = 403


class LimitExceededError(VideolensError):
    code = "limit-exceeded"
    http_status = 429


class UnauthenticatedError(VideolensError):
    """No credential, or one that is unknown, wrong, expired or revoked."""

    code = "unauthenticated"
    http_status = 401


class ForbiddenError(AuthError):
    """A valid credential whose role is too weak for the operation."""

    code = "forbidden"
    http_status = 403


class TooManyAuthFailuresError(LimitExceededError):
    """Too many failed authentications from one address; retry after `retry_after` seconds."""

    code = "too-many-auth-failures"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigurationError(VideolensError):
    """The server's own set-up is unusable (e.g. a damaged key file): an operator must fix it."""

    code = "configuration-error"
    http_status = 500


class InsufficientStorageError(VideolensError):
    """The disk (or database) is full: nothing of the request was stored."""

    code = "insufficient-storage"
    http_status = 507


def storage_full(exc: BaseException) -> bool:
    """Whether an unexpected exception means the disk is full (ENOSPC/EDQUOT, SQLite's 'disk is full')."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "database or disk is full" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
