"""The one error type of media/: input that is not media this layer can read (services map it)."""

from __future__ import annotations


class MediaError(ValueError):
    """The input is not a video this module can read (not media, no video stream, unreadable)."""
