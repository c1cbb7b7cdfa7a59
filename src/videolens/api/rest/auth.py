"""Native REST routes of the auth capability: who am I, signed media URLs, API tokens (admin)."""

from __future__ import annotations

import urllib.parse
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from videolens.api.auth import app_routes, identity_of, match_route, require_role
from videolens.api.deps import ContainerDep
from videolens.services.auth.models import Role
from videolens.services.auth.service import TokenInfo
from videolens.services.errors import ForbiddenError, InvalidParameterError

router = APIRouter(prefix="/v1", tags=["auth"])


class WhoAmI(BaseModel):
    kind: str = Field(description="token | access_key | dev")
    id: str
    role: Role


class SignUrlRequest(BaseModel):
    path: Annotated[
        str, Field(min_length=2, max_length=4096, description="/v1/...?query, as a client sends it")
    ]
    expires_in: int = Field(
        default=900, ge=1, description="seconds (at most VIDEOLENS_SIGNED_URL_MAX_SECONDS)"
    )


class SignedUrl(BaseModel):
    url: str
    expires_at: int = Field(description="unix seconds")


class CreateTokenRequest(BaseModel):
    name: str = Field(default="", max_length=255)
    role: Role
    expires_in: int | None = Field(
        default=None, ge=1, le=3650 * 86400, description="seconds (at most 10 years); none = never expires"
    )


class Token(BaseModel):
    token_id: str
    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class NewToken(Token):
    token: str = Field(description="the bearer token; shown only in this answer")


def _token(info: TokenInfo) -> Token:
    return Token(**info.__dict__)


@router.get("/whoami", response_model=WhoAmI, dependencies=[require_role(Role.VIEWER)])
def whoami(request: Request) -> WhoAmI:
    identity = identity_of(request)
    return WhoAmI(kind=identity.kind, id=identity.id, role=identity.role)


@router.post("/signed-urls", response_model=SignedUrl, dependencies=[require_role(Role.VIEWER)])
def sign_url(body: SignUrlRequest, request: Request, c: ContainerDep) -> SignedUrl:
    """A URL for a browser / player (`<video src>`, `<img>`, a download link) that needs no header."""
    parts = urllib.parse.urlsplit(body.path)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        raise InvalidParameterError("path must be a server path such as /v1/streams/cam1/clip.mp4?start=..")
    scope = {"type": "http", "method": "GET", "path": urllib.parse.unquote(parts.path), "root_path": ""}
    route, full = match_route(app_routes(request.app.router.routes), scope)
    access = route.access if route is not None and full else None
    if access is None or not access.signed_url or access.role is None:
        raise InvalidParameterError(f"{parts.path} is not a route that takes signed URLs")
    identity = identity_of(request)
    if not identity.role.allows(access.role):
        raise ForbiddenError(f"{parts.path} needs the {access.role.value} role")
    signed, expires_at = c.auth.sign_url(body.path, identity, body.expires_in)
    return SignedUrl(url=str(request.base_url).rstrip("/") + signed, expires_at=expires_at)


@router.get("/tokens", response_model=list[Token], dependencies=[require_role(Role.ADMIN)])
def list_tokens(c: ContainerDep) -> list[Token]:
    return [_token(t) for t in c.auth.tokens.list()]


@router.post("/tokens", status_code=201, response_model=NewToken, dependencies=[require_role(Role.ADMIN)])
def create_token(body: CreateTokenRequest, c: ContainerDep) -> NewToken:
    lifetime = timedelta(seconds=body.expires_in) if body.expires_in is not None else None
    new = c.auth.create_token(body.name, body.role, lifetime)
    return NewToken(token=new.token, **new.info.__dict__)


@router.delete("/tokens/{token_id}", status_code=204, dependencies=[require_role(Role.ADMIN)])
def revoke_token(token_id: str, c: ContainerDep) -> Response:
    c.auth.tokens.revoke(token_id)
    return Response(status_code=204)
