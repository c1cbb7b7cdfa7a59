"""The streams capability: KVS-compatible ingest (PutMedia, pulls), the fragment archive and its readers."""
