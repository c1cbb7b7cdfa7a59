"""The anonymization job: anonymize a bucket object (anonymize service), store the result as an object."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from videolens.services.anonymize.options import AnonymizeOptions, parse_color, parse_detect_every
from videolens.services.anonymize.service import AnonymizeService, default_output
from videolens.services.errors import InvalidParameterError

#: user metadata put on objects written by jobs (bucket rules skip them, so a rule never loops)
JOB_METADATA_KEY = "videolens-job-id"
#: anonymize parameters a job accepts (the AnonymizeOptions fields a user sets)
OPTION_FIELDS = (
    "mode",
    "shape",
    "mask_scale",
    "mosaic_size",
    "threshold",
    "detect_every",
    "detect_max_side",
    "spare_collection",
    "spare_threshold",
    "crf",
    "preset",
    "color",
)
PARAM_FIELDS = (*OPTION_FIELDS, "output_bucket", "output_key")


def anonymize_options(params: dict[str, Any]) -> AnonymizeOptions:
    unknown = set(params) - set(PARAM_FIELDS)
    if unknown:
        raise InvalidParameterError(f"unknown anonymize parameters: {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {k: params[k] for k in OPTION_FIELDS if params.get(k) is not None}
    if "detect_every" in kwargs:
        kwargs["detect_every"] = parse_detect_every(kwargs["detect_every"])
    if "color" in kwargs:
        kwargs["color"] = parse_color(str(kwargs["color"]))
    try:
        return AnonymizeOptions(**kwargs)
    except TypeError as exc:
        raise InvalidParameterError(f"invalid anonymize parameters: {exc}") from exc


def check_anonymize_params(params: dict[str, Any]) -> None:
    anonymize_options(params)
    if params.get("output_key") is not None and not str(params["output_key"]):
        raise InvalidParameterError("output_key must not be empty")


def output_location(bucket: str, key: str, params: dict[str, Any]) -> tuple[str, str]:
    """Default: next to the input, named like deface does (`clip.mp4` → `clip_anonymized.mp4`)."""
    out_bucket = str(params.get("output_bucket") or bucket)
    out_key = params.get("output_key")
    if not out_key:
        head, sep, name = key.rpartition("/")
        out_key = f"{head}{sep}{default_output(Path(name)).name}"
    return out_bucket, str(out_key)


class _CollectionMatcher:
    """SpareMatcher over a face collection (best similarity of one descriptor)."""

    def __init__(self, faces: Any, collection_id: str) -> None:
        self.faces = faces
        self.collection_id = collection_id

    def best_similarity(self, embedding: np.ndarray) -> float:
        matches = self.faces.search_embedding(self.collection_id, embedding, 1, 0.0)
        return float(matches[0].similarity) if matches else 0.0


def run_anonymize(
    service: AnonymizeService,
    storage: Any,
    faces: Any,
    job_id: str,
    bucket: str,
    key: str,
    params: dict[str, Any],
    work_dir: Path,
    progress: Callable[[float], None],
) -> dict[str, Any]:
    options = anonymize_options({k: v for k, v in params.items() if k in PARAM_FIELDS})
    matcher = _CollectionMatcher(faces, options.spare_collection) if options.spare_collection else None
    out_bucket, out_key = output_location(bucket, key, params)
    work_dir.mkdir(parents=True, exist_ok=True)

    def on_progress(done: int, total: int | None) -> None:
        if total:
            progress(min(95.0, 95.0 * done / total))

    with storage.open_object_path(bucket, key) as src, tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        dst = Path(tmp) / Path(key).name
        if dst.suffix == "":
            dst = dst.with_suffix(".mp4")
        result = service.anonymize_file(src, dst, options, matcher=matcher, progress=on_progress)
        content_type = "video/mp4" if result.kind == "video" else "image/jpeg"
        info = storage.put_object(
            out_bucket, out_key, _chunks(dst), content_type=content_type, metadata={JOB_METADATA_KEY: job_id}
        )
    return {
        "bucket": out_bucket,
        "key": out_key,
        "size": int(info.size),
        "kind": result.kind,
        "frames": result.frames,
        "faces": result.faces,
        "spared": result.spared,
    }


def _chunks(path: Path, size: int = 1024 * 1024) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(size):
            yield chunk
