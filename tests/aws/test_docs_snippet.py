"""The "Use it from boto3" snippets of README.md and docs/aws.md run as written (endpoint aside)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, RunningServer


@pytest.mark.parametrize("doc", ["README.md", "docs/aws.md"])
def test_boto3_snippet_works_as_written(
    doc: str, server: RunningServer, faces_dir: Path, tmp_path: Path
) -> None:
    text = (REPO_ROOT / doc).read_text()
    snippet = re.search(r"## Use it from boto3.*?```python\n(.*?)```", text, re.S)
    assert snippet is not None
    code = snippet.group(1).replace("http://127.0.0.1:8080", server.url)
    shutil.copy(faces_dir / "obama" / "obama.jpg", tmp_path / "obama.jpg")
    shutil.copy(faces_dir / "obama" / "obama2.jpg", tmp_path / "obama2.jpg")
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, doc, "exec"), {})
    finally:
        os.chdir(cwd)
    assert out.getvalue().strip() == "['obama']"
