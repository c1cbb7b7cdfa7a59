"""Errors of the live capability (refinements of the shared taxonomy)."""

from __future__ import annotations

from videolens.services.errors import ConflictError, InvalidParameterError, NotFoundError


class ProcessorInUseError(ConflictError):
    """The processor's name is taken, or it is in a state that forbids the operation (running...)."""

    code = "processor-in-use"


class ProcessorNotFoundError(NotFoundError):
    code = "processor-not-found"


class UnsupportedProcessorError(InvalidParameterError):
    """Settings of a kind this server does not run (or labels it has no model for)."""

    code = "unsupported-processor"
