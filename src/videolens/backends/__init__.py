"""videolens package."""
