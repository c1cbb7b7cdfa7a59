"""Issue 2, must-show 1: enrolled people are recognised at >= 80, strangers get no match."""

from __future__ import annotations

from pathlib import Path

from videolens.container import Container


def recognise(c: Container, photo: Path) -> list[tuple[float, str | None, float]]:
    """(box left, best match external id or None, similarity) per face, left to right."""
    faces = c.faces.recognize_faces("people", photo.read_bytes(), max_matches=1)
    out = []
    for rf in faces:
        best = rf.matches[0] if rf.matches else None
        out.append(
            (
                rf.face.bounding_box.left,
                best.face.external_image_id if best else None,
                best.similarity if best else 0.0,
            )
        )
    return sorted(out)


def test_single_person_probes_are_recognised(enrolled: Container, faces_dir: Path) -> None:
    for name, person in [
        ("obama1.jpg", "obama"),
        ("alex_lacamoire1.jpg", "alex_lacamoire"),
        ("johnsnow_test1.jpg", "kit_harington"),
    ]:
        faces = recognise(enrolled, faces_dir / "_test" / name)
        assert len(faces) == 1, name
        assert faces[0][1] == person, (name, faces)
        assert faces[0][2] >= 80.0


def test_kit_with_rose_both_recognised(enrolled: Container, faces_dir: Path) -> None:
    faces = recognise(enrolled, faces_dir / "_test" / "kit_with_rose.jpg")
    assert {f[1] for f in faces} == {"kit_harington", "rose_leslie"}
    assert all(f[2] >= 80.0 for f in faces)


def test_obama_and_biden_third_face_unknown(enrolled: Container, faces_dir: Path) -> None:
    faces = recognise(enrolled, faces_dir / "_test" / "obama_and_biden.jpg")
    names = sorted(f[1] or "-" for f in faces)
    assert names == ["-", "biden", "obama"]
    assert all(f[2] >= 80.0 for f in faces if f[1])


def test_strangers_get_no_match(enrolled: Container, faces_dir: Path) -> None:
    for name in ("messi5.jpg", "city.jpg"):
        faces = recognise(enrolled, faces_dir / "_test" / name)
        assert faces, f"{name} has faces"
        assert [f[1] for f in faces] == [None] * len(faces), (name, faces)


def test_search_by_image_uses_largest_face(enrolled: Container, faces_dir: Path) -> None:
    result = enrolled.faces.search_faces_by_image(
        "people", (faces_dir / "_test" / "obama1.jpg").read_bytes(), max_faces=3, threshold=80
    )
    assert result.matches and {m.face.external_image_id for m in result.matches} == {"obama"}
    assert all(m.similarity >= 80 for m in result.matches)


def test_search_by_face_id_finds_the_same_person(enrolled: Container) -> None:
    faces, _ = enrolled.faces.list_faces("people", max_results=100)
    obama = [f for f in faces if f.external_image_id == "obama"]
    assert len(obama) == 3
    matches = enrolled.faces.search_faces("people", obama[0].face_id, max_faces=10)
    assert {m.face.face_id for m in matches} == {obama[1].face_id, obama[2].face_id}
    assert obama[0].face_id not in {m.face.face_id for m in matches}


def test_compare_faces(enrolled: Container, faces_dir: Path) -> None:
    src = (faces_dir / "obama" / "obama.jpg").read_bytes()
    tgt = (faces_dir / "_test" / "obama_and_biden.jpg").read_bytes()
    result = enrolled.faces.compare_faces(src, tgt, threshold=80)
    assert len(result.matches) == 1 and len(result.unmatched) == 2
    assert result.matches[0].similarity >= 80


def test_index_max_faces_and_quality_reasons(enrolled: Container, faces_dir: Path) -> None:
    enrolled.faces.create_collection("crowd")
    result = enrolled.faces.index_faces(
        "crowd",
        (faces_dir / "_test" / "obama_and_biden.jpg").read_bytes(),
        max_faces=1,
        quality_filter="NONE",
    )
    assert len(result.records) == 1
    assert [u.reasons for u in result.unindexed] == [["EXCEEDS_MAX_FACES"], ["EXCEEDS_MAX_FACES"]]
    # the indexed face is the largest one
    kept = result.records[0].detail.bounding_box
    assert all(
        kept.width * kept.height >= u.detail.bounding_box.width * u.detail.bounding_box.height
        for u in result.unindexed
    )
    city = enrolled.faces.index_faces(
        "crowd", (faces_dir / "_test" / "city.jpg").read_bytes(), quality_filter="HIGH"
    )
    assert city.unindexed and all("SMALL_BOUNDING_BOX" in u.reasons for u in city.unindexed if u.reasons)
    enrolled.faces.delete_collection("crowd")
