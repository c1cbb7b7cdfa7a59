"""Table modules, one per capability; importing this package registers them all on Base.metadata."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
