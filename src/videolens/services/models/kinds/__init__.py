"""Model kinds; importing this package registers each kind below with the registry in base.py."""

from videolens.services.models.kinds import builtin, http, kserve, onnx  # noqa: F401  (registration)
from videolens.services.models.kinds.base import kind, kind_names

__all__ = ["kind", "kind_names"]
