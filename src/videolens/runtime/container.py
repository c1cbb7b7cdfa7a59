"""Process wiring: builds the backends and services from one Settings object (no globals)."""

from __future__ import annotations

import logging
from typing import Protocol

from videolens.backends.blobs.filesystem import FilesystemBlobStore
from videolens.backends.metadata.database import Database
from videolens.runtime.models import ModelRegistry
from videolens.runtime.settings import Settings
from videolens.services.anonymize.service import AnonymizeService
from videolens.services.auth.keys import KeysService
from videolens.services.auth.service import AuthService
from videolens.services.events.dispatcher import DeliveryDispatcher
from videolens.services.events.service import EventsService
from videolens.services.faces.service import FacesService
from videolens.services.jobs.service import JobsService
from videolens.services.jobs.workers import JobWorkers
from videolens.services.rules.service import RulesService
from videolens.services.storage.service import StorageService
from videolens.services.streams.retention import RetentionSweeper
from videolens.services.streams.service import StreamsService

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
        self.auth = AuthService(settings, self.db, self.keys)
        self.background: list[BackgroundTask] = []
        # capability services wired below (each engineer adds theirs)
        self.streams = StreamsService(settings, self.db, self.blobs)
        self.background.append(RetentionSweeper(self.streams))
        self.background.append(self.streams.pulls)
        # jobs + events (topics, webhooks, MQTT) + bucket rules
        self.events = EventsService(settings, self.db)
        # one anonymize service for the jobs workers (and anyone else): its models load once
        self.anonymizer = AnonymizeService(embedder_factory=lambda: self.models.embedder)
        self.jobs = JobsService(settings, self.db, self.storage, self.faces, self.events)
        self.rules = RulesService(self.db, self.jobs, self.storage, self.events)
        self.storage.on_object_created.append(self.rules.on_object_created)
        self.background.append(DeliveryDispatcher(settings, self.db, self.events))
        self.background.append(JobWorkers(settings, self.jobs, self.models, self.anonymizer))

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
