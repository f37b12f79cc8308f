"""Locust load for the planning service: planners and viewers reading and writing at once.

Run by ``tests/test_service_load.py`` as a separate ``locust --headless`` process (Locust
monkey-patches the standard library with gevent, which must never happen inside pytest). The
test passes everything through environment variables:

``BSB_PLANNER_TOKEN``, ``BSB_VIEWER_TOKEN``
    The two roles' tokens.
``BSB_SCENARIO_ID``, ``BSB_PLAN_ID``, ``BSB_FINISHED_JOB_ID``
    An uploaded scenario, a plan and the finished job that made it.
``BSB_LONG_JOB_IDS``
    Comma-separated ids of the jobs that run during the load.
``BSB_REQUEST_LIMIT``
    Exactly this many requests are made, then Locust quits.
``BSB_LOAD_SUMMARY``
    Where to write a JSON summary when Locust quits.

Every request says which status codes it expects; only an unexpected one is a failure (Locust
would otherwise count every non-2xx, such as a viewer's 403, as one).
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import HttpUser, between, events, task
from locust.env import Environment
from locust.exception import StopUser

API = "/api/v1"
PLANNER_TOKEN = os.environ.get("BSB_PLANNER_TOKEN", "")
VIEWER_TOKEN = os.environ.get("BSB_VIEWER_TOKEN", "")
SCENARIO_ID = os.environ.get("BSB_SCENARIO_ID", "")
PLAN_ID = os.environ.get("BSB_PLAN_ID", "")
FINISHED_JOB_ID = os.environ.get("BSB_FINISHED_JOB_ID", "")
LONG_JOB_IDS = [job for job in os.environ.get("BSB_LONG_JOB_IDS", "").split(",") if job]
REQUEST_LIMIT = int(os.environ.get("BSB_REQUEST_LIMIT", "1000"))
SUMMARY_PATH = os.environ.get("BSB_LOAD_SUMMARY", "")
# Jobs submitted during the load only need to exist: they may search this long at most.
CHEAP_TIME_LIMIT_S = 0.5


class _Tally:
    """What happened, shared by all users (one process, gevent: no locks needed)."""

    def __init__(self) -> None:
        self.issued = 0
        self.completed = 0
        self.statuses: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self.connection_errors: list[str] = []
        self.submitted: list[str] = []
        self.refused_429 = 0
        self.long_jobs_seen_running = 0


TALLY = _Tally()


def _headers(role: str | None) -> dict[str, str]:
    if role is None:
        return {}
    token = PLANNER_TOKEN if role == "planner" else VIEWER_TOKEN
    return {"Authorization": f"Bearer {token}"}


class ServiceUser(HttpUser):
    """One planner or viewer clicking around; each task makes exactly one request."""

    # Spread the requests over the jobs' run instead of answering them all in two seconds.
    wait_time = between(0.1, 0.7)

    def _call(
        self,
        method: str,
        path: str,
        *,
        role: str | None,
        expected: tuple[int, ...],
        name: str,
        json_body: dict[str, Any] | None = None,
    ) -> Any:
        """Make one request; fail it only on a status outside ``expected``.

        Returns
        -------
        Any
            The decoded JSON body of a JSON answer, else ``None``.
        """
        if TALLY.issued >= REQUEST_LIMIT:
            raise StopUser
        TALLY.issued += 1
        label = f"{method} {name} ({role or 'anonymous'})"
        with self.client.request(
            method,
            path,
            headers=_headers(role),
            json=json_body,
            name=label,
            catch_response=True,
            timeout=60,
        ) as response:
            status = response.status_code
            TALLY.statuses[f"{label} {status}"] += 1
            body: Any = None
            if not status:
                TALLY.connection_errors.append(f"{label}: {response.error!r}")
                response.failure(f"no answer: {response.error!r}")
                return None
            if status not in expected:
                TALLY.unexpected.append(f"{label}: {status} {response.text[:300]}")
                response.failure(f"unexpected {status}")
                return None
            if "json" in response.headers.get("content-type", ""):
                try:
                    body = response.json()
                except ValueError:
                    TALLY.unexpected.append(f"{label}: {status} with a body that is not JSON")
                    response.failure("not JSON")
                    return None
            response.success()
            return body

    # --- reads, both roles ---------------------------------------------------------------------

    @task(3)
    def health(self) -> None:
        self._call("GET", f"{API}/health", role=None, expected=(200,), name="/health")

    @task(2)
    def me(self) -> None:
        role = random.choice(("planner", "viewer"))
        body = self._call("GET", f"{API}/me", role=role, expected=(200,), name="/me")
        if body is not None and body.get("role") != role:
            TALLY.unexpected.append(f"GET /me ({role}): says {body.get('role')!r}")

    @task(8)
    def list_jobs(self) -> None:
        role = random.choice(("planner", "viewer"))
        self._call("GET", f"{API}/jobs", role=role, expected=(200,), name="/jobs")

    @task(6)
    def long_job(self) -> None:
        job_id = random.choice(LONG_JOB_IDS)
        body = self._call(
            "GET", f"{API}/jobs/{job_id}", role="viewer", expected=(200,), name="/jobs/{id}"
        )
        if body is not None and body.get("status") == "running":
            TALLY.long_jobs_seen_running += 1

    @task(4)
    def scenarios(self) -> None:
        role = random.choice(("planner", "viewer"))
        self._call("GET", f"{API}/scenarios", role=role, expected=(200,), name="/scenarios")

    @task(2)
    def scenario(self) -> None:
        self._call(
            "GET",
            f"{API}/scenarios/{SCENARIO_ID}",
            role="planner",
            expected=(200,),
            name="/scenarios/{id}",
        )

    @task(4)
    def plans(self) -> None:
        role = random.choice(("planner", "viewer"))
        self._call("GET", f"{API}/plans", role=role, expected=(200,), name="/plans")

    @task(2)
    def plan(self) -> None:
        self._call(
            "GET", f"{API}/plans/{PLAN_ID}", role="viewer", expected=(200,), name="/plans/{id}"
        )

    @task(1)
    def plan_file(self) -> None:
        self._call(
            "GET",
            f"{API}/plans/{PLAN_ID}/files/plan.json",
            role="viewer",
            expected=(200,),
            name="/plans/{id}/files/plan.json",
        )

    @task(1)
    def link(self) -> None:
        self._call(
            "POST",
            f"{API}/plans/{PLAN_ID}/links",
            role="viewer",
            expected=(201,),
            name="/plans/{id}/links",
        )

    @task(1)
    def unknown_job(self) -> None:
        self._call(
            "GET", f"{API}/jobs/j_missing", role="planner", expected=(404,), name="/jobs/{id}"
        )

    @task(1)
    def anonymous(self) -> None:
        self._call("GET", f"{API}/jobs", role=None, expected=(401,), name="/jobs")

    # --- writes ----------------------------------------------------------------------------------

    @task(2)
    def submit(self) -> None:
        job = {"scenario_id": SCENARIO_ID, "time_limit_s": CHEAP_TIME_LIMIT_S}
        body = self._call(
            "POST", f"{API}/jobs", role="planner", expected=(202, 429), name="/jobs", json_body=job
        )
        if body is None:
            return
        if "id" in body:
            TALLY.submitted.append(str(body["id"]))
        else:
            TALLY.refused_429 += 1

    @task(1)
    def cancel_finished(self) -> None:
        self._call(
            "POST",
            f"{API}/jobs/{FINISHED_JOB_ID}/cancel",
            role="planner",
            expected=(409,),
            name="/jobs/{id}/cancel",
        )

    @task(1)
    def cancel_submitted(self) -> None:
        # One of this run's cheap jobs: queued or running (202) or already over (409).
        job_id = random.choice(TALLY.submitted) if TALLY.submitted else FINISHED_JOB_ID
        self._call(
            "POST",
            f"{API}/jobs/{job_id}/cancel",
            role="planner",
            expected=(202, 409),
            name="/jobs/{id}/cancel",
        )

    @task(2)
    def viewer_writes(self) -> None:
        if random.random() < 0.5:
            job = {"scenario_id": SCENARIO_ID, "time_limit_s": CHEAP_TIME_LIMIT_S}
            self._call(
                "POST", f"{API}/jobs", role="viewer", expected=(403,), name="/jobs", json_body=job
            )
        else:
            job_id = random.choice(LONG_JOB_IDS)
            self._call(
                "POST",
                f"{API}/jobs/{job_id}/cancel",
                role="viewer",
                expected=(403,),
                name="/jobs/{id}/cancel",
            )


# The running Locust environment, kept at start so the request listener can quit the run.
_ENVIRONMENT: dict[str, Environment] = {}


@events.request.add_listener  # type: ignore[untyped-decorator]
def _count(**_kwargs: Any) -> None:
    """Quit once the last allowed request has completed."""
    TALLY.completed += 1
    if TALLY.completed == REQUEST_LIMIT:
        environment = _ENVIRONMENT.get("environment")
        if environment is not None and environment.runner is not None:
            # Not from this user's own greenlet: quitting kills every user greenlet.
            gevent.spawn(environment.runner.quit)


@events.init.add_listener  # type: ignore[untyped-decorator]
def _remember(environment: Environment, **_kwargs: Any) -> None:
    _ENVIRONMENT["environment"] = environment


@events.quitting.add_listener  # type: ignore[untyped-decorator]
def _write_summary(**_kwargs: Any) -> None:
    if not SUMMARY_PATH:
        return
    summary = {
        "issued": TALLY.issued,
        "completed": TALLY.completed,
        "statuses": dict(TALLY.statuses),
        "unexpected": TALLY.unexpected,
        "connection_errors": TALLY.connection_errors,
        "submitted": TALLY.submitted,
        "refused_429": TALLY.refused_429,
        "long_jobs_seen_running": TALLY.long_jobs_seen_running,
    }
    Path(SUMMARY_PATH).write_text(json.dumps(summary, indent=2), encoding="utf-8")
