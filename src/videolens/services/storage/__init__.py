"""The storage capability: buckets of uploaded media (S3-compatible objects, multipart uploads)."""
