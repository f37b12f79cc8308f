"""What-if jobs in the service: ``POST /api/v1/whatif`` runs ``bsb whatif`` as a job.

A what-if job is an ordinary job (queued, run in its own process, cancelled, recovered) whose
question is kept beside its log: ``jobs/<job id>.whatif.json`` (the request, written before
the job is committed), and whose answer is a what-if folder, ``jobs/<job id>.whatif/``
(:func:`documents.whatif_report.run_whatif`'s ``whatif.csv``, ``.xlsx``, ``.md``, the plots
and, for ``finish_by``, the confirming ``plan/``). It makes no plan row: the answer is read at
``GET /api/v1/whatif/{job_id}`` (the table, the files) and its files at
``.../files/{path}``. The job's ``time_limit_s`` is the whole job's budget (seconds per plan
times the most plans the question may need), which the server polices as for any job.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import FastAPI, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

# service.app adds these routes from inside create_app, so it is whole by now; FastAPI reads
# the routes' annotations (Reader, Writer, the models) from this module's globals.
from service.app import (
    API,
    READ,
    JobOut,
    Reader,
    Writer,
    _check_solver_options,
    _errors,
    _file_responses,
    _job_out,
    _located,
    _serve_file,
    _Service,
    personal_files,
)
from service.config import ServiceConfig
from service.db import JobRow, ScenarioRow, new_id
from service.jobs import NotFoundError, QueueFullError
from service.problems import ApiError, ProblemItem

if TYPE_CHECKING:
    from documents.whatif_report import WhatIfRequest
    from service.worker import JobArgs, _Events

REQUEST_SUFFIX = ".whatif.json"
FOLDER_SUFFIX = ".whatif"
JOB_ID = re.compile(r"j_[0-9a-f]{16}")
"""The service's job ids (:func:`service.db.new_id`)."""
MAX_SETTINGS = 12
"""Most fleet scales or waiting weights one job may plan."""


_FIELDS = {
    "--finish-by": "finish_by",
    "--fleet-scale": "fleet_scales",
    "--wait-cost": "wait_costs",
    "--truck-type": "truck_type",
}
"""The request's field for each ``bsb whatif`` option a problem names."""


def request_path(config: ServiceConfig, job_id: str) -> Path:
    """Return where a what-if job's question is kept: ``jobs/<job id>.whatif.json``."""
    return config.jobs_dir / f"{job_id}{REQUEST_SUFFIX}"


def output_dir(config: ServiceConfig, job_id: str) -> Path:
    """Return a what-if job's answer folder: ``jobs/<job id>.whatif/``."""
    return config.jobs_dir / f"{job_id}{FOLDER_SUFFIX}"


class WhatIfIn(BaseModel):
    """A what-if question about a scenario: exactly one of the three ``bsb whatif`` asks."""

    model_config = ConfigDict(extra="forbid")

    scenario_id: str = Field(min_length=1, max_length=100)
    finish_by: date | None = Field(
        default=None,
        description="The fewest added trucks per warehouse so that every deliverable family "
        "is served by this date (`--finish-by`).",
    )
    fleet_scales: list[Annotated[float, Field(gt=0, le=100)]] = Field(
        default_factory=list,
        max_length=MAX_SETTINGS,
        description="Plan with every warehouse's fleet scaled by each (`--fleet-scale`).",
    )
    wait_costs: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=list,
        max_length=MAX_SETTINGS,
        description="Plan with each `wait_cost_per_kpm_day` (`--wait-cost`).",
    )
    tranche: str | None = Field(default=None, max_length=100)
    truck_type: str | None = Field(default=None, max_length=100)
    time_limit_s: float = Field(gt=0, le=86400, description="Search time of each plan.")
    strategy: str | None = Field(default=None, max_length=100)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    language: Literal["id", "en"] = Field(default="id", description="Language of the tables.")


class WhatIfListed(BaseModel):
    """A what-if job in the list: its scenario, status and question."""

    job_id: str
    scenario_id: str
    status: str
    question: dict[str, Any]


class WhatIfOut(BaseModel):
    """A what-if job's answer: its table (``whatif.csv`` as rows of text) and its files."""

    job_id: str
    status: str
    question: dict[str, Any]
    columns: list[str]
    rows: list[dict[str, str]]
    files: list[str]


@dataclass(frozen=True, slots=True)
class StoredQuestion:
    """What ``jobs/<job id>.whatif.json`` holds: the question and each plan's settings."""

    finish_by: str | None
    fleet_scales: tuple[float, ...]
    wait_costs: tuple[float, ...]
    tranche: str | None
    truck_type: str | None
    time_limit_s: float
    warehouses: int = 1
    """The scenario's warehouses (a finish-by searches each): the progress bar's scale."""

    @classmethod
    def of(cls, body: WhatIfIn, warehouses: int) -> StoredQuestion:
        """Return the question of a request about a scenario with ``warehouses``."""
        return cls(
            None if body.finish_by is None else body.finish_by.isoformat(),
            tuple(body.fleet_scales),
            tuple(body.wait_costs),
            body.tranche,
            body.truck_type,
            body.time_limit_s,
            warehouses,
        )

    def to_json(self) -> str:
        """Return the file's text."""
        return json.dumps(
            {
                "finish_by": self.finish_by,
                "fleet_scales": list(self.fleet_scales),
                "wait_costs": list(self.wait_costs),
                "tranche": self.tranche,
                "truck_type": self.truck_type,
                "time_limit_s": self.time_limit_s,
                "warehouses": self.warehouses,
            },
            indent=2,
        )

    @classmethod
    def read(cls, path: Path) -> StoredQuestion:
        """Read the file (raises ``OSError``, ``ValueError`` or ``KeyError`` if broken)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            data["finish_by"],
            tuple(float(v) for v in data["fleet_scales"]),
            tuple(float(v) for v in data["wait_costs"]),
            data["tranche"],
            data["truck_type"],
            float(data["time_limit_s"]),
            int(data.get("warehouses", 1)),
        )

    def request(self, *, seed: int | None, strategy: str | None) -> WhatIfRequest:
        """Return the question as :func:`documents.whatif_report.run_whatif` takes it."""
        from documents.pipeline import SolverOverrides
        from documents.whatif_report import WhatIfRequest

        return WhatIfRequest(
            finish_by=None if self.finish_by is None else date.fromisoformat(self.finish_by),
            fleet_scales=self.fleet_scales,
            wait_costs=self.wait_costs,
            tranche=self.tranche,
            truck_type=self.truck_type,
            overrides=SolverOverrides(time_limit_s=self.time_limit_s, seed=seed, strategy=strategy),
        )

    def most_plans(self) -> int:
        """Return the most plans the question may need (the job's budget is this many)."""
        from optimizer.whatif import CONFIRM_ROUNDS, MAX_SEARCH_STEPS

        if self.finish_by is not None:
            # A base plan, a search per warehouse, then the confirming rounds.
            return 1 + max(1, self.warehouses) * (MAX_SEARCH_STEPS + 1) + CONFIRM_ROUNDS
        return len(self.fleet_scales) + len(self.wait_costs) + 1


def add_whatif_routes(app: FastAPI, service: _Service) -> None:
    """Add ``POST /api/v1/whatif`` and the reading of its answer."""
    config = service.config
    sessions = service.sessions
    manager = service.manager

    @app.post(
        f"{API}/whatif",
        tags=["whatif"],
        status_code=202,
        responses=_located(202) | _errors(400, 401, 403, 404, 413, 422, 429),
    )
    def create_whatif(body: WhatIfIn, identity: Writer, response: Response) -> JobOut:
        """Ask a what-if as `bsb whatif` does: a job planning the scenario again and again.

        Give exactly one of `finish_by`, `fleet_scales` and `wait_costs`; `time_limit_s` is
        each plan's. Poll the `Location` (the job), then read `/whatif/{job_id}`.
        """
        _check_solver_options(config, body.time_limit_s, body.strategy)
        question = StoredQuestion.of(body, warehouses=1)
        problems = question.request(seed=body.seed, strategy=body.strategy).problems()
        if problems:
            raise ApiError(
                422,
                "Invalid request",
                "; ".join(p.message for p in problems),
                errors=[
                    ProblemItem(where=f"body.{_FIELDS.get(p.file, '')}", message=p.message)
                    for p in problems
                ],
            )
        with sessions() as session:
            scenario = session.get(ScenarioRow, body.scenario_id)
            if scenario is None:
                raise ApiError(404, "Not found", f"no scenario {body.scenario_id!r}")
            question = replace(question, warehouses=scenario.warehouses)
        job_id = new_id("j")
        path = request_path(config, job_id)
        path.write_text(question.to_json(), encoding="utf-8")
        try:
            job = manager.submit(
                scenario_id=body.scenario_id,
                time_limit_s=body.time_limit_s * question.most_plans(),
                strategy=body.strategy,
                seed=body.seed,
                language=body.language,
                created_by=identity.token_id,
                job_id=job_id,
            )
        except NotFoundError as error:
            path.unlink(missing_ok=True)
            raise ApiError(404, "Not found", str(error)) from error
        except QueueFullError as error:
            path.unlink(missing_ok=True)
            raise ApiError(
                429, "Too many jobs waiting", str(error), headers={"Retry-After": "30"}
            ) from error
        response.headers["Location"] = f"{API}/jobs/{job.id}"
        return _job_out(job)

    def question_of(job_id: str) -> dict[str, Any]:
        try:
            data = json.loads(request_path(config, job_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @app.get(f"{API}/whatif", tags=["whatif"], responses=_errors(401))
    def list_whatifs(_identity: Reader) -> list[WhatIfListed]:
        """List the what-if jobs, newest first."""
        with sessions() as session:
            rows = session.scalars(select(JobRow).order_by(JobRow.created_at.desc()).limit(1000))
            jobs = [(row.id, row.scenario_id, str(row.status)) for row in rows]
        return [
            WhatIfListed(job_id=j, scenario_id=s, status=st, question=question_of(j))
            for j, s, st in jobs
            if request_path(config, j).is_file()
        ]

    def whatif_job(job_id: str) -> JobRow:
        # Only the service's own job ids name a file under jobs/.
        row = None
        if JOB_ID.fullmatch(job_id):
            with sessions() as session:
                row = session.get(JobRow, job_id)
        if row is None or not request_path(config, job_id).is_file():
            raise ApiError(404, "Not found", f"no what-if job {job_id!r}")
        return row

    @app.get(f"{API}/whatif/{{job_id}}", tags=["whatif"], responses=READ)
    def get_whatif(job_id: str, identity: Reader) -> WhatIfOut:
        """Read a what-if's answer: `whatif.csv` as rows, and the files (empty until done)."""
        row = whatif_job(job_id)
        folder = output_dir(config, job_id)
        columns: list[str] = []
        rows: list[dict[str, str]] = []
        table = folder / "whatif.csv"
        if table.is_file():
            reader = csv.DictReader(io.StringIO(table.read_text(encoding="utf-8-sig")))
            columns = list(reader.fieldnames or [])
            rows = [dict(r) for r in reader]
        return WhatIfOut(
            job_id=job_id,
            status=str(row.status),
            question=question_of(job_id),
            columns=columns,
            rows=rows,
            files=[
                f
                for f in answer_files(folder)
                if identity.role == "planner" or not is_personal(folder, f)
            ],
        )

    @app.get(
        f"{API}/whatif/{{job_id}}/files/{{path:path}}",
        tags=["whatif"],
        response_class=FileResponse,
        responses=_file_responses() | READ,
    )
    def get_whatif_file(job_id: str, path: str, identity: Reader) -> FileResponse:
        """Download a file of a what-if's answer (`whatif.xlsx`, a plot, `plan/...`).

        The confirming plan's files with families' names are for planners only (403).
        """
        whatif_job(job_id)
        folder = output_dir(config, job_id)
        if identity.role != "planner" and is_personal(folder, path):
            raise ApiError(403, "Forbidden", "this file holds personal data: planners only")
        return _serve_file(folder, path)


def is_personal(folder: Path, path: str) -> bool:
    """Tell whether ``path`` of a what-if folder holds families' names (its plan's roster, TTB).

    The path is compared as the file server resolves it (``plan//x`` is ``plan/x``).
    """
    parts = PurePosixPath(path).parts
    if len(parts) < 2 or parts[0] != "plan":
        return False
    return PurePosixPath(*parts[1:]).as_posix() in personal_files(folder / "plan")


def answer_files(folder: Path) -> tuple[str, ...]:
    """List a what-if folder's files (relative, ``/``-separated), hidden files left out."""
    if not folder.is_dir():
        return ()
    relatives = (p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    return tuple(
        sorted(r.as_posix() for r in relatives if not any(part.startswith(".") for part in r.parts))
    )


def run_whatif_job(args: JobArgs, events: _Events, stop: threading.Event) -> int:
    """Answer a what-if job (``bsb job-worker --whatif FILE``); report on ``events``."""
    from documents.pipeline import PlanFailsCheckError
    from documents.whatif_report import run_whatif
    from service.events import Done, Failed
    from service.worker import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK

    assert args.whatif is not None
    question = StoredQuestion.read(Path(args.whatif))
    request = question.request(seed=args.seed, strategy=args.strategy)
    plans = [0]

    def progress(line: str) -> None:
        # A line per plan: the bar moves by plans over the most the question may need.
        plans[0] += 1
        events.progress(min(0.99, plans[0] / question.most_plans()), line)

    events.progress(0.0, "what-if: planning")
    try:
        run = run_whatif(
            Path(args.scenario),
            Path(args.out),
            request,
            workers=args.workers,
            language=args.language,
            # The folder is the service's own (jobs/<id>.whatif/): a retried job replaces it.
            force=True,
            stop=stop,
            progress=progress,
        )
    except PlanFailsCheckError as failed:
        events.send(Failed(error=f"internal error: a plan fails {len(failed.violations)} check(s)"))
        return EXIT_FAILED
    except ValueError as error:  # InputError: the question or the scenario
        events.send(Failed(error=str(error)))
        return EXIT_BAD_INPUT
    kpis: dict[str, Any] = {}
    if run.finish is not None and run.finish.plan is not None:
        kpis = run.finish.plan.kpis.to_dict()
    events.send(Done(status="complete", kpis=kpis, strategy=args.strategy or ""))
    return EXIT_OK
