"""The AWS CLI (awscli in the venv), unchanged, against a secure-mode server: rekognition + s3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.aws.conftest import REGION, SecureServer

AWS = str(Path(sys.executable).with_name("aws"))


def _aws(server: SecureServer, tmp_path: Path, *args: str) -> str:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": server.key_id,
        "AWS_SECRET_ACCESS_KEY": server.secret,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_PAGER": "",
    }
    done = subprocess.run(
        [AWS, *args, "--endpoint-url", server.url], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_awscli_rekognition_and_s3(secure_server: SecureServer, tmp_path: Path, faces_dir: Path) -> None:
    created = json.loads(
        _aws(secure_server, tmp_path, "rekognition", "create-collection", "--collection-id", "cli")
    )
    assert created["StatusCode"] == 200
    _aws(secure_server, tmp_path, "s3", "mb", "s3://cli-photos")
    for person in ("obama", "biden"):
        for photo in sorted((faces_dir / person).iterdir()):
            out = _aws(
                secure_server, tmp_path, "s3", "cp", str(photo), f"s3://cli-photos/{person}/{photo.name}"
            )
            assert "upload:" in out
    listing = _aws(secure_server, tmp_path, "s3", "ls", "s3://cli-photos/", "--recursive")
    assert sorted(line.split()[-1] for line in listing.splitlines()) == sorted(
        f"{p}/{f.name}" for p in ("obama", "biden") for f in (faces_dir / p).iterdir()
    )
    assert "PRE obama/" in _aws(secure_server, tmp_path, "s3", "ls", "s3://cli-photos/")
    assert "cli-photos" in _aws(secure_server, tmp_path, "s3", "ls")
    for person in ("obama", "biden"):
        key = f"{person}/{sorted((faces_dir / person).iterdir())[0].name}"
        indexed = json.loads(
            _aws(
                secure_server,
                tmp_path,
                "rekognition",
                "index-faces",
                "--collection-id",
                "cli",
                "--image",
                json.dumps({"S3Object": {"Bucket": "cli-photos", "Name": key}}),
                "--external-image-id",
                person,
                "--max-faces",
                "1",
            )
        )
        assert len(indexed["FaceRecords"]) == 1
    found = json.loads(
        _aws(
            secure_server,
            tmp_path,
            "rekognition",
            "search-faces-by-image",
            "--collection-id",
            "cli",
            "--image-bytes",
            f"fileb://{faces_dir / '_test' / 'obama1.jpg'}",
            "--face-match-threshold",
            "80",
        )
    )
    assert [m["Face"]["ExternalImageId"] for m in found["FaceMatches"]] == ["obama"]
    back = tmp_path / "back.jpg"
    _aws(secure_server, tmp_path, "s3", "cp", "s3://cli-photos/obama/obama.jpg", str(back))
    assert back.read_bytes() == (faces_dir / "obama" / "obama.jpg").read_bytes()
    _aws(secure_server, tmp_path, "s3", "rm", "s3://cli-photos/", "--recursive")
    _aws(secure_server, tmp_path, "s3", "rb", "s3://cli-photos")
    assert "cli-photos" not in _aws(secure_server, tmp_path, "s3", "ls")
