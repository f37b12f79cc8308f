"""Re-plans in the service: the endpoint, the job it queues, the worker, lineage, migration.

The API is exercised in this process (FastAPI's TestClient, jobs not started; the upload
reader runs inline) so that the progress reader can be stood in for while
``geodata.progress_io`` is not part of this build; the end-to-end test on a real server runs
once ``bsb replan``'s pipeline is.
"""

from __future__ import annotations

import importlib.util
import io
import json
import threading
import types
import warnings
import zipfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from benchmarks.campaign import Disruptions, progress_tables, simulate_progress
from geodata.scenario_writer import write_scenario
from optimizer.errors import InputError, Problem
from optimizer.solution import compute_kpis
from service import worker
from service.app import create_app
from service.config import ServiceConfig
from service.db import JobRow, PlanRow, ScenarioRow, open_database, utcnow
from service.events import Done, decode
from service.jobs import JobManager, _Running
from service.tokens import create_token
from service.uploads import UploadReaders
from tests.conftest import make_tiny_plan, make_tiny_scenario

with warnings.catch_warnings():
    # Starlette asks for its own fork of httpx (httpx2) and warns about httpx, which works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SEP3 = date(2020, 9, 3)
SCENARIO_ID = "s_00000000000000aa"
PLAN_ID = "p_00000000000000aa"


@pytest.fixture
def progress_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read uploads in this process."""
    monkeypatch.setattr(
        UploadReaders, "run", lambda self, function, *args: function(*args), raising=True
    )


def _progress_zip(tables: dict[str, str], *, folder: str = "progress") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in tables.items():
            archive.writestr(f"{folder}/{name}", text)
    return buffer.getvalue()


def _good_zip() -> bytes:
    progress = simulate_progress(
        make_tiny_scenario(), make_tiny_plan(), SEP3, disruptions=Disruptions(rejection_rate=0.5)
    )
    return _progress_zip(progress_tables(progress))


def _bad_zip() -> bytes:
    text = (
        "drop_point,tranche,date,families,kg_received,kg_rejected,note\n"
        "NOPE,T-SEP,2020-09-02,10,300,0,\n"
    )
    return _progress_zip({"receipts.csv": text})


def _seed_plan(config: ServiceConfig, plan_id: str = PLAN_ID, **plan: Any) -> None:
    """A scenario (the tiny one, written out) and a finished plan of it, as a job leaves them."""
    config.create_folders()
    write_scenario(make_tiny_scenario(), config.scenarios_dir / SCENARIO_ID)
    (config.plans_dir / plan_id).mkdir()
    (config.plans_dir / plan_id / "plan.json").write_text("{}", encoding="utf-8")
    _engine, sessions = open_database(config.database_url)
    kpis = compute_kpis(make_tiny_scenario(), (), ())
    with sessions.begin() as session:
        if session.get(ScenarioRow, SCENARIO_ID) is None:
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
            session.flush()
        job_id = "j_" + plan_id[2:]
        session.add(
            JobRow(
                id=job_id,
                scenario_id=SCENARIO_ID,
                status="done",
                time_limit_s=5.0,
                language="id",
                created_by="t_1",
                created_at=utcnow(),
            )
        )
        session.flush()
        session.add(
            PlanRow(
                id=plan_id,
                job_id=job_id,
                scenario_id=SCENARIO_ID,
                created_at=utcnow(),
                status="complete",
                kpis=kpis,
                **plan,
            )
        )
    _engine.dispose()


@pytest.fixture
def service(tmp_path: Path, progress_reader: None) -> Iterator[tuple[TestClient, ServiceConfig]]:
    config = ServiceConfig(data_dir=tmp_path / "data")
    _seed_plan(config)
    app = create_app(config, run_jobs=False)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {create_token(app.state.sessions, 'planner')}"
        client.app_state = app.state  # type: ignore[attr-defined]
        yield client, config


def _queued(client: TestClient) -> list[str]:
    return [j["id"] for j in client.get("/api/v1/jobs").json() if j["status"] == "queued"]


def _replan(client: TestClient, body: bytes, plan_id: str = PLAN_ID, **form: str) -> Any:
    fields = {"today": "2020-09-03", "time_limit_s": "5", **form}
    return client.post(
        f"/api/v1/plans/{plan_id}/replan",
        data=fields,
        files={"file": ("progress.zip", body, "application/zip")},
    )


def test_a_replan_is_queued_with_its_previous_plan_and_progress(
    service: tuple[TestClient, ServiceConfig],
) -> None:
    client, config = service
    answer = _replan(client, _good_zip(), freeze_days="2", seed="4")
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    assert (job["previous_plan_id"], job["today"], job["freeze_days"]) == (
        PLAN_ID,
        "2020-09-03",
        2,
    )
    assert (job["status"], job["scenario_id"], job["seed"]) == ("queued", SCENARIO_ID, 4)
    # The progress is kept with the job (the zip's folder unwrapped); nothing is left in tmp.
    kept = config.jobs_dir / f"{job['id']}.progress"
    assert (kept / "receipts.csv").is_file()
    assert list(config.tmp_dir.iterdir()) == []
    assert client.get(f"/api/v1/jobs/{job['id']}").json()["previous_plan_id"] == PLAN_ID


def test_a_replan_without_freeze_days_leaves_them_to_the_scenario(
    service: tuple[TestClient, ServiceConfig],
) -> None:
    client, _config = service
    answer = _replan(client, _good_zip())
    assert answer.status_code == 202, answer.text
    assert answer.json()["freeze_days"] is None


def test_bad_progress_is_refused_with_every_problem_and_nothing_queued(
    service: tuple[TestClient, ServiceConfig],
) -> None:
    client, config = service
    answer = _replan(client, _bad_zip())
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["title"] == "Invalid progress"
    assert any("receipts.csv" in item["where"] for item in problem["errors"])
    assert str(config.data_dir) not in answer.text
    assert _queued(client) == []
    assert list(config.tmp_dir.iterdir()) == []
    assert [p.name for p in config.jobs_dir.iterdir()] == []


@pytest.mark.parametrize(
    ("plan_id", "body", "form", "status"),
    [
        ("p_ffffffffffffffff", "good", {}, 404),
        (PLAN_ID, "not a zip", {}, 422),
        (PLAN_ID, "good", {"time_limit_s": "999999"}, 422),
        (PLAN_ID, "good", {"strategy": "no-such-strategy"}, 422),
        (PLAN_ID, "good", {"today": "3 September"}, 422),
        (PLAN_ID, "good", {"freeze_days": "-1"}, 422),
    ],
)
def test_bad_replan_requests_are_refused(
    service: tuple[TestClient, ServiceConfig],
    plan_id: str,
    body: str,
    form: dict[str, str],
    status: int,
) -> None:
    client, _config = service
    content = _good_zip() if body == "good" else body.encode()
    answer = _replan(client, content, plan_id, **form)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert _queued(client) == []


def test_viewers_cannot_replan(service: tuple[TestClient, ServiceConfig]) -> None:
    client, _config = service
    viewer = create_token(client.app_state.sessions, "viewer")  # type: ignore[attr-defined]
    answer = client.post(
        f"/api/v1/plans/{PLAN_ID}/replan",
        data={"today": "2020-09-03", "time_limit_s": "5"},
        files={"file": ("progress.zip", _good_zip(), "application/zip")},
        headers={"Authorization": f"Bearer {viewer}"},
    )
    assert answer.status_code == 403


def test_plans_show_their_lineage(tmp_path: Path, progress_reader: None) -> None:
    config = ServiceConfig(data_dir=tmp_path / "data")
    _seed_plan(config)
    second, third = "p_00000000000000bb", "p_00000000000000cc"
    _seed_plan(config, second, previous_plan_id=PLAN_ID, as_of=date(2020, 9, 3))
    _seed_plan(config, third, previous_plan_id=second, as_of=date(2020, 9, 4))
    app = create_app(config, run_jobs=False)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {create_token(app.state.sessions, 'viewer')}"
        plan = client.get(f"/api/v1/plans/{third}").json()
        assert (plan["previous_plan_id"], plan["as_of"]) == (second, "2020-09-04")
        assert plan["lineage"] == [second, PLAN_ID]
        first = client.get(f"/api/v1/plans/{PLAN_ID}").json()
        assert (first["previous_plan_id"], first["as_of"], first["lineage"]) == (None, None, [])
        listed = {p["id"]: p["lineage"] for p in client.get("/api/v1/plans").json()}
        assert listed == {PLAN_ID: [], second: [PLAN_ID], third: [second, PLAN_ID]}


# --- the job: its command, its end, its worker ------------------------------------------------


def _manager(config: ServiceConfig) -> JobManager:
    _engine, sessions = open_database(config.database_url)
    return JobManager(config, sessions)


def test_a_replan_job_runs_the_worker_with_its_previous_plan(tmp_path: Path) -> None:
    config = ServiceConfig(data_dir=tmp_path / "data")
    _seed_plan(config)
    manager = _manager(config)
    progress = config.tmp_dir / "upload-j_00000000000000dd" / "files"
    progress.mkdir(parents=True)
    from service.jobs import ReplanRequest

    job = manager.submit(
        scenario_id=SCENARIO_ID,
        time_limit_s=5.0,
        strategy=None,
        seed=None,
        language="en",
        created_by="t_1",
        replan=ReplanRequest(PLAN_ID, SEP3, 0, progress),
    )
    command = manager.command(job, "p_00000000000000ee")
    at = command.index("--previous-plan")
    assert command[at : at + 8] == [
        "--previous-plan",
        str(config.plans_dir / PLAN_ID),
        "--progress",
        str(config.jobs_dir / f"{job.id}.progress"),
        "--today",
        "2020-09-03",
        "--freeze-days",
        "0",
    ]
    assert not progress.exists() and (config.jobs_dir / f"{job.id}.progress").is_dir()
    plain = manager.submit(
        scenario_id=SCENARIO_ID,
        time_limit_s=5.0,
        strategy=None,
        seed=None,
        language="id",
        created_by="t_1",
    )
    assert "--previous-plan" not in manager.command(plain, "p_00000000000000ef")


def test_a_finished_replan_job_records_the_lineage_of_its_plan(tmp_path: Path) -> None:
    config = ServiceConfig(data_dir=tmp_path / "data")
    _seed_plan(config)
    manager = _manager(config)
    from service.jobs import ReplanRequest

    progress = config.tmp_dir / "upload-j_00000000000000dd"
    progress.mkdir(parents=True)
    job = manager.submit(
        scenario_id=SCENARIO_ID,
        time_limit_s=5.0,
        strategy=None,
        seed=None,
        language="id",
        created_by="t_1",
        replan=ReplanRequest(PLAN_ID, SEP3, None, progress),
    )
    plan_id = "p_00000000000000ee"
    (config.plans_dir / plan_id).mkdir()
    run = _Running(job.id, plan_id, None, 0.0, 5.0)  # type: ignore[arg-type]
    kpis = compute_kpis(make_tiny_scenario(), (), ()).to_dict()
    manager._finish(run, 0, Done(status="complete", kpis=kpis, strategy="ortools"))
    with manager.sessions() as session:
        row = session.get(PlanRow, plan_id)
    assert row is not None
    assert (row.previous_plan_id, row.as_of) == (PLAN_ID, SEP3)


class _Pipe(io.StringIO):
    pass


def test_the_worker_runs_the_replan_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    from documents import pipeline

    calls: list[tuple[Any, ...]] = []

    def fake_replan_pipeline(
        scenario_dir: Path,
        previous_plan_dir: Path,
        progress_dir: Path,
        out_dir: Path,
        today: date,
        freeze_days: int | None,
        *,
        overrides: Any = None,
        language: str = "id",
        stop: threading.Event | None = None,
        **_: Any,
    ) -> Any:
        calls.append((scenario_dir, previous_plan_dir, progress_dir, out_dir, today, freeze_days))
        assert language == "en" and stop is not None and overrides.time_limit_s == 7.0
        plan = make_tiny_plan()
        return types.SimpleNamespace(plan=plan)

    monkeypatch.setattr(pipeline, "run_replan_pipeline", fake_replan_pipeline)
    args = worker.JobArgs(
        job="j_1",
        scenario="/s",
        out="/o",
        time_limit=7.0,
        strategy=None,
        seed=None,
        language="en",
        workers=1,
        parent_pid=1,
        previous_plan="/p",
        progress="/g",
        today="2020-09-03",
        freeze_days=None,
    )
    pipe = _Pipe()
    code = worker.run_job(args, worker._Events(pipe), threading.Event())
    assert code == worker.EXIT_OK
    assert calls == [(Path("/s"), Path("/p"), Path("/g"), Path("/o"), SEP3, None)]
    events = [decode(line) for line in pipe.getvalue().splitlines()]
    assert isinstance(events[-1], Done)


def test_the_worker_reports_bad_progress_as_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    from documents import pipeline

    def refusing(*_args: Any, **_kwargs: Any) -> Any:
        raise InputError([Problem("receipts.csv", "kg_rejected > kg_received", 3, "kg_rejected")])

    monkeypatch.setattr(pipeline, "run_replan_pipeline", refusing, raising=False)
    args = worker.JobArgs("j_1", "/s", "/o", 7.0, None, None, "id", 1, 1, "/p", "/g", "2020-09-03")
    pipe = _Pipe()
    assert worker.run_job(args, worker._Events(pipe), threading.Event()) == worker.EXIT_BAD_INPUT
    last = json.loads(pipe.getvalue().splitlines()[-1])
    assert "kg_rejected" in last["error"]


def test_a_data_folder_of_the_first_schema_is_upgraded_in_place(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from service.db import make_engine

    config = ServiceConfig(data_dir=tmp_path / "data")
    config.create_folders()
    engine = make_engine(config.database_url)
    alembic = Config()
    alembic.set_main_option(
        "script_location", str(Path(__file__).resolve().parent.parent / "service" / "migrations")
    )
    with engine.begin() as connection:
        alembic.attributes["connection"] = connection
        command.upgrade(alembic, "0001")
    engine.dispose()
    _seed_plan(config)  # opens the database: upgrades it to the newest schema
    _engine, sessions = open_database(config.database_url)
    with sessions() as session:
        row = session.get(PlanRow, PLAN_ID)
    assert row is not None and (row.previous_plan_id, row.as_of) == (None, None)


# --- end to end on a real server --------------------------------------------------------------


def test_a_real_server_replans_a_plan_and_links_the_two(tmp_path: Path) -> None:
    import httpx

    from optimizer.solution import plan_from_dict
    from tests.service_live import create_token as live_token
    from tests.service_live import scenario_zip, start_server, upload, wait_for_job

    data = tmp_path / "data"
    token = live_token(data, "planner")
    server = start_server(data)
    try:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            scenario = upload(client, scenario_zip(tmp_path, size=25)).json()
            job = client.post(
                "/api/v1/jobs", json={"scenario_id": scenario["id"], "time_limit_s": 3}
            ).json()
            first = wait_for_job(client, job["id"])
            plan_id = first["plan_id"]
            plan_json = client.get(f"/api/v1/plans/{plan_id}/files/plan.json").json()
            plan = plan_from_dict(plan_json)
            days = sorted({r.date for r in plan.routes})
            today = days[1] if len(days) > 1 else days[0]
            from geodata.scenario_io import read_scenario

            scenario_dir = next((data / "scenarios").iterdir())
            progress = simulate_progress(
                read_scenario(scenario_dir), plan, today, seed=2, disruptions=Disruptions()
            )
            answer = _replan_live(client, plan_id, _progress_zip(progress_tables(progress)), today)
            assert answer.status_code == 202, answer.text
            done = wait_for_job(client, answer.json()["id"])
            assert done["status"] == "done", done
            new = client.get(f"/api/v1/plans/{done['plan_id']}").json()
            assert (new["previous_plan_id"], new["as_of"]) == (plan_id, today.isoformat())
            assert new["lineage"] == [plan_id] and "changes.md" in new["files"]
    finally:
        server.stop()


def _replan_live(client: Any, plan_id: str, body: bytes, today: date) -> Any:
    post: Callable[..., Any] = client.post
    return post(
        f"/api/v1/plans/{plan_id}/replan",
        data={"today": today.isoformat(), "time_limit_s": "3"},
        files={"file": ("progress.zip", body, "application/zip")},
    )


# --- the web page -----------------------------------------------------------------------------


def _needs_browser() -> str | None:
    from tests.conftest import find_chromium

    if find_chromium() is None:
        return "chromium is not installed"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed"
    return None


@pytest.mark.skipif(_needs_browser() is not None, reason=str(_needs_browser()))
def test_the_web_page_shows_a_replans_lineage_and_links_its_changes(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.conftest import find_chromium
    from tests.service_live import create_token as live_token
    from tests.service_live import start_server

    data = tmp_path / "data"
    config = ServiceConfig(data_dir=data)
    _seed_plan(config)
    second = "p_00000000000000bb"
    _seed_plan(config, second, previous_plan_id=PLAN_ID, as_of=SEP3)
    (data / "plans" / second / "changes.md").write_text("# Perubahan\n", encoding="utf-8")
    token = live_token(data, "viewer")
    server = start_server(data)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=find_chromium(), args=["--no-sandbox"]
            )
            try:
                page = browser.new_page(base_url=server.url)
                page.goto("/")
                page.get_by_test_id("login-token").fill(token)
                page.get_by_test_id("login-submit").click()
                rows = page.get_by_test_id("plan-row")
                expect(rows).to_have_count(2)
                replan = page.locator(f'[data-testid="plan-row"][data-id="{second}"]')
                expect(replan.get_by_test_id("plan-lineage")).to_have_text(
                    f"rencana ulang per 2020-09-03, dari {PLAN_ID}"
                )
                expect(replan.get_by_test_id("plan-changes-link")).to_have_text("Perubahan")
                first = page.locator(f'[data-testid="plan-row"][data-id="{PLAN_ID}"]')
                expect(first.get_by_test_id("plan-lineage")).to_have_count(0)
                expect(first.get_by_test_id("plan-changes-link")).to_have_count(0)
                page.get_by_test_id("language-en").click()
                expect(replan.get_by_test_id("plan-lineage")).to_have_text(
                    f"re-plan as of 2020-09-03, from {PLAN_ID}"
                )
                with page.context.expect_page() as opened:
                    replan.get_by_test_id("plan-changes-link").click()
                changes = opened.value
                changes.wait_for_load_state()
                assert changes.url.endswith("/changes.md")
                assert "# Perubahan" in changes.content()
            finally:
                browser.close()
    finally:
        server.stop()


def test_the_service_doc_names_the_replan_call_fields_and_entries() -> None:
    from service import datafolder
    from service.app import JobOut, PlanOut

    doc = (Path(__file__).resolve().parent.parent / "docs" / "service.md").read_text()
    assert "`POST /plans/{id}/replan`" in doc
    for name in ("previous_plan_id", "as_of", "lineage"):
        assert name in PlanOut.model_fields and f"`{name}`" in doc, name
    for name in ("previous_plan_id", "today", "freeze_days"):
        assert name in JobOut.model_fields and f"`{name}`" in doc, name
    assert "`jobs/j_<16 hex digits>.progress/`" in doc
    assert datafolder.JOB_PROGRESS_NAME.fullmatch("j_0123456789abcdef.progress")
    assert "`tmp/upload-j_<16 hex digits>/`" in doc
    assert datafolder.UPLOAD_NAME.fullmatch("upload-j_0123456789abcdef")
