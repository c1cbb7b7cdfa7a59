"""Synthetic test videos with exact ground truth: real face crops pasted on a moving background.

Faces come from the enrolment photos in `<media>/faces/<person>/`. The face box inside each photo is
found with dlib's HOG detector (independent of the CenterFace model under test) and grown a little to
include the forehead; the crop pasted into the video is larger than that box (hair, neck) and blended
with a soft elliptical edge. Ground truth is the face oval (the ellipse inscribed in the face box),
clipped to the picture and minus the parts hidden behind a crop pasted later, as a per-frame label map.

Reusable by any test: `make_scene(...)` returns frames + ground truth, `write_video(...)` encodes them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import dlib
import numpy as np

Box = tuple[float, float, float, float]

#: the dlib HOG box runs brow to chin; faces reach up to the hairline, so GT boxes grow upwards
_FOREHEAD = 0.25
#: the pasted crop extends this far beyond the GT box on every side (fraction of its size)
_CROP_MARGIN = 0.45


@dataclass(frozen=True)
class FaceSprite:
    person: str
    image: np.ndarray  # BGR crop
    alpha: np.ndarray  # float32 0..1, same HxW
    face: Box  # GT face box inside the crop, pixels


@dataclass
class FaceTruth:
    person: str
    box: Box  # full GT face box in frame pixels (may extend outside the picture)
    visible_pixels: int  # GT pixels inside the picture and not hidden behind another face
    box_pixels: int = 0  # the whole GT box's area (inside the picture or not)


@dataclass
class Scene:
    name: str
    width: int
    height: int
    fps: int
    frames: list[np.ndarray] = field(default_factory=list)
    #: per frame: label map (0 background, k = face k of `truth[frame][k-1]`)
    labels: list[np.ndarray] = field(default_factory=list)
    truth: list[list[FaceTruth]] = field(default_factory=list)


@functools.cache
def load_sprite(media_dir: Path, person: str, photo: str) -> FaceSprite:
    """Crop one face out of `faces/<person>/<photo>` with its GT box (cached per process)."""
    image = cv2.imread(str(media_dir / "faces" / person / photo), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{person}/{photo}")
    rects = dlib.get_frontal_face_detector()(np.ascontiguousarray(image[:, :, ::-1]), 1)
    if len(rects) == 0:
        raise ValueError(f"no face found by dlib in {person}/{photo}")
    r = max(rects, key=lambda r: r.area())
    fx1, fy1, fx2, fy2 = r.left(), r.top() - _FOREHEAD * r.height(), r.right(), r.bottom()
    fw, fh = fx2 - fx1, fy2 - fy1
    cx1, cy1 = max(0, int(fx1 - _CROP_MARGIN * fw)), max(0, int(fy1 - _CROP_MARGIN * fh))
    cx2 = min(image.shape[1], int(fx2 + _CROP_MARGIN * fw))
    cy2 = min(image.shape[0], int(fy2 + _CROP_MARGIN * fh))
    crop = image[cy1:cy2, cx1:cx2].copy()
    h, w = crop.shape[:2]
    # soft elliptical alpha: the face and hair blend into the background without a hard square edge
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = ((xx + 0.5 - w / 2) / (w / 2)) ** 2 + ((yy + 0.5 - h / 2) / (h / 2)) ** 2
    alpha = np.clip((1.0 - d) / 0.15, 0.0, 1.0).astype(np.float32)
    return FaceSprite(person, crop, alpha, (fx1 - cx1, fy1 - cy1, fx2 - cx1, fy2 - cy1))


def _background(width: int, height: int, seed: int) -> np.ndarray:
    """A large smooth colourful texture; frames show a window of it that pans."""
    rng = np.random.default_rng(seed)
    big = rng.integers(0, 256, size=(height * 2 // 8, width * 2 // 8, 3), dtype=np.uint8)
    big = cv2.resize(big, (width * 2, height * 2), interpolation=cv2.INTER_CUBIC)
    big = cv2.GaussianBlur(big, (0, 0), 3)
    # a few hard-edged shapes so the encoder and the detector see real structure, not just blur
    for _ in range(12):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width * 2)), int(rng.integers(0, height * 2))
        cv2.rectangle(big, (x, y), (x + int(rng.integers(10, 60)), y + int(rng.integers(10, 60))), color, -1)
    return big


def _paste(frame: np.ndarray, sprite: FaceSprite, face_box: Box) -> np.ndarray | None:
    """Scale the sprite so its face lands on `face_box` and alpha-blend it; returns where it is opaque."""
    fx1, fy1, fx2, fy2 = sprite.face
    scale = (face_box[2] - face_box[0]) / (fx2 - fx1)
    h, w = sprite.image.shape[:2]
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    ox = round(face_box[0] - fx1 * scale)
    oy = round(face_box[1] - fy1 * scale)
    H, W = frame.shape[:2]
    x1, y1, x2, y2 = max(0, ox), max(0, oy), min(W, ox + sw), min(H, oy + sh)
    if x2 <= x1 or y2 <= y1:
        return None
    img = cv2.resize(sprite.image, (sw, sh), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(sprite.alpha, (sw, sh), interpolation=cv2.INTER_LINEAR)
    img = img[y1 - oy : y2 - oy, x1 - ox : x2 - ox].astype(np.float32)
    a = alpha[y1 - oy : y2 - oy, x1 - ox : x2 - ox, None]
    roi = frame[y1:y2, x1:x2].astype(np.float32)
    frame[y1:y2, x1:x2] = (a * img + (1 - a) * roi + 0.5).astype(np.uint8)
    opaque = np.zeros((H, W), dtype=bool)
    opaque[y1:y2, x1:x2] = a[:, :, 0] >= 0.5
    return opaque


def _face_oval(box: Box, roi: tuple[int, int, int, int]) -> np.ndarray:
    """The face's pixels: the oval inscribed in its box (the box corners are hair and background)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    ax, ay = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
    xs = (np.arange(roi[0], roi[2]) + 0.5 - cx) / ax
    ys = (np.arange(roi[1], roi[3]) + 0.5 - cy) / ay
    return np.asarray((ys[:, None] ** 2 + xs[None, :] ** 2) <= 1.0)


Path2D = Callable[[float], Box]  # t in seconds → face box


def linear(start: Box, end: Box, t0: float, t1: float) -> Path2D:
    """Face box moving (and scaling) linearly from `start` at t0 to `end` at t1; absent outside."""

    def at(t: float) -> Box:
        u = (t - t0) / (t1 - t0)
        return tuple(float(a + (b - a) * u) for a, b in zip(start, end, strict=True))  # type: ignore[return-value]

    return at


def square(cx: float, cy: float, size: float) -> Box:
    return (cx - size / 2, cy - size * 0.6, cx + size / 2, cy + size * 0.6)


@dataclass(frozen=True)
class Actor:
    sprite: FaceSprite
    path: Path2D
    t0: float = 0.0
    t1: float = 1e9


def render(
    name: str, width: int, height: int, fps: int, seconds: float, actors: list[Actor], seed: int = 1
) -> Scene:
    """Render the frames and their exact ground truth."""
    scene = Scene(name, width, height, fps)
    bg = _background(width, height, seed)
    n = round(seconds * fps)
    for i in range(n):
        t = i / fps
        # the camera pans slowly in a circle so the background moves too
        ox = int(width / 2 + width / 3 * np.cos(t * 0.9))
        oy = int(height / 2 + height / 3 * np.sin(t * 0.7))
        frame = bg[oy : oy + height, ox : ox + width].copy()
        label = np.zeros((height, width), dtype=np.uint8)
        truth: list[FaceTruth] = []
        for actor in actors:
            if not actor.t0 <= t <= actor.t1:
                continue
            box = actor.path(t)
            opaque = _paste(frame, actor.sprite, box)
            if opaque is None:
                continue
            # a face pasted later hides what lies under its (opaque) crop: hair, face and neck alike
            label[opaque] = 0
            x1, y1 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
            x2, y2 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
            area = round(np.pi / 4 * (box[2] - box[0]) * (box[3] - box[1]))
            truth.append(FaceTruth(actor.sprite.person, box, 0, area))
            if x2 > x1 and y2 > y1:
                label[y1:y2, x1:x2][_face_oval(box, (x1, y1, x2, y2))] = len(truth)
        for k, ft in enumerate(truth, start=1):
            ft.visible_pixels = int(np.count_nonzero(label == k))
        scene.frames.append(frame)
        scene.labels.append(label)
        scene.truth.append(truth)
    return scene


def standard_scene(media_dir: Path, width: int = 320, height: int = 240, fps: int = 30) -> Scene:
    """3 s: a face entering and leaving fast, one growing from small to large, two faces crossing."""
    obama = load_sprite(media_dir, "obama", "obama.jpg")
    biden = load_sprite(media_dir, "biden", "biden2.jpg")
    rose = load_sprite(media_dir, "rose_leslie", "img2.jpg")
    alex = load_sprite(media_dir, "alex_lacamoire", "img1.jpg")
    w, h = width, height
    actors = [
        # enters from the left, crosses the picture fast (~9 px/frame at 320 px) and leaves on the right
        Actor(rose, linear(square(-40, h * 0.3, 56), square(w + 40, h * 0.25, 56), 0.0, 1.4), 0.0, 1.4),
        # appears small (30 px) once the first face has left and grows to 110 px while drifting
        Actor(
            alex, linear(square(w * 0.8, h * 0.25, 30), square(w * 0.62, h * 0.4, 110), 1.5, 3.0), 1.5, 3.0
        ),
        # two faces crossing each other, one passing slightly above the other
        Actor(obama, linear(square(w * 0.1, h * 0.7, 60), square(w * 0.9, h * 0.62, 60), 0.2, 2.2), 0.2, 2.2),
        Actor(biden, linear(square(w * 0.9, h * 0.55, 64), square(w * 0.1, h * 0.6, 64), 0.2, 2.2), 0.2, 2.2),
    ]
    return render("standard", width, height, fps, 3.0, actors, seed=7)


def two_people_scene(media_dir: Path, width: int = 320, height: int = 240, fps: int = 30) -> Scene:
    """3 s: Obama and Biden walking past each other, one above the other (for sparing one of them)."""
    obama = load_sprite(media_dir, "obama", "obama.jpg")
    biden = load_sprite(media_dir, "biden", "biden2.jpg")
    w, h = width, height
    actors = [
        Actor(biden, linear(square(w * 0.85, h * 0.73, 64), square(w * 0.15, h * 0.73, 64), 0.0, 3.0)),
        Actor(obama, linear(square(w * 0.15, h * 0.27, 64), square(w * 0.85, h * 0.27, 64), 0.0, 3.0)),
    ]
    return render("two_people", width, height, fps, 3.0, actors, seed=11)


def write_video(path: Path, scene: Scene, crf: int = 18, codec: str = "libx264") -> Path:
    """Encode the scene's frames losslessly enough for detection tests (H.264, yuv420p)."""
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream(
            codec, rate=Fraction(scene.fps), options={"crf": str(crf), "preset": "veryfast"}
        )
        stream.width, stream.height, stream.pix_fmt = scene.width, scene.height, "yuv420p"
        for frame in scene.frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        out.mux(stream.encode(None))
    return path


def read_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


@dataclass
class Coverage:
    """How much of the ground-truth face pixels an output hid."""

    covered: int = 0
    total: int = 0
    worst: float = 1.0  # lowest per-face per-frame covered fraction
    worst_at: tuple[int, str] | None = None
    exposed: list[tuple[int, str, float]] = field(default_factory=list)  # faces < 50 % covered

    @property
    def fraction(self) -> float:
        return self.covered / self.total if self.total else 1.0


def coverage(
    scene: Scene,
    output_frames: list[np.ndarray],
    hidden: Callable[[np.ndarray, np.ndarray], np.ndarray],
    persons: set[str] | None = None,
    min_visible_for_exposure: float = 0.3,
) -> Coverage:
    """Coverage of every GT face (optionally only `persons`); `hidden(out, src)` says which pixels are hidden.

    Every visible GT pixel counts towards the fraction. A face counts as exposed on a frame when less
    than half of its visible pixels are hidden, provided at least `min_visible_for_exposure` of its
    whole box is in view (a sliver at the border or behind another head shows no face).
    """
    if len(output_frames) != len(scene.frames):
        raise AssertionError(f"{len(output_frames)} output frames for {len(scene.frames)} input frames")
    result = Coverage()
    for i, (out, src) in enumerate(zip(output_frames, scene.frames, strict=True)):
        mask = hidden(out, src)
        for k, ft in enumerate(scene.truth[i], start=1):
            if persons is not None and ft.person not in persons:
                continue
            if ft.visible_pixels == 0:
                continue
            gt = scene.labels[i] == k
            covered = int(np.count_nonzero(mask & gt))
            result.covered += covered
            result.total += ft.visible_pixels
            frac = covered / ft.visible_pixels
            if ft.visible_pixels < min_visible_for_exposure * ft.box_pixels:
                continue
            if frac < result.worst:
                result.worst, result.worst_at = frac, (i, ft.person)
            if frac < 0.5:
                result.exposed.append((i, ft.person, frac))
    return result


def solid_hidden(
    color_bgr: tuple[int, int, int], tolerance: int = 60
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Pixels painted with the solid colour (within codec noise)."""
    c = np.asarray(color_bgr, dtype=np.int16)

    def hidden(out: np.ndarray, src: np.ndarray) -> np.ndarray:
        return np.abs(out.astype(np.int16) - c).max(axis=2) <= tolerance

    return hidden


def changed_hidden(tolerance: int = 25) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Pixels that differ clearly from the source frame (for blur / mosaic outputs)."""

    def hidden(out: np.ndarray, src: np.ndarray) -> np.ndarray:
        return np.abs(out.astype(np.int16) - src.astype(np.int16)).max(axis=2) > tolerance

    return hidden
