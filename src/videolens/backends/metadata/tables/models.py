"""Table of the models capability: one row per registered model (its kind, config and stored file)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from videolens.backends.metadata.base import Base


class ModelRow(Base):
    __tablename__ = "models"

    #: SageMaker EndpointName rules (1-63 chars, [a-zA-Z0-9](-*[a-zA-Z0-9])*): InvokeEndpoint reaches it
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    #: the kind's validated config as the user gave it
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: what the kind learnt at registration (remote input names, output shapes, providers)
    stored: Mapped[dict[str, Any]] = mapped_column(JSON)
    blob_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    file_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    file_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: new per registration: a process holding a loaded model reloads it when this changes
    version: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
