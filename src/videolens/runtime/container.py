"""Process wiring: builds the backends and services from one Settings object (no globals)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from videolens.backends.blobs.filesystem import FilesystemBlobStore
from videolens.backends.metadata.database import Database
from videolens.runtime.models import ModelRegistry
from videolens.runtime.settings import Settings
from videolens.services.auth.keys import KeysService
from videolens.services.faces.service import FacesService
from videolens.services.storage.service import StorageService

log = logging.getLogger(__name__)


class BackgroundTask(Protocol):
    """Something that runs beside the API (job workers, retention sweeper, pull sources)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class Container:
    """Everything one process needs, built from settings; passed to the API, CLI and workers."""

    def __init__(
        self, settings: Settings, *, migrate: bool = True, models: ModelRegistry | None = None
    ) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.database_url_resolved)
        if migrate:
            self.db.migrate()
        self.blobs = FilesystemBlobStore(settings.blob_dir)
        # tests and multi-container processes share one registry so models load once
        self.models = models or ModelRegistry(settings)
        self.faces = FacesService(settings, self.db, self.models)
        self.storage = StorageService(settings, self.db, self.blobs)
        self.keys = KeysService(settings, self.db)
        self.background: list[BackgroundTask] = []
        # capability services wired below (each engineer adds theirs)
        self.extras: dict[str, Any] = {}

    def start_background(self) -> None:
        for task in self.background:
            task.start()

    def stop_background(self) -> None:
        for task in reversed(self.background):
            try:
                task.stop()
            except Exception:  # one failing stop must not keep the others running
                log.exception("background task failed to stop")

    def close(self) -> None:
        self.stop_background()
        self.db.dispose()
