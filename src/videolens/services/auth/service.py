"""The identity store of both doors: API tokens and access keys, role checks, signed URLs, brute-force brake.

One store: a request is an `Identity` whether it came with a bearer token or a SigV4 signature
over an access key, and both kinds carry a role. The front doors only extract what the client sent
and call `authenticate_*` / `authorize`; the rules (what is active, what a role may do, when an
address is slowed down) live here.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from videolens.backends.metadata.database import Database
from videolens.runtime.settings import Settings
from videolens.services.auth.keys import KeysService, load_master_key
from videolens.services.auth.limiter import FailureLimiter
from videolens.services.auth.models import Identity, Role
from videolens.services.auth.signed_urls import UrlSigner, is_signed
from videolens.services.auth.tokens import NewToken, TokenInfo, TokenStore, token_id_of
from videolens.services.errors import (
    ForbiddenError,
    InvalidParameterError,
    TooManyAuthFailuresError,
    UnauthenticatedError,
)

#: what the front doors use of this capability besides the service (its public surface)
__all__ = ["AuthService", "NewToken", "TokenInfo", "is_signed", "token_id_of"]


class AuthService:
    def __init__(self, settings: Settings, db: Database, keys: KeysService) -> None:
        self.settings = settings
        self.keys = keys
        self.tokens = TokenStore(db)
        self.limiter = FailureLimiter(settings.auth_failure_limit, settings.auth_failure_window_seconds)
        self.urls = UrlSigner(load_master_key(settings.data_dir))

    @property
    def secure(self) -> bool:
        return self.settings.effective_auth_mode == "secure"

    # -- authentication -------------------------------------------------------------------------

    def check_address(self, address: str) -> None:
        """TooManyAuthFailuresError while the address is over the failure limit."""
        wait = self.limiter.retry_after(address)
        if wait is not None:
            raise TooManyAuthFailuresError(
                f"too many failed authentications from this address; retry in {wait} s", wait
            )

    def failed(self, address: str) -> None:
        self.limiter.record_failure(address)

    def authenticate_token(self, presented: str) -> Identity:
        info = self.tokens.verify(presented)
        if info is None:
            raise UnauthenticatedError("the bearer token is unknown, revoked or expired")
        return Identity("token", info.token_id, info.role)

    def identity(self, credential_id: str) -> Identity | None:
        """The active credential (token id or access key id) of that id, or None."""
        token = self.tokens.get(credential_id)
        if token is not None:
            return Identity("token", token.token_id, token.role) if token.active(datetime.now(UTC)) else None
        role = self.keys.role_of(credential_id)
        return Identity("access_key", credential_id, role) if role is not None else None

    def access_key(self, access_key_id: str) -> tuple[str, Identity] | None:
        """Secret and identity of an access key, for SigV4 verification."""
        found = self.keys.lookup(access_key_id)
        if found is None:
            return None
        secret, role = found
        return secret, Identity("access_key", access_key_id, role)

    @staticmethod
    def authorize(identity: Identity, needed: Role) -> None:
        if not identity.role.allows(needed):
            raise ForbiddenError(
                f"this needs the {needed.value} role; the credential has {identity.role.value}"
            )

    # -- signed URLs ----------------------------------------------------------------------------

    def sign_url(self, target: str, identity: Identity, expires_in: int) -> tuple[str, int]:
        """`target` signed for `identity`, valid for `expires_in` seconds: (path?query, expiry)."""
        limit = int(self.settings.signed_url_max_seconds)
        if not 1 <= expires_in <= limit:
            raise InvalidParameterError(f"expires_in must be between 1 and {limit} seconds")
        expires_at = int(time.time()) + expires_in
        return self.urls.sign(target, identity.id, expires_at), expires_at

    def authenticate_signed_url(self, path: str, query: list[tuple[str, str]]) -> Identity:
        credential = self.urls.verify(path, query)
        identity = self.identity(credential)
        if identity is None:
            raise UnauthenticatedError("the signed URL's credential is revoked or expired")
        return identity

    # -- bootstrap ------------------------------------------------------------------------------

    def has_admin(self) -> bool:
        if self.tokens.has_active(Role.ADMIN):
            return True
        return any(k.role == Role.ADMIN for k in self.keys.list())

    def first_admin_token(self) -> NewToken | None:
        """A new admin token when no admin credential exists yet (first secure start), else None."""
        if self.has_admin():
            return None
        return self.tokens.create("first admin (created by videolens serve)", Role.ADMIN)

    def create_token(self, name: str, role: Role, expires_in: timedelta | None = None) -> NewToken:
        return self.tokens.create(name, role, expires_in)
