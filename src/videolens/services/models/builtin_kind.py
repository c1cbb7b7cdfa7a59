"""`builtin` kind: videolens's own models behind the one invoke interface (person/face detector, face search).

Each builtin registers by name (`@builtin("person-detector")`); a model row names one in `model`.
Detectors answer in the SageMaker object-detection format (`{"prediction": [[class, score, xmin, ymin,
xmax, ymax], ...]}`, ratios of the image), so a KIT-style consumer reads them like any endpoint's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, ClassVar

import cv2
import numpy as np
from pydantic import Field

from videolens.services.errors import InvalidParameterError
from videolens.services.models.kinds import KindConfig, KindContext, register_kind
from videolens.services.models.models import ModelAnswer, ModelInput
from videolens.vision.detection_decoders import Boxes
from videolens.vision.person_detector import PersonDetector

if TYPE_CHECKING:
    from videolens.services.faces.service import FacesService


class BuiltinConfig(KindConfig):
    #: which builtin model: person-detector, face-detector, face-search
    model: str = Field(min_length=1, max_length=64)
    #: detectors: the lowest score (0..1) kept
    min_score: float | None = Field(default=None, ge=0, le=1)
    #: face-search: the collection searched, the lowest similarity (0..100) and matches per face
    collection_id: str | None = Field(default=None, min_length=1, max_length=255)
    similarity_threshold: float | None = Field(default=None, ge=0, le=100)
    max_matches: int = Field(default=1, ge=1, le=4096)


Run = Callable[[ModelInput], dict[str, Any]]
Factory = Callable[[BuiltinConfig, KindContext], Run]
#: checks a builtin's parameters at registration (raises InvalidParameterError)
Check = Callable[[BuiltinConfig, KindContext], None]
_BUILTINS: dict[str, tuple[Factory, Check | None]] = {}


def builtin(name: str, check: Check | None = None) -> Callable[[Factory], Factory]:
    def register(factory: Factory) -> Factory:
        if name in _BUILTINS:
            raise ValueError(f"builtin model {name!r} is registered twice")
        _BUILTINS[name] = (factory, check)
        return factory

    return register


def builtin_names() -> list[str]:
    return sorted(_BUILTINS)


def prediction(boxes: Boxes, width: int, height: int) -> list[list[float]]:
    size = np.array([width, height, width, height], dtype=np.float64)
    return [
        [int(c), round(float(s), 6), *(round(float(v), 6) for v in box / size)]
        for c, s, box in zip(boxes.class_ids, boxes.scores, boxes.xyxy, strict=True)
    ]


@builtin("person-detector")
def _person_detector(config: BuiltinConfig, ctx: KindContext) -> Run:
    detector = PersonDetector(min_score=0.5 if config.min_score is None else config.min_score)

    def run(inp: ModelInput) -> dict[str, Any]:
        rgb = inp.rgb()
        boxes = detector.detect(rgb)
        return {"prediction": prediction(boxes, rgb.shape[1], rgb.shape[0]), "class_names": ["person"]}

    return run


@builtin("face-detector")
def _face_detector(config: BuiltinConfig, ctx: KindContext) -> Run:
    assert ctx.face_detector is not None
    get_detector = ctx.face_detector
    threshold = config.min_score

    def run(inp: ModelInput) -> dict[str, Any]:
        rgb = inp.rgb()
        height, width = rgb.shape[:2]
        faces = get_detector().detect(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), threshold)
        boxes = Boxes(
            np.array([[f.x1, f.y1, f.x2, f.y2] for f in faces]).reshape(-1, 4),
            np.array([f.score for f in faces]),
            np.zeros(len(faces), dtype=np.int64),
        )
        landmarks = [
            [[round(float(x) / width, 6), round(float(y) / height, 6)] for x, y in f.landmarks] for f in faces
        ]
        return {
            "prediction": prediction(boxes, width, height),
            "class_names": ["face"],
            "landmarks": landmarks,
        }

    return run


def _faces(ctx: KindContext) -> FacesService:
    if ctx.faces is None:  # a ModelsService built without the faces capability (e.g. a bare test)
        raise InvalidParameterError("builtin face-search needs the faces capability in this process")
    return ctx.faces


def _check_collection(config: BuiltinConfig, ctx: KindContext) -> None:
    if not config.collection_id:
        raise InvalidParameterError("builtin face-search needs a collection_id")
    _faces(ctx).describe_collection(config.collection_id)


@builtin("face-search", check=_check_collection)
def _face_search(config: BuiltinConfig, ctx: KindContext) -> Run:
    faces_service = _faces(ctx)
    collection_id = str(config.collection_id)

    def run(inp: ModelInput) -> dict[str, Any]:
        image = inp.data if inp.data is not None else inp.encoded("image/jpeg")
        found = faces_service.recognize_faces(
            collection_id, image, config.max_matches, config.similarity_threshold
        )
        return {
            "collection_id": collection_id,
            "faces": [
                {
                    "bounding_box": asdict(rf.face.bounding_box),
                    "confidence": round(rf.face.confidence, 3),
                    "matches": [
                        {
                            "face_id": m.face.face_id,
                            "external_image_id": m.face.external_image_id,
                            "similarity": round(m.similarity, 3),
                        }
                        for m in rf.matches
                    ],
                }
                for rf in found
            ],
        }

    return run


class BuiltinInvoker:
    def __init__(self, run: Run) -> None:
        self.run = run

    def invoke(self, inp: ModelInput, accept: str | None) -> ModelAnswer:
        return ModelAnswer.from_json(self.run(inp))

    def close(self) -> None:
        return None


@register_kind
class BuiltinKind:
    key: ClassVar[str] = "builtin"
    config_type: ClassVar[type[KindConfig]] = BuiltinConfig
    takes_file: ClassVar[bool] = False

    def prepare(self, name: str, config: KindConfig, file: bytes | None, ctx: KindContext) -> dict[str, Any]:
        assert isinstance(config, BuiltinConfig)
        if config.model not in _BUILTINS:
            raise InvalidParameterError(
                f"unknown builtin model {config.model!r}; known: {', '.join(builtin_names())}"
            )
        check = _BUILTINS[config.model][1]
        if check is not None:
            check(config, ctx)
        return {}

    def load(
        self, name: str, config: KindConfig, stored: dict[str, Any], file: bytes | None, ctx: KindContext
    ) -> BuiltinInvoker:
        assert isinstance(config, BuiltinConfig)
        return BuiltinInvoker(_BUILTINS[config.model][0](config, ctx))
