"""The composition root: builds the backends and services of one process from one Settings object.

It sits above services/, beside the front doors (api/, cli/), which receive a `Container`. Job types
are registered here, one line each, from the capability that owns them.
"""

from __future__ import annotations

import logging
from typing import Protocol

from videolens.backends.blobs.factory import open_blob_store
from videolens.backends.datastreams.factory import open_shard_log
from videolens.backends.leases import SqlLeaseStore, named_lease_table
from videolens.backends.metadata.database import Database
from videolens.backends.notify.factory import open_notifier
from videolens.backends.notify.wake import ClusterWake
from videolens.runtime.periodic import PeriodicTask
from videolens.runtime.settings import Settings
from videolens.services.analyzers.job import ModelAnalysisJob
from videolens.services.analyzers.service import AnalyzersService
from videolens.services.anonymize.job import AnonymizeJob
from videolens.services.anonymize.service import AnonymizeJobs, AnonymizeService
from videolens.services.anonymize.upload_sweeper import sweep_uploads
from videolens.services.auth.keys import KeysService
from videolens.services.auth.service import AuthService
from videolens.services.channels.service import ChannelsService
from videolens.services.datastreams.service import DataStreamsService
from videolens.services.events.dispatcher import DeliveryDispatcher
from videolens.services.events.service import EventsService
from videolens.services.faces.service import FacesService
from videolens.services.jobs.service import JobsService
from videolens.services.jobs.workers import JobWorkers
from videolens.services.live.connected_home import ConnectedHomeKind
from videolens.services.live.engine import LiveEngine
from videolens.services.live.face_search import FaceSearchKind
from videolens.services.live.service import ProcessorsService
from videolens.services.models.service import ModelsService
from videolens.services.rules.service import RulesService
from videolens.services.sightings.service import SightingsService
from videolens.services.storage.service import StorageService
from videolens.services.streams.service import StreamsService
from videolens.services.telemetry import Telemetry
from videolens.services.video_analysis.jobs import FaceDetectionJob, FaceSearchJob
from videolens.vision.models import ModelRegistry

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
        self.blobs = open_blob_store(
            settings.blob_url,
            settings.blob_dir,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region or settings.region,
            max_attempts=settings.s3_max_attempts,
            timeout_s=settings.s3_timeout_seconds,
        )
        # tests and multi-container processes share one registry so models load once
        self.models = models or ModelRegistry(settings)
        self.faces = FacesService(settings, self.db, self.models, self.blobs)
        self.storage = StorageService(settings, self.db, self.blobs)
        self.keys = KeysService(settings, self.db)
        self.auth = AuthService(settings, self.db, self.keys)
        self.background: list[BackgroundTask] = []
        # capability services wired below (each engineer adds theirs)
        self.streams = StreamsService(settings, self.db, self.blobs)
        self.background.append(PeriodicTask("streams-retention", 60.0, self.streams.sweep, what="fragments"))
        self.background.append(self.streams.pulls)
        # jobs + events (topics, webhooks, MQTT) + bucket rules
        self.events = EventsService(settings, self.db)
        # one anonymize service for the jobs workers (and anyone else): its models load once
        self.anonymizer = AnonymizeService(embedder_factory=lambda: self.models.embedder)
        self.jobs = JobsService(settings, self.db, self.storage, self.events)
        # job types: one registration line each (services/jobs/registry.py)
        self.jobs.types.register(FaceDetectionJob(settings, self.storage, self.faces, self.models))
        # sightings: face tracks of search jobs (and stream processors) kept and searchable
        self.sightings = SightingsService(
            self.db,
            self.faces,
            settings.sightings_video_retention_days,
            streams=self.streams,
            storage=self.storage,
        )
        self.storage.on_object_deleted.append(self.sightings.object_deleted)
        self.background.append(
            PeriodicTask(
                "sightings-retention",
                settings.sightings_sweep_seconds,
                self.sightings.sweep,
                what="sightings",
            )
        )
        self.jobs.types.register(
            FaceSearchJob(settings, self.storage, self.faces, self.models, self.sightings)
        )
        self.jobs.types.register(AnonymizeJob(self.anonymizer, self.storage, self.faces))
        #: anonymization's job API for the front doors (submit, upload, download)
        self.anonymize = AnonymizeJobs(self.jobs, self.storage)
        self.rules = RulesService(self.db, self.jobs, self.storage, self.events)
        self.storage.on_object_created.append(self.rules.on_object_created)
        self.background.append(DeliveryDispatcher(settings, self.db, self.events))
        self.background.append(JobWorkers(settings, self.jobs))
        # data streams: records in the shard log (segment files | Redis), metadata in SQL
        self.datastream_log = open_shard_log(
            settings.datastreams_url, settings.data_dir, segment_bytes=settings.datastreams_segment_bytes
        )
        self.datastreams = DataStreamsService(settings, self.db, self.datastream_log)
        self.background.append(
            PeriodicTask("datastreams-retention", 60.0, self.datastreams.trim_expired, what="records")
        )
        self.background.append(
            PeriodicTask(
                "uploads-sweeper",
                settings.upload_sweep_seconds,
                lambda: sweep_uploads(self.jobs, self.storage, settings.upload_grace_seconds),
                what="objects",
            )
        )
        # models (bring your own) + the /metrics exposition
        self.models_service = ModelsService(
            settings, self.db, self.blobs, self.faces, face_detector=lambda: self.models.detector
        )
        self.background.append(self.models_service)
        self.telemetry = Telemetry(self.db)
        # live analysis: stream processors (kinds register here), run by the engine under named leases
        leases = SqlLeaseStore(self.db, named_lease_table(), lease_seconds=settings.processor_lease_seconds)
        self.processors = ProcessorsService(settings, self.db, self.streams, leases)
        self.processors.kinds.register(
            FaceSearchKind(settings, self.faces, self.models, self.datastreams, self.sightings)
        )
        self.processors.kinds.register(ConnectedHomeKind(self.storage, self.events))
        self.live = LiveEngine(settings, self.processors, self.streams, self.datastreams, leases)
        self.background.append(self.live)
        # analyzers: a registered model on live streams, one (analyzer, stream) unit per lease, on a
        # second engine over the analyzers' units (its own slots; the processors' lease time and poll)
        self.analyzers = AnalyzersService(
            settings, self.db, self.streams, self.datastreams, self.models_service, leases
        )
        self.analyzer_engine = LiveEngine(
            settings.model_copy(update={"processor_slots": settings.analyzer_slots}),
            self.analyzers.units,
            self.streams,
            self.datastreams,
            leases,
            heartbeat=False,
        )
        self.background.append(self.analyzer_engine)
        self.jobs.types.register(ModelAnalysisJob(self.storage, self.models_service, self.datastreams))
        # live channels (MediaLive)
        self.channels = ChannelsService(
            settings, self.db, self.storage, self.streams, self.anonymizer, self.faces
        )
        # the RTMP door and the runner supervisor (one runner per running channel in the cluster, under
        # a lease) live with the HTTP nodes (started by the API's lifespan, never by worker processes)
        self.ingest_tasks: list[BackgroundTask] = [self.channels]
        self._wire_notifications()

    def _wire_notifications(self) -> None:
        """Changes on one node wake the readers and workers of every node (Redis pub/sub when
        VIDEOLENS_REDIS_URL is set; in-process otherwise). Receivers re-read the metadata store."""
        self.notifier = open_notifier(self.settings.redis_url)
        notifier = self.notifier
        self.streams.on_change.append(lambda: notifier.publish("streams"))
        notifier.subscribe("streams", lambda _payload: self.streams.wake_readers())
        # new jobs wake the job workers, new outbox rows the event dispatchers, on every node
        self.jobs.wake = ClusterWake(notifier, "jobs")
        self.events.wake = ClusterWake(notifier, "events")
        # a Start or Stop on any node makes every node's channel supervisor act at once
        self.channels.supervisor.wake = ClusterWake(notifier, "channels")

    def start_background(self) -> None:
        for task in self.background:
            task.start()

    def start_ingest(self) -> None:
        for task in self.ingest_tasks:
            task.start()

    def stop_ingest(self) -> None:
        for task in reversed(self.ingest_tasks):
            try:
                task.stop()
            except Exception:  # one failing stop must not keep the others running
                log.exception("ingest task failed to stop")

    def stop_background(self) -> None:
        for task in reversed(self.background):
            try:
                task.stop()
            except Exception:  # one failing stop must not keep the others running
                log.exception("background task failed to stop")

    def close(self) -> None:
        self.stop_background()
        self.stop_ingest()
        self.datastream_log.close()
        self.notifier.close()
        self.db.dispose()
