"""A synthetic video for face-search jobs: known people pasted in known time ranges (exact ground truth).

Built with the anonymize tests' scene renderer (real face crops from `<media>/faces` on a panning
background). The sprites use other photos than the ones enrolled in the collection, so a match is a
real recognition, not a pixel copy. Obama leaves the picture and comes back (he must keep one Index);
Rose Leslie is not enrolled (she must have no match).
"""

from __future__ import annotations

from pathlib import Path

from tests.anonymize.synthetic import Actor, linear, load_sprite, render, square, write_video

WIDTH, HEIGHT, FPS, SECONDS = 480, 360, 15, 8.0

#: person → (start s, end s) intervals on screen
TRUTH: dict[str, list[tuple[float, float]]] = {
    "obama": [(0.0, 3.0), (5.0, 8.0)],
    "biden": [(1.0, 6.0)],
    "rose_leslie": [(2.0, 5.0)],
    "kit_harington": [(6.0, 8.0)],
}
#: photos enrolled in the collection (not the ones pasted into the video)
ENROLLED = {
    "obama": ["obama2.jpg", "obama3.jpg"],
    "biden": ["biden.jpg"],
    "kit_harington": ["john1.jpeg"],
}


def make_search_video(media_dir: Path, path: Path) -> Path:
    w, h = WIDTH, HEIGHT
    obama = load_sprite(media_dir, "obama", "obama.jpg")
    biden = load_sprite(media_dir, "biden", "biden2.jpg")
    rose = load_sprite(media_dir, "rose_leslie", "img2.jpg")
    kit = load_sprite(media_dir, "kit_harington", "john2.jpeg")
    actors = [
        Actor(
            obama, linear(square(w * 0.18, h * 0.5, 100), square(w * 0.22, h * 0.48, 100), 0.0, 3.0), 0.0, 3.0
        ),
        Actor(
            obama, linear(square(w * 0.20, h * 0.5, 104), square(w * 0.16, h * 0.52, 104), 5.0, 8.0), 5.0, 8.0
        ),
        Actor(
            biden, linear(square(w * 0.82, h * 0.5, 104), square(w * 0.78, h * 0.46, 104), 1.0, 6.0), 1.0, 6.0
        ),
        Actor(rose, linear(square(w * 0.5, h * 0.32, 96), square(w * 0.5, h * 0.36, 96), 2.0, 5.0), 2.0, 5.0),
        Actor(
            kit, linear(square(w * 0.52, h * 0.5, 104), square(w * 0.56, h * 0.5, 104), 6.0, 8.0), 6.0, 8.0
        ),
    ]
    # the renderer shows an actor while t0 <= t <= t1; end just before t1 so ranges are half-open
    scene = render("face_search", w, h, FPS, SECONDS, actors, seed=5)
    return write_video(path, scene)


def on_screen(person: str, t_ms: int) -> bool:
    return any(a * 1000 <= t_ms <= b * 1000 for a, b in TRUTH[person])


def clearly_on_screen(person: str, t_ms: int, margin_ms: int = 500) -> bool:
    """Inside one of the person's intervals by at least `margin_ms` on both sides."""
    return any(a * 1000 + margin_ms <= t_ms <= b * 1000 - margin_ms for a, b in TRUTH[person])
