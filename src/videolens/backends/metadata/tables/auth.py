"""Tables of the auth capability: SigV4 access keys (secret encrypted at rest) and API tokens (hashed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from videolens.backends.metadata.base import Base


class AccessKeyRow(Base):
    __tablename__ = "access_keys"

    access_key_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    #: the secret, AES-GCM encrypted with the server master key (nonce || ciphertext+tag)
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: admin | operator | viewer (keys made before roles existed are admin)
    role: Mapped[str] = mapped_column(String(16), default="admin")


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(16))
    #: hex SHA-256 of the whole token string; the token itself is never stored
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
