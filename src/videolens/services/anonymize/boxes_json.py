"""The --boxes-json audit file: every output frame's face boxes, track ids and what was hidden."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from videolens.services.anonymize.pipeline import FrameBoxes


class BoxesLog:
    """Collects the per-frame boxes of one input and writes them as one JSON document."""

    def __init__(self, input_name: str, width: int, height: int, fps: float | None) -> None:
        self.header: dict[str, Any] = {"input": input_name, "width": width, "height": height, "fps": fps}
        self.frames: list[FrameBoxes] = []

    def add(self, frame: FrameBoxes) -> None:
        self.frames.append(frame)

    def to_dict(self) -> dict[str, Any]:
        tracks: dict[int, dict[str, Any]] = {}
        frames = []
        for f in self.frames:
            faces = []
            for face in f.faces:
                faces.append(
                    {
                        "track": face.track_id,
                        "box": [round(v, 1) for v in face.box],
                        "mask": list(face.mask),
                        "score": round(face.score, 3),
                        "detected": face.detected,
                        "spared": face.spared,
                    }
                )
                t = tracks.setdefault(
                    face.track_id,
                    {"track": face.track_id, "first_frame": f.index, "frames": 0, "spared_frames": 0},
                )
                t["last_frame"] = f.index
                t["frames"] += 1
                t["spared_frames"] += int(face.spared)
            frames.append({"frame": f.index, "pts": f.pts, "time": f.time, "faces": faces})
        return {**self.header, "frames": frames, "tracks": list(tracks.values())}

    def write(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=None, separators=(",", ":")))
