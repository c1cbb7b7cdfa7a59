"""Errors of the channels capability (each front door maps them: MediaLive codes, problem+json)."""

from __future__ import annotations

from videolens.services.errors import ConflictError, InvalidParameterError


class ChannelStateError(ConflictError):
    """The channel or input is in a state that does not allow the operation (MediaLive: 409 Conflict)."""

    code = "channel-state"


class UnprocessableSettingsError(InvalidParameterError):
    """Settings that parse but cannot be carried out (MediaLive: 422 UnprocessableEntity; the native
    door answers 400 with this code, like every other invalid parameter)."""

    code = "unprocessable-settings"

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []
