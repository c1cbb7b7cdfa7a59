"""schemathesis over the native REST API: every operation of the served `/openapi.json`, a fixed
example budget, derandomized (the same cases every run), against a real server on loopback.

Each response must not be a 5xx, must have a documented status code and content type, and its body
must match the documented schema (problem+json for errors). Valid inputs (positive generation) and
inputs that break the schema (negative generation) both run.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.conftest import NativeTarget

#: examples per operation and generation mode (x ~68 operations x 2 modes)
EXAMPLES_PER_OPERATION = 20
SEED = 20261201
#: schemathesis's own strategies use `random` inside hypothesis; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: endless Server-Sent-Events streams: a fuzz case would read them forever; tests/ui/test_serving.py
#: checks their events and their problem+json errors instead
EVENT_STREAMS = {"GET /v1/updates", "GET /v1/processors/{name}/results"}


def is_event_stream(raw: dict[str, Any]) -> bool:
    return "text/event-stream" in raw.get("responses", {}).get("200", {}).get("content", {})


def can_break_schema(raw: dict[str, Any]) -> bool:
    """Whether any input of an operation has a constraint that a negative case could break (a free
    string path segment has none; hypothesis would search for an invalid one in vain)."""
    if raw.get("requestBody"):
        return True
    for param in raw.get("parameters", []):
        if param.get("in") != "path":
            return True
        schema = {k: v for k, v in param.get("schema", {}).items() if k not in ("title", "description")}
        if schema != {"type": "string"}:
            return True
    return False


@pytest.fixture(scope="module")
def api_schema(native_target: NativeTarget) -> schemathesis.BaseSchema:
    # secure mode: the document itself needs a credential (unless VIDEOLENS_DOCS_PUBLIC)
    return schemathesis.openapi.from_url(native_target.url + "/openapi.json", headers=native_target.headers)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_operation_conforms(
    api_schema: schemathesis.BaseSchema, native_target: NativeTarget, mode: GenerationMode
) -> None:
    cases: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    #: operations with no input that can break their schema (only free-form path strings)
    no_invalid_input: list[str] = []
    took: dict[str, float] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 60, "the schema lost operations"
    streams = {op.label for op in operations if is_event_stream(op.definition.raw)}
    assert streams == EVENT_STREAMS, "an event stream was added or lost its text/event-stream response"
    operations = [op for op in operations if op.label not in streams]
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not can_break_schema(operation.definition.raw):
            no_invalid_input.append(operation.label)
            continue

        @seed(SEED)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            cases[operation.label] += 1  # noqa: B023 - run() is called within this iteration
            response = case.call_and_validate(headers=native_target.headers, checks=CHECKS, timeout=60)
            statuses[response.status_code] += 1

        started = time.monotonic()
        try:
            run()
        except Unsatisfiable:
            if mode is not GenerationMode.NEGATIVE:
                raise
            no_invalid_input.append(operation.label)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a BaseExceptionGroup
            failures.append(f"{operation.label}: {exc}")
        took[operation.label] = time.monotonic() - started
    total = sum(cases.values())
    print(
        f"\nschemathesis {mode}: {total} cases over {len(cases)} operations "
        f"({len(no_invalid_input)} have no invalid input); statuses {dict(sorted(statuses.items()))}"
    )
    print("slowest:", ", ".join(f"{k} {v:.1f}s" for k, v in sorted(took.items(), key=lambda kv: -kv[1])[:5]))
    assert not failures, "\n\n".join(failures)
    assert len(cases) + len(no_invalid_input) == len(operations)
    assert not any(status >= 500 for status in statuses)
