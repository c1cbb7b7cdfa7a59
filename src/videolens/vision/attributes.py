"""Face attributes measured from pixels and landmarks: pose, quality, 68-point landmarks, eyes/mouth open."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import cv2
import dlib
import face_recognition_models
import numpy as np

from videolens.vision.embedder import detection_rectangle, dlib_image
from videolens.vision.types import Detection

# Proportions of an average face, used to turn landmark displacements into angles: the nose tip stands
# in front of the eye/mouth plane by 0.85 of half the inter-ocular distance and, seen frontally, sits
# 0.53 of the way from the eye line down to the mouth line.
_NOSE_DEPTH = 0.85  # in half inter-ocular distances
_NOSE_BASE_DEPTH = 0.65  # the base of the nose (dlib's 5th point) stands less far out than the tip
_NOSE_HEIGHT = 0.53  # fraction of the eye-to-mouth distance

# Rekognition landmark names → dlib 68-point indices (averaged when several). "Left"/"right" are the
# viewer's: eyeLeft is the eye on the left of the image (the subject's right eye), as in videolens.types.
_LANDMARKS_68: dict[str, tuple[int, ...]] = {
    "eyeLeft": (36, 37, 38, 39, 40, 41),
    "eyeRight": (42, 43, 44, 45, 46, 47),
    "nose": (30,),
    "mouthLeft": (48,),
    "mouthRight": (54,),
    "leftEyeBrowLeft": (17,),
    "leftEyeBrowRight": (21,),
    "leftEyeBrowUp": (19,),
    "rightEyeBrowLeft": (22,),
    "rightEyeBrowRight": (26,),
    "rightEyeBrowUp": (24,),
    "leftEyeLeft": (36,),
    "leftEyeRight": (39,),
    "leftEyeUp": (37, 38),
    "leftEyeDown": (40, 41),
    "rightEyeLeft": (42,),
    "rightEyeRight": (45,),
    "rightEyeUp": (43, 44),
    "rightEyeDown": (46, 47),
    "noseLeft": (31,),
    "noseRight": (35,),
    "mouthUp": (51,),
    "mouthDown": (57,),
    # dlib has no pupil point; the eye-contour centre is where the pupil is for a forward gaze.
    "leftPupil": (36, 37, 38, 39, 40, 41),
    "rightPupil": (42, 43, 44, 45, 46, 47),
    "upperJawlineLeft": (1,),
    "midJawlineLeft": (4,),
    "chinBottom": (8,),
    "midJawlineRight": (12,),
    "upperJawlineRight": (15,),
}

# Eye aspect ratio (Soukupová & Čech 2016): 0.25–0.4 for an open eye, ~0.16 laughing, < 0.1 closed.
_EAR_THRESHOLD = 0.14
_EAR_SCALE = 0.05
# Inner-mouth aspect ratio: ~0 with closed lips, > 0.3 wide open.
_MAR_THRESHOLD = 0.15
_MAR_SCALE = 0.05
# Laplacian variance of the 112x112 grey face giving a sharpness of 63 % (1 - 1/e).
_SHARPNESS_SCALE = 150.0
_QUALITY_SIDE = 112


@dataclass
class Pose:
    """Head rotation in degrees: yaw > 0 turned to the image's right, pitch > 0 up, roll > 0 clockwise."""

    yaw: float
    pitch: float
    roll: float


@dataclass
class Quality:
    """Brightness (mean luma of the face) and sharpness (Laplacian energy of the face), both 0..100."""

    brightness: float
    sharpness: float


@dataclass
class BinaryAttribute:
    value: bool
    confidence: float  # 0..100


@dataclass
class FaceAttributes:
    pose: Pose
    quality: Quality
    landmarks: dict[str, tuple[float, float]]  # pixel coordinates, Rekognition landmark names
    eyes_open: BinaryAttribute | None
    mouth_open: BinaryAttribute | None


def estimate_pose(landmarks: np.ndarray, nose_base: np.ndarray | None = None) -> Pose:
    """Pose from 5 landmarks (eye centres, nose tip, mouth corners; image-left first).

    Roll is the angle of the eye line. The points are then turned upright by that angle, so image
    rotations change roll only; yaw is the sideways shift of the nose from the face's midline and
    pitch the nose tip's shift along it, converted to angles with the proportions of an average face
    (orthographic: perspective is negligible at portrait distances). When dlib's nose-base point is
    given, yaw uses it against the eye midpoint: it is more stable than CenterFace's nose tip.
    """
    points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    eye_left, eye_right, nose, mouth_left, mouth_right = points
    dx, dy = eye_right - eye_left
    roll = math.atan2(dy, dx)
    cos_r, sin_r = math.cos(-roll), math.sin(-roll)
    upright = points @ np.array([[cos_r, sin_r], [-sin_r, cos_r]])
    eye_left, eye_right, nose, mouth_left, mouth_right = upright
    eyes_mid, mouth_mid = (eye_left + eye_right) / 2, (mouth_left + mouth_right) / 2
    half_eyes = max(float(eye_right[0] - eye_left[0]) / 2, 1e-6)
    eye_to_mouth = float(mouth_mid[1] - eyes_mid[1])
    if eye_to_mouth <= 0:
        return Pose(yaw=0.0, pitch=0.0, roll=_wrap(math.degrees(roll)))
    # Offset of the nose from the eye/mouth midline; the midline is the average of the two midpoints.
    if nose_base is not None:
        base_x = float(np.asarray(nose_base, dtype=np.float64) @ np.array([cos_r, -sin_r]))
        yaw = math.atan2(base_x - float(eyes_mid[0]), _NOSE_BASE_DEPTH * half_eyes)
    else:
        midline_x = float(eyes_mid[0] + mouth_mid[0]) / 2
        yaw = math.atan2(float(nose[0]) - midline_x, _NOSE_DEPTH * half_eyes)
    # The eye-to-mouth distance shrinks by cos(pitch) while the nose moves by depth * sin(pitch).
    nose_height = (float(nose[1]) - float(eyes_mid[1])) / eye_to_mouth
    pitch = math.atan2((_NOSE_HEIGHT - nose_height) * eye_to_mouth, _NOSE_DEPTH * half_eyes)
    return Pose(
        yaw=_wrap(math.degrees(yaw)), pitch=_wrap(math.degrees(pitch)), roll=_wrap(math.degrees(roll))
    )


def _wrap(angle: float) -> float:
    return float((angle + 180.0) % 360.0 - 180.0)


def _face_crop(image_bgr: np.ndarray, det: Detection) -> np.ndarray:
    height, width = image_bgr.shape[:2]
    x1, y1 = max(0, int(det.x1)), max(0, int(det.y1))
    x2, y2 = min(width, int(math.ceil(det.x2))), min(height, int(math.ceil(det.y2)))
    return image_bgr[y1:y2, x1:x2]


def estimate_quality(image_bgr: np.ndarray, det: Detection) -> Quality:
    """Brightness = mean luma * 100/255; sharpness = 100 * (1 - exp(-var(Laplacian) / 150)) at 112x112."""
    crop = _face_crop(image_bgr, det)
    if crop.size == 0:
        return Quality(brightness=0.0, sharpness=0.0)
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    brightness = float(grey.mean()) * 100.0 / 255.0
    # A fixed working size makes sharpness comparable across face sizes; a small face upscaled to it is
    # honestly less sharp than a large one.
    interpolation = cv2.INTER_AREA if min(grey.shape) > _QUALITY_SIDE else cv2.INTER_LINEAR
    grey = cv2.resize(grey, (_QUALITY_SIDE, _QUALITY_SIDE), interpolation=interpolation)
    energy = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    sharpness = 100.0 * (1.0 - math.exp(-energy / _SHARPNESS_SCALE))
    return Quality(brightness=round(brightness, 4), sharpness=round(sharpness, 4))


def _aspect_ratio(
    points: np.ndarray, vertical: tuple[tuple[int, int], ...], horizontal: tuple[int, int]
) -> float:
    width = float(np.linalg.norm(points[horizontal[0]] - points[horizontal[1]]))
    if width <= 0:
        return 0.0
    heights = [float(np.linalg.norm(points[a] - points[b])) for a, b in vertical]
    return sum(heights) / (len(heights) * width)


def _binary(ratio: float, threshold: float, scale: float) -> BinaryAttribute:
    """Logistic confidence around the threshold: 50 % at the threshold, ~100 % far from it."""
    p_true = 1.0 / (1.0 + math.exp(-(ratio - threshold) / (scale / 4.0)))
    value = p_true >= 0.5
    return BinaryAttribute(value=value, confidence=round(100.0 * (p_true if value else 1.0 - p_true), 4))


class FaceAnalyzer:
    """Pose and quality for every face; full 68-point landmarks and eyes/mouth-open on demand."""

    def __init__(self) -> None:
        self._predictor: dlib.shape_predictor | None = None
        self._predictor5 = dlib.shape_predictor(
            face_recognition_models.pose_predictor_five_point_model_location()
        )
        self._lock = threading.Lock()

    def _predictor_68(self) -> dlib.shape_predictor:
        with self._lock:
            if self._predictor is None:
                self._predictor = dlib.shape_predictor(
                    face_recognition_models.pose_predictor_model_location()
                )
            return self._predictor

    def pose_and_quality(self, image_bgr: np.ndarray, det: Detection) -> tuple[Pose, Quality]:
        """Cheap attributes from the detector's 5 landmarks and the face pixels (no 68-point model)."""
        points, nose_base = self.pose_landmarks(image_bgr, det)
        return estimate_pose(points, nose_base), estimate_quality(image_bgr, det)

    def pose_landmarks(self, image_bgr: np.ndarray, det: Detection) -> tuple[np.ndarray, np.ndarray]:
        """The 5 pose points (eye centres from dlib's 5-point model, nose tip and mouth from CenterFace)
        and dlib's nose-base point.

        CenterFace's eye points move by up to 5° when the image is rotated; the mean of dlib's two
        corners per eye follows the rotation to within about 2°, which makes roll (and yaw) stable.
        """
        image = dlib_image(image_bgr)
        with self._lock:
            shape = self._predictor5(image, detection_rectangle(det))
        corners = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
        eyes = sorted((corners[0:2].mean(axis=0), corners[2:4].mean(axis=0)), key=lambda e: float(e[0]))
        points = np.array(det.landmarks, dtype=np.float32).copy()
        points[0], points[1] = eyes[0], eyes[1]
        return points, corners[4]

    def landmarks_68(self, image_bgr: np.ndarray, det: Detection) -> np.ndarray:
        """The 68 dlib landmarks (68, 2) float32 in pixel coordinates."""
        predictor = self._predictor_68()
        image = dlib_image(image_bgr)
        with self._lock:
            shape = predictor(image, detection_rectangle(det))
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)

    def analyze(self, image_bgr: np.ndarray, det: Detection) -> FaceAttributes:
        """Pose, quality, Rekognition-named landmarks and eyes/mouth open from eye/mouth aspect ratios."""
        pose, quality = self.pose_and_quality(image_bgr, det)
        points = self.landmarks_68(image_bgr, det)
        landmarks = {
            name: (float(points[list(idx), 0].mean()), float(points[list(idx), 1].mean()))
            for name, idx in _LANDMARKS_68.items()
        }
        # The detector's own 5 points stay authoritative for the 5 basic names, which pose also uses.
        for name, (x, y) in zip(
            ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"), det.landmarks, strict=True
        ):
            landmarks[name] = (float(x), float(y))
        ear = (
            _aspect_ratio(points, ((37, 41), (38, 40)), (36, 39))
            + _aspect_ratio(points, ((43, 47), (44, 46)), (42, 45))
        ) / 2.0
        mar = _aspect_ratio(points, ((61, 67), (62, 66), (63, 65)), (60, 64))
        return FaceAttributes(
            pose=pose,
            quality=quality,
            landmarks=landmarks,
            eyes_open=_binary(ear, _EAR_THRESHOLD, _EAR_SCALE),
            mouth_open=_binary(mar, _MAR_THRESHOLD, _MAR_SCALE),
        )
