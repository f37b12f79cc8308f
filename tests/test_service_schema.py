"""The service answers as its OpenAPI document says: schemathesis against a real server.

The document is the one the server serves at ``/api/v1/openapi.json``. Every operation is
fuzzed once per role: a planner, a viewer (writes are refused with 403) and an anonymous
caller (everything but ``/health`` answers 401). Requests are generated valid and, where an
operation takes a body, invalid too; path ids are either random or the real ids of an uploaded
scenario and a finished job and plan, so reads also answer 200 and writes reach the job queue.
Every response must not be a server error, must have a documented status code, content type and
headers, and must match the documented schema; an invalid request must be refused with a 4xx.

schemathesis drives its own pytest integration (``schemathesis.pytest.from_fixture``) through a
pytest node attribute that pytest 9.2 removed, so each case strategy is taken from the public
``APIOperation.as_strategy`` and run with a plain Hypothesis ``@given``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, CheckContext, GenerationMode, Response
from schemathesis import Case as _Case
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.service_live import (
    LiveServer,
    create_token,
    scenario_zip,
    start_server,
    upload,
    wait_for_job,
)

API = "/api/v1"
PROBLEM = "application/problem+json"
JOBS = f"{API}/jobs"
OPERATIONS = (
    f"GET {API}/health",
    f"GET {API}/me",
    f"GET {API}/scenarios",
    f"POST {API}/scenarios",
    f"GET {API}/scenarios/{{scenario_id}}",
    f"GET {API}/jobs",
    f"POST {API}/jobs",
    f"GET {API}/jobs/{{job_id}}",
    f"POST {API}/jobs/{{job_id}}/cancel",
    f"GET {API}/plans",
    f"GET {API}/plans/{{plan_id}}",
    f"GET {API}/plans/{{plan_id}}/files/{{path}}",
    f"POST {API}/plans/{{plan_id}}/links",
    f"POST {API}/plans/{{plan_id}}/replan",
    f"POST {API}/whatif",
    f"GET {API}/whatif",
    f"GET {API}/whatif/{{job_id}}",
    f"GET {API}/whatif/{{job_id}}/files/{{path}}",
)
REPLAN = OPERATIONS[13]
ROLES = ("planner", "viewer", "anonymous")
# Examples per operation and role: about 2,000 requests in all, some 20 s.
MAX_EXAMPLES = 50
# Jobs the fuzzer creates share the two cores with it, so each may only search this long.
GENERATED_TIME_LIMIT_S = 0.5
HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # Shrinking would replay many requests against the server; the report already names the
    # failing request (as a curl command) and the seed is fixed.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# Answers each run must have seen at least once, so that the run is known to reach them.
MUST_SEE: dict[tuple[str, str], set[int]] = {
    ("planner", f"POST {API}/scenarios"): {422},
    ("planner", f"POST {API}/jobs"): {202, 404, 422},
    ("planner", f"GET {API}/scenarios/{{scenario_id}}"): {200, 404},
    ("planner", f"GET {API}/jobs/{{job_id}}"): {200, 404},
    ("planner", f"POST {API}/jobs/{{job_id}}/cancel"): {404, 409},
    ("planner", f"GET {API}/plans/{{plan_id}}"): {200, 404},
    ("planner", f"GET {API}/plans/{{plan_id}}/files/{{path}}"): {404},
    ("planner", f"POST {API}/plans/{{plan_id}}/links"): {201, 404},
    ("viewer", f"POST {API}/scenarios"): {403},
    ("viewer", f"POST {API}/jobs"): {403},
    ("viewer", f"POST {API}/jobs/{{job_id}}/cancel"): {403},
    ("viewer", f"GET {API}/plans/{{plan_id}}"): {200, 404},
    ("viewer", f"POST {API}/plans/{{plan_id}}/links"): {201, 404},
}

Case = _Case[Any]
Operation = APIOperation[Any, Any, Any, Any]
Check = Callable[[CheckContext, Response, Case], "bool | None"]
CHECKS: list[Check] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own with one finished job; one job at a time and a short queue (429)."""
    data_dir = tmp_path_factory.mktemp("schema") / "data"
    data_dir.mkdir()
    planner = create_token(data_dir, "planner")
    viewer = create_token(data_dir, "viewer")
    live = start_server(data_dir, "--max-jobs", "1", "--job-workers", "1", "--max-queued", "3")
    live.planner_token = planner
    live.viewer_token = viewer
    try:
        archive = scenario_zip(tmp_path_factory.mktemp("schema-upload"), size=12, seed=83_101)
        with live.client("planner") as client:
            response = upload(client, archive)
            assert response.status_code == 201, response.text
            scenario_id = response.json()["id"]
            response = client.post(JOBS, json={"scenario_id": scenario_id, "time_limit_s": 1})
            assert response.status_code == 202, response.text
            job = wait_for_job(client, response.json()["id"], timeout_s=120)
        assert job["status"] == "done", job
        job_id = job["id"]
        live.extra.update(scenario_id=scenario_id, job_id=job_id, plan_id=job["plan_id"])
        yield live
        with live.client("viewer") as client:
            jobs: list[dict[str, Any]] = client.get(JOBS).json()
        # Jobs the fuzzer created share the cores with it: none may search long.
        generated = [job["time_limit_s"] for job in jobs if job["id"] != job_id]
        assert max(generated, default=0) <= GENERATED_TIME_LIMIT_S, generated
    finally:
        live.stop()
    assert "Traceback" not in live.log(), live.log()


@pytest.fixture(scope="module")
def schema(server: LiveServer) -> schemathesis.BaseSchema:
    """The document the server serves, calling that server."""
    config = schemathesis.Config.from_dict(
        {
            "generation": {
                # The role under test decides the Authorization header, never the generator.
                "with-security-parameters": False,
            },
            "request-timeout": 60,
        }
    )
    return schemathesis.openapi.from_url(f"{server.url}{API}/openapi.json", config=config)


def _header(response: Response, name: str) -> str:
    values = response.headers.get(name.lower(), [])
    return str(values[0]) if values else ""


def _is_negative(case: Case) -> bool:
    return case.meta is not None and case.meta.generation.mode == GenerationMode.NEGATIVE


def _unauthorized(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Without a token everything but /health is refused: 401, problem+json, a Bearer challenge."""
    if case.operation.path == f"{API}/health":
        return None
    assert response.status_code == 401, f"without a token: {response.status_code}"
    assert _header(response, "content-type").startswith(PROBLEM), response.headers
    assert _header(response, "www-authenticate").startswith("Bearer"), response.headers
    return None


def _forbidden_for_viewer(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A viewer may read and make links; any other write of a well-formed request is 403.

    A body that cannot be parsed at all may be refused (400, 422) before the role is looked
    at; ``negative_data_rejection`` already insists on a 4xx for those.
    """
    operation = case.operation
    if operation.method.upper() == "GET" or operation.path.endswith("/links"):
        return None
    if not _is_negative(case):
        assert response.status_code == 403, f"a viewer's write: {response.status_code}"
    assert not 200 <= response.status_code < 300, f"a viewer's write: {response.status_code}"
    return None


def _cheap_job(pair: tuple[Case, bool], scenario_id: str) -> Case:
    """Keep generated jobs short and let half of them name the real scenario.

    Only values that are already valid are replaced, by other valid ones, so a request that was
    generated to be invalid stays invalid.
    """
    case, real = pair
    body = case.body
    if not isinstance(body, dict):
        return case
    limit = body.get("time_limit_s")
    if isinstance(limit, int | float) and not isinstance(limit, bool) and 0 < limit <= 86400:
        body["time_limit_s"] = min(float(limit), GENERATED_TIME_LIMIT_S)
    current = body.get("scenario_id")
    if real and isinstance(current, str) and 1 <= len(current) <= 100:
        body["scenario_id"] = scenario_id
    return case


def _strategy(operation: Operation, ids: dict[str, str]) -> st.SearchStrategy[Case]:
    """Valid (and, given a body, invalid) requests, with random or real ids in the path."""
    names = {parameter.name for parameter in operation.path_parameters}
    real = {name: value for name, value in ids.items() if name in names}
    modes = [GenerationMode.POSITIVE]
    if operation.body:
        modes.append(GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    if real:
        strategies += [
            operation.as_strategy(generation_mode=mode, path_parameters=real) for mode in modes
        ]
    strategy = st.one_of(*strategies)
    if operation.method.upper() == "POST" and operation.path == JOBS:
        scenario_id = ids["scenario_id"]
        strategy = st.tuples(strategy, st.booleans()).map(
            lambda pair: _cheap_job(pair, scenario_id)
        )
    return strategy


@pytest.mark.parametrize("label", OPERATIONS)
@pytest.mark.parametrize("role", ROLES)
def test_operation_follows_the_schema(
    server: LiveServer, schema: schemathesis.BaseSchema, role: str, label: str
) -> None:
    operation = schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the served document"
    headers: dict[str, str] = {}
    checks = list(CHECKS)
    if role == "anonymous":
        checks.append(_unauthorized)
    else:
        token = server.planner_token if role == "planner" else server.viewer_token
        headers["Authorization"] = f"Bearer {token}"
        if role == "viewer":
            checks.append(_forbidden_for_viewer)
    ids = {key: str(value) for key, value in server.extra.items()}
    statuses: set[int] = set()

    @HYPOTHESIS
    @given(case=_strategy(operation, ids))
    def run(case: Case) -> None:
        response = case.call_and_validate(headers=headers, checks=checks)
        statuses.add(response.status_code)

    run()
    wanted = MUST_SEE.get((role, label), set()) | ({401} if role == "anonymous" else set())
    if label == f"GET {API}/health":
        wanted = {200}
    assert wanted <= statuses, f"never answered {sorted(wanted - statuses)}: {sorted(statuses)}"


def test_the_document_lists_exactly_the_fuzzed_operations(
    schema: schemathesis.BaseSchema,
) -> None:
    """A new endpoint must be added to OPERATIONS, so that it is fuzzed too."""
    served = {result.ok().label for result in schema.get_all_operations()}  # type: ignore[union-attr]
    assert served == set(OPERATIONS)


def test_real_ids_answer_with_documented_bodies(
    server: LiveServer, schema: schemathesis.BaseSchema
) -> None:
    """The 2xx answers for the real ids are validated too (random ids only reach 404)."""
    ids = server.extra
    planner = {"Authorization": f"Bearer {server.planner_token}"}
    expected = {
        f"GET {API}/scenarios/{{scenario_id}}": ({"scenario_id": ids["scenario_id"]}, 200),
        f"GET {API}/jobs/{{job_id}}": ({"job_id": ids["job_id"]}, 200),
        f"POST {API}/jobs/{{job_id}}/cancel": ({"job_id": ids["job_id"]}, 409),
        f"GET {API}/plans/{{plan_id}}": ({"plan_id": ids["plan_id"]}, 200),
        f"POST {API}/plans/{{plan_id}}/links": ({"plan_id": ids["plan_id"]}, 201),
    }
    for label, (path_parameters, status) in expected.items():
        operation = schema.find_operation_by_label(label)
        assert operation is not None, label
        case = operation.Case(path_parameters=path_parameters)
        response = case.call_and_validate(headers=planner, checks=CHECKS)
        assert response.status_code == status, (label, response.text)


def test_every_plan_file_has_a_documented_content_type(
    server: LiveServer, schema: schemathesis.BaseSchema
) -> None:
    """Each file of a real plan is served with a media type the document lists."""
    plan_id = server.extra["plan_id"]
    headers = {"Authorization": f"Bearer {server.viewer_token}"}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        files: list[str] = client.get(f"{API}/plans/{plan_id}").json()["files"]
    assert {"plan.json", "map.html", "summary.md"} <= set(files)
    operation = schema.find_operation_by_label(f"GET {API}/plans/{{plan_id}}/files/{{path}}")
    assert operation is not None
    media_types: set[str] = set()
    for path in files:
        case = operation.Case(path_parameters={"plan_id": plan_id, "path": path})
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        assert response.status_code == 200, path
        media_types.add(_header(response, "content-type").split(";")[0])
    assert {"application/json", "text/html", "text/markdown"} <= media_types
