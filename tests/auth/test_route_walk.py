"""Every route of a real secure-mode server refuses no credential, a wrong one and a too-weak role.

The routes come from the server itself: every operation of /openapi.json plus every route of
`app.routes` (PutMedia, the docs, anything hidden from the schema), and two routes added the way
a later branch would add them, without any declaration: they must come out admin-only.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.auth.conftest import PROBLEM, SecureApp, start_secure
from videolens.api.auth import app_routes
from videolens.services.auth.models import Role
from videolens.vision.models import ModelRegistry

WRONG_TOKEN = "vl_aaaabbbbcccc_" + "W" * 43
WEAKER = {Role.OPERATOR: Role.VIEWER, Role.ADMIN: Role.OPERATOR}
#: POST routes that only read or compute (they carry an image or a request body, not a change)
READ_ONLY_POSTS = {
    "/v1/faces/detect",
    "/v1/faces/compare",
    "/v1/collections/{collection_id}/search",
    "/v1/collections/{collection_id}/recognize",
    "/v1/streams/{name}/hls",
    "/v1/signed-urls",
    "/v1/models/{name}/invoke",  # inference on an image, nothing stored
    "/v1/sightings/search",  # search by an uploaded image, nothing stored
}
#: GET routes stronger than viewer: they reveal secrets (webhook signing keys, token metadata)
PRIVILEGED_GETS = {
    "/v1/tokens": Role.ADMIN,
    "/v1/access-keys": Role.ADMIN,  # key ids and roles of every SigV4 credential
    "/v1/topics/{topic}/subscriptions": Role.OPERATOR,
    "/v1/subscriptions/{subscription_arn}": Role.OPERATOR,
    "/v1/events/unsubscribe": Role.OPERATOR,  # a GET link that changes state
    "/v1/future-read": Role.ADMIN,
}


def add_future_routes(app: FastAPI) -> None:
    """Routes as another branch would add them, declaring nothing: closed (admin) by default."""

    def future() -> dict[str, bool]:
        return {"ok": True}

    app.add_api_route("/v1/future-read", future, methods=["GET"])
    app.add_api_route("/v1/future-write", future, methods=["POST"])


@pytest.fixture
def walked_app(tmp_path: Path, models: ModelRegistry) -> Any:
    app = start_secure(tmp_path, models, prepare=add_future_routes, auth_failure_limit=100_000)
    yield app
    app.server.stop()
    app.container.close()


def concrete(template: str) -> str:
    return re.sub(r"\{([^}:]+)(:path)?\}", lambda m: "a/b" if m.group(2) else "nothing-here", template)


def operations(app: SecureApp) -> list[tuple[str, str, Any]]:
    r = httpx.get(app.url + "/openapi.json", headers=app.bearer(Role.VIEWER))
    assert r.status_code == 200
    schema = r.json()
    fastapi_app = app.server.server.config.app
    ops: dict[tuple[str, str], Any] = {}
    by_format: dict[tuple[str, str], Any] = {}
    for info in app_routes(fastapi_app.routes):
        for method in sorted(info.methods):
            ops[(method, info.path)] = by_format[(method, info.path_format)] = info.access
    in_schema = {(m.upper(), p) for p, item in schema["paths"].items() for m in item}
    assert in_schema <= set(by_format), in_schema - set(by_format)
    # what OpenAPI says is what the route declares
    for path, item in schema["paths"].items():
        for method, op in item.items():
            access = by_format[(method.upper(), path)]
            assert op["x-videolens-access"] == access.describe()
            assert op.get("security") == (
                [{"bearer": []}] if access.role and not access.token_param else None
            )
    assert len(ops) > len(in_schema)  # PutMedia, the docs: not in the schema, walked all the same
    return [(m, p, a) for (m, p), a in sorted(ops.items(), key=lambda kv: (kv[0][1], kv[0][0]))]


def is_problem(r: httpx.Response, status: int) -> bool:
    if r.status_code != status or r.headers.get("content-type") != PROBLEM:
        return False
    return r.request.method == "HEAD" or r.json()["status"] == status  # HEAD answers carry no body


def test_every_route_refuses_and_admits(walked_app: SecureApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="videolens.api.auth_gate")
    app = walked_app
    ops = operations(app)
    table: Counter[str] = Counter()
    with httpx.Client(base_url=app.url, timeout=60) as client:
        for method, template, access in ops:
            url = concrete(template)
            table[access.describe()] += 1
            if access.role is None and access.token_param is None:
                assert client.request(method, url).status_code == 200, template  # /healthz
                continue
            none = client.request(method, url)
            assert is_problem(none, 401), (method, template, none.status_code, none.text)
            if access.token_param is not None:
                bogus = client.request(method, url, params={access.token_param: "forged.token"})
                assert bogus.status_code in (400, 401, 403, 404), (template, bogus.status_code)
                assert bogus.headers["content-type"] == PROBLEM
                continue
            wrong = client.request(method, url, headers={"Authorization": f"Bearer {WRONG_TOKEN}"})
            assert is_problem(wrong, 401), (method, template, wrong.status_code)
            assert wrong.headers["www-authenticate"].startswith("Bearer")
            role = access.role
            if role in WEAKER:
                weak = client.request(method, url, headers=app.bearer(WEAKER[role]))
                assert is_problem(weak, 403), (method, template, weak.status_code, weak.text)
            # the status line is enough; an event stream (/v1/updates) never ends, so it is not read
            with client.stream(method, url, headers=app.bearer(role)) as right:
                sse = right.headers.get("content-type", "").startswith("text/event-stream")
                body = b"" if sse else right.read()
            assert right.status_code not in (401, 403), (method, template, right.status_code, body)
            assert right.status_code < 500, (method, template, right.status_code, body)
            expected = policy(method, template)
            assert role == expected, f"{method} {template}: declared {role}, policy says {expected}"

    # denials are logged with the route and the token id, never the secret
    denied = [r for r in caplog.records if r.name == "videolens.api.auth_gate"]
    wrong_logged = {r.route for r in denied if getattr(r, "credential_id", None) == "aaaabbbbcccc"}
    bearer_routes = {t for _m, t, a in ops if a.role is not None and a.token_param is None}
    assert bearer_routes <= wrong_logged
    weak_logged = {(r.route, r.credential_id) for r in denied if r.status == 403}
    assert ("/v1/tokens", app.token_ids[Role.OPERATOR]) in weak_logged
    secrets = [WRONG_TOKEN.split("_", 2)[2], *(t.split("_", 2)[2] for t in app.tokens.values())]
    for record in caplog.records:
        text = record.getMessage() + repr(vars(record))
        assert not any(s in text for s in secrets)
    print("\nroute access table:", dict(table), "routes:", len(ops))


def policy(method: str, template: str) -> Role:
    """The rule the declarations follow: reads for viewers, changes for operators, credentials for admins."""
    if template in PRIVILEGED_GETS:
        return PRIVILEGED_GETS[template]
    if template.startswith(("/v1/tokens", "/v1/access-keys", "/v1/future")):
        return Role.ADMIN
    if method in ("GET", "HEAD") or template in READ_ONLY_POSTS:
        return Role.VIEWER
    return Role.OPERATOR


def test_signed_with_an_access_key_on_native_routes(secure_app: SecureApp) -> None:
    """SigV4 (service `videolens`) with a key from `videolens keys` works on native routes, by role."""
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    def signed(method: str, path: str, key: tuple[str, str], body: bytes = b"") -> httpx.Response:
        request = botocore.awsrequest.AWSRequest(
            method=method,
            url=secure_app.url + path,
            data=body,
            headers={"Content-Type": "application/json"} if body else {},
        )
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(*key), "videolens", "us-east-1").add_auth(
            request
        )
        return httpx.request(method, request.url, headers=dict(request.headers), content=body)

    viewer, operator = secure_app.keys[Role.VIEWER], secure_app.keys[Role.OPERATOR]
    who = signed("GET", "/v1/whoami", viewer)
    assert who.status_code == 200
    assert who.json() == {"kind": "access_key", "id": viewer[0], "role": "viewer"}
    body = b'{"collection_id": "signed"}'
    assert is_problem(signed("POST", "/v1/collections", viewer, body), 403)
    created = signed("POST", "/v1/collections", operator, body)
    assert created.status_code == 201, created.text
    assert created.json()["collection_id"] == "signed"
    # a wrong secret, a body changed after signing: 401
    assert is_problem(signed("GET", "/v1/collections", (operator[0], "not-the-secret-at-all")), 401)
    request = botocore.awsrequest.AWSRequest(method="POST", url=secure_app.url + "/v1/collections", data=body)
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(*operator), "videolens", "us-east-1").add_auth(
        request
    )
    tampered = httpx.post(request.url, headers=dict(request.headers), content=b'{"collection_id": "evil"}')
    assert is_problem(tampered, 401)


def test_aws_door_applies_key_roles(secure_app: SecureApp) -> None:
    import boto3
    from botocore.exceptions import ClientError

    def client(role: Role) -> Any:
        key_id, secret = secure_app.keys[role]
        return boto3.client(
            "rekognition",
            endpoint_url=secure_app.url,
            region_name="us-east-1",
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )

    assert client(Role.VIEWER).list_collections()["CollectionIds"] == []
    with pytest.raises(ClientError) as exc:
        client(Role.VIEWER).create_collection(CollectionId="nope")
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    assert client(Role.OPERATOR).create_collection(CollectionId="yes")["StatusCode"] == 200


def test_opt_in_public_routes(tmp_path: Path, models: ModelRegistry) -> None:
    """`public(when=...)` routes (/metrics, the docs) open only when their setting says so."""
    closed = start_secure(tmp_path / "closed", models)
    try:
        for path in ("/metrics", "/openapi.json", "/docs"):
            assert is_problem(httpx.get(closed.url + path), 401), path
        scraped = httpx.get(closed.url + "/metrics", headers=closed.bearer(Role.VIEWER))
        assert scraped.status_code == 200 and "# TYPE" in scraped.text
    finally:
        closed.server.stop()
        closed.container.close()
    opened = start_secure(tmp_path / "open", models, metrics_public=True, docs_public=True)
    try:
        scraped = httpx.get(opened.url + "/metrics")
        assert scraped.status_code == 200 and "# TYPE" in scraped.text
        assert httpx.get(opened.url + "/openapi.json").json()["info"]["title"] == "videolens"
        assert "swagger" in httpx.get(opened.url + "/docs").text.lower()
        assert is_problem(httpx.get(opened.url + "/v1/collections"), 401)  # the rest stays closed
    finally:
        opened.server.stop()
        opened.container.close()
