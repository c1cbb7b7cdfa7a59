"""ModelsService: the registry of models (metadata rows + ONNX files in the blob store) and one invoke path.

Guarantees:
- Registration checks the model first (the kind loads it or asks its server), then writes the file
  (under a key that includes the new version) and only then the row: a crash in between leaves an
  orphan blob, never a row without its file. Delete removes the row, then the file.
- `invoke` is thread-safe; each model has its own concurrency limit (`max_concurrency` slots in this
  process); a call waits at most `queue_timeout_s` for a slot, then fails with model-unavailable.
  `submit` (a Future) and `ainvoke` (asyncio) run calls on a shared pool, for many frames in flight.
- A loaded model is re-checked against its row at most every REVALIDATE_S seconds, so a model
  deleted or re-registered by another process is noticed within that time.
- Every invocation is counted in runtime/metrics.py: count, errors by code, latency, in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from videolens.backends.blobs.base import BlobNotFoundError, BlobStore
from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.models import ModelRow
from videolens.runtime import metrics
from videolens.runtime.settings import Settings
from videolens.services.errors import (
    AlreadyExistsError,
    InvalidParameterError,
    PayloadTooLargeError,
    VideolensError,
)
from videolens.services.models import builtin_kind, http_kind, kserve_kind, onnx_kind  # noqa: F401 (registration)
from videolens.services.models.errors import ModelError, ModelNotFoundError, ModelUnavailableError
from videolens.services.models.kinds import Invoker, KindContext, kind, parse_config
from videolens.services.models.models import ModelAnswer, ModelInfo, ModelInput, check_name, public_config
from videolens.services.pagination import decode_token, encode_token

if TYPE_CHECKING:
    from videolens.services.faces.service import FacesService
    from videolens.vision.detector import FaceDetector

log = logging.getLogger(__name__)

REVALIDATE_S = 2.0
_PAGE = 100


@dataclass
class _Loaded:
    version: str
    kind: str
    invoker: Invoker
    slots: threading.BoundedSemaphore
    queue_timeout_s: float
    checked_at: float = field(default_factory=time.monotonic)


class ModelsService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        blobs: BlobStore,
        faces: FacesService | None = None,
        face_detector: Callable[[], FaceDetector] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.blobs = blobs
        self.ctx = KindContext(settings=settings, faces=faces, face_detector=face_detector)
        self._loaded: dict[str, _Loaded] = {}
        self._load_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # ---------------------------------------------------------------- registry
    def create(
        self, name: str, kind_key: str, config: dict[str, Any], file: bytes | None = None
    ) -> ModelInfo:
        check_name(name)
        model_kind = kind(kind_key)
        if not isinstance(config, dict):
            raise InvalidParameterError("the model config must be a JSON object")
        if model_kind.takes_file and not file:
            raise InvalidParameterError(f"a {kind_key} model needs its file (multipart field 'file')")
        if file and not model_kind.takes_file:
            raise InvalidParameterError(f"a {kind_key} model takes no file")
        if file and len(file) > self.settings.model_max_file_bytes:
            raise PayloadTooLargeError(f"model file over {self.settings.model_max_file_bytes} bytes")
        with self.db.session() as s:
            if s.get(ModelRow, name) is not None:
                raise AlreadyExistsError(f"model {name} already exists")
        parsed = parse_config(model_kind, config)
        stored = model_kind.prepare(name, parsed, file, self.ctx)
        version = str(uuid.uuid4())
        blob_key = f"models/{name}/{version}.bin" if file else None
        if blob_key is not None and file is not None:
            self.blobs.put_bytes(blob_key, file)
        row = ModelRow(
            name=name,
            kind=kind_key,
            config=parsed.model_dump(mode="json"),
            stored=stored,
            blob_key=blob_key,
            file_size=len(file) if file else None,
            file_sha256=hashlib.sha256(file).hexdigest() if file else None,
            version=version,
            created_at=datetime.now(UTC),
        )
        try:
            with self.db.session() as s:
                if s.get(ModelRow, name) is not None:  # registered meanwhile by someone else
                    raise AlreadyExistsError(f"model {name} already exists")
                s.add(row)
        except BaseException:
            if blob_key is not None:
                self._delete_blob(blob_key)
            raise
        log.info("model %s registered (kind %s)", name, kind_key)
        return _info(row)

    def get(self, name: str) -> ModelInfo:
        with self.db.session() as s:
            return _info(self._row(s, name))

    def list(
        self, max_results: int | None = None, next_token: str | None = None
    ) -> tuple[list[ModelInfo], str | None]:
        limit = max(1, min(int(max_results or _PAGE), 1000))
        after = decode_token("models", next_token)["after"] if next_token else None
        with self.db.session() as s:
            query = select(ModelRow).order_by(ModelRow.name).limit(limit + 1)
            if after is not None:
                query = query.where(ModelRow.name > after)
            rows = list(s.scalars(query))
        page = [_info(r) for r in rows[:limit]]
        token = encode_token("models", {"after": page[-1].name}) if len(rows) > limit else None
        return page, token

    def delete(self, name: str) -> None:
        with self.db.session() as s:
            row = self._row(s, name)
            blob_key = row.blob_key
            s.delete(row)
        if blob_key is not None:
            self._delete_blob(blob_key)
        self._unload(name)
        log.info("model %s deleted", name)

    # ---------------------------------------------------------------- invocation
    def invoke(self, name: str, inp: ModelInput, accept: str | None = None) -> ModelAnswer:
        """Run the model on one image; typed errors only (ModelNotFound, InvalidImage, Model*)."""
        loaded = self._resolve(name)
        labels = (name, loaded.kind)
        metrics.MODEL_INVOCATIONS.labels(*labels).inc()
        started = time.perf_counter()
        try:
            if not loaded.slots.acquire(timeout=loaded.queue_timeout_s):
                raise ModelUnavailableError(
                    f"model {name}: every concurrency slot stayed busy for {loaded.queue_timeout_s:g} s"
                )
            metrics.MODEL_IN_FLIGHT.labels(name).inc()
            try:
                answer = loaded.invoker.invoke(inp, accept)
            finally:
                metrics.MODEL_IN_FLIGHT.labels(name).dec()
                loaded.slots.release()
        except VideolensError as exc:
            metrics.MODEL_ERRORS.labels(*labels, exc.code).inc()
            raise
        except Exception as exc:  # a bug or a runtime failure inside the model: the caller gets a ModelError
            log.exception("model %s failed", name)
            metrics.MODEL_ERRORS.labels(*labels, ModelError.code).inc()
            raise ModelError(f"model {name} failed: {type(exc).__name__}: {exc}") from exc
        metrics.MODEL_LATENCY.labels(*labels).observe(time.perf_counter() - started)
        return answer

    def submit(self, name: str, inp: ModelInput, accept: str | None = None) -> Future[ModelAnswer]:
        """`invoke` on the shared pool; the Future raises what invoke raises."""
        return self._executor().submit(self.invoke, name, inp, accept)

    async def ainvoke(self, name: str, inp: ModelInput, accept: str | None = None) -> ModelAnswer:
        return await asyncio.wrap_future(self.submit(name, inp, accept))

    # ---------------------------------------------------------------- lifecycle (a background task)
    def start(self) -> None:
        return None

    def stop(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        for name in list(self._loaded):
            self._unload(name)

    # ---------------------------------------------------------------- internals
    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.settings.model_invoke_threads, thread_name_prefix="model"
                )
            return self._pool

    def _row(self, s: Any, name: str) -> ModelRow:
        row = s.get(ModelRow, name) if isinstance(name, str) and len(name) <= 63 else None
        if row is None:
            raise ModelNotFoundError(f"model {name} not found")
        return row

    def _resolve(self, name: str) -> _Loaded:
        loaded = self._loaded.get(name)
        now = time.monotonic()
        if loaded is not None and now - loaded.checked_at < REVALIDATE_S:
            return loaded
        with self._load_lock:
            loaded = self._loaded.get(name)
            with self.db.session() as s:
                row = s.get(ModelRow, name) if len(name) <= 63 else None
                if row is not None:
                    s.expunge(row)
            if row is None:
                self._unload_locked(name)
                raise ModelNotFoundError(f"model {name} not found")
            if loaded is not None and loaded.version == row.version:
                loaded.checked_at = now
                return loaded
            self._unload_locked(name)
            loaded = self._load(row)
            self._loaded[name] = loaded
            return loaded

    def _load(self, row: ModelRow) -> _Loaded:
        model_kind = kind(row.kind)
        config = parse_config(model_kind, row.config)
        file: bytes | None = None
        if row.blob_key is not None:
            try:
                with self.blobs.open(row.blob_key) as f:
                    file = f.read()
            except BlobNotFoundError as exc:
                raise ModelError(f"the file of model {row.name} is missing from the blob store") from exc
        invoker = model_kind.load(row.name, config, row.stored or {}, file, self.ctx)
        return _Loaded(
            version=row.version,
            kind=row.kind,
            invoker=invoker,
            slots=threading.BoundedSemaphore(config.max_concurrency),
            queue_timeout_s=config.queue_timeout_s,
        )

    def _unload(self, name: str) -> None:
        with self._load_lock:
            self._unload_locked(name)

    def _unload_locked(self, name: str) -> None:
        loaded = self._loaded.pop(name, None)
        if loaded is not None:
            try:
                loaded.invoker.close()
            except Exception:  # closing must never fail the caller
                log.exception("closing model %s failed", name)

    def _delete_blob(self, key: str) -> None:
        with contextlib.suppress(BlobNotFoundError):
            self.blobs.delete(key)


def _info(row: ModelRow) -> ModelInfo:
    return ModelInfo(
        name=row.name,
        kind=row.kind,
        config=public_config(row.config),
        created_at=row.created_at,
        version=row.version,
        details=dict(row.stored or {}),
        file_size=row.file_size,
        file_sha256=row.file_sha256,
    )
