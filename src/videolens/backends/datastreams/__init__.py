"""Shard-log backends of the data streams capability (embedded segment files, Redis Streams)."""
