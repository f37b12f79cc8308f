"""The planning service's HTTP API and web page (FastAPI).

Everything under ``/api/v1`` except ``/health`` needs ``Authorization: Bearer <token>``:
viewers read, planners read and write. Plan files are served with a sandboxing
Content-Security-Policy, so a map's scripts run in an opaque origin: they can neither read the
web page's storage (where the token is) nor call the API. Browsers open plan files through
signed links (:mod:`service.links`), never with the token in a URL.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import mimetypes
import shutil
import time
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from optimizer.solution import Kpis
from service import uploads
from service.config import ServiceConfig
from service.datafolder import DataFolderLock, claim_data_folder
from service.db import (
    JobRow,
    PlanRow,
    ScenarioRow,
    lock_database,
    make_engine,
    migrate,
    new_id,
    utcnow,
)
from service.gate import IDENTITY_KEY, TokenGateMiddleware, invalid_token, missing_token
from service.jobs import (
    ConflictError,
    JobManager,
    NotFoundError,
    QueueFullError,
    ReplanRequest,
)
from service.links import load_secret, make_link, verify_link
from service.problems import (
    PROBLEM_JSON,
    ApiError,
    BodyLimitMiddleware,
    ProblemDetails,
    ProblemItem,
    items_from_problems,
    problem_response,
)
from service.tokens import Identity, identify, token_is_active
from service.uploads import UploadReaders

LOG = logging.getLogger("bsb.service")
ACCESS_LOG = logging.getLogger("bsb.access")
STATIC_DIR = Path(__file__).parent / "static"
PLAN_MAP = "map.html"
"""The file a signed link opens: the plan's map (an index of maps with several warehouses)."""
API = "/api/v1"
LINEAGE_MAX = 1000
"""At most this many earlier plans are listed in a plan's lineage (a campaign's days)."""
# Paths anyone may read: the health check and the API description.
PUBLIC_PATHS = frozenset({f"{API}/health", f"{API}/openapi.json"})

# Plan files (maps, papers) run in a sandbox without allow-same-origin: an opaque origin that
# cannot read this site's storage, and connect-src 'none' stops any request back to the API.
FILE_CSP = (
    "sandbox allow-scripts allow-popups allow-modals "
    "allow-downloads; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data: blob: https:; font-src data:; "
    "connect-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
FILE_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".csv": "text/csv; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".toml": "text/plain; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


def _bsb_version() -> str:
    try:
        return version("bsb")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0+unknown"


# --- response and request bodies ------------------------------------------------------------


class Health(BaseModel):
    """The server is up."""

    status: Literal["ok"] = "ok"
    version: str


class Me(BaseModel):
    """Who the token belongs to."""

    role: Literal["planner", "viewer"]
    name: str


class ScenarioOut(BaseModel):
    """An uploaded scenario."""

    id: str
    name: str
    created_at: datetime
    drop_points: int
    families: int
    warehouses: int
    trucks: int
    demand_kg: float


class JobIn(BaseModel):
    """A request to plan a scenario."""

    model_config = ConfigDict(extra="forbid")

    scenario_id: str = Field(min_length=1, max_length=100)
    time_limit_s: float = Field(gt=0, le=86400, description="Search time for the whole plan.")
    strategy: str | None = Field(
        default=None, max_length=100, description="A name from `bsb strategies`."
    )
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    language: Literal["id", "en"] = Field(default="id", description="Language of the papers.")


class JobOut(BaseModel):
    """A planning job and how far it is."""

    id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: float = Field(ge=0, le=1)
    message: str | None
    kpis: dict[str, Any] | None
    plan_id: str | None
    error: str | None
    scenario_id: str
    time_limit_s: float
    strategy: str | None
    seed: int | None
    language: str
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    previous_plan_id: str | None = Field(
        default=None, description="A re-plan: the plan it re-plans (`null` for a plan)."
    )
    today: date | None = Field(default=None, description="A re-plan's day (`as_of`).")
    freeze_days: int | None = Field(
        default=None, description="A re-plan's frozen working days (`null`: the scenario's)."
    )

    @field_validator("kpis", mode="before")
    @classmethod
    def _kpis_object(cls, value: Any) -> Any:
        """Take the stored :class:`Kpis` as ``plan.json``'s ``kpis`` object."""
        return value.to_dict() if isinstance(value, Kpis) else value


class PlanOut(BaseModel):
    """A finished plan and the files in its folder."""

    id: str
    job_id: str
    scenario_id: str
    created_at: datetime
    status: str
    kpis: dict[str, Any]
    files: list[str]
    previous_plan_id: str | None = Field(
        default=None, description="The plan this one re-planned (`null` for a plan)."
    )
    as_of: date | None = Field(
        default=None, description="A re-plan's day: history before it, planned from it on."
    )
    lineage: list[str] = Field(
        default_factory=list,
        description="Earlier plans this one descends from, newest first (the first is "
        "`previous_plan_id`, the last a plan from scratch).",
    )


class LinkOut(BaseModel):
    """A signed, read-only link to a plan's folder for a browser."""

    url: str = Field(description="A full URL that opens the plan's map (`map.html`).")
    folder_url: str = Field(
        description="The plan's folder, ending in `/`: append a file path, e.g. `summary.md`."
    )
    expires_at: datetime


def _scenario_out(row: ScenarioRow) -> ScenarioOut:
    return ScenarioOut.model_validate(row, from_attributes=True)


def _job_out(row: JobRow) -> JobOut:
    return JobOut.model_validate(row, from_attributes=True)


# --- documented error responses -------------------------------------------------------------


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "The request body could not be parsed (broken multipart, or JSON that is not UTF-8).",
        401: "No token, or an unknown or revoked one.",
        403: "The token's role may not do this.",
        404: "No such resource.",
        409: "The job has already finished.",
        413: "The request body is larger than the server's limit.",
        422: "The request or the uploaded scenario is invalid; `errors` lists every problem.",
        429: "The job queue is full; retry later.",
    }
    return {code: {"model": ProblemDetails, "description": descriptions[code]} for code in codes}


READ = _errors(401, 404, 422)


def _located(code: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"headers": {"Location": {"schema": {"type": "string"}}}}}


def _file_responses() -> dict[int | str, dict[str, Any]]:
    media_types = sorted({m.split(";")[0] for m in FILE_MEDIA_TYPES.values()})
    binary = {"schema": {"type": "string", "format": "binary"}}
    content: dict[str, Any] = {
        # A JSON file's body is the JSON document itself, not a string.
        media: {"schema": {}} if media.endswith("json") else binary
        for media in [*media_types, "application/octet-stream"]
    }
    return {200: {"description": "The file.", "content": content}}


# --- authentication -------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="A token from `bsb token create`.")


def _who(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    # The token gate (service.gate) has checked the token before the body was read; the
    # checks here keep a route safe even if it were mounted without the gate.
    identity: Identity | None = getattr(request.state, IDENTITY_KEY, None)
    if identity is not None:
        return identity
    if credentials is None:
        raise missing_token()
    identity = identify(request.app.state.sessions, credentials.credentials)
    if identity is None:
        raise invalid_token()
    return identity


def _planner(identity: Annotated[Identity, Depends(_who)]) -> Identity:
    if identity.role != "planner":
        raise ApiError(403, "Forbidden", "this needs a planner token")
    return identity


Reader = Annotated[Identity, Depends(_who)]
"""Any valid token."""
Writer = Annotated[Identity, Depends(_planner)]
"""A planner's token."""


# --- the application ------------------------------------------------------------------------


@dataclass
class Held:
    """What a server holds while it runs: the data folder's lock, the database and its lock."""

    folder: DataFolderLock
    engine: Engine | None = None
    database: Connection | None = None

    def release(self) -> None:
        """Close the database and release both locks (idempotent)."""
        if self.database is not None:
            with contextlib.suppress(Exception):
                self.database.close()
            self.database = None
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
        self.folder.release()


def create_app(config: ServiceConfig, *, run_jobs: bool = True) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    config
        Data folder, database and limits.
    run_jobs
        Start the scheduler that runs jobs (tests of the API alone may leave it off).

    Returns
    -------
    FastAPI
        The ASGI application; ``uvicorn`` serves it in ``bsb serve``.
    """
    # Nothing is written, migrated or cleaned up before this server holds the data folder
    # (and, on PostgreSQL, the database): a second server stops here with exit 2.
    held = Held(claim_data_folder(config.data_dir))
    try:
        config.create_folders()
        engine = make_engine(config.database_url)
        held.engine = engine
        held.database = lock_database(engine)
        migrate(engine)
        sessions = sessionmaker(engine, expire_on_commit=False)
        secret = load_secret(config.data_dir / "secret.key")
    except BaseException:
        held.release()
        raise
    manager = JobManager(config, sessions)
    readers = UploadReaders()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            if run_jobs:
                manager.start()
            try:
                yield
            finally:
                if run_jobs:
                    manager.stop()
                readers.close()
        finally:
            held.release()

    app = FastAPI(
        title="bsb planning service",
        version=_bsb_version(),
        description=(
            "Upload BSB scenarios, run planning jobs and read plans. Every call except "
            "`/health` needs `Authorization: Bearer <token>` (`bsb token create`): viewers "
            "read, planners read and write. Errors are `application/problem+json`."
        ),
        openapi_url=f"{API}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    # The authentication dependency is module-level (FastAPI resolves its annotations there).
    app.state.sessions = sessions
    app.state.held = held
    service = _Service(config, sessions, manager, readers, secret)
    # Registered in this order: the OpenAPI document lists the routes as they come.
    _add_error_handlers(app)
    _add_token_gate_and_log(app, sessions)
    _add_service_routes(app)
    _add_scenario_routes(app, service)
    _add_job_routes(app, service)
    _add_plan_routes(app, service)
    _add_replan_routes(app, service)
    _add_view_routes(app, service)
    from service.whatif import add_whatif_routes  # it reads this module's helpers

    add_whatif_routes(app, service)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


@dataclass(frozen=True)
class _Service:
    """What the routes share: settings, the database, the job manager, readers, the secret."""

    config: ServiceConfig
    sessions: sessionmaker[Session]
    manager: JobManager
    readers: UploadReaders
    secret: bytes


def _add_error_handlers(app: FastAPI) -> None:
    """Answer every error as ``application/problem+json``; a 500 says nothing more."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, error: ApiError) -> JSONResponse:
        return error.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(error.status_code, "Error")
        return problem_response(
            error.status_code, title, str(error.detail), headers=error.headers or {}
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        items = [
            ProblemItem(
                where=".".join(str(part) for part in item.get("loc", ())),
                message=str(item.get("msg", "invalid")),
            )
            for item in error.errors()
        ]
        return problem_response(422, "Invalid request", f"{len(items)} problem(s)", errors=items)

    @app.exception_handler(Exception)
    async def _internal(_request: Request, error: Exception) -> JSONResponse:
        LOG.error("internal error", exc_info=error)
        return problem_response(500, "Internal error", "see the server log")


def _add_token_gate_and_log(app: FastAPI, sessions: sessionmaker[Session]) -> None:
    """Refuse requests without a valid token before any body is read; log and add headers."""
    # Inside the log (its 401s are logged and get the headers below), before any route reads
    # a body: a request without a valid token is refused before its body is read.
    app.add_middleware(TokenGateMiddleware, sessions=sessions, prefix=API, public=PUBLIC_PATHS)

    @app.middleware("http")
    async def _headers_and_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.monotonic()
        path = request.url.path
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if path.startswith(API):
            response.headers.setdefault("Cache-Control", "no-store")
        ACCESS_LOG.info(
            "%s %s %d %.0f ms",
            request.method,
            _loggable_path(path),
            response.status_code,
            1000 * (time.monotonic() - started),
        )
        return response


def _add_service_routes(app: FastAPI) -> None:
    """Health and the caller's role."""

    @app.get(f"{API}/health", tags=["service"])
    def health() -> Health:
        """Tell whether the server is up (no token needed)."""
        return Health(version=_bsb_version())

    @app.get(f"{API}/me", tags=["service"], responses=_errors(401))
    def me(identity: Reader) -> Me:
        """Tell the caller's role."""
        return Me(role=identity.role, name=identity.name)  # type: ignore[arg-type]


def _add_scenario_routes(app: FastAPI, service: _Service) -> None:
    """List, upload and describe scenarios."""
    config = service.config
    sessions = service.sessions
    readers = service.readers

    @app.get(f"{API}/scenarios", tags=["scenarios"], responses=_errors(401))
    def list_scenarios(_identity: Reader) -> list[ScenarioOut]:
        """List uploaded scenarios, newest first."""
        with sessions() as session:
            rows = session.scalars(
                select(ScenarioRow).order_by(ScenarioRow.created_at.desc()).limit(1000)
            )
            return [_scenario_out(row) for row in rows]

    @app.post(
        f"{API}/scenarios",
        tags=["scenarios"],
        status_code=201,
        responses=_located(201) | _errors(400, 401, 403, 413, 422),
    )
    def upload_scenario(
        identity: Writer,
        file: Annotated[UploadFile, File(description="A zip of a scenario folder.")],
        response: Response,
    ) -> ScenarioOut:
        """Upload a scenario folder as a zip; it is validated as `bsb validate` does."""
        row = _store_scenario(config, sessions, readers, file, identity)
        response.headers["Location"] = f"{API}/scenarios/{row.id}"
        return _scenario_out(row)

    @app.get(f"{API}/scenarios/{{scenario_id}}", tags=["scenarios"], responses=READ)
    def get_scenario(scenario_id: str, _identity: Reader) -> ScenarioOut:
        """Describe one scenario."""
        with sessions() as session:
            row = session.get(ScenarioRow, scenario_id)
            if row is None:
                raise ApiError(404, "Not found", f"no scenario {scenario_id!r}")
            return _scenario_out(row)


def _add_job_routes(app: FastAPI, service: _Service) -> None:
    """List, queue, describe and cancel jobs."""
    config = service.config
    sessions = service.sessions
    manager = service.manager

    @app.get(f"{API}/jobs", tags=["jobs"], responses=_errors(401))
    def list_jobs(_identity: Reader) -> list[JobOut]:
        """List jobs, newest first."""
        with sessions() as session:
            rows = session.scalars(select(JobRow).order_by(JobRow.created_at.desc()).limit(1000))
            return [_job_out(row) for row in rows]

    @app.post(
        f"{API}/jobs",
        tags=["jobs"],
        status_code=202,
        responses=_located(202) | _errors(400, 401, 403, 404, 413, 422, 429),
    )
    def create_job(body: JobIn, identity: Writer, response: Response) -> JobOut:
        """Queue a planning job; poll the `Location` for its progress."""
        _check_solver_options(config, body.time_limit_s, body.strategy)
        try:
            job = manager.submit(
                scenario_id=body.scenario_id,
                time_limit_s=body.time_limit_s,
                strategy=body.strategy,
                seed=body.seed,
                language=body.language,
                created_by=identity.token_id,
            )
        except NotFoundError as error:
            raise ApiError(404, "Not found", str(error)) from error
        except QueueFullError as error:
            raise ApiError(
                429, "Too many jobs waiting", str(error), headers={"Retry-After": "30"}
            ) from error
        response.headers["Location"] = f"{API}/jobs/{job.id}"
        return _job_out(job)

    @app.get(f"{API}/jobs/{{job_id}}", tags=["jobs"], responses=READ)
    def get_job(job_id: str, _identity: Reader) -> JobOut:
        """Tell a job's status, progress, KPIs and plan."""
        with sessions() as session:
            row = session.get(JobRow, job_id)
            if row is None:
                raise ApiError(404, "Not found", f"no job {job_id!r}")
            return _job_out(row)

    @app.post(
        f"{API}/jobs/{{job_id}}/cancel",
        tags=["jobs"],
        status_code=202,
        responses=_errors(401, 403, 404, 409, 422),
    )
    def cancel_job(job_id: str, _identity: Writer) -> JobOut:
        """Cancel a job; a running one stops its search and keeps the best plan found."""
        try:
            return _job_out(manager.cancel(job_id))
        except NotFoundError as error:
            raise ApiError(404, "Not found", str(error)) from error
        except ConflictError as error:
            raise ApiError(409, "Conflict", str(error)) from error


def _add_plan_routes(app: FastAPI, service: _Service) -> None:
    """List and describe plans, serve their files, make signed links."""
    config = service.config
    sessions = service.sessions
    secret = service.secret

    @app.get(f"{API}/plans", tags=["plans"], responses=_errors(401))
    def list_plans(identity: Reader) -> list[PlanOut]:
        """List plans, newest first."""
        with sessions() as session:
            rows = session.scalars(select(PlanRow).order_by(PlanRow.created_at.desc()).limit(1000))
            parents = _parents(sessions)
            viewer = identity.role != "planner"
            return [_plan_out(config, row, parents, viewer=viewer) for row in rows]

    @app.get(f"{API}/plans/{{plan_id}}", tags=["plans"], responses=READ)
    def get_plan(plan_id: str, identity: Reader) -> PlanOut:
        """Describe one plan and list its files (a viewer's list leaves out personal data)."""
        viewer = identity.role != "planner"
        return _plan_out(config, _plan_row(sessions, plan_id), _parents(sessions), viewer=viewer)

    @app.get(
        f"{API}/plans/{{plan_id}}/files/{{path:path}}",
        tags=["plans"],
        response_class=FileResponse,
        responses=_file_responses() | READ,
    )
    def get_plan_file(plan_id: str, path: str, identity: Reader) -> FileResponse:
        """Download a file of a plan's folder (`plan.json`, `map.html`, papers ...).

        Files with families' names or NIKs (the roster's copy) are for planners only (403).
        """
        _plan_row(sessions, plan_id)
        folder = config.plans_dir / plan_id
        # Compared as the file is found: "scenario//kpm.csv" and "scenario/kpm.csv/" are it too.
        if identity.role != "planner" and _as_found(path) in personal_files(folder):
            raise ApiError(403, "Forbidden", "this file holds personal data: planners only")
        return _serve_file(folder, path)

    @app.post(f"{API}/plans/{{plan_id}}/links", tags=["plans"], status_code=201, responses=READ)
    def create_link(plan_id: str, request: Request, identity: Reader) -> LinkOut:
        """Make a signed link a browser can open without the token (viewers may too).

        `url` opens the plan's map as given; the map's own links (`maps/...`) and any other
        file of the plan resolve under `folder_url` with the same signature. The link stops
        working when it expires or when the token that made it is revoked (404).
        """
        _plan_row(sessions, plan_id)
        link, expires = make_link(secret, plan_id, identity.token_id, config.link_ttl_s)
        # Absolute, from the address the client used (behind a proxy: its forwarded headers),
        # so the link can be pasted into a chat or a mail and still open.
        folder_url = f"{str(request.base_url).rstrip('/')}/view/{link}/"
        return LinkOut(
            url=folder_url + PLAN_MAP,
            folder_url=folder_url,
            expires_at=datetime.fromtimestamp(expires, UTC),
        )


def _check_solver_options(config: ServiceConfig, time_limit_s: float, strategy: str | None) -> None:
    """Refuse a time limit above the server's and an unknown strategy (422)."""
    if time_limit_s > config.max_time_limit_s:
        raise ApiError(
            422,
            "Invalid request",
            f"time_limit_s may be at most {config.max_time_limit_s:g}",
            errors=[ProblemItem(where="body.time_limit_s", message="too large")],
        )
    if strategy is not None:
        from optimizer.strategies import check_strategy_name

        try:
            check_strategy_name(strategy)
        except ValueError as error:
            raise ApiError(
                422,
                "Invalid request",
                str(error),
                errors=[ProblemItem(where="body.strategy", message=str(error))],
            ) from error


def _add_replan_routes(app: FastAPI, service: _Service) -> None:
    """Re-plan a plan from the field's progress: a job whose plan records its previous plan."""
    config = service.config
    sessions = service.sessions
    manager = service.manager
    readers = service.readers

    @app.post(
        f"{API}/plans/{{plan_id}}/replan",
        tags=["plans"],
        status_code=202,
        responses=_located(202) | _errors(400, 401, 403, 404, 413, 422, 429),
    )
    def replan_plan(
        plan_id: str,
        identity: Writer,
        response: Response,
        file: Annotated[
            UploadFile,
            File(
                description="A zip of a progress folder: `receipts.csv`, `unavailable.csv`, "
                "`stock_changes.csv`, `closed.csv` (each optional; CSV or xlsx)."
            ),
        ],
        today: Annotated[
            date, Form(description="The re-plan's day, `YYYY-MM-DD`: routes before it are done.")
        ],
        time_limit_s: Annotated[
            float, Form(gt=0, le=86400, description="Search time for the whole re-plan.")
        ],
        freeze_days: Annotated[
            int | None,
            Form(
                ge=0,
                le=366,
                description="Working days from today whose routes stay as they were "
                "(default: the scenario's `[replan] freeze_days`).",
            ),
        ] = None,
        strategy: Annotated[
            str | None, Form(max_length=100, description="A name from `bsb strategies`.")
        ] = None,
        seed: Annotated[int | None, Form(ge=0, le=2**31 - 1)] = None,
        language: Annotated[
            Literal["id", "en"], Form(description="Language of the papers.")
        ] = "id",
    ) -> JobOut:
        """Re-plan this plan from what happened up to `today` (as `bsb replan` does).

        The progress zip goes through the same checks as a scenario's, then is validated
        against the plan's scenario (every problem at once, 422). The job's plan records this
        plan as its `previous_plan_id`; this plan's folder is never changed.
        """
        _check_solver_options(config, time_limit_s, strategy)
        previous = _plan_row(sessions, plan_id)
        job_id = new_id("j")
        work = config.tmp_dir / f"upload-{job_id}"
        work.mkdir(parents=True)
        try:
            root = _store_progress(config, readers, file, work, previous.scenario_id)
            job = manager.submit(
                scenario_id=previous.scenario_id,
                time_limit_s=time_limit_s,
                strategy=strategy,
                seed=seed,
                language=language,
                created_by=identity.token_id,
                replan=ReplanRequest(plan_id, today, freeze_days, root),
                job_id=job_id,
            )
        except NotFoundError as error:
            raise ApiError(404, "Not found", str(error)) from error
        except QueueFullError as error:
            raise ApiError(
                429, "Too many jobs waiting", str(error), headers={"Retry-After": "30"}
            ) from error
        finally:
            shutil.rmtree(work, ignore_errors=True)
        response.headers["Location"] = f"{API}/jobs/{job.id}"
        return _job_out(job)


def _store_progress(
    config: ServiceConfig,
    readers: UploadReaders,
    upload: UploadFile,
    work: Path,
    scenario_id: str,
) -> Path:
    """Check and extract an uploaded progress zip in a reader process; return its folder."""
    display = PurePosixPath(upload.filename or "progress.zip").name or "progress.zip"
    archive = work / "upload.zip"
    with archive.open("wb") as handle:
        shutil.copyfileobj(upload.file, handle, 1 << 20)
    try:
        outcome = readers.run(
            uploads.check_progress_upload,
            archive,
            work / "files",
            config.archive_limits,
            display,
            config.scenarios_dir / scenario_id,
        )
    except BrokenProcessPool as error:
        raise ApiError(
            422,
            "Invalid upload",
            f"{display} could not be read within the server's resources",
            errors=[ProblemItem(where=display, message="too large or too complex to read")],
        ) from error
    if outcome.counts is None or outcome.root is None:
        title, hide = "Invalid upload", {}
        if outcome.stage == "progress" and outcome.root is not None:
            title, hide = "Invalid progress", {outcome.root: display}
        raise ApiError(
            422,
            title,
            f"{outcome.total or len(outcome.problems)} problem(s) in {display}",
            errors=items_from_problems(outcome.problems, hide=hide),
        )
    return Path(outcome.root)


def _add_view_routes(app: FastAPI, service: _Service) -> None:
    """Plan files through signed links, and the web page."""
    config = service.config
    sessions = service.sessions
    secret = service.secret

    @app.get("/view/{link}/{path:path}", include_in_schema=False)
    def view_file(link: str, path: str) -> FileResponse:
        claim = verify_link(secret, link)
        # A revoked token's links die with it; answered as any dead link, 404.
        if claim is None or not token_is_active(sessions, claim.token_id):
            raise ApiError(404, "Not found", "the link is unknown, has expired or was revoked")
        plan_id = claim.plan_id
        _plan_row(sessions, plan_id)
        folder = config.plans_dir / plan_id
        # Links are shared (chats, mail): never with families' names or NIKs in them.
        if _as_found(path) in personal_files(folder):
            raise ApiError(404, "Not found", "the link is unknown, has expired or was revoked")
        # The bare folder opens the map too: relative links in it resolve the same way.
        return _serve_file(folder, path or PLAN_MAP)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(
            STATIC_DIR / "index.html",
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": PAGE_CSP, "X-Frame-Options": "DENY"},
        )


# --- helpers --------------------------------------------------------------------------------


def _loggable_path(path: str) -> str:
    # A signed link is a credential: keep it out of logs.
    if path.startswith("/view/"):
        rest = path[len("/view/") :].split("/", 1)
        path = "/view/<link>/" + (rest[1] if len(rest) > 1 else "")
    # The path arrives percent-decoded: ESC, NUL or a newline in it must not reach a terminal
    # or forge a log line, so every unprintable character is written as its escape.
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in path
    )


def _plan_row(sessions: sessionmaker[Session], plan_id: str) -> PlanRow:
    with sessions() as session:
        row = session.get(PlanRow, plan_id)
        if row is None:
            raise ApiError(404, "Not found", f"no plan {plan_id!r}")
        return row


@functools.lru_cache(maxsize=4096)
def _plan_files(folder: Path) -> tuple[str, ...]:
    # A plan folder never changes once renamed into place, so its listing can be kept. Hidden
    # files (bsb's manifest, .bsb-output.json) are not served, so they are not listed either.
    relatives = (path.relative_to(folder) for path in folder.rglob("*") if path.is_file())
    return tuple(
        sorted(
            relative.as_posix()
            for relative in relatives
            if not any(part.startswith(".") for part in relative.parts)
        )
    )


def _parents(sessions: sessionmaker[Session]) -> dict[str, str | None]:
    """Return each plan's previous plan, in one query (lineages of a whole list)."""
    with sessions() as session:
        rows = session.execute(select(PlanRow.id, PlanRow.previous_plan_id))
        return {str(row[0]): row[1] for row in rows}


def _lineage(parents: Mapping[str, str | None], previous: str | None) -> list[str]:
    """Return the plans a plan descends from, newest first, from its ``previous_plan_id``."""
    found: list[str] = []
    # A cycle cannot be made (a plan's id is new when its job ends); capped all the same.
    while previous is not None and previous not in found and len(found) < LINEAGE_MAX:
        found.append(previous)
        previous = parents.get(previous)
    return found


def _as_found(path: str) -> str:
    """Return a requested path as :func:`_serve_file` resolves it (``a//b/`` is ``a/b``)."""
    return PurePosixPath(path).as_posix()


def personal_files(folder: Path) -> frozenset[str]:
    """Return the files of a plan folder that hold families' names or NIKs (planners only).

    With a roster (the scenario copy's ``[files] kpm``): the roster's copy in ``scenario/``
    and the facilitators' PDFs, whose TTB lists carry the names.
    """
    try:
        data = tomllib.loads((folder / "scenario" / "scenario.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return frozenset()
    files = data.get("files")
    roster = files.get("kpm") if isinstance(files, dict) else None
    if not isinstance(roster, str):
        return frozenset()
    ttb = (folder / "papers" / "facilitators").glob("*.pdf")
    return frozenset({f"scenario/{roster}"} | {f"papers/facilitators/{p.name}" for p in ttb})


def _plan_out(
    config: ServiceConfig,
    row: PlanRow,
    parents: Mapping[str, str | None] | None = None,
    *,
    viewer: bool = False,
) -> PlanOut:
    folder = config.plans_dir / row.id
    hidden = personal_files(folder) if viewer else frozenset()
    files = [name for name in _plan_files(folder) if name not in hidden]
    lineage = _lineage(parents or {}, row.previous_plan_id)
    return PlanOut(
        id=row.id,
        job_id=row.job_id,
        scenario_id=row.scenario_id,
        created_at=row.created_at,
        status=row.status,
        kpis=row.kpis.to_dict(),
        files=files,
        previous_plan_id=row.previous_plan_id,
        as_of=row.as_of,
        lineage=lineage,
    )


def _serve_file(folder: Path, path: str) -> FileResponse:
    relative = PurePosixPath(path)
    unsafe = (
        not path
        or "\\" in path
        or "\x00" in path
        or relative.is_absolute()
        or any(part in ("..", ".") or part.startswith(".") for part in relative.parts)
    )
    if not unsafe:
        root = folder.resolve()
        target = folder.joinpath(*relative.parts).resolve()
        unsafe = not target.is_relative_to(root) or not target.is_file()
    if unsafe:
        raise ApiError(404, "Not found", "no such file in this plan")
    media = FILE_MEDIA_TYPES.get(target.suffix.lower())
    if media is None:
        media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return FileResponse(
        target,
        media_type=media,
        headers={
            "Content-Security-Policy": FILE_CSP,
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )


def _store_scenario(
    config: ServiceConfig,
    sessions: sessionmaker[Session],
    readers: UploadReaders,
    upload: UploadFile,
    identity: Identity,
) -> ScenarioRow:
    """Check, extract and validate an uploaded zip, then keep it under a new id.

    Runs in a worker thread; the reading itself runs in a reader process
    (:mod:`service.uploads`), so the event loop, and ``/health``, stay free meanwhile.
    """
    display = PurePosixPath(upload.filename or "upload.zip").name or "upload.zip"
    scenario_id = new_id("s")
    work = config.tmp_dir / f"upload-{scenario_id}"
    work.mkdir(parents=True)
    try:
        archive = work / "upload.zip"
        with archive.open("wb") as handle:
            shutil.copyfileobj(upload.file, handle, 1 << 20)
        try:
            # Looked up at each call, so a test can put a slow reader in its place.
            outcome = readers.run(
                uploads.check_upload, archive, work / "files", config.archive_limits, display
            )
        except BrokenProcessPool as error:
            LOG.warning("the reader of upload %s died (out of memory?)", scenario_id)
            raise ApiError(
                422,
                "Invalid upload",
                f"{display} could not be read within the server's resources",
                errors=[ProblemItem(where=display, message="too large or too complex to read")],
            ) from error
        if outcome.summary is None or outcome.root is None:
            title, hide = "Invalid upload", {}
            if outcome.stage == "scenario" and outcome.root is not None:
                title, hide = "Invalid scenario", {outcome.root: display}
            raise ApiError(
                422,
                title,
                f"{outcome.total or len(outcome.problems)} problem(s) in {display}",
                errors=items_from_problems(outcome.problems, hide=hide),
            )
        target = config.scenarios_dir / scenario_id
        Path(outcome.root).rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = outcome.summary
    row = ScenarioRow(
        id=scenario_id,
        name=summary.name,
        created_at=utcnow(),
        created_by=identity.token_id,
        drop_points=summary.drop_points,
        families=summary.families,
        warehouses=summary.warehouses,
        trucks=summary.trucks,
        demand_kg=summary.demand_kg,
    )
    try:
        with sessions.begin() as session:
            session.add(row)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return row


def _openapi(app: FastAPI) -> dict[str, Any]:
    """Document errors as problem+json (FastAPI would say application/json)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for code, answer in operation.get("responses", {}).items():
                content = answer.get("content", {})
                if code.isdigit() and int(code) >= 400 and "application/json" in content:
                    answer["content"] = {
                        PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
                    }
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema
