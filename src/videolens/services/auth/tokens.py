"""API tokens for the native door: `Authorization: Bearer vl_<id>_<secret>`.

A token is 12 characters of id (lowercase, never a secret: it names the token in lists and logs)
and 256 random bits of secret. Only the SHA-256 of the whole token string is stored: a token has
far too much entropy to be guessed from its hash, so a slow password hash buys nothing. The hash is
compared in constant time after the row is found by id. The token is returned once, at creation.
`last_used_at` is written at most once a minute per token, so busy clients do not turn every read
into a database write.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.auth import ApiTokenRow
from videolens.services.auth.models import Role
from videolens.services.errors import InvalidParameterError, NotFoundError

PREFIX = "vl_"
_ID_ALPHABET = string.ascii_lowercase + string.digits
_TOKEN_RE = re.compile(r"^vl_([a-z0-9]{12})_([A-Za-z0-9_\-]{20,128})$")
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class NewToken:
    token: str  # shown once
    info: TokenInfo


def token_id_of(presented: str) -> str | None:
    """The id part of something that looks like one of our tokens (safe to log), else None."""
    m = _TOKEN_RE.match(presented)
    return m.group(1) if m else None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands timezone-aware columns back naive; every time we store is UTC
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _info(row: ApiTokenRow) -> TokenInfo:
    created = _aware(row.created_at)
    assert created is not None
    return TokenInfo(
        row.token_id,
        row.name,
        Role(row.role),
        created,
        _aware(row.last_used_at),
        _aware(row.expires_at),
        _aware(row.revoked_at),
    )


#: longest lifetime a token may be given (a longer one is refused, not silently cut)
MAX_TOKEN_LIFETIME = timedelta(days=3650)


class TokenStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str, role: Role, expires_in: timedelta | None = None) -> NewToken:
        if expires_in is not None and expires_in <= timedelta(0):
            raise InvalidParameterError("a token's lifetime must be positive")
        if expires_in is not None and expires_in > MAX_TOKEN_LIFETIME:
            raise InvalidParameterError(f"a token's lifetime is at most {MAX_TOKEN_LIFETIME.days} days")
        token_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))
        token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        now = datetime.now(UTC)
        row = ApiTokenRow(
            token_id=token_id,
            name=name[:255],
            role=role.value,
            secret_hash=_hash(token),
            created_at=now,
            expires_at=now + expires_in if expires_in is not None else None,
        )
        with self.db.session() as s:
            s.add(row)
        return NewToken(token, _info(row))

    def list(self) -> list[TokenInfo]:
        with self.db.session() as s:
            rows = s.scalars(select(ApiTokenRow).order_by(ApiTokenRow.created_at)).all()
            return [_info(r) for r in rows]

    def get(self, token_id: str) -> TokenInfo | None:
        with self.db.session() as s:
            row = s.get(ApiTokenRow, token_id)
            return _info(row) if row is not None else None

    def revoke(self, token_id: str) -> TokenInfo:
        with self.db.session() as s:
            row = s.get(ApiTokenRow, token_id)
            if row is None:
                raise NotFoundError(f"token {token_id} does not exist")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
            return _info(row)

    def verify(self, presented: str) -> TokenInfo | None:
        """The token's info when the presented string is an active token, else None."""
        m = _TOKEN_RE.match(presented)
        if m is None:
            return None
        now = datetime.now(UTC)
        with self.db.session() as s:
            row = s.get(ApiTokenRow, m.group(1))
            if row is None or not hmac.compare_digest(row.secret_hash, _hash(presented)):
                return None
            info = _info(row)
            if not info.active(now):
                return None
            if info.last_used_at is None or now - info.last_used_at > LAST_USED_RESOLUTION:
                s.execute(
                    update(ApiTokenRow).where(ApiTokenRow.token_id == info.token_id).values(last_used_at=now)
                )
        return info

    def has_active(self, role: Role) -> bool:
        now = datetime.now(UTC)
        return any(t.role == role and t.active(now) for t in self.list())
