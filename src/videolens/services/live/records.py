"""The face-search record of the data stream (aws-api-subset.md §3) and RegionsOfInterest.

One record per analysed frame, also when no face is seen (`FaceSearchResponse: []`): §3 says a record
is written "for each analysed frame" and that the response may be empty, so a consumer can tell "looked,
nobody there" from "not analysed". Timestamps are fractional Unix seconds of the fragment;
FrameOffsetInSeconds is the frame's offset inside it.
"""

from __future__ import annotations

import json
from typing import Any

from videolens.services.faces.models import BoundingBox, FaceDetail, FaceMatch
from videolens.services.streams.models import FragmentInfo


def _box(b: BoundingBox) -> dict[str, float]:
    return {"Width": b.width, "Height": b.height, "Left": b.left, "Top": b.top}


def detected_face(d: FaceDetail) -> dict[str, Any]:
    return {
        "BoundingBox": _box(d.bounding_box),
        "Confidence": d.confidence,
        "Landmarks": [{"X": lm.x, "Y": lm.y, "Type": lm.type} for lm in d.landmarks],
        "Pose": {"Pitch": d.pose.pitch, "Roll": d.pose.roll, "Yaw": d.pose.yaw},
        "Quality": {"Brightness": d.quality.brightness, "Sharpness": d.quality.sharpness},
    }


def matched_face(m: FaceMatch) -> dict[str, Any]:
    face: dict[str, Any] = {
        "BoundingBox": _box(m.face.bounding_box),
        "FaceId": m.face.face_id,
        "Confidence": m.face.confidence,
        "ImageId": m.face.image_id,
    }
    if m.face.external_image_id is not None:
        face["ExternalImageId"] = m.face.external_image_id
    return {"Similarity": m.similarity, "Face": face}


def face_search_record(
    stream_arn: str, fragment: FragmentInfo, offset_s: float, faces: list[tuple[FaceDetail, list[FaceMatch]]]
) -> bytes:
    doc = {
        "InputInformation": {
            "KinesisVideo": {
                "StreamArn": stream_arn,
                "FragmentNumber": fragment.fragment_number,
                "ServerTimestamp": round(fragment.server_ts, 3),
                "ProducerTimestamp": round(fragment.producer_ts, 3),
                "FrameOffsetInSeconds": round(offset_s, 3),
            }
        },
        "StreamProcessorInformation": {"Status": "RUNNING"},
        "FaceSearchResponse": [
            {
                "DetectedFace": detected_face(detail),
                "MatchedFaces": [matched_face(m) for m in sorted(matches, key=lambda m: -m.similarity)],
            }
            for detail, matches in faces
        ],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


class Regions:
    """RegionsOfInterest: a face counts when its box centre lies in one region (box or polygon)."""

    def __init__(self, regions: list[dict[str, Any]] | None) -> None:
        self.boxes: list[tuple[float, float, float, float]] = []
        self.polygons: list[list[tuple[float, float]]] = []
        for region in regions or []:
            if region.get("Polygon"):
                self.polygons.append([(float(p["X"]), float(p["Y"])) for p in region["Polygon"]])
            elif region.get("BoundingBox"):
                b = region["BoundingBox"]
                left, top = float(b.get("Left", 0.0)), float(b.get("Top", 0.0))
                self.boxes.append(
                    (left, top, left + float(b.get("Width", 0.0)), top + float(b.get("Height", 0.0)))
                )

    def __bool__(self) -> bool:
        return bool(self.boxes or self.polygons)

    def contains(self, x: float, y: float) -> bool:
        if not self:
            return True
        if any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in self.boxes):
            return True
        return any(_inside(poly, x, y) for poly in self.polygons)


def _inside(poly: list[tuple[float, float]], x: float, y: float) -> bool:
    """Ray casting (even-odd rule)."""
    inside = False
    j = len(poly) - 1
    for i in range(len(poly)):
        xi, yi = poly[i]
        xj, yj = poly[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside
