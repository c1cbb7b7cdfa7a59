"""`videolens.anonymize(...)`: hide the faces of a video or image file from Python (the CLI's engine)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from videolens.runtime.settings import Settings
    from videolens.services.anonymize.service import AnonymizeResult, AnonymizeService
    from videolens.services.anonymize.sparing import SpareMatcher

_service: AnonymizeService | None = None
_lock = threading.Lock()


def _shared_service() -> AnonymizeService:
    # heavy imports (onnxruntime, dlib, PyAV) wait for the first call, so `import videolens` stays light
    global _service
    with _lock:
        if _service is None:
            from videolens.services.anonymize.service import AnonymizeService

            _service = AnonymizeService()
        return _service


def anonymize(
    input: str | Path,
    output: str | Path | None = None,
    *,
    spare: str | SpareMatcher | None = None,
    boxes_json: str | Path | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> AnonymizeResult:
    """Anonymize one file; returns what was done (frames, faces, spared tracks, fps, warning).

    `options` are the fields of `AnonymizeOptions`: mode ("pixelate" | "blur" | "solid" | "none"),
    shape ("ellipse" | "box"), mask_scale, mosaic_size, color (BGR), threshold, detect_every (int or
    "auto"), detect_max_side, spare_threshold, codec, crf, preset, threads. `spare` is the id of a
    faces collection in the data directory of `settings` (default: from the environment), or any
    object with `best_similarity(embedding) -> float`. The output defaults to `<name>_anonymized.<ext>`.
    """
    from videolens.services.anonymize.options import AnonymizeOptions

    service = _shared_service()
    matcher: SpareMatcher | None = None
    container = None
    if isinstance(spare, str):
        from videolens.container import Container
        from videolens.runtime.settings import Settings
        from videolens.services.anonymize.collection_matcher import CollectionMatcher

        container = Container(settings or Settings())
        matcher = CollectionMatcher(container.faces, spare)
        options["spare_collection"] = spare
    elif spare is not None:
        matcher = spare
    try:
        opts = AnonymizeOptions(**options)
        return service.anonymize_file(
            input, output, opts, matcher=matcher, boxes_json=boxes_json, progress=progress
        )
    finally:
        if container is not None:
            container.close()
