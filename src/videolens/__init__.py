"""videolens: self-hosted video analytics (faces, streams, jobs, anonymization), AWS-wire-compatible."""

__version__ = "0.1.0"

from videolens.anonymize import anonymize  # noqa: E402  (the package's Python entry point)

__all__ = ["__version__", "anonymize"]
