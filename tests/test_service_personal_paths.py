"""Files with families' names stay with planners however their path is written."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from optimizer.solution import compute_kpis
from service.app import create_app, personal_files
from service.config import ServiceConfig
from service.db import JobRow, PlanRow, ScenarioRow, open_database, utcnow
from service.tokens import create_token
from tests.conftest import make_tiny_scenario

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's warning about httpx, which works
    from starlette.testclient import TestClient


SCENARIO_ID = "s_00000000000000aa"
JOB_ID = "j_00000000000000aa"
PLAN_ID = "p_00000000000000aa"


def _seed_plan(config: ServiceConfig) -> None:
    """A finished plan's rows and an empty plan folder, as a job leaves them."""
    config.create_folders()
    (config.plans_dir / PLAN_ID).mkdir()
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
        session.flush()
        session.add(
            JobRow(
                id=JOB_ID,
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
                id=PLAN_ID,
                job_id=JOB_ID,
                scenario_id=SCENARIO_ID,
                created_at=utcnow(),
                status="complete",
                kpis=compute_kpis(make_tiny_scenario(), (), ()),
            )
        )
    engine.dispose()


@pytest.mark.parametrize(
    "path", ["scenario/kpm.csv", "scenario//kpm.csv", "scenario/kpm.csv/", "scenario///kpm.csv"]
)
def test_a_viewer_cannot_read_the_roster_by_another_spelling_of_its_path(
    tmp_path: Path, path: str
) -> None:
    config = ServiceConfig(data_dir=tmp_path / "data")
    _seed_plan(config)
    copy = config.plans_dir / PLAN_ID / "scenario"
    copy.mkdir()
    (copy / "scenario.toml").write_text('[files]\nkpm = "kpm.csv"\n', encoding="utf-8")
    (copy / "kpm.csv").write_text("nik,name\n1,Ibu Rahasia\n", encoding="utf-8")
    assert "scenario/kpm.csv" in personal_files(config.plans_dir / PLAN_ID)
    app = create_app(config, run_jobs=False)
    with TestClient(app) as client:
        viewer = {"Authorization": f"Bearer {create_token(app.state.sessions, 'viewer')}"}
        planner = {"Authorization": f"Bearer {create_token(app.state.sessions, 'planner')}"}
        url = f"/api/v1/plans/{PLAN_ID}/files/{path}"
        assert client.get(url, headers=viewer).status_code == 403
        assert "Ibu Rahasia" in client.get(url, headers=planner).text
        link = client.post(f"/api/v1/plans/{PLAN_ID}/links", headers=viewer).json()
        shared = client.get(link["folder_url"] + path)
        assert shared.status_code == 404 and "Ibu Rahasia" not in shared.text
