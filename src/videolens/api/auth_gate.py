"""ASGI gate of the native door: authenticates and authorises every request before FastAPI sees it.

Runs inside the AWS dispatcher (AWS-service SigV4 requests never reach it) and before routing, so
an unauthenticated caller gets 401 before any body is parsed, and raw ASGI routes (PutMedia) are
covered like the others. Per request: find the route (`auth.match_route`), read its declared access
(`auth.route_access`), then in secure mode: refuse addresses over the failure limit (429 +
Retry-After), authenticate one credential (bearer token; SigV4 for service `videolens`; a signed URL
where the route allows it; the route's capability token), check the role (403), and put the
Identity into the scope for the handlers. Every denial is logged with the route, the reason and the
credential's id, never its secret. In dev mode everything passes as the dev identity.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import urllib.parse
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from starlette.types import ASGIApp

from videolens.api.auth import IDENTITY_KEY, Access, RouteInfo, app_routes, match_route
from videolens.api.aws.errors import AwsError
from videolens.api.aws.sigv4 import (
    UNSIGNED_PAYLOAD,
    canonical_request,
    check_time,
    parse_signed_request,
    signature_matches,
)
from videolens.api.problems import problem
from videolens.services.auth.models import DEV_IDENTITY, Identity, Role
from videolens.services.auth.service import is_signed, token_id_of
from videolens.services.errors import (
    TooManyAuthFailuresError,
    UnauthenticatedError,
    VideolensError,
)

if TYPE_CHECKING:
    from videolens.container import Container

log = logging.getLogger(__name__)

#: the SigV4 signing name native requests use (anything else signed goes to the AWS facades)
NATIVE_SIGNING_NAME = "videolens"
#: SigV4 over a body without x-amz-content-sha256: UNSIGNED-PAYLOAD is needed above this size
MAX_HASHED_BODY = 32 * 1024 * 1024
#: what a path no route serves needs (then it answers 404)
UNMATCHED = Access(Role.VIEWER)


class _Denied(Exception):
    def __init__(self, error: VideolensError, credential_id: str | None, counts: bool) -> None:
        self.error = error
        self.credential_id = credential_id
        self.counts = counts  # a wrong credential: counts towards the brute-force limit


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


class AuthGate:
    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container
        self.settings = container.settings
        self._routes: list[RouteInfo] | None = None

    def routes(self, scope: dict[str, Any]) -> list[RouteInfo]:
        # built on the first request: every route is registered by the time the server serves
        if self._routes is None:
            self._routes = app_routes(scope["app"].router.routes)
        return self._routes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self.settings.effective_auth_mode != "secure":
            scope[IDENTITY_KEY] = DEV_IDENTITY
            await self.app(scope, receive, send)
            return
        route, full = match_route(self.routes(scope), scope)
        # a path no route serves still needs a credential: unknown paths tell nothing to strangers; a
        # method a public route does not take (POST / beside the UI's GET /) is no public route either
        access = route.access if route is not None and full else UNMATCHED
        if access.is_public(self.settings):
            await self.app(scope, receive, send)
            return
        template = route.path if route is not None else scope["path"]
        address = (scope.get("client") or ("unknown", 0))[0]
        auth = self.container.auth
        try:
            auth.check_address(address)
            identity, receive = await self._authenticate(scope, receive, access)
            if access.role is not None:
                try:
                    auth.authorize(identity, access.role)
                except VideolensError as exc:
                    raise _Denied(exc, identity.id, counts=False) from None
        except TooManyAuthFailuresError as exc:
            self._log(scope, template, exc, None, address)
            await self._refuse(scope, receive, send, exc, {"Retry-After": str(exc.retry_after)})
            return
        except _Denied as denied:
            if denied.counts:
                auth.failed(address)
            self._log(scope, template, denied.error, denied.credential_id, address)
            extra = (
                {"WWW-Authenticate": 'Bearer realm="videolens"'} if denied.error.http_status == 401 else {}
            )
            await self._refuse(scope, receive, send, denied.error, extra)
            return
        scope[IDENTITY_KEY] = identity
        await self.app(scope, receive, send)

    # -- credentials ----------------------------------------------------------------------------

    async def _authenticate(
        self, scope: dict[str, Any], receive: Any, access: Access
    ) -> tuple[Identity, Any]:
        headers = _headers(scope)
        raw_query = scope.get("query_string", b"").decode("latin-1")
        query = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
        auth = self.container.auth
        if access.token_param is not None:
            return await self._capability(access, dict(query)), receive
        authorization = headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            presented = authorization[7:].strip()
            try:
                return await anyio.to_thread.run_sync(auth.authenticate_token, presented), receive
            except UnauthenticatedError as exc:
                raise _Denied(exc, token_id_of(presented), counts=True) from None
        if authorization.startswith("AWS4-HMAC-SHA256") or any(k == "X-Amz-Credential" for k, _ in query):
            return await self._sigv4(scope, receive, headers, raw_query)
        if authorization:
            raise _Denied(UnauthenticatedError("use Authorization: Bearer <token> or SigV4"), None, True)
        if is_signed(query):
            if not access.signed_url:
                raise _Denied(UnauthenticatedError("this route does not take signed URLs"), None, False)
            try:
                identity = await anyio.to_thread.run_sync(auth.authenticate_signed_url, scope["path"], query)
            except UnauthenticatedError as exc:
                raise _Denied(exc, dict(query).get("vl-credential"), counts=True) from None
            return identity, receive
        raise _Denied(UnauthenticatedError("this route needs a credential"), None, counts=False)

    async def _capability(self, access: Access, query: dict[str, str]) -> Identity:
        assert access.token_param is not None
        value = query.get(access.token_param)
        if not value:
            raise _Denied(UnauthenticatedError(f"{access.token_param} is required"), None, counts=False)
        if access.token_check is None:  # the route verifies the token itself
            return Identity("capability", access.token_param, Role.VIEWER)
        try:
            issuer = await anyio.to_thread.run_sync(access.token_check, self.container, value)
        except VideolensError as exc:
            raise _Denied(exc, None, counts=True) from None
        identity = await anyio.to_thread.run_sync(self.container.auth.identity, issuer) if issuer else None
        if identity is None:
            raise _Denied(UnauthenticatedError("the credential that issued this token is gone"), issuer, True)
        return identity

    async def _sigv4(
        self, scope: dict[str, Any], receive: Any, headers: dict[str, str], raw_query: str
    ) -> tuple[Identity, Any]:
        query = [
            (urllib.parse.unquote(k), urllib.parse.unquote(v))
            for k, _, v in (p.partition("=") for p in raw_query.split("&") if p)
        ]
        try:
            signed = parse_signed_request(headers, query)
        except AwsError as exc:
            raise _Denied(UnauthenticatedError(exc.message), None, counts=True) from None
        if signed is None or signed.version != 4:
            raise _Denied(UnauthenticatedError("malformed SigV4 credential"), None, counts=True)
        key_id = signed.access_key
        found = await anyio.to_thread.run_sync(self.container.auth.access_key, key_id)
        if found is None:
            raise _Denied(UnauthenticatedError("unknown access key"), key_id, counts=True)
        secret, identity = found
        now = dt.datetime.now(dt.UTC)
        if check_time(signed, now, int(self.settings.clock_skew_seconds)) is not None:
            raise _Denied(UnauthenticatedError("the signature has expired or the clock is off"), key_id, True)
        payload_hash, receive = await self._payload_hash(signed.presigned, headers, query, receive, key_id)
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        try:
            creq = canonical_request(
                scope["method"], raw_path, raw_query, headers, signed, payload_hash, s3=False
            )
        except AwsError as exc:
            raise _Denied(UnauthenticatedError(exc.message), key_id, counts=True) from None
        if not signature_matches(signed, secret, creq):
            raise _Denied(UnauthenticatedError("the SigV4 signature does not match"), key_id, True)
        return identity, receive

    async def _payload_hash(
        self,
        presigned: bool,
        headers: dict[str, str],
        query: list[tuple[str, str]],
        receive: Any,
        key_id: str,
    ) -> tuple[str, Any]:
        if presigned:
            return dict(query).get("X-Amz-Content-Sha256", UNSIGNED_PAYLOAD), receive
        claimed = headers.get("x-amz-content-sha256")
        if claimed == UNSIGNED_PAYLOAD:
            return claimed, receive
        # the body is part of the signature: read it (bounded), hash it, hand it on unchanged
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Denied(UnauthenticatedError("client went away"), key_id, counts=False)
            body = message.get("body", b"")
            size += len(body)
            if size > MAX_HASHED_BODY:
                raise _Denied(
                    UnauthenticatedError("body too large to hash: sign it with UNSIGNED-PAYLOAD"),
                    key_id,
                    False,
                )
            chunks.append(body)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        digest = hashlib.sha256(body).hexdigest()
        if claimed is not None and claimed.lower() != digest:
            raise _Denied(UnauthenticatedError("x-amz-content-sha256 does not match the body"), key_id, True)
        return digest, _replay(body, receive)

    # -- answers --------------------------------------------------------------------------------

    def _log(
        self,
        scope: dict[str, Any],
        template: str,
        error: VideolensError,
        credential_id: str | None,
        client: str,
    ) -> None:
        log.warning(
            "request denied: %s %s (%s)",
            scope.get("method", ""),
            template,
            error.message,
            extra={
                "route": template,
                "method": scope.get("method", ""),
                "status": error.http_status,
                "reason": error.code,
                "credential_id": credential_id,
                "client": client,
            },
        )

    async def _refuse(
        self, scope: dict[str, Any], receive: Any, send: Any, error: VideolensError, headers: dict[str, str]
    ) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = problem(error.http_status, error.code, error.message)
        response.headers.update(headers)
        await response(scope, receive, send)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # http.disconnect when the client leaves

    return replay
