"""Fixtures of the auth tests: a real server in secure mode with a token (and access key) per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, free_port, make_settings
from videolens.container import Container
from videolens.services.auth.models import Role
from videolens.vision.models import ModelRegistry

PROBLEM = "application/problem+json"


@dataclass
class SecureApp:
    server: RunningServer
    tokens: dict[Role, str]
    token_ids: dict[Role, str]
    keys: dict[Role, tuple[str, str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def container(self) -> Container:
        return self.server.container

    def bearer(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def start_secure(
    tmp_path: Path, models: ModelRegistry, prepare: Callable[[Any], None] | None = None, **overrides: Any
) -> SecureApp:
    settings = make_settings(tmp_path / "secure", port=free_port(), auth_mode="secure", **overrides)
    container = Container(settings, models=models)
    tokens, ids, keys = {}, {}, {}
    for role in Role:
        new = container.auth.create_token(f"test {role.value}", role)
        tokens[role], ids[role] = new.token, new.info.token_id
        key = container.keys.create(f"test {role.value}", role=role)
        keys[role] = (key.access_key_id, key.secret_access_key)
    server = RunningServer(container)
    if prepare is not None:
        prepare(server.server.config.app)  # the FastAPI app, before it serves
    server.start()
    return SecureApp(server, tokens, ids, keys)


@pytest.fixture
def secure_app(tmp_path: Path, models: ModelRegistry) -> Iterator[SecureApp]:
    # the route walk sends hundreds of wrong credentials from one address: lift the brake
    app = start_secure(tmp_path, models, auth_failure_limit=100_000)
    yield app
    app.server.stop()
    app.container.close()


from tests.streams.conftest import hamilton_mkv  # noqa: E402,F401  (the Matroska the stream tests use)
