"""Typed errors of the models capability; the REST door and sagemaker-runtime map them to their wire."""

from __future__ import annotations

from videolens.services.errors import NotFoundError, VideolensError


class ModelNotFoundError(NotFoundError):
    code = "model-not-found"


class ModelError(VideolensError):
    """The model ran but failed: the endpoint answered an error status or an answer we cannot read."""

    code = "model-error"
    http_status = 502

    def __init__(self, message: str, original_status: int | None = None) -> None:
        super().__init__(message)
        self.original_status = original_status


class ModelTimeoutError(ModelError):
    """The model did not answer within its timeout (after the configured retries)."""

    code = "model-timeout"
    http_status = 504


class ModelUnavailableError(VideolensError):
    """The model is not taking calls now: circuit breaker open, or every concurrency slot busy too long."""

    code = "model-unavailable"
    http_status = 503
