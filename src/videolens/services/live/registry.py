"""Processor kinds register here; the engine and the service never name a kind (no switchboard)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from videolens.services.errors import InvalidParameterError
from videolens.services.live.errors import UnsupportedProcessorError
from videolens.services.live.models import ProcessorInfo
from videolens.services.streams.models import FragmentInfo

#: publishes one fragment's records (each the bytes of one data-stream record); durable on return
Publish = Callable[[list[bytes]], None]


class FragmentAnalyzer(Protocol):
    """One running session of a processor: analyses fragments in order and publishes their results."""

    def process(self, fragment: FragmentInfo, data: bytes) -> int:
        """Analyse one stored fragment, publish its records before returning; returns records published."""
        ...

    def close(self) -> None: ...


class ProcessorKind(Protocol):
    #: stored on processor rows
    name: str
    #: the member of StreamProcessorSettings that selects this kind ("FaceSearch", "ConnectedHome")
    settings_key: str

    def check(self, definition: dict[str, Any]) -> None:
        """Validate the definition (settings, output, referenced resources); raise a VideolensError."""
        ...

    def open(self, processor: ProcessorInfo, publish: Publish) -> FragmentAnalyzer: ...


class ProcessorKinds:
    def __init__(self) -> None:
        self._kinds: dict[str, ProcessorKind] = {}

    def register(self, kind: ProcessorKind) -> None:
        if kind.name in self._kinds:
            raise ValueError(f"processor kind {kind.name} registered twice")
        self._kinds[kind.name] = kind

    def get(self, name: str) -> ProcessorKind:
        kind = self._kinds.get(name)
        if kind is None:
            raise UnsupportedProcessorError(f"this server runs no {name} processors")
        return kind

    def for_settings(self, settings: dict[str, Any]) -> ProcessorKind:
        given = [key for key, value in (settings or {}).items() if value is not None]
        if len(given) != 1:
            raise InvalidParameterError("Settings must contain exactly one of FaceSearch or ConnectedHome")
        for kind in self._kinds.values():
            if kind.settings_key == given[0]:
                return kind
        supported = ", ".join(sorted(k.settings_key for k in self._kinds.values())) or "none"
        raise UnsupportedProcessorError(
            f"{given[0]} stream processors are not supported by this server (supported: {supported})"
        )
