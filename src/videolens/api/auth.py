"""Who may call each native route: the declarations routes make, and the lookup the auth gate uses.

Deny by default. Every route states its access where it is defined, in its decorator::

    @router.get("/streams", dependencies=[require_role(Role.VIEWER)])
    @router.get("/streams/{name}/clip.mp4", dependencies=[require_role(Role.VIEWER, signed_url=True)])
    @router.get("/hls/v1/getTSFragment.ts", dependencies=[token_in_query("SessionToken", check=...)])
    @app.get("/healthz", dependencies=[public()])
    @app.get("/metrics", dependencies=[public(when="metrics_public")])   # a Settings flag

A route that declares nothing needs `admin`; raw ASGI routes (PutMedia) declare with `declare()`.
Nothing here keeps a list of paths: `route_access()` reads the declaration off the route itself, so a
route added later by any router is closed until it says otherwise. `auth_gate.AuthGate` enforces the
declarations before a request reaches FastAPI (no body is parsed for an unauthenticated caller), and
`enforce_declared_access`, the app-wide dependency, checks again inside FastAPI and fails closed if
the gate was not installed. The declarations also show in OpenAPI (bearer security scheme and an
`x-videolens-access` member per operation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request, Security, params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute, Match

from videolens.services.auth.models import Identity, Role
from videolens.services.errors import ForbiddenError, UnauthenticatedError

#: key of the authenticated Identity in the ASGI scope (set by the gate)
IDENTITY_KEY = "videolens.identity"
ACCESS_ATTR = "__videolens_access__"

bearer_scheme = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="vl_<id>_<secret> (videolens tokens create)",
    description="An API token; SigV4 (service name `videolens`) with an access key is accepted too.",
    auto_error=False,
)

#: capability check: (container, token value) -> id of the credential that issued it
TokenCheck = Callable[[Any, str], str | None]


@dataclass(frozen=True)
class Access:
    """What a route needs. role None = no role (public, or authorised by a capability token)."""

    role: Role | None
    signed_url: bool = False  # a signed URL (vl-signature) may stand in for the header
    token_param: str | None = None  # authorised by an unguessable token in this query parameter
    token_check: TokenCheck | None = None  # verifies that token; returns the issuing credential id
    public_when: str | None = None  # name of a boolean Settings field that opens the route

    def is_public(self, settings: Any) -> bool:
        if self.token_param is not None:
            return False
        if self.role is None:
            return self.public_when is None or bool(getattr(settings, self.public_when))
        return self.public_when is not None and bool(getattr(settings, self.public_when))

    def describe(self) -> str:
        if self.token_param is not None:
            return f"token in query parameter {self.token_param}"
        base = "public" if self.role is None else self.role.value
        if self.public_when is not None:
            base += f" (public when {self.public_when})"
        return base + (" (or a signed URL)" if self.signed_url else "")


ADMIN_DEFAULT = Access(Role.ADMIN)


class _Declared:
    """A route's declaration, as a FastAPI dependency (FastAPI records it on the route)."""

    def __init__(self, access: Access) -> None:
        self.access = access

    async def __call__(self, _bearer: HTTPAuthorizationCredentials | None = Security(bearer_scheme)) -> None:
        return None


class _DeclaredOpen(_Declared):
    """A declaration without the bearer scheme (public and capability-token routes)."""

    async def __call__(self) -> None:  # type: ignore[override]
        return None


def require_role(role: Role, *, signed_url: bool = False, public_when: str | None = None) -> params.Depends:
    return Depends(_Declared(Access(role, signed_url=signed_url, public_when=public_when)))


def public(*, when: str | None = None) -> params.Depends:
    """No credential needed (always, or only while the named boolean setting is on)."""
    if when is None:
        return Depends(_DeclaredOpen(Access(None)))
    # closed (viewer) unless the operator opts in
    return Depends(_Declared(Access(Role.VIEWER, public_when=when)))


def token_in_query(param: str, check: TokenCheck | None = None) -> params.Depends:
    """Authorised by a capability token in a query parameter (HLS session tokens, SNS confirm links)."""
    return Depends(_DeclaredOpen(Access(None, token_param=param, token_check=check)))


def declare(endpoint: Any, access: Access) -> Any:
    """Declare the access of a raw ASGI endpoint (a route FastAPI does not manage)."""
    setattr(endpoint, ACCESS_ATTR, access)
    return endpoint


def route_access(route: BaseRoute) -> Access:
    """The route's declared access, or admin when it declares none."""
    for dep in getattr(route, "dependencies", None) or ():
        if isinstance(dep.dependency, _Declared):
            return dep.dependency.access
    for target in (getattr(route, "endpoint", None), getattr(route, "app", None)):
        access = getattr(target, ACCESS_ATTR, None)
        if isinstance(access, Access):
            return access
    return ADMIN_DEFAULT


@dataclass(frozen=True)
class RouteInfo:
    """One route as requests see it: full path (router prefixes included), methods, declared access."""

    path: str  # "/v1/streams/{name}", "/v1/buckets/{bucket}/objects/{key:path}"
    path_format: str  # as OpenAPI names it: "/v1/buckets/{bucket}/objects/{key}"
    methods: frozenset[str]
    access: Access
    include_in_schema: bool
    matcher: Any  # has .matches(scope)


def _flatten(routes: Iterable[BaseRoute]) -> Iterator[tuple[Any, BaseRoute]]:
    """(effective route, declaring route) pairs: newer FastAPI keeps included routers unflattened."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI copies included routes into app.routes
        for route in routes:
            yield route, route
        return
    for context in iter_route_contexts(list(routes)):
        yield context, context.original_route


def app_routes(routes: Iterable[BaseRoute]) -> list[RouteInfo]:
    out = []
    for effective, original in _flatten(routes):
        path = getattr(effective, "path", None)
        if path is None:
            continue
        out.append(
            RouteInfo(
                path=path,
                path_format=getattr(effective, "path_format", None) or path,
                methods=frozenset(getattr(effective, "methods", None) or ()),
                access=route_access(original),
                include_in_schema=bool(getattr(effective, "include_in_schema", True)),
                matcher=effective,
            )
        )
    return out


def match_route(routes: Iterable[RouteInfo], scope: dict[str, Any]) -> tuple[RouteInfo | None, bool]:
    """The route a request reaches and whether it matches fully (False: only the path, e.g. a 405)."""
    partial: RouteInfo | None = None
    for info in routes:
        match, _child = info.matcher.matches(scope)
        if match == Match.FULL:
            return info, True
        if match == Match.PARTIAL and partial is None:
            partial = info
    return partial, False


def identity_of(request: Request) -> Identity:
    identity = request.scope.get(IDENTITY_KEY)
    if not isinstance(identity, Identity):
        raise UnauthenticatedError("this request carries no credential")
    return identity


async def enforce_declared_access(request: Request) -> None:
    """The app-wide dependency: the route's declared role (admin unless it says less), checked again."""
    route = request.scope.get("route")
    access = route_access(route) if route is not None else ADMIN_DEFAULT
    if access.role is None or access.is_public(request.app.state.container.settings):
        return
    identity = identity_of(request)
    if not identity.role.allows(access.role):
        raise ForbiddenError(f"this needs the {access.role.value} role")


_DENIALS = {
    "401": "Secure mode: no credential, or one that is wrong, expired or revoked",
    "403": "Secure mode: the credential's role is too weak for this route",
    "429": "Secure mode: too many failed authentications from this address (see Retry-After)",
}


def annotate_openapi(schema: dict[str, Any], routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """Add `x-videolens-access` / `x-videolens-role` (the declaration) to every OpenAPI operation."""
    for info in app_routes(routes):
        operations = schema.get("paths", {}).get(info.path_format)
        if not operations:
            continue
        for method in info.methods:
            op = operations.get(method.lower())
            if op is None:
                continue
            op["x-videolens-access"] = info.access.describe()
            op["x-videolens-role"] = info.access.role.value if info.access.role else None
            if info.access.role is not None and info.access.token_param is None:
                # undeclared routes too (admin by default): they need the bearer like the others
                op.setdefault("security", [{bearer_scheme.scheme_name: []}])
            if info.access.role is not None or info.access.token_param is not None:
                # in secure mode: no / a wrong credential, too weak a role, too many failures
                responses = op.setdefault("responses", {})
                for status, text in _DENIALS.items():
                    responses.setdefault(status, {"description": text})
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes.setdefault(
        bearer_scheme.scheme_name, bearer_scheme.model.model_dump(by_alias=True, exclude_none=True)
    )
    return schema
