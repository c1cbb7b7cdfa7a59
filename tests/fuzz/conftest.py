"""Fixtures of the fuzz suites: one real videolens server on loopback per module, and the request
headers that authenticate a fuzzed request.

`native_target` is parametrized by auth mode: "dev" (loopback, no credential) and "secure" (every
native request carries an admin bearer token, every AWS-door case is signed with an admin access key
of `videolens keys`); every fuzz test runs once per mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import RunningServer, free_port, make_settings
from videolens.container import Container
from videolens.services.auth.models import Role
from videolens.vision.models import ModelRegistry


@dataclass
class NativeTarget:
    """A running server and the headers every fuzzed request carries."""

    server: RunningServer
    #: native-door headers of every request (secure mode: {"Authorization": "Bearer <admin token>"})
    headers: dict[str, str] = field(default_factory=dict)
    #: (access key id, secret) the AWS-door cases are signed with (secure mode: a key of `keys.create`)
    aws_credentials: tuple[str, str] = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

    @property
    def url(self) -> str:
        return self.server.url


def _dev_target(data_dir: Path, models: ModelRegistry) -> tuple[Container, NativeTarget]:
    settings = make_settings(data_dir, port=free_port(), auth_mode="dev", max_upload_bytes=8 * 1024 * 1024)
    container = Container(settings, models=models)
    return container, NativeTarget(RunningServer(container).start())


def _secure_target(data_dir: Path, models: ModelRegistry) -> tuple[Container, NativeTarget]:
    settings = make_settings(
        data_dir,
        port=free_port(),
        auth_mode="secure",
        max_upload_bytes=8 * 1024 * 1024,
        auth_failure_limit=1_000_000,  # fuzzed requests that fail auth on purpose must not trip the brake
    )
    container = Container(settings, models=models)
    token = container.auth.create_token("fuzz", Role.ADMIN).token
    key = container.keys.create("fuzz", role=Role.ADMIN)
    return container, NativeTarget(
        RunningServer(container).start(),
        headers={"Authorization": f"Bearer {token}"},
        aws_credentials=(key.access_key_id, key.secret_access_key),
    )


#: auth mode → a builder of (container, target)
AUTH_TARGETS: dict[str, Callable[[Path, ModelRegistry], tuple[Container, NativeTarget]]] = {
    "dev": _dev_target,
    "secure": _secure_target,
}


@pytest.fixture(scope="module", params=sorted(AUTH_TARGETS))
def native_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, models: ModelRegistry
) -> Iterator[NativeTarget]:
    container, target = AUTH_TARGETS[request.param](tmp_path_factory.mktemp(f"fuzz-{request.param}"), models)
    yield target
    target.server.stop()
    container.close()
