"""The planning service end to end: a real ``bsb serve`` on loopback, as a planner would use it."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from documents.plan_files import WRITE_STAGES
from geodata.scenario_io import read_scenario
from optimizer.checker import check_plan_file
from optimizer.strategies import default_strategy_name
from tests.service_live import (
    LiveServer,
    bsb,
    create_token,
    scenario_zip,
    start_server,
    upload,
    wait_for_job,
    zip_bytes,
)

PROBLEM = "application/problem+json"


def _is_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    return body


@pytest.fixture(scope="module")
def uploaded(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A scenario the project has never seen (its own seed), uploaded as a zip."""
    folder = tmp_path_factory.mktemp("upload")
    archive = scenario_zip(folder, size=30, seed=90_517)
    with live_server.client("planner") as client:
        response = upload(client, archive)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/api/v1/scenarios/{body['id']}"
    body["folder"] = folder / "scenario-30-90517"
    return body


@pytest.fixture(scope="module")
def finished_job(live_server: LiveServer, uploaded: dict[str, Any]) -> dict[str, Any]:
    with live_server.client("planner") as client:
        response = client.post(
            "/api/v1/jobs",
            json={"scenario_id": uploaded["id"], "time_limit_s": 3, "seed": 7},
        )
        assert response.status_code == 202, response.text
        job = response.json()
        assert response.headers["location"] == f"/api/v1/jobs/{job['id']}"
        assert job["status"] in ("queued", "running")
        return wait_for_job(client, job["id"])


def test_health_needs_no_token(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize(
    "path", ["/api/v1/scenarios", "/api/v1/jobs", "/api/v1/plans", "/api/v1/me"]
)
def test_anonymous_reads_are_refused(live_server: LiveServer, path: str) -> None:
    with live_server.client(None) as client:
        response = client.get(path)
    _is_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_unknown_and_malformed_tokens_are_refused(live_server: LiveServer) -> None:
    for header in ("Bearer bsb_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer", "bsb_x"):
        response = httpx.get(f"{live_server.url}/api/v1/jobs", headers={"Authorization": header})
        _is_problem(response, 401)


def test_roles(live_server: LiveServer) -> None:
    with live_server.client("planner") as planner, live_server.client("viewer") as viewer:
        assert planner.get("/api/v1/me").json()["role"] == "planner"
        assert viewer.get("/api/v1/me").json()["role"] == "viewer"


def test_upload_summarises_the_scenario(uploaded: dict[str, Any]) -> None:
    scenario = read_scenario(uploaded["folder"])
    assert uploaded["drop_points"] == len(scenario.drop_points) == 30
    assert uploaded["families"] == sum(p.kpm for p in scenario.drop_points)
    assert uploaded["name"] == scenario.name


def test_viewer_cannot_write(live_server: LiveServer, uploaded: dict[str, Any]) -> None:
    with live_server.client("viewer") as viewer:
        _is_problem(
            viewer.post("/api/v1/scenarios", files={"file": ("a.zip", b"x", "application/zip")}),
            403,
        )
        _is_problem(
            viewer.post("/api/v1/jobs", json={"scenario_id": uploaded["id"], "time_limit_s": 1}),
            403,
        )
        _is_problem(viewer.post("/api/v1/jobs/j_0000000000000000/cancel"), 403)
        # ... and nothing was queued on its behalf.
        assert all(job["time_limit_s"] != 1 for job in viewer.get("/api/v1/jobs").json())


def test_job_runs_to_a_plan_that_passes_the_independent_check(
    live_server: LiveServer, uploaded: dict[str, Any], finished_job: dict[str, Any], tmp_path: Path
) -> None:
    assert finished_job["status"] == "done", finished_job
    assert finished_job["progress"] == 1.0
    assert finished_job["error"] is None
    plan_id = finished_job["plan_id"]
    with live_server.client("viewer") as viewer:
        info = viewer.get(f"/api/v1/plans/{plan_id}").json()
        assert {"plan.json", "map.html", "summary.md"} <= set(info["files"])
        assert any(name.startswith("papers/") for name in info["files"])
        response = viewer.get(f"/api/v1/plans/{plan_id}/files/plan.json")
    assert response.status_code == 200
    assert "sandbox" in response.headers["content-security-policy"]
    plan_path = tmp_path / "plan.json"
    plan_path.write_bytes(response.content)
    scenario = read_scenario(uploaded["folder"])
    assert check_plan_file(scenario, plan_path) == []
    plan = json.loads(response.content)
    assert plan["kpis"] == finished_job["kpis"] == info["kpis"]
    # The job records the strategy the planner resolved, not the null it was asked with.
    assert finished_job["strategy"] == plan["strategy"] == default_strategy_name()
    # Writing the folder went stage by stage (the job's log keeps what its progress said).
    job_log = (live_server.data_dir / "jobs" / f"{finished_job['id']}.log").read_text()
    stages = re.findall(r"writing the plan folder (\d)/4: ([a-z ]+)$", job_log, flags=re.M)
    assert stages == [(str(n), s) for n, s in enumerate(WRITE_STAGES, start=1)]
    # The same check from the command line, on a folder laid out like `bsb plan` writes it.
    checked = bsb("check", str(uploaded["folder"]), str(plan_path), check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_bad_scenario_gets_422_with_the_messages_of_bsb_validate(
    live_server: LiveServer, tmp_path: Path
) -> None:
    archive = scenario_zip(tmp_path, size=12, seed=31_337, wrap=False)
    folder = tmp_path / "broken"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(folder)
    points = folder / "drop_points.csv"
    lines = points.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[2].split(",")
    row[header.index("kpm")] = "-3"
    lines[2] = ",".join(row)
    row = lines[4].split(",")
    row[header.index("lat")] = "north"
    lines[4] = ",".join(row)
    points.write_text("\n".join(lines) + "\n", encoding="utf-8")
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    expected = bsb("validate", str(folder), check=False)
    assert expected.returncode == 2
    with live_server.client("planner") as client:
        body = _is_problem(upload(client, broken), 422)
    texts = [f"{item['where']}: {item['message']}" for item in body["errors"]]
    assert len(texts) >= 2
    for text in texts:
        assert text in expected.stderr, (text, expected.stderr)
    assert any(item["row"] == 3 and item["field"] == "kpm" for item in body["errors"])


@pytest.mark.parametrize(
    "name", ["../evil.csv", "scenario/../../evil.csv", "/etc/evil.csv", "C:/evil.csv"]
)
def test_zip_slip_is_refused(live_server: LiveServer, name: str) -> None:
    data = zip_bytes({"scenario.toml": b"name = 'x'\n", name: b"a,b\n"})
    with live_server.client("planner") as client:
        body = _is_problem(
            client.post("/api/v1/scenarios", files={"file": ("evil.zip", data, "application/zip")}),
            422,
        )
    assert any("evil.csv" in item["where"] for item in body["errors"]), body
    assert not (live_server.data_dir / "evil.csv").exists()
    assert not (live_server.data_dir.parent / "evil.csv").exists()


def test_not_a_zip_is_refused(live_server: LiveServer) -> None:
    with live_server.client("planner") as client:
        _is_problem(
            client.post(
                "/api/v1/scenarios", files={"file": ("s.zip", b"PK-not-really", "application/zip")}
            ),
            422,
        )


def test_oversized_upload_is_refused(live_server: LiveServer) -> None:
    big = b"\0" * (50 * 2**20 + 1024)
    with live_server.client("planner") as client:
        body = _is_problem(
            client.post("/api/v1/scenarios", files={"file": ("big.zip", big, "application/zip")}),
            413,
        )
        assert "limit" in body["detail"]

        # Without a Content-Length (chunked), the body is counted as it arrives.
        def chunks() -> Any:
            yield (
                b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.zip"\r\n'
                b"Content-Type: application/zip\r\n\r\n"
            )
            for _ in range(60):
                yield b"\0" * 2**20

        response = client.post(
            "/api/v1/scenarios",
            content=chunks(),
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        )
        _is_problem(response, 413)


@pytest.mark.parametrize(
    "path",
    [
        "..%2Fsecret.key",
        "%2e%2e/%2e%2e/secret.key",
        "scenario/..%2F..%2F..%2Fbsb.db",
        "%2Fetc%2Fpasswd",
        "..%5C..%5Csecret.key",
        "nonexistent.txt",
        "papers",
    ],
)
def test_plan_files_never_leave_the_plan_folder(
    live_server: LiveServer, finished_job: dict[str, Any], path: str
) -> None:
    url = f"{live_server.url}/api/v1/plans/{finished_job['plan_id']}/files/{path}"
    response = httpx.get(url, headers={"Authorization": f"Bearer {live_server.viewer_token}"})
    _is_problem(response, 404)


def test_signed_links_open_plan_files_without_the_token(
    live_server: LiveServer, finished_job: dict[str, Any]
) -> None:
    with live_server.client("viewer") as viewer:
        response = viewer.post(f"/api/v1/plans/{finished_job['plan_id']}/links")
    assert response.status_code == 201, response.text
    answer = response.json()
    url, folder = answer["url"], answer["folder_url"]
    assert live_server.viewer_token not in url
    # A full URL that opens the map as given: pasted into a browser, it needs nothing added.
    assert re.fullmatch(re.escape(live_server.url) + r"/view/[^/]+/", folder), folder
    assert url == folder + "map.html"
    page = httpx.get(url)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "sandbox" in csp and "allow-same-origin" not in csp
    assert "connect-src 'none'" in csp
    # The folder itself opens the map too, and every other file of the plan is under it.
    assert httpx.get(folder).content == page.content
    plan_json = httpx.get(folder + "plan.json")
    assert plan_json.status_code == 200 and plan_json.json()["strategy"]
    forged = re.sub(r"\.[^./]+/$", ".AAAA/", folder)
    assert httpx.get(f"{forged}map.html").status_code == 404
    assert httpx.get(forged).status_code == 404
    assert httpx.get(f"{folder}..%2Fsecret.key").status_code == 404


def test_a_link_dies_with_its_token(live_server: LiveServer, finished_job: dict[str, Any]) -> None:
    holder = create_token(live_server.data_dir, "viewer", "--name", "leaving staff")
    headers = {"Authorization": f"Bearer {holder}"}
    made = httpx.post(
        f"{live_server.url}/api/v1/plans/{finished_job['plan_id']}/links", headers=headers
    )
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    assert httpx.get(url).status_code == 200
    with live_server.client("viewer") as viewer:
        others = viewer.post(f"/api/v1/plans/{finished_job['plan_id']}/links").json()["url"]
    listed = bsb("token", "list", "--data", str(live_server.data_dir)).stdout
    token_id = next(line.split()[0] for line in listed.splitlines() if "leaving staff" in line)
    bsb("token", "revoke", token_id, "--data", str(live_server.data_dir))
    # Answered as any dead link: 404, whatever file of the plan is asked for.
    _is_problem(httpx.get(url), 404)
    _is_problem(httpx.get(url.rsplit("/", 1)[0] + "/plan.json"), 404)
    # Links made with other tokens still open.
    assert httpx.get(others).status_code == 200


def test_unknown_ids_and_finished_jobs(
    live_server: LiveServer, finished_job: dict[str, Any]
) -> None:
    with live_server.client("planner") as client:
        _is_problem(client.get("/api/v1/jobs/j_nothing"), 404)
        _is_problem(client.get("/api/v1/plans/p_nothing"), 404)
        _is_problem(client.get("/api/v1/scenarios/s_nothing"), 404)
        _is_problem(
            client.post("/api/v1/jobs", json={"scenario_id": "s_nothing", "time_limit_s": 1}),
            404,
        )
        _is_problem(client.post(f"/api/v1/jobs/{finished_job['id']}/cancel"), 409)
        body = _is_problem(
            client.post(
                "/api/v1/jobs",
                json={"scenario_id": "s_x", "time_limit_s": -1, "surprise": True},
            ),
            422,
        )
        assert {item["where"] for item in body["errors"]} >= {
            "body.time_limit_s",
            "body.surprise",
        }


def test_unknown_strategy_is_refused(live_server: LiveServer, uploaded: dict[str, Any]) -> None:
    with live_server.client("planner") as client:
        body = _is_problem(
            client.post(
                "/api/v1/jobs",
                json={"scenario_id": uploaded["id"], "time_limit_s": 1, "strategy": "magic"},
            ),
            422,
        )
    assert body["errors"][0]["where"] == "body.strategy"


# Cancelling reaches OR-Tools through its solution callback, and PyVRP (the default when it is
# installed) through its stop criterion.
@pytest.mark.parametrize("strategy", ["ortools", None])
def test_cancel_keeps_the_best_plan_found(
    live_server: LiveServer, uploaded: dict[str, Any], strategy: str | None
) -> None:
    with live_server.client("planner") as client:
        job = client.post(
            "/api/v1/jobs",
            json={"scenario_id": uploaded["id"], "time_limit_s": 120, "strategy": strategy},
        ).json()
        running = wait_for_job(client, job["id"], until=("running",), timeout_s=120)
        # Let the search find something before stopping it.
        while running["progress"] <= 0.0 or "routing" not in (running["message"] or ""):
            running = client.get(f"/api/v1/jobs/{job['id']}").json()
        response = client.post(f"/api/v1/jobs/{job['id']}/cancel")
        assert response.status_code == 202
        assert response.json()["cancel_requested"] is True
        ended = wait_for_job(client, job["id"], timeout_s=90)
        assert ended["status"] == "cancelled", ended
        assert ended["plan_id"], ended
        plan = client.get(f"/api/v1/plans/{ended['plan_id']}").json()
        assert plan["status"] == "interrupted"
        plan_json = client.get(f"/api/v1/plans/{ended['plan_id']}/files/plan.json").json()
        assert plan_json["strategy"] == (strategy or default_strategy_name())
        assert ended["strategy"] == plan_json["strategy"]  # the one used, not null
        assert ended["progress"] == 1.0


def test_cancel_as_soon_as_it_runs_keeps_a_plan(
    live_server: LiveServer, uploaded: dict[str, Any]
) -> None:
    with live_server.client("planner") as client:
        job = client.post(
            "/api/v1/jobs", json={"scenario_id": uploaded["id"], "time_limit_s": 120}
        ).json()
        wait_for_job(client, job["id"], until=("running",), timeout_s=120)
        # At once, whatever phase the job is in (reading, screening, routing).
        assert client.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 202
        ended = wait_for_job(client, job["id"], timeout_s=90)
    assert ended["status"] == "cancelled", ended
    assert ended["plan_id"], ended
    assert ended["message"] == "cancelled; the best plan found was kept"
    assert ended["error"] is None


def test_cancel_a_queued_job(live_server: LiveServer, uploaded: dict[str, Any]) -> None:
    with live_server.client("planner") as client:
        # Fill both job slots, then queue one more and cancel it before it starts.
        blockers = [
            client.post(
                "/api/v1/jobs", json={"scenario_id": uploaded["id"], "time_limit_s": 30}
            ).json()
            for _ in range(2)
        ]
        for blocker in blockers:
            wait_for_job(client, blocker["id"], until=("running",), timeout_s=60)
        queued = client.post(
            "/api/v1/jobs", json={"scenario_id": uploaded["id"], "time_limit_s": 30}
        ).json()
        assert queued["status"] == "queued"
        cancelled = client.post(f"/api/v1/jobs/{queued['id']}/cancel").json()
        assert cancelled["status"] == "cancelled"
        assert cancelled["plan_id"] is None
        for blocker in blockers:
            assert client.post(f"/api/v1/jobs/{blocker['id']}/cancel").status_code == 202
        for blocker in blockers:
            assert wait_for_job(client, blocker["id"])["status"] == "cancelled"


def test_openapi_documents_problem_json(live_server: LiveServer) -> None:
    document = httpx.get(f"{live_server.url}/api/v1/openapi.json").json()
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) >= 12
    for path, method, operation in operations:
        for code, answer in operation["responses"].items():
            if int(code) >= 400:
                assert list(answer["content"]) == [PROBLEM], (path, method, code)
        if path != "/api/v1/health":
            assert "401" in operation["responses"], (path, method)
            assert operation.get("security"), (path, method)


def test_no_tokens_in_the_server_log(live_server: LiveServer, finished_job: dict[str, Any]) -> None:
    log = live_server.log()
    assert "GET /api/v1/jobs" in log  # requests are logged ...
    assert live_server.planner_token not in log  # ... but never the credentials
    assert live_server.viewer_token not in log
    assert "bsb_" not in log
    assert not re.search(r"/view/p_[0-9a-f]+\.", log)


def test_web_page_is_served_with_a_strict_policy(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_a_full_queue_answers_429(tmp_path: Path) -> None:
    data = tmp_path / "data"
    token = create_token(data, "planner")
    server = start_server(data, "--max-queued", "1", "--job-workers", "1")
    server.planner_token = token
    archive = scenario_zip(tmp_path, size=10, seed=90_518)
    try:
        with server.client() as client:
            scenario = upload(client, archive).json()
            job = {"scenario_id": scenario["id"], "time_limit_s": 60}
            running = client.post("/api/v1/jobs", json=job).json()
            wait_for_job(client, running["id"], until=("running",), timeout_s=60)
            waiting = client.post("/api/v1/jobs", json=job)
            assert waiting.status_code == 202
            refused = client.post("/api/v1/jobs", json=job)
            body = _is_problem(refused, 429)
            assert refused.headers["retry-after"]
            assert "limit is 1" in body["detail"]
            # Nothing was queued for the refused request.
            assert len(client.get("/api/v1/jobs").json()) == 2
            for job_id in (waiting.json()["id"], running["id"]):
                assert client.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 202
            assert wait_for_job(client, running["id"])["status"] == "cancelled"
    finally:
        server.stop()


def test_a_hostile_spreadsheet_inside_the_zip_is_refused_before_it_is_read(
    live_server: LiveServer,
) -> None:
    # An .xlsx is a zip too: one that would write outside its folder, and one that inflates
    # 200 MB of zeros, are refused by the archive checks, not opened by the spreadsheet reader.
    slip = zip_bytes({"[Content_Types].xml": b"<Types/>", "../../evil.xml": b"<x/>"})
    bomb = zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/sheet.xml": b"\0" * 200 * 2**20})
    buffer = io.BytesIO()
    # Stored, not deflated: the outer zip must pass its own ratio check so the inner ones are
    # what gets refused.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("scenario.toml", b'name = "x"\nstart_date = 2020-09-01\n')
        zf.writestr("drop_points.xlsx", slip)
        zf.writestr("trucks.xlsx", bomb)
    data = buffer.getvalue()
    with live_server.client("planner") as client:
        body = _is_problem(
            client.post("/api/v1/scenarios", files={"file": ("x.zip", data, "application/zip")}),
            422,
        )
    wheres = " ".join(item["where"] for item in body["errors"])
    assert "drop_points.xlsx: ../../evil.xml" in wheres, body
    assert "trucks.xlsx: xl/sheet.xml" in wheres, body


def test_files_paths_outside_the_upload_are_refused_without_quoting_them(
    live_server: LiveServer,
) -> None:
    # A file the server can read, outside the upload: neither its path nor a byte of it may
    # come back, whether named absolutely or through '..'.
    secret = live_server.data_dir.parent / "secret.csv"
    secret.write_text("db_password=hunter2,api_key=k3y\n1,2\n", encoding="utf-8")
    toml = (
        'name = "x"\nstart_date = 2020-09-01\n[files]\n'
        f'drop_points = "{secret}"\ntrucks = "../../../../../../../../../{secret}"\n'
    )
    data = zip_bytes({"scenario.toml": toml.encode()})
    with live_server.client("planner") as client:
        response = client.post(
            "/api/v1/scenarios", files={"file": ("x.zip", data, "application/zip")}
        )
    body = _is_problem(response, 422)
    assert "hunter2" not in response.text and "k3y" not in response.text
    fields = {item["field"] for item in body["errors"]}
    assert {"files.drop_points", "files.trucks"} <= fields, body


def test_the_roster_is_for_planners_only(live_server: LiveServer, tmp_path: Path) -> None:
    """Families' names and NIKs (the roster's copy in a plan) never reach a viewer or a link."""
    folder = tmp_path / "scenario"
    bsb("sample", str(folder), "--size", "12", "--seed", "90518")
    scenario = read_scenario(folder)
    lines = ["drop_point,kpm_id,name,nik"]
    for point in scenario.drop_points:
        lines += [
            f"{point.id},{point.id}-{k},Ibu Rahasia {k},3201{k:012d}" for k in range(point.kpm)
        ]
    (folder / "kpm.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    toml = (folder / "scenario.toml").read_text(encoding="utf-8")
    assert "[files]" not in toml
    (folder / "scenario.toml").write_text(toml + '\n[files]\nkpm = "kpm.csv"\n', encoding="utf-8")
    archive = tmp_path / "with-roster.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, path.name)
    with live_server.client("planner") as planner, live_server.client("viewer") as viewer:
        uploaded = upload(planner, archive)
        assert uploaded.status_code == 201, uploaded.text
        job = planner.post(
            "/api/v1/jobs", json={"scenario_id": uploaded.json()["id"], "time_limit_s": 2}
        )
        done = wait_for_job(planner, job.json()["id"])
        assert done["status"] == "done", done
        plan_id = done["plan_id"]
        assert "scenario/kpm.csv" in planner.get(f"/api/v1/plans/{plan_id}").json()["files"]
        roster = planner.get(f"/api/v1/plans/{plan_id}/files/scenario/kpm.csv")
        assert roster.status_code == 200 and "Ibu Rahasia" in roster.text
        assert "scenario/kpm.csv" not in viewer.get(f"/api/v1/plans/{plan_id}").json()["files"]
        assert all("scenario/kpm.csv" not in p["files"] for p in viewer.get("/api/v1/plans").json())
        _is_problem(viewer.get(f"/api/v1/plans/{plan_id}/files/scenario/kpm.csv"), 403)
        ttb = [
            f
            for f in planner.get(f"/api/v1/plans/{plan_id}").json()["files"]
            if f.startswith("papers/facilitators/") and f.endswith(".pdf") and f.count("/") == 2
        ]
        assert ttb
        viewer_files = viewer.get(f"/api/v1/plans/{plan_id}").json()["files"]
        assert not set(ttb) & set(viewer_files)
        assert any(f.startswith("papers/facilitators/") for f in viewer_files)  # the xlsx
        # Viewers get each facilitator's PDF without names instead.
        unnamed = [f for f in viewer_files if f.startswith("papers/facilitators/without_names/")]
        assert len(unnamed) == len(ttb)
        assert viewer.get(f"/api/v1/plans/{plan_id}/files/{unnamed[0]}").status_code == 200
        _is_problem(viewer.get(f"/api/v1/plans/{plan_id}/files/{ttb[0]}"), 403)
        link = viewer.post(f"/api/v1/plans/{plan_id}/links").json()["folder_url"]
    assert httpx.get(link + "scenario/kpm.csv").status_code == 404
    assert httpx.get(link + "plan.json").status_code == 200
