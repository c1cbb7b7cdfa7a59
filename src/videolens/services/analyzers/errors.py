"""Errors of the analyzers capability (refinements of the shared taxonomy)."""

from __future__ import annotations

from videolens.services.errors import ConflictError, NotFoundError


class AnalyzerNotFoundError(NotFoundError):
    code = "analyzer-not-found"


class AnalyzerInUseError(ConflictError):
    """The name is taken, or the analyzer is running and the operation needs it stopped."""

    code = "analyzer-in-use"
