"""CompareFaces: the largest face of a source image against every face of a target image."""

from __future__ import annotations

import numpy as np

from videolens.services.errors import InvalidParameterError
from videolens.services.faces.analysis import FaceAnalysis, largest_first
from videolens.services.faces.models import ComparedMatch, CompareResult, QualityFilter
from videolens.services.faces.quality import quality_reasons
from videolens.services.faces.records import check_quality_filter, check_threshold, similarity


def compare_faces(
    analysis: FaceAnalysis,
    source: bytes,
    target: bytes,
    threshold: float,
    quality_filter: QualityFilter = "NONE",
) -> CompareResult:
    check_threshold(threshold)
    check_quality_filter(quality_filter)
    src = analysis.analyse(source)
    src_order = largest_first(src)
    if not src_order:
        raise InvalidParameterError("there are no faces in the source image")
    tgt = analysis.analyse(target)
    src_i = src_order[0]
    src_vec = analysis.embed(src.image, [src.detections[src_i]])[0]
    tgt_keep = [
        i
        for i in largest_first(tgt)
        if not quality_reasons(tgt.details[i], tgt.width, tgt.height, quality_filter)
    ]
    tgt_vecs = analysis.embed(tgt.image, [tgt.detections[i] for i in tgt_keep])
    matches: list[ComparedMatch] = []
    unmatched = []
    for n, i in enumerate(tgt_keep):
        sim = similarity(float(np.linalg.norm(tgt_vecs[n] - src_vec)))
        if sim >= threshold:
            matches.append(ComparedMatch(sim, tgt.details[i]))
        else:
            unmatched.append(tgt.details[i])
    matches.sort(key=lambda m: -m.similarity)
    return CompareResult(src.details[src_i], matches, unmatched)
