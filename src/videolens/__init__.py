"""videolens: self-hosted video analytics (faces, streams, jobs, anonymization), AWS-wire-compatible."""

__version__ = "0.1.0"
