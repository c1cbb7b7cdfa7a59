"""Settings page in real Chromium: access keys made and revoked there work / stop working for boto3;
/docs renders Swagger UI from this origin only."""

from __future__ import annotations

from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from playwright.sync_api import Browser

from tests.auth.conftest import SecureApp, start_secure
from tests.ui.conftest import Watched, token, watch
from videolens.services.auth.models import Role
from videolens.vision.models import ModelRegistry


def rekognition(url: str, key_id: str, secret: str) -> object:
    return boto3.client(
        "rekognition",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def test_create_use_and_revoke_an_access_key(ui: Watched, app: SecureApp) -> None:
    ui.sign_in(token(app, Role.ADMIN))
    page = ui.page
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Key description").fill("camera gateway")
    page.get_by_label("Key role").select_option("operator")
    page.get_by_role("button", name="Create access key").click()
    key_id = page.get_by_label("New access key id").inner_text()
    secret = page.get_by_label("New secret access key").inner_text()
    assert key_id.startswith("VL") and len(secret) >= 16
    page.get_by_role("button", name=f"Revoke access key {key_id}").wait_for()
    # the key signs real boto3 calls with the role chosen on the page
    client = rekognition(app.url, key_id, secret)
    client.create_collection(CollectionId="from-ui-key")  # type: ignore[attr-defined]
    listed = httpx.get(app.url + "/v1/access-keys", headers=app.bearer(Role.ADMIN)).json()
    mine = [k for k in listed if k["access_key_id"] == key_id]
    assert mine and mine[0]["role"] == "operator" and mine[0]["description"] == "camera gateway"
    assert all("secret_access_key" not in k for k in listed)  # the secret is shown once, never listed

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name=f"Revoke access key {key_id}").click()
    page.get_by_role("button", name=f"Revoke access key {key_id}").wait_for(state="detached")
    with pytest.raises(ClientError) as refused:
        client.list_collections()  # type: ignore[attr-defined]
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert ui.errors == [] and ui.foreign() == []


def test_access_keys_need_admin(app: SecureApp) -> None:
    for role in (Role.VIEWER, Role.OPERATOR):
        assert httpx.get(app.url + "/v1/access-keys", headers=app.bearer(role)).status_code == 403
        made = httpx.post(app.url + "/v1/access-keys", json={}, headers=app.bearer(role))
        assert made.status_code == 403
    assert httpx.get(app.url + "/v1/access-keys").status_code == 401
    short = httpx.post(
        app.url + "/v1/access-keys", json={"secret_access_key": "short"}, headers=app.bearer(Role.ADMIN)
    )
    assert short.status_code == 400 and short.headers["content-type"] == "application/problem+json"
    gone = httpx.delete(app.url + "/v1/access-keys/VLNOSUCHKEY0000000000", headers=app.bearer(Role.ADMIN))
    assert gone.status_code == 404


def test_swagger_ui_loads_from_this_origin(browser: Browser, tmp_path: Path, models: ModelRegistry) -> None:
    app = start_secure(tmp_path, models, docs_public=True)
    ui = watch(browser, app.url)
    try:
        ui.page.goto(app.url + "/docs")
        ui.page.get_by_text("/v1/access-keys", exact=True).first.wait_for()
        assert ui.page.locator(".opblock").count() > 50  # every operation rendered
        assert ui.foreign() == [] and ui.errors == []
        assert app.url + "/docs/swagger-ui-bundle.js" in ui.requests
    finally:
        ui.page.context.close()
        app.server.stop()
        app.container.close()
