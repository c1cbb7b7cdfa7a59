"""Sparing in a channel: how close a face is to the spare collection (the faces capability's search)."""

from __future__ import annotations

import numpy as np

from videolens.services.faces.service import FacesService


class SpareMatcher:
    """The spare collection's best similarity for a face descriptor (faces' public search)."""

    def __init__(self, faces: FacesService, collection: str) -> None:
        faces.describe_collection(collection)
        self.faces, self.collection = faces, collection

    def best_similarity(self, embedding: np.ndarray) -> float:
        matches = self.faces.search_embedding(self.collection, embedding, max_faces=1, threshold=0)
        return float(matches[0].similarity) if matches else 0.0
