"""API tokens: the CLI, hashing at rest, expiry, revocation, last use, roles on access keys."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from tests.auth.conftest import PROBLEM, SecureApp
from videolens.services.auth.models import Role

TOKEN_RE = re.compile(r"^vl_[a-z0-9]{12}_[A-Za-z0-9_\-]{43}$")


def videolens(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "videolens"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=120,
        check=False,
    )


def whoami(app: SecureApp, token: str) -> httpx.Response:
    return httpx.get(app.url + "/v1/whoami", headers={"Authorization": f"Bearer {token}"})


def test_cli_create_list_revoke(secure_app: SecureApp) -> None:
    data_dir = str(secure_app.container.settings.data_dir)
    created = videolens(
        "tokens", "create", "--role", "operator", "--name", "ci", "--quiet", "--data-dir", data_dir
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert TOKEN_RE.match(token) and created.stdout == token + "\n"  # --quiet: the token alone
    token_id = token.split("_")[1]
    me = whoami(secure_app, token)
    assert me.status_code == 200 and me.json() == {"kind": "token", "id": token_id, "role": "operator"}

    listed = videolens("tokens", "list", "--json", "--data-dir", data_dir)
    assert listed.returncode == 0, listed.stderr
    (mine,) = [t for t in json.loads(listed.stdout) if t["token_id"] == token_id]
    assert mine["name"] == "ci" and mine["role"] == "operator" and mine["revoked_at"] is None
    assert mine["last_used_at"] is not None  # the whoami above
    assert token not in listed.stdout and token.split("_", 2)[2] not in listed.stdout

    revoked = videolens("tokens", "revoke", token_id, "--data-dir", data_dir)
    assert revoked.returncode == 0 and f"revoked {token_id}" in revoked.stdout
    gone = whoami(secure_app, token)
    assert gone.status_code == 401 and gone.headers["content-type"] == PROBLEM

    bad = videolens("tokens", "create", "--role", "superuser", "--data-dir", data_dir)
    assert bad.returncode == 2 and "unknown role" in bad.stderr and "Traceback" not in bad.stderr
    unknown = videolens("tokens", "revoke", "nosuchtoken0", "--data-dir", data_dir)
    assert unknown.returncode == 2 and "does not exist" in unknown.stderr


def test_tokens_are_stored_hashed(secure_app: SecureApp) -> None:
    new = secure_app.container.auth.create_token("hashed", Role.VIEWER)
    with secure_app.container.db.engine.connect() as conn:
        row = (
            conn.execute(sa.text("SELECT * FROM api_tokens WHERE token_id = :i"), {"i": new.info.token_id})
            .mappings()
            .one()
        )
    assert row["secret_hash"] == hashlib.sha256(new.token.encode()).hexdigest()
    assert new.token not in repr(dict(row))
    raw = Path(str(secure_app.container.settings.database_url_resolved).split("///", 1)[1])
    for path in (raw, raw.with_name(raw.name + "-wal")):
        if path.exists():
            assert new.token.split("_", 2)[2].encode() not in path.read_bytes()


def test_expiry_and_rest_management(secure_app: SecureApp) -> None:
    auth = secure_app.container.auth
    short = auth.create_token("short", Role.VIEWER, timedelta(seconds=1))
    assert whoami(secure_app, short.token).status_code == 200
    time.sleep(1.3)
    assert whoami(secure_app, short.token).status_code == 401

    admin = secure_app.bearer(Role.ADMIN)
    made = httpx.post(secure_app.url + "/v1/tokens", json={"name": "rest", "role": "viewer"}, headers=admin)
    assert made.status_code == 201, made.text
    doc = made.json()
    assert doc["role"] == "viewer" and TOKEN_RE.match(doc["token"])
    listed = httpx.get(secure_app.url + "/v1/tokens", headers=admin).json()
    assert doc["token_id"] in {t["token_id"] for t in listed}
    assert all("token" not in t and "secret_hash" not in t for t in listed)
    assert httpx.delete(f"{secure_app.url}/v1/tokens/{doc['token_id']}", headers=admin).status_code == 204
    assert whoami(secure_app, doc["token"]).status_code == 401
    # a token of a wrong shape, an empty bearer, another scheme: 401 as well
    for header in ("Bearer", "Bearer abc", "Basic dXNlcjpwYXNz"):
        r = httpx.get(secure_app.url + "/v1/whoami", headers={"Authorization": header})
        assert r.status_code == 401 and r.json()["status"] == 401, header


def test_keys_get_roles(secure_app: SecureApp) -> None:
    data_dir = str(secure_app.container.settings.data_dir)
    r = videolens("keys", "create", "--role", "viewer", "--json", env={"VIDEOLENS_DATA_DIR": data_dir})
    assert r.returncode == 0, r.stderr
    key = json.loads(r.stdout)
    assert key["Role"] == "viewer"
    assert secure_app.container.keys.role_of(key["AccessKeyId"]) == Role.VIEWER
    listed = json.loads(videolens("keys", "list", "--json", env={"VIDEOLENS_DATA_DIR": data_dir}).stdout)
    assert {k["AccessKeyId"]: k["Role"] for k in listed}[key["AccessKeyId"]] == "viewer"
    # keys created without a role (and every key made before roles existed) are admin
    assert secure_app.container.keys.create("old style").role == Role.ADMIN
