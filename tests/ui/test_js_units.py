"""The front-end unit tests (tests/ui/js/*.test.mjs) run with Node's own test runner, inside pytest."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

JS_TESTS = sorted((Path(__file__).parent / "js").glob("*.test.mjs"))


def test_front_end_units_pass() -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js is needed for the front-end unit tests (apt-get install nodejs)"
    assert JS_TESTS, "no front-end tests found"
    run = subprocess.run(
        [node, "--test", "--test-reporter=tap", *map(str, JS_TESTS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # every test ran and passed (not zero tests "passing")
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout, run.stdout
