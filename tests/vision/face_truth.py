"""Ground truth of the face photos in shared/media/faces, labelled by looking at them."""

from __future__ import annotations

PEOPLE = ("alex_lacamoire", "biden", "kit_harington", "obama", "rose_leslie")

# The known faces of the probe photos, left to right in the image (None = a person not enrolled).
TEST_PHOTO_PEOPLE: dict[str, tuple[str | None, ...]] = {
    "obama1.jpg": ("obama",),
    "alex_lacamoire1.jpg": ("alex_lacamoire",),
    "johnsnow_test1.jpg": ("kit_harington",),
    "kit_with_rose.jpg": ("rose_leslie", "kit_harington"),
    "obama_and_biden.jpg": ("biden", "obama", None),
    "messi5.jpg": (None,),
}
