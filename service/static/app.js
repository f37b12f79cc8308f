/*
 * The bsb planning service's web page: log in with a token, list scenarios, jobs and plans,
 * and (planners) upload scenarios, start and cancel jobs.
 *
 * Security notes:
 * - The page runs under a strict CSP (script-src 'self'): no inline code, no eval.
 * - Data from the server (scenario names come from users) is only ever put into the page with
 *   textContent and DOM calls, never innerHTML.
 * - The token lives in sessionStorage (this tab only) and travels only in the Authorization
 *   header (localStorage holds only the reader's language); plan files are opened through short-lived signed links in a new tab without an
 *   opener, where they run sandboxed in an opaque origin.
 *
 * Every word the page shows comes from TEXT below, in Bahasa Indonesia by default and in
 * English after a click on the switch in the top bar (remembered in this browser).
 */
"use strict";

(function () {
  const API = "/api/v1";
  const TOKEN_KEY = "bsb.token";
  const FAST_REFRESH_MS = 2000;
  const SLOW_REFRESH_MS = 15000;
  const ACTIVE_STATUSES = new Set(["queued", "running"]);
  const PAPER_FOLDERS = ["trip_sheets/", "papers/"];
  const LANGUAGE_KEY = "bsb.language";
  const DEFAULT_LANGUAGE = "id";
  // Numbers and times are written for the reader's language (18.764 or 18,764).
  const LOCALES = { id: "id-ID", en: "en-GB" };

  // --- words --------------------------------------------------------------------------------

  /*
   * One table for every word of the page, per language. An entry is a string, a list of
   * strings and {code: "..."} parts (for <code> in running text), or a function of the values
   * it shows returning either. index.html names entries with data-i18n (text) and
   * data-i18n-attr ("attribute:key ..."); the code below with t().
   */
  const TEXT = {
    id: {
      title: "bsb \u2014 layanan perencanaan",
      brand: "layanan perencanaan",
      "language.label": "Bahasa halaman",
      logout: "Keluar",
      optional: "(opsional)",
      "login.title": "Masuk",
      "login.hint": [
        "Tempelkan token akses yang Anda terima (dibuat dengan ",
        { code: "bsb token create" },
        "). Token hanya disimpan di tab peramban ini dan dilupakan saat Anda keluar atau " +
          "menutup tab.",
      ],
      "login.token": "Token akses",
      "login.submit": "Masuk",
      "upload.title": "Unggah skenario",
      "upload.hint": [
        "Berkas ",
        { code: ".zip" },
        " berisi folder skenario, diperiksa seperti ",
        { code: "bsb validate" },
        ".",
      ],
      "upload.file": "Zip skenario",
      "upload.submit": "Unggah",
      "job.title": "Rencanakan skenario",
      "job.scenario": "Skenario",
      "job.timeLimit": "Batas waktu (detik)",
      "job.seed": "Benih acak (seed)",
      "job.strategy": "Strategi",
      "job.strategyDefault": "bawaan",
      "job.language": "Bahasa dokumen",
      "job.submit": "Mulai perencanaan",
      "jobs.title": "Pekerjaan",
      "jobs.job": "Pekerjaan",
      "jobs.scenario": "Skenario",
      "jobs.status": "Status",
      "jobs.progress": "Kemajuan",
      "jobs.timeLimit": "Batas waktu",
      "jobs.strategy": "Strategi",
      "jobs.started": "Mulai",
      "jobs.finished": "Selesai",
      "jobs.actions": "Tindakan",
      "jobs.empty": "Belum ada pekerjaan.",
      "plans.title": "Rencana",
      "plans.created": "Dibuat",
      "plans.scenario": "Skenario",
      "plans.status": "Status",
      "plans.delivered": "Kg dijadwalkan / kebutuhan",
      "plans.families": "KPM dijadwalkan",
      "plans.trips": "Perjalanan",
      "plans.distance": "Jarak km",
      "plans.open": "Buka",
      "plans.empty": "Belum ada rencana.",
      "plans.map": "Peta",
      "plans.summary": "Ringkasan",
      "plans.papers": (count) => `Dokumen (${count})`,
      "plans.changes": "Perubahan",
      "plans.replanOf": (asOf, chain) => `rencana ulang per ${asOf}, dari ${chain}`,
      "scenarios.title": "Skenario",
      "scenarios.name": "Nama",
      "scenarios.dropPoints": "Titik bagi",
      "scenarios.families": "KPM",
      "scenarios.warehouses": "Gudang",
      "scenarios.trucks": "Truk",
      "scenarios.demand": "Kebutuhan (ton)",
      "scenarios.created": "Dibuat",
      "scenarios.empty": "Belum ada skenario.",
      "status.queued": "dalam antrean",
      "status.running": "berjalan",
      "status.done": "selesai",
      "status.failed": "gagal",
      "status.cancelled": "dibatalkan",
      "status.complete": "lengkap",
      "status.interrupted": "terhenti",
      "role.planner": "perencana",
      "role.viewer": "peninjau",
      error: "Galat",
      dismiss: "Tutup",
      unreachable: "Server tidak dapat dihubungi",
      unexpectedAnswer: "Jawaban server tidak terduga",
      unexpectedLink: "Tautan dari server tidak terduga",
      sessionEnded: (title) => `Sesi Anda berakhir (${title}). Silakan masuk lagi.`,
      tokenRefused: (reason) => `Token itu tidak diterima: ${reason}.`,
      loginFailed: (reason) => `Tidak dapat masuk: ${reason}`,
      loggedOut: "Anda telah keluar.",
      refreshState: (time, seconds) => `Diperbarui ${time}; diperbarui lagi tiap ${seconds} detik`,
      refreshFailed: "Tidak dapat memperbarui",
      uploadFirst: "Unggah skenario terlebih dahulu",
      cancelRequested: "pembatalan diminta",
      progressLabel: (percent) => `Kemajuan ${percent}`,
      cancel: "Batalkan",
      cancelFailed: "Tidak dapat membatalkan pekerjaan",
      openFailed: (path) => `Tidak dapat membuka ${path}`,
      uploading: (name) => `Mengunggah ${name}\u2026`,
      uploaded: (name, points) => ["Skenario ", name, ` terunggah (${points} titik bagi).`],
      uploadFailed: "Unggahan gagal",
      jobQueued: (id, scenario) => ["Pekerjaan ", id, ` masuk antrean untuk ${scenario}.`],
      jobFailed: "Tidak dapat memulai pekerjaan",
      printed: (time) => `Dicetak ${time}`,
      seconds: (value) => `${value} detik`,
      "whatif.title": "Bagaimana jika",
      "whatif.hint": [
        "Merencanakan skenario berulang kali, seperti ",
        { code: "bsb whatif" },
        " (ukuran armada, bobot waktu tunggu KPM, atau truk tambahan agar selesai pada tanggal).",
      ],
      "whatif.kind": "Pertanyaan",
      "whatif.fleetScales": "Ukuran armada (kali armada sekarang)",
      "whatif.waitCosts": "Bobot waktu tunggu (Rp per KPM per hari)",
      "whatif.finishBy": "Selesai paling lambat (tanggal)",
      "whatif.values": "Nilai (dipisah koma) atau tanggal",
      "whatif.valuesExample": "0.5, 1, 2 atau 2020-09-20",
      "whatif.timeLimit": "Batas waktu per rencana (detik)",
      "whatif.submit": "Mulai",
      "whatif.queued": (id, scenario) => ["Pertanyaan ", id, ` masuk antrean untuk ${scenario}.`],
      "whatif.failed": "Tidak dapat memulai pertanyaan",
      "whatifs.title": "Hasil bagaimana jika",
      "whatifs.empty": "Belum ada pertanyaan bagaimana jika.",
      "whatifs.download": "Unduh xlsx",
      "whatifs.plot": (name) => `Grafik ${name}`,
      "message.queued": "menunggu giliran",
      "message.starting": "dimulai",
      "message.planning": "merencanakan",
      "message.done": "selesai",
      "message.cancelledBeforeStart": "dibatalkan sebelum dimulai",
      "message.cancelling": "membatalkan: pencarian dihentikan, rencana terbaik disimpan",
      "message.cancelledKept": "dibatalkan; rencana terbaik yang ditemukan disimpan",
      "message.writing": (number, total, stage) =>
        `menulis folder rencana ${number}/${total}: ${stage}`,
      "stage.maps": "peta",
      "stage.trip sheets": "surat jalan",
      "stage.plan files": "berkas rencana",
      "stage.papers": "dokumen",
    },
    en: {
      title: "bsb \u2014 planning service",
      brand: "planning service",
      "language.label": "Page language",
      logout: "Log out",
      optional: "(optional)",
      "login.title": "Log in",
      "login.hint": [
        "Paste the access token you were given (made with ",
        { code: "bsb token create" },
        "). It is kept in this browser tab only and forgotten when you log out or close the tab.",
      ],
      "login.token": "Access token",
      "login.submit": "Log in",
      "upload.title": "Upload a scenario",
      "upload.hint": [
        "A ",
        { code: ".zip" },
        " of a scenario folder, checked like ",
        { code: "bsb validate" },
        ".",
      ],
      "upload.file": "Scenario zip",
      "upload.submit": "Upload",
      "job.title": "Plan a scenario",
      "job.scenario": "Scenario",
      "job.timeLimit": "Time limit (s)",
      "job.seed": "Seed",
      "job.strategy": "Strategy",
      "job.strategyDefault": "default",
      "job.language": "Papers language",
      "job.submit": "Start planning",
      "jobs.title": "Jobs",
      "jobs.job": "Job",
      "jobs.scenario": "Scenario",
      "jobs.status": "Status",
      "jobs.progress": "Progress",
      "jobs.timeLimit": "Time limit",
      "jobs.strategy": "Strategy",
      "jobs.started": "Started",
      "jobs.finished": "Finished",
      "jobs.actions": "Actions",
      "jobs.empty": "No jobs yet.",
      "plans.title": "Plans",
      "plans.created": "Created",
      "plans.scenario": "Scenario",
      "plans.status": "Status",
      "plans.delivered": "Planned kg / demand",
      "plans.families": "Families planned",
      "plans.trips": "Trips",
      "plans.distance": "Distance km",
      "plans.open": "Open",
      "plans.empty": "No plans yet.",
      "plans.map": "Map",
      "plans.summary": "Summary",
      "plans.papers": (count) => `Papers (${count})`,
      "plans.changes": "Changes",
      "plans.replanOf": (asOf, chain) => `re-plan as of ${asOf}, from ${chain}`,
      "scenarios.title": "Scenarios",
      "scenarios.name": "Name",
      "scenarios.dropPoints": "Drop points",
      "scenarios.families": "Families",
      "scenarios.warehouses": "Warehouses",
      "scenarios.trucks": "Trucks",
      "scenarios.demand": "Demand t",
      "scenarios.created": "Created",
      "scenarios.empty": "No scenarios yet.",
      "status.queued": "queued",
      "status.running": "running",
      "status.done": "done",
      "status.failed": "failed",
      "status.cancelled": "cancelled",
      "status.complete": "complete",
      "status.interrupted": "interrupted",
      "role.planner": "planner",
      "role.viewer": "viewer",
      error: "Error",
      dismiss: "Dismiss",
      unreachable: "The server could not be reached",
      unexpectedAnswer: "Unexpected answer from the server",
      unexpectedLink: "Unexpected link from the server",
      sessionEnded: (title) => `Your session has ended (${title}). Please log in again.`,
      tokenRefused: (reason) => `That token was not accepted: ${reason}.`,
      loginFailed: (reason) => `Could not log in: ${reason}`,
      loggedOut: "You have logged out.",
      refreshState: (time, seconds) => `Updated ${time}, refreshing every ${seconds} s`,
      refreshFailed: "Could not refresh",
      uploadFirst: "Upload a scenario first",
      cancelRequested: "cancel requested",
      progressLabel: (percent) => `Progress ${percent}`,
      cancel: "Cancel",
      cancelFailed: "Could not cancel the job",
      openFailed: (path) => `Could not open ${path}`,
      uploading: (name) => `Uploading ${name}\u2026`,
      uploaded: (name, points) => ["Uploaded ", name, ` (${points} drop points).`],
      uploadFailed: "Upload failed",
      jobQueued: (id, scenario) => ["Job ", id, ` queued for ${scenario}.`],
      jobFailed: "Could not start the job",
      printed: (time) => `Printed ${time}`,
      seconds: (value) => `${value} s`,
      "whatif.title": "What if",
      "whatif.hint": [
        "Plans the scenario again and again, as ",
        { code: "bsb whatif" },
        " does (fleet sizes, the weight of families' waiting, or the trucks to add to finish by a " +
          "date).",
      ],
      "whatif.kind": "Question",
      "whatif.fleetScales": "Fleet sizes (times today's fleet)",
      "whatif.waitCosts": "Waiting weights (Rp per family per day)",
      "whatif.finishBy": "Finish by (date)",
      "whatif.values": "Values (comma-separated) or a date",
      "whatif.valuesExample": "0.5, 1, 2 or 2020-09-20",
      "whatif.timeLimit": "Time limit per plan (s)",
      "whatif.submit": "Start",
      "whatif.queued": (id, scenario) => ["What-if ", id, ` queued for ${scenario}.`],
      "whatif.failed": "Could not start the what-if",
      "whatifs.title": "What-if answers",
      "whatifs.empty": "No what-ifs yet.",
      "whatifs.download": "Download xlsx",
      "whatifs.plot": (name) => `Plot ${name}`,
      "message.queued": "queued",
      "message.starting": "starting",
      "message.planning": "planning",
      "message.done": "done",
      "message.cancelledBeforeStart": "cancelled before it started",
      "message.cancelling": "cancelling: stopping the search, keeping the best plan found",
      "message.cancelledKept": "cancelled; the best plan found was kept",
      "message.writing": (number, total, stage) =>
        `writing the plan folder ${number}/${total}: ${stage}`,
      "stage.maps": "maps",
      "stage.trip sheets": "trip sheets",
      "stage.plan files": "plan files",
      "stage.papers": "papers",
    },
  };

  // The job messages the service itself writes (service/jobs.py, service/worker.py), in the
  // reader's words; the planner's own progress lines ("routed part 2/6 ...") stay as sent.
  const SERVER_MESSAGES = {
    queued: "message.queued",
    starting: "message.starting",
    planning: "message.planning",
    done: "message.done",
    "cancelled before it started": "message.cancelledBeforeStart",
    "cancelling: stopping the search, keeping the best plan found": "message.cancelling",
    "cancelled; the best plan found was kept": "message.cancelledKept",
  };
  const WRITING_MESSAGE = /^writing the plan folder (\d+)\/(\d+): (.+)$/;

  function serverMessage(text) {
    const message = String(text);
    if (Object.prototype.hasOwnProperty.call(SERVER_MESSAGES, message)) {
      return t(SERVER_MESSAGES[message]);
    }
    const writing = WRITING_MESSAGE.exec(message);
    if (writing && `stage.${writing[3]}` in TEXT[language]) {
      return t("message.writing", writing[1], writing[2], t(`stage.${writing[3]}`));
    }
    return message;
  }

  function storedLanguage() {
    try {
      const language = window.localStorage.getItem(LANGUAGE_KEY);
      return language && TEXT[language] ? language : DEFAULT_LANGUAGE;
    } catch (_error) {
      return DEFAULT_LANGUAGE;
    }
  }

  let language = storedLanguage();

  /** The entry `key` in the reader's language: a string or a list of parts. */
  function entry(key, ...values) {
    const value = key in TEXT[language] ? TEXT[language][key] : TEXT[DEFAULT_LANGUAGE][key];
    if (value === undefined) return key;
    return typeof value === "function" ? value(...values) : value;
  }

  /** The entry `key` as plain text (for textContent, attributes and messages). */
  function t(key, ...values) {
    const value = entry(key, ...values);
    if (!Array.isArray(value)) return String(value);
    return value.map((part) => (part && part.code !== undefined ? part.code : String(part)))
      .join("");
  }

  /** The entry `key` as nodes: strings become text, {code} parts <code>, nodes stay. */
  function nodes(key, ...values) {
    const value = entry(key, ...values);
    const parts = Array.isArray(value) ? value : [value];
    return parts.map((part) => {
      if (part instanceof Node) return part;
      if (part && part.code !== undefined) {
        const code = document.createElement("code");
        code.textContent = part.code;
        return code;
      }
      return document.createTextNode(String(part));
    });
  }

  const state = {
    token: null,
    me: null,
    scenarios: [],
    jobs: [],
    plans: [],
    timer: null,
    // Bumped at every log-in and log-out: answers to an older session's requests are dropped.
    generation: 0,
    // The generation whose refresh is in flight (null: none), and whether another is wanted.
    refreshing: null,
    refreshAgain: false,
    // Last rendered data per table: an unchanged table is not rebuilt, so open <details>,
    // focus and text selection survive the periodic refresh.
    renderedKeys: {},
    openPapers: new Set(),
    // A just-uploaded scenario, to select in the job form once the list shows it.
    preferredScenario: null,
    // When the lists were last refreshed and the delay to the next refresh, for the note.
    refreshNote: null,
    whatifs: [],
    // What-if answers by job id (fetched once the job has ended) and their plots as data URLs.
    whatifAnswers: {},
    whatifPlots: {},
  };

  // --- small DOM helpers --------------------------------------------------------------------

  function $(id) {
    return document.getElementById(id);
  }

  /**
   * Create an element. `props` may hold className, testid, text, title, and attrs (an object of
   * attributes); children are nodes or strings (added as text nodes).
   */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    const p = props || {};
    if (p.className) node.className = p.className;
    if (p.testid) node.dataset.testid = p.testid;
    if (p.text !== undefined && p.text !== null) node.textContent = String(p.text);
    if (p.title) node.title = p.title;
    if (p.attrs) {
      for (const [name, value] of Object.entries(p.attrs)) node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function clear(node) {
    node.replaceChildren();
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  // --- formatting ---------------------------------------------------------------------------

  const DASH = "\u2014";

  function parseTime(text) {
    if (!text) return null;
    // The server sends timezone-aware UTC; treat a bare timestamp as UTC too, not local time.
    const hasZone = /(?:Z|[+-]\d\d:?\d\d)$/i.test(text);
    const date = new Date(hasZone ? text : text + "Z");
    return Number.isNaN(date.getTime()) ? null : date;
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function formatTime(text) {
    const date = parseTime(text);
    if (!date) return DASH;
    return date.toLocaleString(LOCALES[language], {
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
  }

  function timeCell(text) {
    const cell = el("td", { className: "time", text: formatTime(text) });
    if (text) cell.title = String(text);
    return cell;
  }

  function isNumber(value) {
    return typeof value === "number" && Number.isFinite(value);
  }

  function formatNumber(value, digits) {
    if (!isNumber(value)) return DASH;
    return value.toLocaleString(LOCALES[language], { maximumFractionDigits: digits });
  }

  function formatSeconds(value) {
    return isNumber(value) ? t("seconds", formatNumber(value, 1)) : DASH;
  }

  function shortId(id) {
    const text = String(id || "");
    return text.length > 10 ? text.slice(0, 10) : text;
  }

  // --- problems (RFC 9457) ------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem) {
      super(problem.title + (problem.detail ? `: ${problem.detail}` : ""));
      this.status = status;
      this.problem = problem;
    }
  }

  class AuthError extends ApiError {}

  function toProblem(status, body, statusText) {
    const problem = {
      title: `HTTP ${status}${statusText ? " " + statusText : ""}`,
      status: status,
      detail: "",
      errors: [],
    };
    if (body && typeof body === "object" && !Array.isArray(body)) {
      if (typeof body.title === "string" && body.title) problem.title = body.title;
      if (typeof body.detail === "string") problem.detail = body.detail;
      if (Array.isArray(body.errors)) {
        problem.errors = body.errors
          .filter((item) => item && typeof item === "object")
          .map((item) => ({
            where: item.where === undefined || item.where === null ? "" : String(item.where),
            message: item.message === undefined ? "" : String(item.message),
          }));
      }
    }
    return problem;
  }

  function problemOf(error) {
    if (error instanceof ApiError) return error.problem;
    return { title: t("error"), status: 0, detail: String(error && error.message), errors: [] };
  }

  /** Fill `box` with a problem: title (status), detail, and the list of individual errors. */
  function showProblem(box, error, prefix) {
    const problem = problemOf(error);
    clear(box);
    box.className = box.className.replace(/\bresult-(ok|error)\b/g, "").trim() + " result-error";
    const status = problem.status ? ` (${problem.status})` : "";
    box.append(
      el("p", { className: "problem-title", testid: "problem-title" },
        `${prefix ? prefix + ": " : ""}${problem.title}${status}`),
    );
    if (problem.detail) box.append(el("p", { className: "problem-detail", text: problem.detail }));
    if (problem.errors.length) {
      const list = el("ul", { className: "problem-errors", testid: "problem-errors" });
      for (const item of problem.errors) {
        const li = el("li", { testid: "problem-error" });
        if (item.where) li.append(el("span", { className: "where", text: item.where }), ": ");
        li.append(item.message);
        list.append(li);
      }
      box.append(list);
    }
    show(box, true);
  }

  function showOk(box, ...content) {
    clear(box);
    box.className = box.className.replace(/\bresult-(ok|error)\b/g, "").trim() + " result-ok";
    box.append(el("p", {}, ...content));
    show(box, true);
  }

  /** Show the failure of a click (cancel, open a file) until dismissed or the next one. */
  function showAction(error, prefix) {
    const box = $("action-problem");
    showProblem(box, error, prefix);
    const dismiss = el("button", { className: "button button-small button-quiet",
      testid: "action-dismiss", text: t("dismiss"), attrs: { type: "button" } });
    dismiss.addEventListener("click", () => show(box, false));
    box.append(dismiss);
  }

  // --- the API ------------------------------------------------------------------------------

  /**
   * Call the API with the token. Resolves to the parsed JSON body (or null); rejects with an
   * ApiError carrying the problem document. A 401 ends the session and shows the log-in form.
   */
  async function api(method, path, options) {
    const opts = options || {};
    const token = opts.token || state.token;
    const generation = state.generation;
    const headers = { Accept: "application/json, application/problem+json" };
    if (token) headers.Authorization = "Bearer " + token;
    let body;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.json);
    } else if (opts.form !== undefined) {
      body = opts.form; // the browser sets the multipart boundary
    }
    let response;
    try {
      response = await fetch(API + path, {
        method: method,
        headers: headers,
        body: body,
        cache: "no-store",
        credentials: "omit",
        referrerPolicy: "no-referrer",
      });
    } catch (error) {
      throw new ApiError(0, {
        title: t("unreachable"),
        status: 0,
        detail: String(error && error.message),
        errors: [],
      });
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_error) {
        data = null;
      }
    }
    if (!response.ok) {
      const problem = toProblem(response.status, data, response.statusText);
      if (response.status === 401) {
        if (!opts.token && generation === state.generation) {
          endSession(t("sessionEnded", problem.title));
        }
        throw new AuthError(401, problem);
      }
      throw new ApiError(response.status, problem);
    }
    return data;
  }

  // --- session ------------------------------------------------------------------------------

  function storedToken() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY);
    } catch (_error) {
      return null;
    }
  }

  function storeToken(token) {
    try {
      if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
      else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (_error) {
      // Storage disabled: the session lasts until the page is reloaded.
    }
  }

  function isPlanner() {
    return Boolean(state.me && state.me.role === "planner");
  }

  function stopRefresh() {
    if (state.timer !== null) window.clearTimeout(state.timer);
    state.timer = null;
  }

  function resetData() {
    state.me = null;
    state.scenarios = [];
    state.jobs = [];
    state.plans = [];
    state.whatifs = [];
    state.whatifAnswers = {};
    state.whatifPlots = {};
    state.renderedKeys = {};
    state.openPapers.clear();
    state.preferredScenario = null;
    for (const id of ["scenarios-body", "jobs-body", "plans-body", "job-scenario",
      "whatif-scenario", "whatifs-list"]) clear($(id));
    for (const id of ["upload-result", "job-result", "whatif-result", "notice",
      "action-problem"]) {
      clear($(id));
      show($(id), false);
    }
    $("upload-form").reset();
    $("job-form").reset();
    $("whatif-form").reset();
  }

  /** Forget the token and show the log-in form, with `message` if given. */
  function endSession(message) {
    state.generation += 1;
    state.token = null;
    stopRefresh();
    storeToken(null);
    resetData();
    show($("app"), false);
    show($("session"), false);
    show($("login"), true);
    const box = $("login-message");
    box.textContent = message || "";
    show(box, Boolean(message));
    $("login-token").value = "";
    $("login-token").focus();
  }

  function startSession(token, me) {
    state.generation += 1;
    state.token = token;
    state.me = me;
    storeToken(token);
    show($("login"), false);
    show($("login-message"), false);
    $("login-token").value = "";
    $("role").textContent = t(`role.${me.role}`);
    $("role").dataset.role = me.role;
    $("session-name").textContent = me.name ? me.name : "";
    show($("session"), true);
    show($("planner-tools"), isPlanner());
    show($("app"), true);
    refresh();
  }

  async function logIn(token) {
    const button = document.querySelector("#login-form button[type=submit]");
    button.disabled = true;
    try {
      const me = await api("GET", "/me", { token: token });
      if (!me || (me.role !== "planner" && me.role !== "viewer")) {
        throw new ApiError(0, {
          title: t("unexpectedAnswer"),
          status: 0,
          detail: "",
          errors: [],
        });
      }
      startSession(token, me);
    } catch (error) {
      const problem = problemOf(error);
      const message =
        error instanceof AuthError
          ? t("tokenRefused", problem.detail || problem.title)
          : t("loginFailed", `${problem.title}${problem.detail ? " \u2013 " + problem.detail : ""}`);
      storeToken(null);
      const box = $("login-message");
      box.textContent = message;
      show(box, true);
    } finally {
      button.disabled = false;
    }
  }

  // --- refreshing ---------------------------------------------------------------------------

  function anyActiveJob() {
    return state.jobs.some((job) => ACTIVE_STATUSES.has(job.status));
  }

  function scheduleRefresh() {
    stopRefresh();
    if (!state.token) return;
    const delay = anyActiveJob() ? FAST_REFRESH_MS : SLOW_REFRESH_MS;
    state.timer = window.setTimeout(refresh, delay);
    state.refreshNote = { at: new Date().toISOString(), delay_s: delay / 1000 };
    showRefreshNote();
  }

  function showRefreshNote() {
    const note = state.refreshNote;
    $("refresh-state").textContent = note
      ? t("refreshState", formatTime(note.at), formatNumber(note.delay_s, 0))
      : "";
  }

  async function refresh() {
    if (!state.token) return;
    const generation = state.generation;
    if (state.refreshing === generation) {
      state.refreshAgain = true;
      return;
    }
    stopRefresh();
    state.refreshing = generation;
    state.refreshAgain = false;
    try {
      const [scenarios, jobs, plans, whatifs] = await Promise.all([
        api("GET", "/scenarios"),
        api("GET", "/jobs"),
        api("GET", "/plans"),
        api("GET", "/whatif"),
      ]);
      if (generation !== state.generation) return;
      state.scenarios = Array.isArray(scenarios) ? scenarios : [];
      state.jobs = Array.isArray(jobs) ? jobs : [];
      state.plans = Array.isArray(plans) ? plans : [];
      state.whatifs = Array.isArray(whatifs) ? whatifs : [];
      await loadWhatifAnswers(generation);
      if (generation !== state.generation) return;
      render();
      show($("notice"), false);
    } catch (error) {
      if (generation !== state.generation || error instanceof AuthError) return;
      showProblem($("notice"), error, t("refreshFailed"));
    } finally {
      // An older session's refresh ends quietly: the current session runs its own.
      if (state.refreshing === generation) {
        state.refreshing = null;
        if (generation !== state.generation) {
          // Logged out meanwhile: nothing to schedule for that session.
        } else if (state.refreshAgain) {
          refresh();
        } else {
          scheduleRefresh();
        }
      }
    }
  }

  // --- rendering ----------------------------------------------------------------------------

  function scenarioById(id) {
    return state.scenarios.find((s) => s.id === id) || null;
  }

  function scenarioName(id) {
    const scenario = scenarioById(id);
    return scenario ? String(scenario.name) : String(id || DASH);
  }

  /** Run `build` only when `key` changed since the last time for this table. */
  function renderIfChanged(name, key, build) {
    if (state.renderedKeys[name] === key) return;
    state.renderedKeys[name] = key;
    build();
  }

  function render() {
    const names = state.scenarios.map((s) => [s.id, s.name, s.demand_kg]);
    const role = state.me ? state.me.role : "";
    renderIfChanged("scenarios", JSON.stringify(state.scenarios), renderScenarios);
    renderIfChanged("scenario-select", JSON.stringify(names), renderScenarioSelect);
    renderIfChanged("jobs", JSON.stringify([state.jobs, names, role]), renderJobs);
    renderIfChanged("plans", JSON.stringify([state.plans, names]), renderPlans);
    renderIfChanged("whatifs", JSON.stringify([state.whatifs, names,
      Object.keys(state.whatifAnswers), Object.keys(state.whatifPlots)]), renderWhatifs);
  }

  function numCell(text) {
    return el("td", { className: "num", text: text });
  }

  function renderScenarios() {
    const body = $("scenarios-body");
    clear(body);
    for (const s of state.scenarios) {
      const row = el("tr", { testid: "scenario-row" });
      row.dataset.id = String(s.id);
      row.append(
        el("td", { className: "name", testid: "scenario-name", text: s.name, title: s.id }),
        numCell(formatNumber(s.drop_points, 0)),
        numCell(formatNumber(s.families, 0)),
        numCell(formatNumber(s.warehouses, 0)),
        numCell(formatNumber(s.trucks, 0)),
        numCell(isNumber(s.demand_kg) ? formatNumber(s.demand_kg / 1000, 1) : DASH),
        timeCell(s.created_at),
      );
      body.append(row);
    }
    show($("scenarios-empty"), state.scenarios.length === 0);
  }

  function renderScenarioSelect() {
    fillScenarioSelect($("job-scenario"));
    fillScenarioSelect($("whatif-scenario"));
  }

  function fillScenarioSelect(select) {
    const previous = select.value;
    clear(select);
    if (state.scenarios.length === 0) {
      select.append(el("option", { text: t("uploadFirst"), attrs: { value: "" } }));
      select.disabled = true;
      return;
    }
    select.disabled = false;
    for (const s of state.scenarios) {
      const option = el("option", { text: `${s.name} (${formatTime(s.created_at)})` });
      option.value = String(s.id);
      select.append(option);
    }
    const wanted = state.preferredScenario || previous;
    if (wanted && scenarioById(wanted)) {
      select.value = wanted;
      if (wanted === state.preferredScenario) state.preferredScenario = null;
    }
  }

  /** A status in the reader's words; the server's value stays in data-status. */
  function statusBadge(status, testid) {
    const known = `status.${status}` in TEXT[language];
    const badge = el("span", { className: `badge status status-${status}`, testid: testid,
      text: known ? t(`status.${status}`) : status });
    badge.dataset.status = String(status);
    return badge;
  }

  function renderJobs() {
    const body = $("jobs-body");
    clear(body);
    for (const job of state.jobs) {
      const row = el("tr", { testid: "job-row" });
      row.dataset.id = String(job.id);
      row.dataset.status = String(job.status);

      const statusCell = el("td", {}, statusBadge(job.status, "job-status"));
      if (job.cancel_requested && ACTIVE_STATUSES.has(job.status)) {
        statusCell.append(el("span", { className: "hint block", text: t("cancelRequested") }));
      }

      const progress = el("progress", { testid: "job-progress", attrs: { max: "1" } });
      const fraction = isNumber(job.progress) ? Math.min(1, Math.max(0, job.progress)) : 0;
      progress.value = job.status === "done" ? 1 : fraction;
      const percent = `${Math.round(progress.value * 100)}%`;
      progress.textContent = percent;
      progress.setAttribute("aria-label", t("progressLabel", percent));
      const progressCell = el("td", { className: "col-progress" },
        el("div", { className: "progress-line" }, progress,
          el("span", { className: "percent", text: percent })));
      if (job.message) {
        progressCell.append(el("div", { className: "job-message", testid: "job-message",
          text: serverMessage(job.message) }));
      }
      if (job.error) {
        progressCell.append(el("div", { className: "job-error", testid: "job-error",
          text: job.error }));
      }

      const actions = el("td", { className: "actions no-print" });
      if (isPlanner() && ACTIVE_STATUSES.has(job.status) && !job.cancel_requested) {
        const button = el("button", {
          className: "button button-small button-danger",
          testid: "job-cancel",
          text: t("cancel"),
          attrs: { type: "button" },
        });
        button.addEventListener("click", () => cancelJob(job.id, button));
        actions.append(button);
      }

      row.append(
        el("td", { className: "mono", testid: "job-id", text: shortId(job.id), title: job.id }),
        el("td", { className: "name", text: scenarioName(job.scenario_id) }),
        statusCell,
        progressCell,
        numCell(formatSeconds(job.time_limit_s)),
        el("td", { testid: "job-strategy", text: job.strategy ? job.strategy : t("job.strategyDefault") }),
        timeCell(job.started_at),
        timeCell(job.finished_at),
        actions,
      );
      body.append(row);
    }
    show($("jobs-empty"), state.jobs.length === 0);
  }

  function kpi(kpis, name) {
    return kpis && isNumber(kpis[name]) ? kpis[name] : null;
  }

  function deliveredText(plan) {
    const kpis = plan.kpis || {};
    const delivered = kpi(kpis, "kg_delivered");
    if (delivered === null) return DASH;
    const scenario = scenarioById(plan.scenario_id);
    let demand = scenario && isNumber(scenario.demand_kg) ? scenario.demand_kg : null;
    const unassigned = kpi(kpis, "kg_unassigned");
    if (demand === null && unassigned !== null) demand = delivered + unassigned;
    if (demand === null) return formatNumber(delivered, 0);
    const share = demand > 0 ? ` (${formatNumber((100 * delivered) / demand, 1)}%)` : "";
    return `${formatNumber(delivered, 0)} / ${formatNumber(demand, 0)}${share}`;
  }

  function familiesText(kpis) {
    const served = kpi(kpis, "families_served");
    const total = kpi(kpis, "families_total");
    if (served === null) return DASH;
    return total === null ? formatNumber(served, 0) : `${formatNumber(served, 0)} / ${formatNumber(total, 0)}`;
  }

  /** A link that asks for a signed URL and opens `path` of the plan in a new tab. */
  function fileLink(plan, path, label, testid) {
    const link = el("a", { className: "file-link", testid: testid, text: label,
      attrs: { href: "#", rel: "noopener noreferrer" } });
    link.dataset.path = path;
    link.addEventListener("click", (event) => {
      event.preventDefault();
      openPlanFile(plan.id, path, link);
    });
    return link;
  }

  function encodePath(path) {
    return path.split("/").map(encodeURIComponent).join("/");
  }

  /**
   * The path of the signed folder a link answer names ("/view/<link>/"), or null. The server
   * gives a full URL; only its path is used, on this page's own origin, so an answer can never
   * send the reader elsewhere, and a proxy that hides its address does not break the link.
   */
  function viewFolder(answer) {
    if (!answer || typeof answer.folder_url !== "string") return null;
    let pathname;
    try {
      pathname = new URL(answer.folder_url, window.location.href).pathname;
    } catch (_error) {
      return null;
    }
    return /^\/view\/[^/]+\/$/.test(pathname) ? pathname : null;
  }

  async function openPlanFile(planId, path, link) {
    if (link.getAttribute("aria-busy") === "true") return;
    link.setAttribute("aria-busy", "true");
    try {
      const answer = await api("POST", `/plans/${encodeURIComponent(planId)}/links`);
      const folder = viewFolder(answer);
      if (folder === null) {
        throw new ApiError(0, { title: t("unexpectedLink"), status: 0, detail: "", errors: [] });
      }
      // noopener: the plan's page gets no handle on this one; noreferrer: no Referer header.
      window.open(folder + encodePath(path), "_blank", "noopener,noreferrer");
    } catch (error) {
      if (!(error instanceof AuthError)) showAction(error, `Could not open ${path}`);
    } finally {
      link.removeAttribute("aria-busy");
    }
  }

  function papersDetails(plan) {
    const files = Array.isArray(plan.files) ? plan.files.map(String) : [];
    const papers = files.filter((f) => PAPER_FOLDERS.some((folder) => f.startsWith(folder)));
    if (papers.length === 0) return null;
    const details = el("details", { className: "papers", testid: "plan-papers" });
    details.open = state.openPapers.has(plan.id);
    details.addEventListener("toggle", () => {
      if (details.open) state.openPapers.add(plan.id);
      else state.openPapers.delete(plan.id);
    });
    details.append(el("summary", { testid: "plan-papers-summary",
      text: t("plans.papers", papers.length) }));
    // One group per folder: trip sheets, loading lists, receipts, ...
    const groups = new Map();
    for (const path of papers) {
      const slash = path.lastIndexOf("/");
      const folder = path.slice(0, slash);
      if (!groups.has(folder)) groups.set(folder, []);
      groups.get(folder).push(path);
    }
    for (const [folder, paths] of groups) {
      const list = el("ul", { className: "paper-list" });
      for (const path of paths) {
        list.append(el("li", {}, fileLink(plan, path, path.slice(folder.length + 1),
          "plan-paper-link")));
      }
      details.append(el("div", { className: "paper-group" },
        el("div", { className: "paper-folder", text: folder.replace(/_/g, " ") + "/" }), list));
    }
    return details;
  }

  /** The scenario's name and, for a re-plan, its day and the plans it descends from. */
  function nameCell(plan) {
    const cell = el("td", { className: "name", text: scenarioName(plan.scenario_id),
      title: plan.id });
    if (!plan.previous_plan_id) return cell;
    const lineage = Array.isArray(plan.lineage) && plan.lineage.length
      ? plan.lineage.map(String) : [String(plan.previous_plan_id)];
    cell.append(el("div", { className: "lineage", testid: "plan-lineage",
      text: t("plans.replanOf", String(plan.as_of || DASH), lineage.join(" \u2190 ")) }));
    return cell;
  }

  function renderPlans() {
    const body = $("plans-body");
    clear(body);
    for (const plan of state.plans) {
      const kpis = plan.kpis || {};
      const files = Array.isArray(plan.files) ? plan.files : [];
      const row = el("tr", { testid: "plan-row" });
      row.dataset.id = String(plan.id);
      const links = el("div", { className: "plan-links" });
      if (files.includes("map.html")) {
        links.append(fileLink(plan, "map.html", t("plans.map"), "plan-map-link"));
      }
      if (files.includes("summary.md")) {
        links.append(fileLink(plan, "summary.md", t("plans.summary"), "plan-summary-link"));
      }
      if (files.includes("changes.md")) {
        links.append(fileLink(plan, "changes.md", t("plans.changes"), "plan-changes-link"));
      }
      const papers = papersDetails(plan);
      const open = el("td", { className: "open" }, links);
      if (papers) open.append(papers);
      const distance = kpi(kpis, "distance_km");
      row.append(
        timeCell(plan.created_at),
        nameCell(plan),
        el("td", {}, statusBadge(plan.status, "plan-status")),
        el("td", { className: "num", testid: "plan-delivered", text: deliveredText(plan) }),
        numCell(familiesText(kpis)),
        el("td", { className: "num", testid: "plan-trips",
          text: formatNumber(kpi(kpis, "trips"), 0) }),
        el("td", { className: "num", testid: "plan-distance",
          text: distance === null ? DASH : formatNumber(distance, 1) }),
        open,
      );
      body.append(row);
    }
    show($("plans-empty"), state.plans.length === 0);
  }

  // --- what-ifs -----------------------------------------------------------------------------

  const ENDED_STATUSES = new Set(["done", "cancelled"]);

  /** Fetch the answers (table, files, plots) of what-ifs that ended since the last refresh. */
  async function loadWhatifAnswers(generation) {
    for (const whatif of state.whatifs) {
      const id = String(whatif.job_id);
      if (!ENDED_STATUSES.has(whatif.status) || state.whatifAnswers[id]) continue;
      const answer = await api("GET", `/whatif/${encodeURIComponent(id)}`);
      if (generation !== state.generation) return;
      state.whatifAnswers[id] = answer;
      const files = Array.isArray(answer.files) ? answer.files.map(String) : [];
      for (const name of files.filter((f) => f.endsWith(".png") && !f.includes("/"))) {
        const data = await fileData(id, name);
        if (generation !== state.generation) return;
        if (data) state.whatifPlots[`${id}/${name}`] = data;
      }
    }
  }

  /**
   * A what-if file as a data: URL (the page's CSP allows data: images, not blob:); the token
   * goes in the header, never in a URL.
   */
  async function fileData(jobId, name) {
    const response = await fetch(
      `${API}/whatif/${encodeURIComponent(jobId)}/files/${encodePath(name)}`,
      { headers: { Authorization: "Bearer " + state.token }, cache: "no-store",
        credentials: "omit", referrerPolicy: "no-referrer" });
    if (!response.ok) return null;
    const blob = await response.blob();
    return await new Promise((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.onerror = () => resolve(null);
      reader.readAsDataURL(blob);
    });
  }

  function questionText(question) {
    const q = question || {};
    if (q.finish_by) return `${t("whatif.finishBy")}: ${q.finish_by}`;
    if (Array.isArray(q.fleet_scales) && q.fleet_scales.length) {
      return `${t("whatif.fleetScales")}: ${q.fleet_scales.join(", ")}`;
    }
    if (Array.isArray(q.wait_costs) && q.wait_costs.length) {
      return `${t("whatif.waitCosts")}: ${q.wait_costs.join(", ")}`;
    }
    return DASH;
  }

  function renderWhatifs() {
    const list = $("whatifs-list");
    clear(list);
    for (const whatif of state.whatifs) {
      const id = String(whatif.job_id);
      const item = el("article", { className: "whatif", testid: "whatif" });
      item.dataset.id = id;
      item.append(el("h3", { className: "whatif-head" },
        el("span", { className: "name", text: scenarioName(whatif.scenario_id) }), " ",
        statusBadge(whatif.status, "whatif-status"), " ",
        el("span", { className: "hint", text: questionText(whatif.question) })));
      const answer = state.whatifAnswers[id];
      if (answer && Array.isArray(answer.columns) && answer.columns.length) {
        const head = el("tr", {}, ...answer.columns.map((c) => el("th", { text: c,
          attrs: { scope: "col" } })));
        const rows = (answer.rows || []).map((r) => el("tr", { testid: "whatif-row" },
          ...answer.columns.map((c) => el("td", { text: r[c] === undefined ? "" : r[c] }))));
        item.append(el("div", { className: "table-wrap" },
          el("table", { className: "table", testid: "whatif-table" },
            el("thead", {}, head), el("tbody", {}, ...rows))));
        const files = Array.isArray(answer.files) ? answer.files.map(String) : [];
        if (files.includes("whatif.xlsx")) {
          const link = el("a", { className: "file-link", testid: "whatif-xlsx",
            text: t("whatifs.download"), attrs: { href: "#" } });
          link.addEventListener("click", async (event) => {
            event.preventDefault();
            const data = await fileData(id, "whatif.xlsx");
            if (!data) return;
            const save = el("a", { attrs: { href: data, download: `whatif-${id}.xlsx` } });
            save.click();
          });
          item.append(el("div", { className: "plan-links" }, link));
        }
        const plots = el("div", { className: "whatif-plots" });
        for (const name of files.filter((f) => f.endsWith(".png") && !f.includes("/"))) {
          const data = state.whatifPlots[`${id}/${name}`];
          if (!data) continue;
          plots.append(el("img", { className: "whatif-plot", testid: "whatif-plot",
            attrs: { src: data, alt: t("whatifs.plot", name) } }));
        }
        item.append(plots);
      }
      list.append(item);
    }
    show($("whatifs-empty"), state.whatifs.length === 0);
  }

  async function submitWhatif(event) {
    event.preventDefault();
    const box = $("whatif-result");
    const scenarioId = $("whatif-scenario").value;
    if (!scenarioId) return;
    const kind = $("whatif-kind").value;
    const text = $("whatif-values").value.trim();
    const body = {
      scenario_id: scenarioId,
      time_limit_s: Number($("whatif-time-limit").value),
      language: language,
    };
    if (kind === "finish_by") {
      body.finish_by = text;
    } else {
      body[kind] = text.split(/[,;\s]+/).filter((v) => v !== "").map(Number);
    }
    const button = event.target.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const job = await api("POST", "/whatif", { json: body });
      showOk(box, ...nodes("whatif.queued", el("span", { className: "mono",
        text: shortId(job.id) }), scenarioName(job.scenario_id)));
      await refresh();
    } catch (error) {
      if (!(error instanceof AuthError)) showProblem(box, error, t("whatif.failed"));
    } finally {
      button.disabled = false;
    }
  }

  // --- planner actions ----------------------------------------------------------------------

  async function cancelJob(jobId, button) {
    button.disabled = true;
    try {
      await api("POST", `/jobs/${encodeURIComponent(jobId)}/cancel`);
    } catch (error) {
      if (!(error instanceof AuthError)) showAction(error, t("cancelFailed"));
    }
    refresh();
  }

  async function uploadScenario(event) {
    event.preventDefault();
    const input = $("upload-file");
    const box = $("upload-result");
    const file = input.files && input.files[0];
    if (!file) return;
    const button = event.target.querySelector("button[type=submit]");
    button.disabled = true;
    showOk(box, t("uploading", file.name));
    const form = new FormData();
    form.append("file", file, file.name);
    try {
      const scenario = await api("POST", "/scenarios", { form: form });
      showOk(box, ...nodes("uploaded", el("strong", { text: scenario.name }),
        formatNumber(scenario.drop_points, 0)));
      $("upload-form").reset();
      state.preferredScenario = String(scenario.id);
      await refresh();
    } catch (error) {
      if (!(error instanceof AuthError)) showProblem(box, error, t("uploadFailed"));
    } finally {
      button.disabled = false;
    }
  }

  async function submitJob(event) {
    event.preventDefault();
    const box = $("job-result");
    const scenarioId = $("job-scenario").value;
    if (!scenarioId) return;
    const body = {
      scenario_id: scenarioId,
      time_limit_s: Number($("job-time-limit").value),
      strategy: $("job-strategy").value.trim() || null,
      seed: $("job-seed").value === "" ? null : Number($("job-seed").value),
    };
    // Sent only when it differs from the server's default (Bahasa Indonesia papers).
    if ($("job-language").value !== "id") body.language = $("job-language").value;
    const button = event.target.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const job = await api("POST", "/jobs", { json: body });
      showOk(box, ...nodes("jobQueued", el("span", { className: "mono", text: shortId(job.id) }),
        scenarioName(job.scenario_id)));
      await refresh();
    } catch (error) {
      if (!(error instanceof AuthError)) showProblem(box, error, t("jobFailed"));
    } finally {
      button.disabled = false;
    }
  }

  // --- start --------------------------------------------------------------------------------

  // --- language -----------------------------------------------------------------------------

  /** Put the reader's language into every word of the page, static and rendered. */
  function applyLanguage() {
    document.documentElement.lang = language;
    document.title = t("title");
    for (const node of document.querySelectorAll("[data-i18n]")) {
      node.replaceChildren(...nodes(node.dataset.i18n));
    }
    for (const node of document.querySelectorAll("[data-i18n-attr]")) {
      for (const pair of node.dataset.i18nAttr.split(/\s+/)) {
        const [attribute, key] = pair.split(":");
        node.setAttribute(attribute, t(key));
      }
    }
    for (const button of document.querySelectorAll("#language [data-language]")) {
      button.setAttribute("aria-pressed", String(button.dataset.language === language));
    }
    if (state.me) $("role").textContent = t(`role.${state.me.role}`);
    showRefreshNote();
    // Rebuild the tables in the new words (the data is unchanged, so force it).
    state.renderedKeys = {};
    if (state.token) render();
  }

  function setLanguage(next) {
    if (!TEXT[next] || next === language) return;
    language = next;
    try {
      window.localStorage.setItem(LANGUAGE_KEY, next);
    } catch (_error) {
      // Storage disabled: the choice lasts until the page is reloaded.
    }
    applyLanguage();
  }

  function init() {
    applyLanguage();
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("login-token").value.trim();
      if (token) logIn(token);
    });
    $("logout").addEventListener("click", () => endSession(t("loggedOut")));
    for (const button of document.querySelectorAll("#language [data-language]")) {
      button.addEventListener("click", () => setLanguage(button.dataset.language));
    }
    $("upload-form").addEventListener("submit", uploadScenario);
    $("job-form").addEventListener("submit", submitJob);
    $("whatif-form").addEventListener("submit", submitWhatif);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && state.token) refresh();
    });
    window.addEventListener("beforeprint", () => {
      $("printed-at").textContent = t("printed", formatTime(new Date().toISOString()));
    });

    const token = storedToken();
    if (token) {
      logIn(token);
    } else {
      show($("login"), true);
      $("login-token").focus();
    }
  }

  init();
})();
