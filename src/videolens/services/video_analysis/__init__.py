"""Video analysis: the one pipeline (frame source → sampler → models → tracker → sinks), its face-track
configuration and the job types that analyse a stored video (face detection, face search)."""
