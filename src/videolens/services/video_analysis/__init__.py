"""Video analysis: job types that analyse a stored video (face detection, face search)."""
