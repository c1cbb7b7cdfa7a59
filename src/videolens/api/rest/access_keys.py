"""Native REST routes for SigV4 access keys (admin): create (secret shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from videolens.api.auth import require_role
from videolens.api.deps import ContainerDep
from videolens.services.auth.models import Role

router = APIRouter(prefix="/v1", tags=["auth"])


class CreateAccessKeyRequest(BaseModel):
    description: str = Field(default="", max_length=255, description="free text, e.g. who uses the key")
    role: Role = Role.ADMIN
    access_key_id: str | None = Field(
        default=None, description="keep an existing key id (A-Z0-9, 16+ chars); generated if absent"
    )
    secret_access_key: str | None = Field(
        default=None, min_length=16, description="keep an existing secret; generated if absent"
    )


class AccessKey(BaseModel):
    access_key_id: str
    description: str
    role: Role
    created_at: datetime


class NewAccessKey(AccessKey):
    secret_access_key: str = Field(description="the SigV4 secret; shown only in this answer")


@router.get("/access-keys", response_model=list[AccessKey], dependencies=[require_role(Role.ADMIN)])
def list_access_keys(c: ContainerDep) -> list[AccessKey]:
    """Every access key (never the secrets), oldest first — what `videolens keys list` prints."""
    return [
        AccessKey(
            access_key_id=k.access_key_id, description=k.description, role=k.role, created_at=k.created_at
        )
        for k in c.keys.list()
    ]


@router.post(
    "/access-keys", status_code=201, response_model=NewAccessKey, dependencies=[require_role(Role.ADMIN)]
)
def create_access_key(body: CreateAccessKeyRequest, c: ContainerDep) -> NewAccessKey:
    """A key pair for boto3 / the AWS CLI — `videolens keys create` over REST."""
    key = c.keys.create(body.description, body.access_key_id, body.secret_access_key, body.role)
    return NewAccessKey(
        access_key_id=key.access_key_id,
        description=key.description,
        role=key.role,
        created_at=key.created_at,
        secret_access_key=key.secret_access_key,
    )


@router.delete("/access-keys/{access_key_id}", status_code=204, dependencies=[require_role(Role.ADMIN)])
def revoke_access_key(access_key_id: str, c: ContainerDep) -> Response:
    """Deletes the key: SigV4 requests signed with it are refused from now on."""
    c.keys.delete(access_key_id)
    return Response(status_code=204)
