"""The service's web page in a real browser: a planner's day, a viewer's look, and map isolation.

Headless Chromium drives the page served by a real ``bsb serve`` on loopback: log in, upload a
scenario zip, plan it, open the plan's map from its signed link, then log in as a viewer. The map
tab must run in an opaque origin (CSP sandbox): no access to the page's storage, where the token
is, and no way to call the API. The page speaks Bahasa Indonesia until the reader switches to
English. Skipped when Chromium or Playwright is missing; the check that every word of the page
is in its table for both languages runs everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from documents.plan_files import WRITE_STAGES
from optimizer.strategies import default_strategy_name
from tests.conftest import find_chromium
from tests.service_live import LiveServer, scenario_zip, zip_bytes

try:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Request,
        expect,
        sync_playwright,
    )
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_PLAYWRIGHT = False
else:
    HAVE_PLAYWRIGHT = True


CHROMIUM = find_chromium()
needs_browser = pytest.mark.skipif(
    CHROMIUM is None or not HAVE_PLAYWRIGHT, reason="chromium or playwright is not installed"
)
STATIC = Path(__file__).resolve().parents[1] / "service" / "static"
LANGUAGES = ("id", "en")
# The reader's words for the roles and statuses the server sends.
ROLE_WORDS = {"id": {"planner": "perencana", "viewer": "peninjau"}}

# Seconds the planner may search; the job then needs a few more to write its files.
TIME_LIMIT_S = 3
JOB_TIMEOUT_MS = 120_000

# Init scripts run outside the page's CSP, so this listener sees every violation the page causes.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""

# Run in the map's tab: what can its scripts reach?
PROBE_ISOLATION = """async () => {
  const out = {origin: String(window.origin), opener: window.opener === null ? "null" : "set"};
  for (const name of ["sessionStorage", "localStorage"]) {
    try {
      const store = window[name];
      const items = [];
      for (let i = 0; i < store.length; i++) {
        const key = store.key(i);
        items.push(key + "=" + store.getItem(key));
      }
      out[name] = "readable:" + items.join(";");
    } catch (error) {
      out[name] = "threw:" + error.name;
    }
  }
  try {
    out.cookie = "readable:" + document.cookie;
  } catch (error) {
    out.cookie = "threw:" + error.name;
  }
  try {
    const response = await fetch("/api/v1/me");
    out.fetch = "answered:" + response.status;
  } catch (error) {
    out.fetch = "threw:" + error.name;
  }
  return out;
}"""


@dataclass
class Watch:
    """What the browser reported while the test ran."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    request_urls: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        context.on("request", self._request)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _request(self, request: Request) -> None:
        self.request_urls.append(request.url)


def text_table_keys() -> dict[str, set[str]]:
    """The entries of app.js's TEXT table, per language (one entry per line, 6 spaces in)."""
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    table = script[script.index("const TEXT = {") :]
    keys: dict[str, set[str]] = {}
    current: set[str] = set()
    for line in table.splitlines()[1:]:
        if re.fullmatch(r" {4}(\w+): \{", line):
            current = keys.setdefault(line.strip()[:-3], set())
        elif match := re.match(r' {6}"?([\w. ]+)"?: ', line):
            current.add(match.group(1))
        elif line.startswith("  };"):
            break
    return keys


def test_the_page_translates_the_messages_the_service_writes() -> None:
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    table = script[script.index("const SERVER_MESSAGES = {") :]
    table = table[: table.index("};")]
    messages = re.findall(r'^\s+"?([^":]+(?::[^"]+)?)"?: "message\.', table, flags=re.M)
    assert len(messages) == 7, messages
    server = "".join(
        (STATIC.parent / name).read_text(encoding="utf-8") for name in ("jobs.py", "worker.py")
    )
    for message in messages:
        assert f'"{message}"' in server, message
    assert 'f"writing the plan folder {number}/{total}: {stage}"' in server


def test_every_word_of_the_page_is_in_the_table_in_both_languages() -> None:
    keys = text_table_keys()
    assert set(keys) == set(LANGUAGES)
    assert keys["id"] == keys["en"], keys["id"] ^ keys["en"]
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    used = set(re.findall(r'data-i18n="([\w.]+)"', page))
    used |= set(re.findall(r"data-i18n-attr=\"[\w-]+:([\w.]+)\"", page))
    used |= set(re.findall(r'\b(?:t|nodes)\("([\w.]+)"', script))
    used |= {f"status.{s}" for s in ("queued", "running", "done", "failed", "cancelled")}
    used |= {f"status.{s}" for s in ("complete", "interrupted")} | {"role.planner", "role.viewer"}
    used |= {f"stage.{stage}" for stage in WRITE_STAGES}
    assert len(used) > 60
    assert used <= keys["id"], used - keys["id"]
    # Words outside the table would not switch: the page holds none but the language names
    # (each in its own language) and the noscript line (in both).
    body = re.sub(r"<!--.*?-->|<script.*?</script>|<style.*?</style>", "", page, flags=re.S)
    body = body[body.index("<body>") :]
    body = re.sub(r"<noscript>.*?</noscript>", "", body, flags=re.S)
    words = {w.strip() for w in re.findall(r">([^<]+)<", body) if w.strip()}
    assert words == {"bsb", "Bahasa Indonesia", "English"}, words


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def log_in(page: Page, token: str, role: str) -> None:
    page.get_by_test_id("login-token").fill(token)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("role")).to_have_attribute("data-role", role)
    expect(page.get_by_test_id("role")).to_have_text(ROLE_WORDS["id"][role])
    expect(page.get_by_test_id("login-token")).to_be_hidden()


def probe_isolation(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(PROBE_ISOLATION)
    return result


def unexpected_errors(errors: list[str]) -> list[str]:
    """Console errors other than the browser's notes on the failures the test provoked."""
    provoked = re.compile(r"Failed to load resource: .* status of (401|422)\b")
    return [text for text in errors if not provoked.search(text)]


@needs_browser
def test_planner_and_viewer_in_the_browser(
    live_server: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    archive = scenario_zip(tmp_path, size=12, seed=61_051)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(zip_bytes({"broken/drop_points.csv": b"id,name\nP1,Only a name\n"}))

    context = browser.new_context(base_url=live_server.url)
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    watch = Watch()
    watch.attach(context, page)

    answer = page.goto("/")
    assert answer is not None and answer.ok
    assert "script-src 'self'" in answer.headers["content-security-policy"]

    # Bahasa Indonesia by default, like the papers.
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.get_by_test_id("login-submit")).to_have_text("Masuk")
    expect(page.get_by_test_id("language-id")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("language-en")).to_have_attribute("aria-pressed", "false")

    # A wrong token is refused with a message, and nothing is kept.
    page.get_by_test_id("login-token").fill("bsb_not-a-real-token")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-message")).to_contain_text("tidak diterima")
    assert page.evaluate("sessionStorage.length") == 0

    # --- planner: upload, plan, open the map ---------------------------------------------
    log_in(page, live_server.planner_token, "planner")
    assert page.evaluate("sessionStorage.length") == 1
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("document.cookie") == ""

    page.get_by_test_id("upload-file").set_input_files(broken)
    page.get_by_test_id("upload-submit").click()
    result = page.get_by_test_id("upload-result")
    expect(result).to_contain_text("Unggahan gagal")
    expect(result.get_by_test_id("problem-error").first).to_be_visible()
    expect(page.get_by_test_id("scenario-row")).to_have_count(0)

    page.get_by_test_id("upload-file").set_input_files(archive)
    page.get_by_test_id("upload-submit").click()
    expect(result).to_contain_text("terunggah")
    expect(page.get_by_test_id("scenario-row")).to_have_count(1)
    scenario_name = page.get_by_test_id("scenario-name").inner_text()
    assert scenario_name

    form = page.get_by_test_id("job-form")
    expect(form.get_by_test_id("job-scenario")).to_contain_text(scenario_name)
    form.get_by_test_id("job-time-limit").fill(str(TIME_LIMIT_S))
    form.get_by_test_id("job-seed").fill("7")
    page.get_by_test_id("job-submit").click()
    expect(page.get_by_test_id("job-result")).to_contain_text("antrean")

    job = page.get_by_test_id("job-row")
    expect(job).to_have_count(1)
    expect(job).to_contain_text(scenario_name)
    expect(job.get_by_test_id("job-status")).to_have_text("selesai", timeout=JOB_TIMEOUT_MS)
    expect(job.get_by_test_id("job-status")).to_have_attribute("data-status", "done")
    expect(job.get_by_test_id("job-message")).to_have_text("selesai")
    expect(job.get_by_test_id("job-progress")).to_have_attribute("value", "1")
    # The strategy the planner used, not "default".
    expect(job.get_by_test_id("job-strategy")).to_have_text(default_strategy_name())
    expect(job.get_by_test_id("job-cancel")).to_have_count(0)

    plan = page.get_by_test_id("plan-row")
    expect(plan).to_have_count(1)
    expect(plan).to_contain_text(scenario_name)
    expect(plan.get_by_test_id("plan-delivered")).to_contain_text(" / ")
    expect(plan.get_by_test_id("plan-trips")).to_have_text(re.compile(r"^\d+$"))
    plan.get_by_test_id("plan-papers-summary").click()
    expect(plan.get_by_test_id("plan-paper-link").first).to_be_visible()

    with context.expect_page() as opened:
        plan.get_by_test_id("plan-map-link").click()
    map_page = opened.value
    map_page.wait_for_load_state()
    map_url = re.escape(live_server.url) + r"/view/[^/]+/map\.html"
    assert re.fullmatch(map_url, map_page.url), map_page.url
    if map_page.locator(".leaflet-container").count() == 0:
        # Several warehouses: map.html is an index of maps/*.html, one link away.
        map_page.locator('a[href^="maps/"]').first.click()
        map_page.wait_for_url(re.compile(r"/view/[^/]+/maps/[^/]+\.html$"))
        map_page.wait_for_load_state()
    expect(map_page.locator(".leaflet-container")).to_have_count(1)

    isolation = probe_isolation(map_page)
    assert isolation["origin"] == "null", isolation  # opaque origin: the CSP sandbox
    assert isolation["opener"] == "null", isolation  # opened with noopener
    for store in ("sessionStorage", "localStorage", "cookie"):
        value = isolation[store]
        assert value.startswith("threw:") or live_server.planner_token not in value, isolation
    assert isolation["sessionStorage"].startswith("threw:"), isolation
    assert isolation["fetch"].startswith("threw:"), isolation  # connect-src 'none'
    map_page.close()

    # --- viewer: sees the plan, not the planner's tools -------------------------------------
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-token")).to_be_visible()
    expect(page.get_by_test_id("login-message")).to_contain_text("telah keluar")
    assert page.evaluate("sessionStorage.length") == 0
    expect(page.get_by_test_id("plan-row")).to_have_count(0)

    log_in(page, live_server.viewer_token, "viewer")
    expect(page.get_by_test_id("plan-row")).to_have_count(1)
    expect(page.get_by_test_id("plan-map-link")).to_be_visible()
    expect(page.get_by_test_id("job-row").get_by_test_id("job-status")).to_have_text("selesai")
    for testid in ("upload-form", "upload-file", "job-form", "job-submit"):
        expect(page.get_by_test_id(testid)).to_be_hidden()
    expect(page.get_by_test_id("job-cancel")).to_have_count(0)

    # --- English on the switch, remembered across a reload ----------------------------------
    jobs_title = page.locator("#jobs-title")
    expect(jobs_title).to_have_text("Pekerjaan")
    page.get_by_test_id("language-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(jobs_title).to_have_text("Jobs")
    expect(page.get_by_test_id("role")).to_have_text("viewer")
    expect(page.get_by_test_id("job-row").get_by_test_id("job-status")).to_have_text("done")
    expect(page.get_by_test_id("job-row").get_by_test_id("job-message")).to_have_text("done")
    expect(page.get_by_test_id("plan-map-link")).to_have_text("Map")
    expect(page.get_by_test_id("language-en")).to_have_attribute("aria-pressed", "true")
    # Only the language is kept beyond the tab, never the token.
    assert page.evaluate("Object.keys(localStorage)") == ["bsb.language"]
    page.reload()
    expect(page.get_by_test_id("role")).to_have_text("viewer")  # still logged in (this tab)
    expect(jobs_title).to_have_text("Jobs")
    expect(page.get_by_test_id("logout")).to_have_text("Log out")
    page.get_by_test_id("language-id").click()
    expect(jobs_title).to_have_text("Pekerjaan")
    expect(page.get_by_test_id("logout")).to_have_text("Keluar")

    # --- what the browser saw ---------------------------------------------------------------
    violations = page.evaluate("window.__cspViolations")
    context.close()
    assert violations == []
    assert watch.page_errors == []
    assert unexpected_errors(watch.console_errors) == []
    tokens = (live_server.planner_token, live_server.viewer_token)
    assert not [url for url in watch.request_urls if any(t in url for t in tokens)]
    assert any("/view/" in url for url in watch.request_urls)
