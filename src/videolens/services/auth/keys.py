"""Access keys for SigV4: create / list / delete, and the secret lookup the verifier needs.

SigV4 is an HMAC keyed by the secret itself, so the server must be able to recover the secret: a
one-way hash (like a password) cannot work. Secrets are therefore stored encrypted at rest with
AES-256-GCM under a server master key kept in `<data_dir>/master.key` (created 0600 on first use),
and the access key id in clear. A database dump alone does not reveal any secret.
"""

from __future__ import annotations

import os
import re
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.auth import AccessKeyRow
from videolens.runtime.settings import Settings
from videolens.services.auth.models import Role
from videolens.services.errors import (
    AlreadyExistsError,
    ConfigurationError,
    InvalidParameterError,
    NotFoundError,
)

_KEY_ID_RE = re.compile(r"^[A-Z0-9]{16,128}$")
_ID_ALPHABET = string.ascii_uppercase + string.digits
MASTER_KEY_FILE = "master.key"


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    description: str
    created_at: datetime
    role: Role = Role.ADMIN


@dataclass(frozen=True)
class NewAccessKey:
    access_key_id: str
    secret_access_key: str
    description: str
    created_at: datetime
    role: Role = Role.ADMIN


def load_master_key(data_dir: Path) -> bytes:
    """The 32-byte master key; created atomically with mode 0600 on first use."""
    path = data_dir / MASTER_KEY_FILE
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        fresh = AESGCM.generate_key(bit_length=256)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return load_master_key(data_dir)
        with os.fdopen(fd, "wb") as f:
            f.write(fresh)
        return fresh
    if len(key) != 32:
        raise ConfigurationError(f"{path} is not a 32-byte key")
    return key


class KeysService:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._aead = AESGCM(load_master_key(settings.data_dir))

    def _seal(self, access_key_id: str, secret: str) -> bytes:
        nonce = os.urandom(12)
        # the key id is bound as associated data: a ciphertext cannot be moved to another key id
        return nonce + self._aead.encrypt(nonce, secret.encode(), access_key_id.encode())

    def _open(self, access_key_id: str, blob: bytes) -> str | None:
        try:
            return self._aead.decrypt(blob[:12], blob[12:], access_key_id.encode()).decode()
        except InvalidTag:
            return None

    def create(
        self,
        description: str = "",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        role: Role = Role.ADMIN,
    ) -> NewAccessKey:
        """A new key pair (generated unless given, e.g. to keep the keys existing clients use)."""
        key_id = access_key_id or "VL" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(18))
        if not _KEY_ID_RE.match(key_id):
            raise InvalidParameterError("access key ids are 16-128 characters of A-Z and 0-9")
        secret = secret_access_key or secrets.token_urlsafe(30)[:40]
        if len(secret) < 16:
            raise InvalidParameterError("secret access keys must be at least 16 characters")
        now = datetime.now(UTC)
        with self.db.session() as s:
            if s.get(AccessKeyRow, key_id) is not None:
                raise AlreadyExistsError(f"access key {key_id} already exists")
            s.add(
                AccessKeyRow(
                    access_key_id=key_id,
                    secret_encrypted=self._seal(key_id, secret),
                    description=description[:255],
                    created_at=now,
                    role=role.value,
                )
            )
        return NewAccessKey(key_id, secret, description, now, role)

    def list(self) -> list[AccessKey]:
        with self.db.session() as s:
            rows = s.scalars(select(AccessKeyRow).order_by(AccessKeyRow.created_at)).all()
            return [AccessKey(r.access_key_id, r.description, r.created_at, Role(r.role)) for r in rows]

    def delete(self, access_key_id: str) -> None:
        with self.db.session() as s:
            row = s.get(AccessKeyRow, access_key_id)
            if row is None:
                raise NotFoundError(f"access key {access_key_id} does not exist")
            s.delete(row)

    def secret_for(self, access_key_id: str) -> str | None:
        """The secret of a key, or None for unknown keys (or a secret sealed by another master key)."""
        found = self.lookup(access_key_id)
        return found[0] if found is not None else None

    def lookup(self, access_key_id: str) -> tuple[str, Role] | None:
        """The secret and role of a key, or None for unknown keys (or a secret sealed elsewhere)."""
        with self.db.session() as s:
            row = s.get(AccessKeyRow, access_key_id)
            if row is None:
                return None
            blob, role = row.secret_encrypted, Role(row.role)
        secret = self._open(access_key_id, blob)
        return (secret, role) if secret is not None else None

    def role_of(self, access_key_id: str) -> Role | None:
        with self.db.session() as s:
            row = s.get(AccessKeyRow, access_key_id)
            return Role(row.role) if row is not None else None
