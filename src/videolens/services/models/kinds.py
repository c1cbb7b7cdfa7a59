"""The model-kind registry: each `*_kind.py` module declares its key, its config type and how it loads.

Registration is explicit (`@register_kind` on the class), a duplicate key raises, and creating a model
is a dict lookup on the kind stored on its row; an unknown kind is a clear InvalidParameterError.
service.py imports the kind modules, which registers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from videolens.runtime.settings import Settings
from videolens.services.errors import InvalidParameterError
from videolens.services.models.models import ModelAnswer, ModelInput

if TYPE_CHECKING:
    from videolens.services.faces.service import FacesService
    from videolens.vision.detector import FaceDetector


class KindConfig(BaseModel):
    """Fields every kind accepts; unknown fields are refused so a typo is an error, not a default."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(default="", max_length=1024)
    #: invocations of this model running at once in this process; more wait for a slot
    max_concurrency: int = Field(default=4, ge=1, le=256)
    #: how long an invocation waits for a slot before failing with model-unavailable
    queue_timeout_s: float = Field(default=30.0, gt=0, le=3600)


@dataclass
class KindContext:
    """What a kind may use to load: settings and lazy handles on other capabilities' public services."""

    settings: Settings
    #: FacesService (face search) and the process's face detector, for the builtin kind
    faces: FacesService | None = None
    face_detector: Callable[[], FaceDetector] | None = None


class Invoker(Protocol):
    """A loaded model; `invoke` is called from many threads at once (the service bounds how many)."""

    def invoke(self, inp: ModelInput, accept: str | None) -> ModelAnswer: ...

    def close(self) -> None: ...


class ModelKind(Protocol):
    key: ClassVar[str]
    config_type: ClassVar[type[KindConfig]]
    #: the kind needs an uploaded file (stored in the blob store beside the row)
    takes_file: ClassVar[bool]

    def prepare(self, name: str, config: KindConfig, file: bytes | None, ctx: KindContext) -> dict[str, Any]:
        """Check the model at registration (load it, ask the server) and return extra config to store."""
        ...

    def load(
        self, name: str, config: KindConfig, stored: dict[str, Any], file: bytes | None, ctx: KindContext
    ) -> Invoker:
        """Build the invoker from the validated config, what `prepare` stored and the file."""
        ...


_KINDS: dict[str, ModelKind] = {}
K = TypeVar("K")


def register_kind(cls: type[K]) -> type[K]:
    key = cls.key  # type: ignore[attr-defined]
    if key in _KINDS:
        raise ValueError(f"model kind {key!r} is registered twice")
    _KINDS[key] = cls()  # type: ignore[assignment]
    return cls


def kind(key: str) -> ModelKind:
    found = _KINDS.get(key)
    if found is None:
        raise InvalidParameterError(f"unknown model kind {key!r}; known kinds: {', '.join(kind_names())}")
    return found


def kind_names() -> list[str]:
    return sorted(_KINDS)


def parse_config(model_kind: ModelKind, doc: dict[str, Any]) -> KindConfig:
    """The kind's config from a JSON document; pydantic's complaints become one readable message."""
    try:
        return model_kind.config_type.model_validate(doc)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        raise InvalidParameterError(f"invalid {model_kind.key} model: " + "; ".join(parts)) from exc
