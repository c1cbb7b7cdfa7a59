"""ASGI front door of the AWS facades: SigV4-signed requests go to the AWS layer, the rest falls through.

Routing: the credential scope's service (`Authorization` header or presigned `X-Amz-Credential`)
picks the facades registered under that signing name, then the protocol's own key picks the
operation (`X-Amz-Target` for json, `Action` for query, method + path for rest-json / rest-xml).
Everything that carries no SigV4 goes on to the native FastAPI routes (`/v1/...`, `/healthz`, `/docs`).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
import pkgutil
import urllib.parse
import uuid
from collections.abc import Sequence
from typing import Any

import anyio
import anyio.to_thread
from botocore.model import OperationModel
from starlette.types import ASGIApp

from videolens.api.aws.asgi_io import (
    BodyState,
    ClientDisconnected,
    has_body,
    puller,
    read_all,
    send_response,
)
from videolens.api.aws.aws_auth import authenticate
from videolens.api.aws.errors import AwsError, ParamValidationError
from videolens.api.aws.payload import ChunkSigning, RequestBody
from videolens.api.aws.registry import AwsContext, AwsService
from videolens.api.aws.service_models import error_info, signing_name
from videolens.api.aws.sigv4 import (
    EMPTY_SHA256,
    UNSIGNED_PAYLOAD,
    MalformedAuth,
    SignedRequest,
    parse_signed_request,
    signing_key,
)
from videolens.api.aws.validate import validate
from videolens.api.aws.wire import WireRequest, WireResponse
from videolens.container import Container
from videolens.services.errors import VideolensError, storage_full

log = logging.getLogger(__name__)


def discover_services() -> list[AwsService]:
    """Every `SERVICE` (or `SERVICES` list) exported by a module of the `videolens.api.aws` package."""
    import videolens.api.aws as package

    found: list[AwsService] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        service = getattr(module, "SERVICE", None)
        if isinstance(service, AwsService):
            found.append(service)
        found.extend(s for s in getattr(module, "SERVICES", []) if isinstance(s, AwsService))
    return found


#: SigV4 requests signed for this service name are native ones (`api/auth_gate.py` checks them)
NATIVE_SIGNING_NAME = "videolens"
_NATIVE_SCOPE = f"/{NATIVE_SIGNING_NAME}/aws4_request".encode()
_NATIVE_SCOPE_QUERY = f"%2F{NATIVE_SIGNING_NAME}%2Faws4_request".encode()


def is_aws_request(scope: dict[str, Any]) -> bool:
    """SigV4/SigV2-signed for an AWS service (signed for `videolens`: a native request)."""
    if scope.get("type") != "http":
        return False
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value.startswith(b"AWS4-HMAC-SHA256"):
            return _NATIVE_SCOPE not in value
    query = scope.get("query_string", b"")
    if b"X-Amz-Credential=" in query:
        return _NATIVE_SCOPE_QUERY not in query and _NATIVE_SCOPE not in query
    return b"AWSAccessKeyId=" in query and b"Signature=" in query


class AwsDispatcher:
    """ASGI middleware: `AwsDispatcher(fastapi_app, container)`."""

    def __init__(
        self, app: ASGIApp, container: Container, services: Sequence[AwsService] | None = None
    ) -> None:
        self.app = app
        self.container = container
        self.settings = container.settings
        self.by_signing_name: dict[str, list[AwsService]] = {}
        for service in services if services is not None else discover_services():
            self.by_signing_name.setdefault(signing_name(service.model), []).append(service)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not is_aws_request(scope):
            await self.app(scope, receive, send)
            return
        await self._handle(scope, receive, send)

    # -- request handling ---------------------------------------------------------------------

    async def _handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_id = str(uuid.uuid4())
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        raw_query = scope.get("query_string", b"").decode("latin-1")
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        req = WireRequest(
            method=scope["method"],
            raw_path=raw_path,
            query=parse_query(raw_query),
            raw_query=raw_query,
            headers=headers,
        )
        service: AwsService | None = None
        body_state = BodyState()
        address = (scope.get("client") or ("unknown", 0))[0]
        try:
            signed = parse_signed_request(headers, req.query)
            assert signed is not None  # is_aws_request checked it
            candidates = self.by_signing_name.get(signed.service, [])
            if not candidates:
                raise AwsError("UnknownServiceException", f"No service is served for '{signed.service}'", 400)
            service = candidates[0]
            raw = self._raw_route(candidates, req)
            if raw is not None:
                service, raw_handler = raw
                scope["videolens.route"] = f"aws:{service.model_name}.{req.raw_path}"
                await self._authenticate(
                    service,
                    req,
                    signed,
                    headers.get("x-amz-content-sha256", EMPTY_SHA256),
                    "PutMedia",
                    address,
                )
                ctx = self._context(service, "raw", req, signed, request_id)
                ctx.asgi = (scope, receive, send)
                await raw_handler(ctx, scope, receive, send)
                return
            if candidates[0].protocol in ("json", "query"):
                req.body = await read_all(receive, body_state)
            op: OperationModel | None = None
            for candidate in candidates:
                op = candidate.codec.find_operation(candidate.model, req)
                if op is not None:
                    service = candidate
                    break
            if op is None:
                raise _no_operation(service, f"{req.method} {req.raw_path}")
            scope["videolens.route"] = f"aws:{service.model_name}.{op.name}"  # the HTTP metrics' label
            streaming = bool(op.has_streaming_input)
            if streaming and "x-amz-content-sha256" not in headers and not signed.presigned:
                # a blob payload signed without a payload-hash header (sagemaker-runtime's Body): the
                # signature covers the body's SHA-256, so it is read whole (bounded) like a JSON body
                streaming = False
            if not streaming and service.protocol not in ("json", "query"):
                req.body = await read_all(receive, body_state)
            payload_hash = self._payload_hash(service, req, signed, streaming)
            secret = await self._authenticate(service, req, signed, payload_hash, op.name, address)
            handler = service.handlers.get(op.name)
            if handler is None:
                raise _not_implemented(service, op.name)
            params = service.codec.parse(op, req)
            if service.prevalidate is not None:
                service.prevalidate(op.name, params)
            if op.input_shape is not None and op.name not in service.fully_prevalidated:
                validate(op.input_shape, params)
            ctx = self._context(service, op.name, req, signed, request_id)
            if streaming:
                ctx.body = RequestBody(
                    puller(receive, body_state),
                    headers,
                    int(self.settings.max_upload_bytes),
                    _chunk_signing(signed, secret, payload_hash),
                )
            if inspect.iscoroutinefunction(handler):
                output = await handler(ctx, params)
            else:
                output = await anyio.to_thread.run_sync(handler, ctx, params)
            response = service.codec.serialize(op, output or {}, request_id)
            if ctx.status is not None:
                response.status = ctx.status
        except ClientDisconnected:
            return  # nobody is left to answer
        except Exception as exc:  # noqa: BLE001 - every failure becomes an AWS error document
            response = self._error_response(service, exc, req, request_id)
        if not body_state.done and has_body(headers):
            # the client may still be sending (or, after Expect: 100-continue, may never send) the
            # body: close the connection so leftover bytes are never read as the next request
            response.headers.append(("Connection", "close"))
        # once the request body is read, the ASGI channel's next message can only be the disconnect
        done_reading = body_state.done or not has_body(headers)
        await send_response(response, send, req.method == "HEAD", receive if done_reading else None)

    def _raw_route(self, candidates: list[AwsService], req: WireRequest) -> tuple[AwsService, Any] | None:
        for candidate in candidates:
            handler = candidate.raw_routes.get(req.raw_path)
            if handler is not None:
                return candidate, handler
        return None

    def _context(
        self, service: AwsService, op_name: str, req: WireRequest, signed: SignedRequest, request_id: str
    ) -> AwsContext:
        host = req.headers.get("host", "")
        scheme = req.headers.get("x-forwarded-proto", "http")
        return AwsContext(
            container=self.container,
            settings=self.settings,
            request_id=request_id,
            service=service.model_name,
            operation=op_name,
            access_key=signed.access_key,
            region=signed.region or str(self.settings.region),
            headers=req.headers,
            base_url=f"{scheme}://{host}" if host else str(self.settings.base_url),
        )

    def _payload_hash(
        self, service: AwsService, req: WireRequest, signed: SignedRequest, streaming: bool
    ) -> str:
        if signed.presigned:
            return req.query_dict().get("X-Amz-Content-Sha256", UNSIGNED_PAYLOAD)
        claimed = req.headers.get("x-amz-content-sha256")
        if claimed is None:
            if streaming:
                raise AwsError(
                    "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
                )
            return hashlib.sha256(req.body).hexdigest()
        if not streaming and len(claimed) == 64 and hashlib.sha256(req.body).hexdigest() != claimed.lower():
            raise AwsError(
                "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match"
            )
        return claimed

    async def _authenticate(
        self,
        service: AwsService,
        req: WireRequest,
        signed: SignedRequest,
        payload_hash: str,
        operation: str,
        address: str,
    ) -> str | None:
        """Check signature and role in secure mode; return the secret (None in dev mode)."""
        if self.settings.effective_auth_mode == "dev":
            return None
        return await authenticate(self.container, service, req, signed, payload_hash, operation, address)

    def _error_response(
        self, service: AwsService | None, exc: Exception, req: WireRequest, request_id: str
    ) -> WireResponse:
        if service is None:
            err = exc if isinstance(exc, AwsError) else AwsError("InternalFailure", "Internal error", 500)
            body = f'{{"__type":"{err.code}","Message":{_json_str(err.message)}}}'.encode()
            return WireResponse(
                err.status,
                [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id)],
                body,
            )
        model = service.model
        if isinstance(exc, AwsError):
            err = exc
            if not isinstance(exc, MalformedAuth) and exc.status == 400:
                code, status, sender = error_info(model, exc.code)
                err = AwsError(code, exc.message, status if status != 400 else exc.status, sender)
        elif isinstance(exc, ParamValidationError):
            code, status, sender = error_info(model, service.validation_error)
            err = AwsError(code, exc.message, status, sender)
        elif isinstance(exc, VideolensError) and (mapped := service.error_code(exc)) is not None:
            code, status, sender = error_info(model, mapped[0])
            err = AwsError(code, exc.message, mapped[1] or status, sender)
        elif storage_full(exc):
            log.error("storage full in %s %s: %s", service.model_name, req.raw_path, exc)
            err = AwsError(
                "InsufficientStorage", "The server's storage is full; nothing was stored", 507, False
            )
        else:
            log.exception("unhandled error in %s %s", service.model_name, req.raw_path)
            code, status, sender = error_info(model, service.internal_error)
            err = AwsError(code, "We encountered an internal error. Please try again.", 500, False)
        return service.codec.serialize_error(model, err, request_id, req)


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Query pairs decoded like AWS does (`%XX` only: a literal '+' stays a plus)."""
    pairs = []
    for part in raw_query.split("&"):
        if part:
            k, _, v = part.partition("=")
            pairs.append((urllib.parse.unquote(k), urllib.parse.unquote(v)))
    return pairs


def _json_str(text: str) -> str:
    import json

    return json.dumps(text)


def _not_implemented(service: AwsService, what: str) -> AwsError:
    if service.protocol == "rest-xml":
        return AwsError("NotImplemented", f"{what} is not implemented by videolens", 501)
    if service.protocol == "query":
        return AwsError("InvalidAction", f"{what} is not implemented by videolens", 400)
    return AwsError("UnknownOperationException", f"{what} is not implemented by videolens", 400)


def _no_operation(service: AwsService, what: str) -> AwsError:
    """No operation of the model has this method + path: S3 says the method is not allowed there
    (a 4xx: e.g. POST on an object without ?uploads / ?uploadId); the others know no such action."""
    if service.protocol == "rest-xml":
        return AwsError(
            "MethodNotAllowed", f"The specified method is not allowed against this resource: {what}", 405
        )
    return _not_implemented(service, what)


def _chunk_signing(signed: SignedRequest, secret: str | None, payload_hash: str) -> ChunkSigning | None:
    if secret is None or not payload_hash.startswith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"):
        return None
    return ChunkSigning(
        signing_key(secret, signed.date, signed.region, signed.service),
        signed.amz_date,
        signed.scope,
        signed.signature,
    )
