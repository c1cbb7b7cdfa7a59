"""The README's "Security: tokens and roles" first run, as written, against a real `videolens serve`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import REPO_ROOT, free_port
from tests.docs.test_readme_examples import README, run_bash

HEADING = "## Security: tokens and roles"


def section_blocks() -> list[str]:
    text = README.read_text()
    start = text.index(HEADING)
    end = text.index("\n## ", start + len(HEADING))
    return re.findall(r"```bash\n(.*?)```", text[start:end], re.S)


class Serve:
    """The README's serve line in a child process; stderr collected on a thread (never blocks it)."""

    def __init__(self, command: str, env: dict[str, str], port: int) -> None:
        bindir = str(Path(sys.executable).parent)
        # one simple command: bash execs it, so the signal below reaches videolens itself
        self.proc = subprocess.Popen(
            ["bash", "-c", command],
            cwd=REPO_ROOT,
            env={**os.environ, **env, "PATH": bindir + ":" + os.environ["PATH"]},
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
            assert self.proc.poll() is None, self.stderr
        self.proc.kill()
        raise AssertionError(f"videolens serve did not start: {self.stderr}")

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.reader.join(10)


def test_first_run_as_written(tmp_path: Path) -> None:
    serve_block, steps = section_blocks()
    (serve_line,) = [line for line in serve_block.splitlines() if line.startswith("VIDEOLENS_HOST=0.0.0.0")]
    port = free_port()
    env = {"VIDEOLENS_DATA_DIR": str(tmp_path / "data"), "VIDEOLENS_PORT": str(port), "COLUMNS": "200"}
    server = Serve(serve_line, env, port)
    try:
        stderr = server.stderr
        # the first secure start prints one admin token, on stderr, outside the JSON log lines
        tokens = re.findall(r"^(vl_[a-z0-9]{12}_\S+)$", stderr, re.M)
        assert len(tokens) == 1, stderr
        assert not any(tokens[0] in line for line in stderr.splitlines() if line.startswith("{"))
        me = httpx.get(f"http://127.0.0.1:{port}/v1/whoami", headers={"Authorization": f"Bearer {tokens[0]}"})
        assert me.json()["role"] == "admin"

        script = steps.replace("localhost:8080", f"127.0.0.1:{port}")
        r = run_bash(script, env)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert '"role":"admin"' in lines[0]
        codes = [line for line in lines if re.fullmatch(r"\d{3}", line)]
        assert codes == ["401", "200", "403", "401"]
        import av

        with av.open("/tmp/door.mp4") as clip:  # fetched through the signed URL, no header
            assert sum(1 for _ in clip.decode(video=0)) == 275
        assert "dashboard" in r.stdout and "camera" in r.stdout  # tokens list
    finally:
        server.stop()
    # a second start prints nothing: an admin credential exists
    again = Serve(serve_line, env, port)
    again.stop()
    assert "vl_" not in again.stderr and "first admin token" not in again.stderr.lower()
