"""SpareMatcher backed by a faces collection (the people enrolled there are spared)."""

from __future__ import annotations

import numpy as np

from videolens.services.faces.service import FacesService


class CollectionMatcher:
    """Best similarity of a descriptor against the faces of one collection of the faces service."""

    def __init__(self, faces: FacesService, collection_id: str) -> None:
        faces.describe_collection(collection_id)  # a missing collection fails before any video work
        self.faces = faces
        self.collection_id = collection_id

    def best_similarity(self, embedding: np.ndarray) -> float:
        matches = self.faces.search_embedding(self.collection_id, embedding, max_faces=1, threshold=0)
        return float(matches[0].similarity) if matches else 0.0
