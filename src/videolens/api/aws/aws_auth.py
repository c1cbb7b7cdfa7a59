"""SigV4 authentication and role checks of the AWS door (secure mode), on the shared identity store.

The signature is verified against the access key's secret (`services/auth/keys.py`), the key's role
must allow the operation (`services.auth.models.aws_operation_role`), and every failure counts towards
the same per-address brute-force brake as the native door's; errors are the ones AWS itself sends.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

import anyio.to_thread

from videolens.api.aws.errors import AwsError
from videolens.api.aws.registry import AwsService
from videolens.api.aws.sigv4 import (
    SignedRequest,
    auth_error,
    canonical_request,
    check_time,
    signature_matches,
    sigv2_signature_matches,
)
from videolens.api.aws.wire import WireRequest
from videolens.services.auth.models import Identity, aws_operation_role

if TYPE_CHECKING:
    from videolens.container import Container

log = logging.getLogger(__name__)


async def authenticate(
    container: Container,
    service: AwsService,
    req: WireRequest,
    signed: SignedRequest,
    payload_hash: str,
    operation: str,
    address: str,
) -> str:
    """The key's secret when the request is signed by a key whose role allows `operation`."""
    auth = container.auth
    now = dt.datetime.now(dt.UTC)
    protocol = service.protocol
    if auth.limiter.retry_after(address) is not None:
        log.warning("AWS request refused: too many failed authentications", extra={"client": address})
        raise auth_error(protocol, "throttled", signed, now)
    try:
        secret, identity = await _verify(container, service, req, signed, payload_hash, now)
    except AwsError:
        auth.failed(address)
        log.warning(
            "AWS request denied: bad credential",
            extra={"credential_id": signed.access_key, "operation": operation, "client": address},
        )
        raise
    if not identity.role.allows(aws_operation_role(operation)):
        log.warning(
            "AWS request denied: role too weak",
            extra={"credential_id": signed.access_key, "operation": operation, "role": identity.role.value},
        )
        raise auth_error(protocol, "forbidden", signed, now)
    return secret


async def _verify(
    container: Container,
    service: AwsService,
    req: WireRequest,
    signed: SignedRequest,
    payload_hash: str,
    now: dt.datetime,
) -> tuple[str, Identity]:
    protocol = service.protocol
    found = await anyio.to_thread.run_sync(container.auth.access_key, signed.access_key)
    if found is None:
        raise auth_error(protocol, "unknown_key", signed, now)
    secret, identity = found
    problem = check_time(signed, now, int(container.settings.clock_skew_seconds))
    if problem is not None:
        raise auth_error(protocol, problem, signed, now)
    if signed.version == 2:
        ok = sigv2_signature_matches(req.method, req.raw_path, req.raw_query, req.headers, signed, secret)
    else:
        creq = canonical_request(
            req.method,
            req.raw_path,
            req.raw_query,
            req.headers,
            signed,
            payload_hash,
            protocol == "rest-xml",
        )
        ok = signature_matches(signed, secret, creq)
    if not ok:
        raise auth_error(protocol, "bad_signature", signed, now)
    return str(secret), identity
