"""What-if jobs in the service: the endpoint, the job's command, the worker, the answer.

The API runs in this process (FastAPI's TestClient, jobs not started); the worker runs the real
``run_whatif`` on the tiny scenario, then the job manager records its end as the server would.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geodata.scenario_writer import write_scenario
from service import worker
from service.app import create_app
from service.config import ServiceConfig
from service.datafolder import foreign_entries, remove_own_temporary
from service.db import JobRow, PlanRow, ScenarioRow, open_database, utcnow
from service.events import Done, decode
from service.jobs import JobManager, _Running
from service.tokens import create_token
from service.whatif import output_dir, request_path
from tests.conftest import find_chromium, make_tiny_scenario
from tests.service_live import LiveServer, scenario_zip

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's warning about httpx, which works
    from starlette.testclient import TestClient

SCENARIO_ID = "s_00000000000000aa"
JOB_ID = "j_00000000000000bb"


def _seed(config: ServiceConfig) -> None:
    config.create_folders()
    write_scenario(make_tiny_scenario(), config.scenarios_dir / SCENARIO_ID)
    engine, sessions = open_database(config.database_url)
    with sessions.begin() as session:
        session.add(
            ScenarioRow(
                id=SCENARIO_ID,
                name="tiny",
                created_at=utcnow(),
                created_by="t_1",
                drop_points=4,
                families=240,
                warehouses=1,
                trucks=2,
                demand_kg=10800.0,
            )
        )
    engine.dispose()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[TestClient, ServiceConfig]]:
    config = ServiceConfig(data_dir=tmp_path / "data")
    _seed(config)
    app = create_app(config, run_jobs=False)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {create_token(app.state.sessions, 'planner')}"
        client.app_state = app.state  # type: ignore[attr-defined]
        yield client, config


def test_a_whatif_is_queued_with_its_question_kept_beside_its_log(
    service: tuple[TestClient, ServiceConfig],
) -> None:
    client, config = service
    body = {"scenario_id": SCENARIO_ID, "fleet_scales": [0.5, 1, 2], "time_limit_s": 2}
    answer = client.post("/api/v1/whatif", json=body)
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    # The job's budget: 2 s for each of the three scales and the base plan.
    assert (job["status"], job["time_limit_s"]) == ("queued", 8.0)
    question = json.loads(request_path(config, job["id"]).read_text(encoding="utf-8"))
    assert question["fleet_scales"] == [0.5, 1.0, 2.0] and question["finish_by"] is None
    assert foreign_entries(config.data_dir) == []  # the service's own names
    # Until it runs, its answer is empty.
    empty = client.get(f"/api/v1/whatif/{job['id']}").json()
    assert (empty["status"], empty["rows"], empty["files"]) == ("queued", [], [])
    assert empty["question"]["fleet_scales"] == [0.5, 1.0, 2.0]
    # Only what-ifs are listed as what-ifs.
    client.post("/api/v1/jobs", json={"scenario_id": SCENARIO_ID, "time_limit_s": 2})
    listed = client.get("/api/v1/whatif").json()
    assert [(w["job_id"], w["scenario_id"], w["status"]) for w in listed] == [
        (job["id"], SCENARIO_ID, "queued")
    ]


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ({"fleet_scales": [1], "wait_costs": [0]}, 422, "body."),
        ({}, 422, "body."),
        ({"wait_costs": [0], "truck_type": "CDD"}, 422, "body.truck_type"),
        ({"fleet_scales": [0]}, 422, "body.fleet_scales.0"),
        ({"fleet_scales": [1], "scenario_id": "s_0000000000000099"}, 404, None),
    ],
)
def test_bad_whatifs_are_refused_and_nothing_is_queued(
    service: tuple[TestClient, ServiceConfig], body: dict[str, Any], status: int, where: str | None
) -> None:
    client, config = service
    answer = client.post(
        "/api/v1/whatif", json={"scenario_id": SCENARIO_ID, "time_limit_s": 2, **body}
    )
    assert answer.status_code == status, answer.text
    if where is not None:
        assert any(item["where"].startswith(where) for item in answer.json()["errors"])
    assert client.get("/api/v1/jobs").json() == []
    assert client.get("/api/v1/whatif").json() == []
    assert list(config.jobs_dir.iterdir()) == []


def test_viewers_cannot_ask_a_whatif(service: tuple[TestClient, ServiceConfig]) -> None:
    client, _config = service
    viewer = create_token(client.app_state.sessions, "viewer")  # type: ignore[attr-defined]
    answer = client.post(
        "/api/v1/whatif",
        json={"scenario_id": SCENARIO_ID, "fleet_scales": [1], "time_limit_s": 2},
        headers={"Authorization": f"Bearer {viewer}"},
    )
    assert answer.status_code == 403


def test_a_plain_job_is_not_a_whatif(service: tuple[TestClient, ServiceConfig]) -> None:
    client, _config = service
    job = client.post("/api/v1/jobs", json={"scenario_id": SCENARIO_ID, "time_limit_s": 2}).json()
    assert client.get(f"/api/v1/whatif/{job['id']}").status_code == 404


def test_a_whatif_job_runs_the_worker_and_ends_with_its_answer(tmp_path: Path) -> None:
    config = ServiceConfig(data_dir=tmp_path / "data")
    _seed(config)
    app = create_app(config, run_jobs=False)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {create_token(app.state.sessions, 'planner')}"
        body = {
            "scenario_id": SCENARIO_ID,
            "fleet_scales": [1, 2],
            "time_limit_s": 1,
            "seed": 1,
            "language": "en",
        }
        job_id = client.post("/api/v1/whatif", json=body).json()["id"]
        manager = JobManager(config, app.state.sessions)
        with manager.sessions() as session:
            job = session.get(JobRow, job_id)
        assert job is not None
        command = manager.command(job, "p_00000000000000ee")
        at = command.index("--whatif")
        assert command[at : at + 4] == [
            "--whatif",
            str(request_path(config, job_id)),
            "--out",
            str(output_dir(config, job_id)),
        ]
        options = dict(zip(command[4::2], command[5::2], strict=False))
        args = worker.JobArgs(
            job=job_id,
            scenario=options["--scenario"],
            out=str(output_dir(config, job_id)),
            time_limit=1.0,
            strategy=None,
            seed=1,
            language="en",
            workers=1,
            parent_pid=1,
            whatif=str(request_path(config, job_id)),
        )
        pipe = io.StringIO()
        assert worker.run_job(args, worker._Events(pipe), threading.Event()) == worker.EXIT_OK
        events = [decode(line) for line in pipe.getvalue().splitlines()]
        assert isinstance(events[-1], Done)
        run = _Running(job_id, "p_00000000000000ee", None, 0.0, 4.0)  # type: ignore[arg-type]
        manager._finish(run, 0, events[-1])
        with manager.sessions() as session:
            row = session.get(JobRow, job_id)
            assert session.get(PlanRow, "p_00000000000000ee") is None  # an answer, not a plan
        assert row is not None and (row.status, row.plan_id) == ("done", None)

        answer = client.get(f"/api/v1/whatif/{job_id}").json()
        assert answer["status"] == "done"
        assert answer["columns"][:3] == ["fleet_scale", "warehouse", "trucks"]
        written = list(
            csv.DictReader(
                io.StringIO(
                    (output_dir(config, job_id) / "whatif.csv").read_text(encoding="utf-8-sig")
                )
            )
        )
        assert answer["rows"] == written
        assert {r["fleet_scale"] for r in answer["rows"]} == {"1", "2"}
        assert "whatif.xlsx" in answer["files"]
        plots = [f for f in answer["files"] if f.endswith(".png")]
        assert plots
        picture = client.get(f"/api/v1/whatif/{job_id}/files/{plots[0]}")
        assert picture.status_code == 200 and picture.content[:4] == b"\x89PNG"
        assert client.get(f"/api/v1/whatif/{job_id}/files/../secret.key").status_code == 404
    # A restart keeps the answer and removes only a half-written one.
    staging = config.jobs_dir / f".{job_id}.whatif.tmp-42-0123456789ab"
    staging.mkdir()
    assert foreign_entries(config.data_dir) == []
    removed = remove_own_temporary(config.data_dir, scenario_ids=[SCENARIO_ID], plan_ids=[])
    assert removed == [f"jobs/{staging.name}"]
    assert output_dir(config, job_id).is_dir() and request_path(config, job_id).is_file()


def test_the_service_doc_names_the_whatif_calls_fields_and_entries() -> None:
    from service import datafolder
    from service.whatif import MAX_SETTINGS, WhatIfIn

    doc = (Path(__file__).resolve().parent.parent / "docs" / "service.md").read_text()
    for call in ("`POST /whatif`", "`GET /whatif`", "`GET /whatif/{job_id}`"):
        assert call in doc, call
    for name in WhatIfIn.model_fields:
        assert f'"{name}"' in doc, name
    assert f"at most {MAX_SETTINGS}" in doc
    from optimizer.whatif import CONFIRM_ROUNDS, MAX_SEARCH_STEPS

    # The job's budget, as StoredQuestion.most_plans counts it.
    assert f"{MAX_SEARCH_STEPS + 1} per warehouse and {CONFIRM_ROUNDS} confirming plans" in doc
    assert "`jobs/j_<16 hex digits>.whatif.json`" in doc
    assert "`jobs/j_<16 hex digits>.whatif/`" in doc
    assert datafolder.JOB_WHATIF_NAME.fullmatch("j_0123456789abcdef.whatif.json")
    assert datafolder.JOB_WHATIF_NAME.fullmatch("j_0123456789abcdef.whatif")
    assert "`.j_<16 hex>.whatif.tmp-<pid>-<12 hex>`" in doc
    assert datafolder.JOB_WHATIF_STAGING_NAME.fullmatch(
        ".j_0123456789abcdef.whatif.tmp-4-0123456789ab"
    )


# --- the web page, in a real browser -------------------------------------------------------------

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None  # type: ignore[assignment]

CHROMIUM = find_chromium()


@pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None, reason="chromium or playwright is not installed"
)
def test_the_web_page_asks_a_whatif_and_shows_its_table_and_plots(
    live_server: LiveServer, tmp_path: Path
) -> None:
    archive = scenario_zip(tmp_path, size=12, seed=61_052)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(base_url=live_server.url)
            page.add_init_script(
                "window.__csp = []; document.addEventListener('securitypolicyviolation',"
                " (e) => window.__csp.push(e.violatedDirective));"
            )
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto("/")
            page.get_by_test_id("login-token").fill(live_server.planner_token)
            page.get_by_test_id("login-submit").click()
            page.get_by_test_id("upload-file").set_input_files(archive)
            page.get_by_test_id("upload-submit").click()
            expect(page.get_by_test_id("scenario-row")).to_have_count(1)

            form = page.get_by_test_id("whatif-form")
            expect(form.get_by_test_id("whatif-scenario")).not_to_be_empty()
            form.get_by_test_id("whatif-values").fill("1, 2")
            form.get_by_test_id("whatif-time-limit").fill("1")
            page.get_by_test_id("whatif-submit").click()
            expect(page.get_by_test_id("whatif-result")).to_contain_text("antrean")

            whatif = page.get_by_test_id("whatif")
            expect(whatif).to_have_count(1)
            expect(whatif.get_by_test_id("whatif-status")).to_have_attribute(
                "data-status", "done", timeout=180_000
            )
            expect(whatif).to_contain_text("Ukuran armada (kali armada sekarang): 1, 2")
            table = whatif.get_by_test_id("whatif-table")
            expect(table).to_contain_text("fleet_scale")
            expect(table.get_by_test_id("whatif-row").first).to_be_visible()
            expect(table).to_contain_text("ALL")  # the totals of each fleet size
            plots = whatif.get_by_test_id("whatif-plot")
            expect(plots.first).to_be_visible()
            widths = plots.evaluate_all("(images) => images.map((i) => i.naturalWidth)")
            assert widths and all(w > 100 for w in widths), widths
            expect(whatif.get_by_test_id("whatif-xlsx")).to_be_visible()
            whatif.screenshot(path=str(tmp_path / "whatif.png"))  # for a look when it fails
            assert page.evaluate("window.__csp") == []
            assert errors == []
        finally:
            browser.close()


def test_the_confirming_plans_roster_is_for_planners_only(
    service: tuple[TestClient, ServiceConfig],
) -> None:
    client, config = service
    body = {"scenario_id": SCENARIO_ID, "finish_by": "2020-09-20", "time_limit_s": 2}
    job = client.post("/api/v1/whatif", json=body).json()
    job_id = job["id"]
    # Budget: 2 s for a base plan, 13 plans of the search in its one warehouse, 3 confirming.
    assert job["time_limit_s"] == 2 * (1 + 13 + 3)
    assert json.loads(request_path(config, job_id).read_text(encoding="utf-8"))["warehouses"] == 1
    scenario_copy = output_dir(config, job_id) / "plan" / "scenario"
    scenario_copy.mkdir(parents=True)
    (scenario_copy / "scenario.toml").write_text('[files]\nkpm = "kpm.csv"\n', encoding="utf-8")
    (scenario_copy / "kpm.csv").write_text("nik,name\n1,Ibu Rahasia\n", encoding="utf-8")
    (output_dir(config, job_id) / "whatif.csv").write_text("warehouse\nW1\n", encoding="utf-8")
    viewer = {"Authorization": f"Bearer {create_token(client.app_state.sessions, 'viewer')}"}  # type: ignore[attr-defined]
    base = f"/api/v1/whatif/{job_id}"
    for path in ("plan/scenario/kpm.csv", "plan//scenario/kpm.csv"):
        assert client.get(f"{base}/files/{path}", headers=viewer).status_code == 403, path
    assert "Ibu Rahasia" in client.get(f"{base}/files/plan/scenario/kpm.csv").text
    assert "plan/scenario/kpm.csv" in client.get(base).json()["files"]
    assert "plan/scenario/kpm.csv" not in client.get(base, headers=viewer).json()["files"]
    assert client.get(f"{base}/files/whatif.csv", headers=viewer).status_code == 200
    assert client.get("/api/v1/whatif/j_..%2Fsecret/files/x", headers=viewer).status_code == 404
