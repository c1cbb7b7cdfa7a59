"""Import rules of docs/architecture.md: declared in pyproject.toml, kept by the tree, broken by bad imports.

Each "broken" case copies the package to a temporary directory, adds one forbidden import there (the
real tree is never touched) and runs `lint-imports` on the copy: the contract that guards that rule
must fail, by name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "videolens"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
#: the modules of a capability others may import (see docs/architecture.md)
PUBLIC = {"__init__", "service", "models", "errors"}
PUBLIC_EXTRA = {"videolens.services.jobs.registry", "videolens.services.live.registry"}


def _contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def _lint(
    cwd: Path, pythonpath: Path | None = None, contract: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:  # the copy under test comes before the installed tree
        env["PYTHONPATH"] = str(pythonpath)
    only = ["--contract", contract] if contract else []
    return subprocess.run(
        [str(LINT_IMPORTS), str(ROOT / "pyproject.toml"), "--no-cache", "--no-logo", *only],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_contracts_are_declared() -> None:
    contracts = _contracts()
    assert set(contracts) == {
        "layers",
        "capability-internals",
        "runtime-floor",
        "vision-media-pure",
        "jobs-know-no-job-types",
        "doors-not-backends",
    }
    assert contracts["layers"]["type"] == "layers"
    assert contracts["layers"]["layers"] == [
        "cli : api : container : anonymize : producer : consumer",
        "services",
        "vision | media | backends",
        "runtime",
    ]
    assert contracts["layers"]["exhaustive"] is True
    assert contracts["runtime-floor"]["source_modules"] == ["videolens.runtime"]
    assert "videolens.services.anonymize" in contracts["jobs-know-no-job-types"]["forbidden_modules"]  # type: ignore[operator]


def test_every_capability_internal_is_protected() -> None:
    """A new module in services/<capability>/ is internal unless public: it must be in the contract."""
    protected = set(_contracts()["capability-internals"]["protected_modules"])  # type: ignore[call-overload]
    internals = {
        f"videolens.services.{path.parent.name}.{path.stem}"
        for path in (PACKAGE / "services").glob("*/*.py")
        if path.stem not in PUBLIC
    } - PUBLIC_EXTRA
    assert protected == internals


def test_no_exception_is_a_blanket() -> None:
    """Exceptions name one importer and one imported module; `**` only for a capability's own modules."""
    for entry in _contracts()["capability-internals"]["ignore_imports"]:  # type: ignore[attr-defined]
        importer, imported = (side.strip() for side in entry.split("->"))
        if "*" in importer or "*" in imported:
            own = re.fullmatch(r"videolens\.services\.(\w+)\.\*\*", importer)
            assert own is not None and imported == importer, entry
        else:
            assert imported.rsplit(".", 1)[0].startswith("videolens.services."), entry


def test_the_tree_keeps_every_contract() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 kept, 0 broken" in result.stdout


def test_no_branching_on_job_type_names() -> None:
    hits = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in PACKAGE.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"job_type\s*(==|!=|in\s*\()\s*['\"]", line)
    ]
    assert hits == []


BROKEN = [
    # (module file to edit, import added to it, id of the contract that must fail)
    ("runtime/settings.py", "import videolens.services.errors", "runtime-floor"),
    ("runtime/settings.py", "import videolens.vision.similarity", "runtime-floor"),
    ("services/errors.py", "import videolens.api.app", "layers"),
    ("backends/blobs/base.py", "import videolens.services.errors", "layers"),
    ("media/hls.py", "import videolens.services.errors", "vision-media-pure"),
    ("vision/similarity.py", "import videolens.backends.metadata.database", "vision-media-pure"),
    ("services/jobs/service.py", "import videolens.services.anonymize.service", "jobs-know-no-job-types"),
    ("api/rest/faces.py", "import videolens.services.faces.vector_cache", "capability-internals"),
    ("services/rules/service.py", "import videolens.services.jobs.queue", "capability-internals"),
    ("api/rest/faces.py", "import videolens.backends.metadata.database", "doors-not-backends"),
]


@pytest.mark.parametrize(("module", "line", "contract"), BROKEN, ids=[f"{c}:{m}" for m, _, c in BROKEN])
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "videolens", ignore=shutil.ignore_patterns("__pycache__"))
    kept = _lint(tmp_path, pythonpath=copy, contract=contract)
    assert kept.returncode == 0, kept.stdout + kept.stderr  # the copy alone keeps it
    target = copy / "videolens" / module
    target.write_text(target.read_text() + f"\n{line}  # the rule breaker of this test\n")
    broken = _lint(tmp_path, pythonpath=copy, contract=contract)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "0 kept, 1 broken" in broken.stdout
