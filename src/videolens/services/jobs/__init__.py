"""Stored-video analysis jobs: durable queue, workers, face detection / search and anonymization."""
