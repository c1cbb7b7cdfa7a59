"""Before/after images for the README, made from the shared media: `python scripts/make_readme_frames.py`.

Writes `docs/images/anonymize-hamilton.jpg` (a frame of the hamilton clip, original | pixelated) and
`docs/images/anonymize-spare.jpg` (a photo of Obama and Biden, original | blurred with Obama spared).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "docs" / "images"
HAMILTON_FRAME = 150


def media_dir() -> Path:
    env = os.environ.get("VIDEOLENS_TEST_MEDIA")
    return Path(env) if env else REPO.parent / "shared" / "media"


def frame_at(path: Path, index: int) -> np.ndarray:
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i == index:
                return frame.to_ndarray(format="bgr24")
    raise IndexError(f"{path} has no frame {index}")


def side_by_side(before: np.ndarray, after: np.ndarray, width: int = 1200) -> np.ndarray:
    gap = np.full((before.shape[0], 8, 3), 255, dtype=np.uint8)
    pair = np.hstack([before, gap, after])
    scale = width / pair.shape[1]
    return cv2.resize(pair, (width, round(pair.shape[0] * scale)), interpolation=cv2.INTER_AREA)


def main() -> None:
    from videolens import anonymize
    from videolens.services.anonymize.sparing import EmbeddingsMatcher
    from videolens.vision.detector import FaceDetector
    from videolens.vision.embedder import FaceEmbedder

    media = media_dir()
    IMAGES.mkdir(parents=True, exist_ok=True)
    clip = media / "video" / "short_hamilton_clip.mp4"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "hamilton.mp4"
        anonymize(clip, out, mode="pixelate")
        image = side_by_side(frame_at(clip, HAMILTON_FRAME), frame_at(out, HAMILTON_FRAME))
        cv2.imwrite(str(IMAGES / "anonymize-hamilton.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 85])

        enrol = cv2.imread(str(media / "faces" / "obama" / "obama2.jpg"))
        matcher = EmbeddingsMatcher(FaceEmbedder().embed(enrol, FaceDetector().detect(enrol)[:1]))
        photo = media / "faces" / "_test" / "obama_and_biden.jpg"
        spared = Path(tmp) / "spared.jpg"
        anonymize(photo, spared, mode="blur", spare=matcher)
        image = side_by_side(cv2.imread(str(photo)), cv2.imread(str(spared)))
        cv2.imwrite(str(IMAGES / "anonymize-spare.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    for name in ("anonymize-hamilton.jpg", "anonymize-spare.jpg"):
        print(IMAGES / name)


if __name__ == "__main__":
    sys.exit(main())
