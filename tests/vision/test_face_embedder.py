"""dlib descriptors on the real photos: same-person and different-person distances are separated."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import face_recognition_models
import numpy as np
import pytest

from videolens.vision.dlib_resnet_onnx import DlibModelFormatError, build_onnx_model
from videolens.vision.embedder import FaceEmbedder
from videolens.vision.similarity import DEFAULT_MATCH_THRESHOLD, similarity_from_distance

GAP = 0.56


def pair_distances(labelled_faces):  # type: ignore[no-untyped-def]
    same, different = [], []
    known = [f for f in labelled_faces if f.person is not None]
    for a, b in itertools.combinations(known, 2):
        distance = float(np.linalg.norm(a.descriptor - b.descriptor))
        (same if a.person == b.person else different).append(distance)
    return same, different


def test_descriptor_shape_and_type(embedder, detector, load_photo) -> None:
    image = load_photo("_test/obama_and_biden.jpg")
    detections = detector.detect(image)
    descriptors = embedder.embed(image, detections)
    assert descriptors.shape == (3, 128) and descriptors.dtype == np.float32
    assert np.all(np.isfinite(descriptors))
    assert embedder.embed(image, []).shape == (0, 128)
    # Same input, same output: no jittering or other randomness.
    np.testing.assert_array_equal(embedder.embed(image, detections[:1]), descriptors[:1])


def test_same_person_pairs_are_closer_than_the_gap_and_different_person_pairs_farther(labelled_faces) -> None:
    same, different = pair_distances(labelled_faces)
    # 10 enrolment photos + 7 known probe faces: 23 same-person and 113 different-person pairs.
    assert (len(same), len(different)) == (23, 113)
    assert min(same) > 0.30 and max(same) < GAP < min(different) and max(different) < 1.2
    assert all(similarity_from_distance(d) >= DEFAULT_MATCH_THRESHOLD for d in same)
    assert all(similarity_from_distance(d) < DEFAULT_MATCH_THRESHOLD for d in different)


def test_people_not_enrolled_match_nobody(labelled_faces, detector, embedder, load_photo) -> None:
    enrolled = np.stack([f.descriptor for f in labelled_faces if f.source.split("/")[0] != "_test"])
    strangers = [f.descriptor for f in labelled_faces if f.person is None]
    city = load_photo("_test/city.jpg")
    strangers.extend(embedder.embed(city, detector.detect(city)))
    assert len(strangers) == 2 + 17
    for descriptor in strangers:
        nearest = float(np.linalg.norm(enrolled - descriptor, axis=1).min())
        assert nearest > GAP
        assert similarity_from_distance(nearest) < DEFAULT_MATCH_THRESHOLD


def test_the_same_face_in_a_scaled_photo_stays_close(embedder, detector, load_photo) -> None:
    image = load_photo("rose_leslie/img1.jpg")
    smaller = cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    a = embedder.embed(image, detector.detect(image))[0]
    b = embedder.embed(smaller, detector.detect(smaller))[0]
    assert float(np.linalg.norm(a - b)) < 0.15


def test_concurrent_embedding_is_safe_and_identical(embedder, detector, load_photo) -> None:
    image = load_photo("_test/kit_with_rose.jpg")
    detections = detector.detect(image)
    expected = embedder.embed(image, detections)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: embedder.embed(image, detections), range(3)))
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_onnx_port_gives_dlibs_descriptors(embedder, detector, load_photo) -> None:
    assert embedder.backend == "onnx"
    reference = FaceEmbedder(backend="dlib")
    chips = []
    for relative in ("_test/obama_and_biden.jpg", "_test/kit_with_rose.jpg", "biden/biden2.jpg"):
        image = load_photo(relative)
        chips.extend(embedder.chips(image, detector.detect(image)))
    assert len(chips) == 6
    ours = embedder.embed_chips(chips)
    theirs = reference.embed_chips(chips)
    assert np.abs(ours - theirs).max() < 1e-4
    # Batched and one-at-a-time runs agree too.
    single = np.concatenate([embedder.embed_chips([chip]) for chip in chips])
    assert np.abs(single - ours).max() < 1e-5


def test_the_port_refuses_a_file_that_is_not_dlibs_network(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.dat"
    bogus.write_bytes(b"\x01\x01" + b"not a network" * 100)
    with pytest.raises(DlibModelFormatError):
        build_onnx_model(bogus)
    # The 5-point shape predictor is a dlib file too, but not a network.
    with pytest.raises(DlibModelFormatError):
        build_onnx_model(face_recognition_models.pose_predictor_five_point_model_location())
