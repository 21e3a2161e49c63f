// tanlu's dashboard (docs/dashboard.md): pages in Chinese and English over the service's API.
// Every figure is read from the API with the caller's session; every change sends the session's
// CSRF token. Text from the server is only ever set as text (never parsed as HTML).

import { h } from "./dom.js";

const main = document.getElementById("main");
const state = { lang: "zh", words: null, me: null, csrf: null, timer: null, charts: [] };
const wordsCache = {};

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/** A word of the page's language (its key when missing, so that a gap shows). */
function t(key) {
  return (state.words && state.words.words[key]) || key;
}

function categoryName(id) {
  return (state.words && state.words.categories[id]) || id;
}

function leverName(id) {
  return (state.words && state.words.levers[id]) || id;
}

function locale() {
  return state.lang === "zh" ? "zh-CN" : "en-US";
}

/** Tonnes and MWh as whole numbers with grouped thousands (4,608,592). */
function whole(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 }).format(value);
}

function share(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(value);
}

function money(value) {
  return whole(value);
}

function link(path) {
  return `#/${state.lang}${path}`;
}

/** Show a page: a new address renders it through hashchange; the same one renders again. */
function go(path) {
  const target = link(path);
  if (location.hash === target) render();
  else location.hash = target;
}

class ApiError extends Error {
  constructor(status, detail, data = null) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
    // the whole answer (a refused batch's ``issues``)
    this.data = data;
  }
}

/** Call the API: JSON in and out, or a file as the body; the CSRF token on every change. */
async function api(method, path, body) {
  const headers = {};
  let payload;
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  if (body instanceof Blob) {
    payload = body;
    headers["Content-Type"] = "application/octet-stream";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const answer = await fetch(`/api${path}`, { method, headers, body: payload, credentials: "same-origin" });
  const text = await answer.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!answer.ok) {
    const detail = data && typeof data === "object" && "detail" in data ? data.detail : data;
    throw new ApiError(answer.status, detail, data);
  }
  return data;
}

/** The message of a refused call, in words a person reads. */
function explain(error) {
  if (!(error instanceof ApiError)) return String(error && error.message ? error.message : error);
  if (Array.isArray(error.detail)) {
    return error.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
  }
  return `${error.status}: ${error.detail}`;
}

function notice(text, kind = "") {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

function table(headers, rows, numeric = []) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, headers.map((x, i) => h("th", { class: numeric.includes(i) ? "num" : "" }, x)))),
      h(
        "tbody",
        {},
        rows.map((row) => h("tr", {}, row.map((x, i) => h("td", { class: numeric.includes(i) ? "num" : "" }, x)))),
      ),
    ),
  );
}

function figure(label, value, testid) {
  return h("div", { class: "figure", "data-figure": testid }, h("div", { class: "value" }, value), h("div", { class: "label" }, label));
}

function statusBadge(status, prefix) {
  return h("span", { class: `status ${status}` }, t(`${prefix}${status}`));
}

/** A chart of ECharts in a new element, drawn once the page is shown (ECharts needs the
 * element's size); the element is marked ``data-rendered`` then. */
function chart(name, option, tall = false) {
  const node = h("div", { class: tall ? "chart tall" : "chart", "data-chart": name });
  state.charts.push(() => {
    const instance = window.echarts.init(node, null, { locale: state.lang === "zh" ? "ZH" : "EN", renderer: "canvas" });
    instance.setOption({ animation: false, textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" }, ...option });
    node.dataset.rendered = "1";
  });
  return node;
}

/** A long text cut to ``length`` characters, whole in its tooltip. */
function cut(text, length = 160) {
  const full = String(text ?? "");
  return full.length <= length ? full : h("span", { title: full }, `${full.slice(0, length)}…`);
}

function base(organisationId, projectId) {
  return `/organisations/${organisationId}/projects/${projectId}`;
}

function account(organisationId) {
  return state.me.accounts.find((a) => a.organisation_id === Number(organisationId));
}

const RANK = { viewer: 0, contributor: 1, reviewer: 2, admin: 3 };

function can(organisationId, role) {
  const held = account(organisationId);
  return held !== undefined && RANK[held.role] >= RANK[role];
}

function crumbs(...parts) {
  return h("nav", { class: "crumbs" }, parts.flatMap((p, i) => (i ? [" / ", p] : [p])));
}

// ---------------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------------

async function signInPage() {
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "username" });
  const password = h("input", { type: "password", name: "password", required: true, autocomplete: "current-password" });
  const said = h("div");
  const form = h(
    "form",
    {
      class: "card",
      id: "sign-in",
      onsubmit: async (event) => {
        event.preventDefault();
        said.replaceChildren();
        try {
          const session = await api("POST", "/session", { email: email.value, password: password.value });
          state.csrf = session.csrf_token;
          state.me = session;
          go("/");
        } catch (error) {
          said.replaceChildren(notice(explain(error), "error"));
        }
      },
    },
    h("h1", {}, t("sign_in")),
    h("label", {}, t("email"), email),
    h("label", {}, t("password"), password),
    h("p", {}, h("button", { type: "submit" }, t("sign_in"))),
    said,
  );
  return [h("p", { class: "muted" }, t("tagline")), form, h("p", {}, h("a", { id: "footprint-link", href: `footprint.html#/${state.lang}` }, t("footprint_link")))];
}

async function homePage() {
  const parts = [h("h1", {}, t("home"))];
  for (const held of state.me.accounts) {
    const projects = await api("GET", `/organisations/${held.organisation_id}/projects`);
    const section = h(
      "section",
      { class: "card", "data-organisation": held.organisation_id },
      h("h2", {}, held.organisation),
      h("p", { class: "muted" }, `${t("role")}: ${t(`role_${held.role}`)}`),
      held.kind === "company" || held.kind === "parent" || held.kind === "regulator"
        ? h("p", {}, h("a", { href: link(`/organisations/${held.organisation_id}/rollups`), "data-rollups": held.organisation_id }, t("rollups")))
        : "",
      held.kind === "city" || held.kind === "operator"
        ? h("p", {}, h("a", { href: link(`/organisations/${held.organisation_id}/ledger`), "data-ledger": held.organisation_id }, `${t("ledger")} (${t(`kind_${held.kind}`)})`))
        : "",
      projects.length
        ? h("ul", {}, projects.map((p) => h("li", {}, h("a", { href: link(base(held.organisation_id, p.id)) }, p.name), h("span", { class: "muted" }, ` · ${t("revision")} ${p.revision}`))))
        : h("p", { class: "muted" }, t("no_projects")),
    );
    if (held.role === "admin") {
      const name = h("input", { type: "text", name: "project", required: true, maxlength: 200 });
      const said = h("div");
      section.append(
        h(
          "form",
          {
            class: "inline",
            onsubmit: async (event) => {
              event.preventDefault();
              try {
                const made = await api("POST", `/organisations/${held.organisation_id}/projects`, { name: name.value });
                go(base(held.organisation_id, made.id));
              } catch (error) {
                said.replaceChildren(notice(explain(error), "error"));
              }
            },
          },
          h("label", {}, t("new_project"), name),
          h("button", { type: "submit" }, t("create")),
        ),
        said,
      );
    }
    parts.push(section);
  }
  return parts;
}

function issuesTable(validation) {
  if (validation.valid) {
    return notice(`${t("valid")} ${t("activity_rows")}: ${whole(validation.activity_rows)}`);
  }
  return h(
    "div",
    { id: "problems" },
    h("p", { class: "bad" }, `${t("invalid")}: ${validation.problem_count}`),
    table(
      [t("file"), t("sheet"), t("line"), t("column"), t("reason")],
      (validation.issues || []).map((i) => [i.file, i.sheet ?? "", i.line ?? "", i.column ?? "", i.reason]),
      [2],
    ),
  );
}

async function projectPage(organisationId, projectId) {
  const url = base(organisationId, projectId);
  const project = await api("GET", url);
  const revision = project.revision ? await api("GET", `${url}/revisions/${project.revision}`) : null;
  const years = await api("GET", `${url}/years`);
  // the newest jobs, each finished one with its files
  const jobs = await Promise.all(
    (await api("GET", `${url}/jobs?limit=10`)).map((job) => (job.status === "done" ? api("GET", `${url}/jobs/${job.id}`) : job)),
  );
  const parts = [
    crumbs(h("a", { href: link("/") }, t("home")), project.name),
    h("h1", {}, `${t("project")}: ${project.name}`),
  ];

  // files and uploads
  const files = h("section", { class: "card", id: "files" }, h("h2", {}, `${t("files")} · ${t("revision")} ${project.revision}`));
  if (revision && revision.files.length) {
    files.append(
      table(
        [t("path"), t("size"), ""],
        revision.files.map((f) => [f.path, whole(f.size_bytes), h("a", { href: `/api${url}/files/${f.path.split("/").map(encodeURIComponent).join("/")}?revision=${revision.number}` }, t("download"))]),
        [1],
      ),
    );
  } else {
    files.append(h("p", { class: "muted" }, t("no_files")));
  }
  if (can(organisationId, "contributor")) {
    const chosen = h("input", { type: "file", name: "file", required: true, accept: ".csv,.xlsx,.parquet,.toml" });
    const path = h("input", { type: "text", name: "path", required: true, maxlength: 1000, title: "data/activities.csv" });
    chosen.addEventListener("change", () => {
      const file = chosen.files[0];
      if (file && !path.value) path.value = file.name === "tanlu.toml" ? file.name : `data/${file.name}`;
    });
    const said = h("div", { id: "upload-result" });
    files.append(
      h(
        "form",
        {
          class: "inline",
          id: "upload",
          onsubmit: async (event) => {
            event.preventDefault();
            const file = chosen.files[0];
            if (!file) return;
            said.replaceChildren(notice(t("uploading")));
            try {
              const encoded = path.value.split("/").map(encodeURIComponent).join("/");
              const answer = await api("PUT", `${url}/files/${encoded}`, file);
              await render();
              const shown = document.getElementById("upload-result");
              if (shown && !answer.changed) shown.replaceChildren(notice(t("unchanged")));
            } catch (error) {
              said.replaceChildren(notice(explain(error), "error"));
            }
          },
        },
        h("h3", {}, t("upload_file")),
        h("label", {}, t("choose_file"), chosen),
        h("label", {}, t("path"), path),
        h("button", { type: "submit" }, t("upload")),
      ),
      said,
    );
  }
  parts.push(files);
  if (can(organisationId, "contributor")) parts.push(await configurationEditor(url, revision));

  // what the checks found
  if (revision && revision.validation) {
    parts.push(h("section", { class: "card", id: "validation" }, h("h2", {}, `${t("validation")} (${t("revision")} ${revision.number})`), issuesTable(revision.validation)));
  }

  // the reporting years and their workflow
  const known = new Map(years.map((y) => [y.year, y]));
  const candidates = new Set([...(revision && revision.validation && revision.validation.years ? revision.validation.years : []), ...known.keys()]);
  const yearRows = [...candidates].sort().map((year) => yearRow(organisationId, projectId, project, year, known.get(year)));
  parts.push(
    h(
      "section",
      { class: "card", id: "years" },
      h("h2", {}, t("years")),
      table([t("year"), t("status"), t("total_tco2e"), t("actions")], yearRows, [2]),
      h("div", { id: "step-result" }),
    ),
  );

  // computations
  parts.push(jobsSection(organisationId, projectId, project, jobs));
  return parts;
}

/** tanlu.toml edited in the page: the newest revision's text, saved as an upload of it. */
async function configurationEditor(url, revision) {
  const held = revision && revision.files.some((f) => f.path === "tanlu.toml");
  let text = "";
  if (held) {
    const answer = await fetch(`/api${url}/files/tanlu.toml?revision=${revision.number}`, { credentials: "same-origin" });
    if (!answer.ok) throw new ApiError(answer.status, await answer.text());
    text = await answer.text();
  }
  const editor = h("textarea", { name: "configuration", rows: 18, spellcheck: "false" });
  editor.value = text;
  const said = h("div");
  return h(
    "section",
    { class: "card", id: "configuration" },
    h("details", { open: !held },
      h("summary", {}, t("edit_configuration")),
      h(
        "form",
        {
          onsubmit: async (event) => {
            event.preventDefault();
            try {
              const answer = await api("PUT", `${url}/files/tanlu.toml`, new Blob([editor.value], { type: "text/plain" }));
              await render();
              const shown = document.getElementById("upload-result");
              if (shown && !answer.changed) shown.replaceChildren(notice(t("unchanged")));
            } catch (error) {
              said.replaceChildren(notice(explain(error), "error"));
            }
          },
        },
        editor,
        h("p", {}, h("button", { type: "submit" }, t("save"))),
        said,
      ),
    ),
  );
}

function yearRow(organisationId, projectId, project, year, known) {
  const url = base(organisationId, projectId);
  const status = known ? known.status : "collecting";
  const reason = h("input", { type: "text", name: `reason-${year}`, maxlength: 2000, title: t("reason_hint"), "aria-label": t("reason_hint") });
  const step = async (action) => {
    const body = action === "submit" ? { revision: project.revision } : { version: known ? known.version : 0, reason: reason.value };
    try {
      await api("POST", `${url}/years/${year}/${action}`, body);
      await render();
    } catch (error) {
      document.getElementById("step-result").replaceChildren(notice(explain(error), "error"));
    }
  };
  const buttons = [];
  const add = (action, role, allowed) => {
    if (allowed.includes(status) && can(organisationId, role)) {
      buttons.push(h("button", { type: "button", "data-action": action, "data-year": year, onclick: () => step(action) }, t(action)));
    }
  };
  add("submit", "contributor", ["collecting"]);
  add("review", "reviewer", ["submitted"]);
  add("approve", "admin", ["reviewed"]);
  add("return", "reviewer", ["submitted", "reviewed"]);
  add("restate", "admin", ["approved"]);
  const controls = h("div", { class: "inline" }, buttons.length ? [h("label", {}, t("reason_hint"), reason), ...buttons] : []);
  const name = known && known.total_tco2e !== null ? h("a", { href: link(`${url}/years/${year}`) }, String(year)) : String(year);
  return [name, h("span", { "data-status": year }, statusBadge(status, "status_")), known ? whole(known.total_tco2e) : "–", controls];
}

function jobsSection(organisationId, projectId, project, jobs) {
  const url = base(organisationId, projectId);
  const section = h("section", { class: "card", id: "jobs" }, h("h2", {}, t("jobs")));
  if (can(organisationId, "contributor")) {
    const pdf = h("input", { type: "checkbox", name: "pdf" });
    const said = h("div");
    section.append(
      h(
        "form",
        {
          class: "inline",
          id: "run",
          onsubmit: async (event) => {
            event.preventDefault();
            try {
              await api("POST", `${url}/jobs`, { kind: "run", language: state.lang, pdf: pdf.checked });
              await render();
            } catch (error) {
              said.replaceChildren(notice(explain(error), "error"));
            }
          },
        },
        h("button", { type: "submit", disabled: !project.revision }, t("run_job")),
        h("label", { class: "inline-check" }, h("span", {}, t("with_pdf")), pdf),
      ),
      said,
    );
  }
  const rows = jobs.map((job) => [
    String(job.id),
    job.kind,
    `${t("revision")} ${job.revision}`,
    h("span", { "data-job-status": job.id }, statusBadge(job.status, "job_")),
    h("span", {}, h("progress", { max: Math.max(job.steps_total, 1), value: job.steps_done }), ` ${job.step}`, job.error ? h("div", { class: "bad" }, job.error) : null),
    h(
      "span",
      {},
      job.files.map((f) => h("a", { href: `/api${url}/jobs/${job.id}/files/${encodeURIComponent(f.path)}`, "data-file": f.path }, f.path)).flatMap((a, i) => (i ? [" · ", a] : [a])),
      job.kind === "run" && job.status === "done" ? [" · ", h("a", { href: link(`${url}/jobs/${job.id}/results`), "data-results": job.id }, t("results_page"))] : null,
    ),
  ]);
  section.append(table([t("job"), t("kind"), t("revision"), t("status"), t("progress"), t("files")], rows));
  if (jobs.some((job) => job.status === "queued" || job.status === "running")) {
    const shown = location.hash;
    state.timer = setTimeout(() => {
      if (location.hash === shown) render();
    }, 1000);
  }
  return section;
}

// the inventory of a year, as submitted
async function yearPage(organisationId, projectId, year) {
  const url = base(organisationId, projectId);
  const project = await api("GET", url);
  const detail = await api("GET", `${url}/years/${year}`);
  const parts = [
    crumbs(h("a", { href: link("/") }, t("home")), h("a", { href: link(url) }, project.name), String(year)),
    h("h1", {}, `${t("reporting_year_of")} ${year} · ${project.name}`),
    h("p", {}, statusBadge(detail.status, "status_"), ` ${t("revision")} ${detail.revision ?? "–"}`),
  ];
  let inventory;
  try {
    inventory = await api("GET", `${url}/years/${year}/inventory`);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 409)) {
      parts.push(notice(t("not_submitted")));
      return parts;
    }
    throw error;
  }
  const totals = inventory.totals;
  parts.push(
    h(
      "div",
      { class: "cards", id: "totals" },
      figure(t("scope1"), whole(totals.scope1_tco2e), "scope1_tco2e"),
      figure(t("scope2_location"), whole(totals.scope2_location_tco2e), "scope2_location_tco2e"),
      figure(t("scope2_market"), whole(totals.scope2_market_tco2e), "scope2_market_tco2e"),
      figure(t("scope3"), whole(totals.scope3_tco2e), "scope3_tco2e"),
      figure(t("total_location"), whole(totals.total_location_tco2e), "total_location_tco2e"),
      figure(t("total_market"), whole(totals.total_market_tco2e), "total_market_tco2e"),
    ),
  );
  const scopes = [
    [t("scope1"), totals.scope1_tco2e],
    [t("scope2_location"), totals.scope2_location_tco2e],
    [t("scope2_market"), totals.scope2_market_tco2e],
    [t("scope3"), totals.scope3_tco2e],
  ];
  parts.push(
    h(
      "section",
      { class: "card" },
      h("h2", {}, t("by_scope")),
      chart("by-scope", {
        tooltip: {},
        grid: { left: 110, right: 30 },
        xAxis: { type: "value", name: "tCO2e" },
        yAxis: { type: "category", data: scopes.map((s) => s[0]), inverse: true },
        series: [{ type: "bar", data: scopes.map((s) => s[1]), itemStyle: { color: "#0b7a53" } }],
      }),
    ),
  );
  const sites = [...inventory.by_site].sort((a, b) => b.scope1_tco2e + b.scope2_market_tco2e + b.scope3_tco2e - (a.scope1_tco2e + a.scope2_market_tco2e + a.scope3_tco2e));
  const siteSeries = [
    ["scope1", "scope1_tco2e", "#b54708"],
    ["scope2_market", "scope2_market_tco2e", "#0b7a53"],
    ["scope3", "scope3_tco2e", "#6172f3"],
  ].map(([key, column, color]) => ({ name: t(key), type: "bar", stack: "site", itemStyle: { color }, data: sites.map((s) => s[column]) }));
  parts.push(
    h(
      "section",
      { class: "card" },
      h("h2", {}, t("by_site")),
      chart("by-site", { tooltip: { trigger: "axis" }, legend: {}, grid: { left: 140, right: 30 }, xAxis: { type: "value", name: "tCO2e" }, yAxis: { type: "category", data: sites.map((s) => s.site), inverse: true }, series: siteSeries }, sites.length > 8),
      table([t("site"), t("scope1"), t("scope2_location"), t("scope2_market"), t("scope3")], sites.map((s) => [s.site, whole(s.scope1_tco2e), whole(s.scope2_location_tco2e), whole(s.scope2_market_tco2e), whole(s.scope3_tco2e)]), [1, 2, 3, 4]),
    ),
  );
  const categories = inventory.by_category.filter((c) => c.emissions_tco2e !== 0);
  parts.push(
    h(
      "section",
      { class: "card" },
      h("h2", {}, t("by_category")),
      chart("by-category", { tooltip: {}, grid: { left: 230, right: 30 }, xAxis: { type: "value", name: "tCO2e" }, yAxis: { type: "category", inverse: true, data: categories.map((c) => categoryName(c.category)) }, series: [{ type: "bar", data: categories.map((c) => c.emissions_tco2e), itemStyle: { color: "#6172f3" } }] }),
    ),
  );
  // the years with a submitted inventory, side by side
  const years = (await api("GET", `${url}/years`)).filter((y) => y.total_tco2e !== null);
  if (years.length > 1) {
    const trend = [];
    for (const y of years) trend.push({ year: y.year, totals: (await api("GET", `${url}/years/${y.year}/inventory`)).totals });
    trend.sort((a, b) => a.year - b.year);
    parts.push(
      h(
        "section",
        { class: "card" },
        h("h2", {}, t("by_year")),
        chart("by-year", {
          tooltip: { trigger: "axis" },
          legend: {},
          xAxis: { type: "category", data: trend.map((x) => String(x.year)) },
          yAxis: { type: "value", name: "tCO2e" },
          series: [
            ["scope1", "scope1_tco2e", "#b54708"],
            ["scope2_market", "scope2_market_tco2e", "#0b7a53"],
            ["scope3", "scope3_tco2e", "#6172f3"],
          ].map(([key, column, color]) => ({ name: t(key), type: "bar", stack: "year", itemStyle: { color }, data: trend.map((x) => x.totals[column]) })),
        }),
      ),
    );
  }
  // data quality
  const quality = h("section", { class: "card", id: "quality" }, h("h2", {}, t("data_quality")), h("h3", {}, t("fallbacks")));
  quality.append(
    inventory.fallbacks.length
      ? table([t("activity"), t("factor"), t("fallback"), t("sites")], inventory.fallbacks.map((f) => [f.activity, f.factor_id, f.fallback, f.sites]))
      : h("p", { class: "ok" }, t("no_fallbacks")),
  );
  if (inventory.excluded_sites.length) {
    quality.append(h("h3", {}, t("excluded_sites")), table([t("site"), t("reason")], inventory.excluded_sites.map((s) => [s.site ?? String(s), s.reason ?? ""])));
  }
  if (inventory.base_year_check) {
    const check = inventory.base_year_check;
    quality.append(
      h("h3", {}, t("base_year_check")),
      h(
        "p",
        {},
        `${t("change_share")}: ${share(check.change_share)} · ${t("threshold_share")}: ${share(check.threshold_share)} · ${t("recalculation_required")}: ${check.recalculation_required ? t("yes") : t("no")}`,
      ),
    );
  }
  quality.append(
    h("h3", {}, `${t("factors_used")} (${inventory.factors_used.length})`),
    table([t("factor"), t("activity"), t("factor"), t("unit"), t("status"), t("source")], inventory.factors_used.map((f) => [f.factor_id, f.activity, String(f.value), f.unit, f.status, cut(f.source)]), [2]),
  );
  parts.push(quality);
  parts.push(
    h(
      "section",
      { class: "card", id: "history" },
      h("h2", {}, t("history")),
      table([t("at"), t("action"), t("actor"), t("revision"), t("reason")], detail.events.map((e) => [e.at, t(e.action), e.actor, e.revision ?? "", e.reason])),
    ),
  );
  return parts;
}

// the results of a run: green electricity, the roadmap, the MACC, progress against the plan
async function resultsPage(organisationId, projectId, jobId) {
  const url = base(organisationId, projectId);
  const project = await api("GET", url);
  const job = await api("GET", `${url}/jobs/${jobId}`);
  const parts = [
    crumbs(h("a", { href: link("/") }, t("home")), h("a", { href: link(url) }, project.name), `${t("results_page")} · ${t("job")} ${job.id}`),
    h("h1", {}, `${t("results_page")} · ${project.name}`),
  ];
  if (job.status !== "done" || !job.files.some((f) => f.path === "results.json")) {
    parts.push(notice(t("no_results")));
    return parts;
  }
  const results = await api("GET", `${url}/jobs/${job.id}/files/results.json`);
  const report = job.files.find((f) => f.path === "report.html");
  parts.push(
    h(
      "p",
      {},
      `${t("revision")} ${job.revision} · `,
      report ? h("a", { href: `/api${url}/jobs/${job.id}/files/report.html`, id: "download-report" }, t("download_report")) : null,
      job.files.filter((f) => f.path !== "report.html").map((f) => [" · ", h("a", { href: `/api${url}/jobs/${job.id}/files/${encodeURIComponent(f.path)}` }, f.path)]),
    ),
  );

  // green electricity by year
  const years = Object.keys(results.electricity || {}).sort();
  if (years.length) {
    const rows = years.map((y) => results.electricity[y].totals);
    parts.push(
      h(
        "section",
        { class: "card", id: "electricity" },
        h("h2", {}, t("electricity")),
        chart("green-share", {
          tooltip: { trigger: "axis", valueFormatter: (v) => share(v) },
          legend: {},
          xAxis: { type: "category", data: years },
          yAxis: { type: "value", max: 1, axisLabel: { formatter: (v) => share(v) } },
          series: [
            { name: t("green_share"), type: "bar", data: rows.map((r) => r.green_share), itemStyle: { color: "#0b7a53" } },
            { name: t("re100_share"), type: "bar", data: rows.map((r) => r.re100_share), itemStyle: { color: "#6172f3" } },
            { name: t("cfe_score"), type: "bar", data: rows.map((r) => r.cfe_score_share ?? null), itemStyle: { color: "#b54708" } },
          ],
        }),
        table(
          [t("year"), t("consumption"), t("green_share"), t("re100_share"), t("cfe_score")],
          years.map((y, i) => [y, whole(rows[i].consumption_mwh), share(rows[i].green_share), share(rows[i].re100_share), rows[i].cfe_score_share === undefined ? "–" : share(rows[i].cfe_score_share)]),
          [1, 2, 3, 4],
        ),
      ),
    );
  }

  const roadmap = results.roadmap;
  if (roadmap) {
    const byYear = roadmap.by_year;
    const scope2 = roadmap.scope2_basis === "location" ? "scope2_location_tco2e" : "scope2_market_tco2e";
    parts.push(
      h(
        "section",
        { class: "card", id: "roadmap" },
        h("h2", {}, t("roadmap")),
        chart(
          "roadmap",
          {
            tooltip: { trigger: "axis" },
            legend: {},
            xAxis: { type: "category", data: byYear.map((r) => String(r.year)) },
            yAxis: [
              { type: "value", name: "tCO2e" },
              { type: "value", max: 1, axisLabel: { formatter: (v) => share(v) } },
            ],
            series: [
              ...[
                ["scope1", "scope1_tco2e", "#b54708"],
                [roadmap.scope2_basis === "location" ? "scope2_location" : "scope2_market", scope2, "#0b7a53"],
                ["scope3", "scope3_tco2e", "#6172f3"],
              ].map(([key, column, color]) => ({ name: t(key), type: "bar", stack: "gross", itemStyle: { color }, data: byYear.map((r) => r[column]) })),
              { name: t("offsets_tco2e"), type: "bar", data: byYear.map((r) => -(r.offset_avoidance_tco2e + r.offset_removal_tco2e)), itemStyle: { color: "#98a2b3" } },
              { name: t("net_tco2e"), type: "line", data: byYear.map((r) => r.net_tco2e), itemStyle: { color: "#1f2933" } },
              { name: t("green_share"), type: "line", yAxisIndex: 1, data: byYear.map((r) => r.green_share), itemStyle: { color: "#12b76a" } },
            ],
          },
          true,
        ),
        table(
          [t("year"), t("gross_tco2e"), t("offsets_tco2e"), t("net_tco2e"), t("green_share")],
          byYear.map((r) => [String(r.year), whole(r.gross_tco2e), whole(r.offset_avoidance_tco2e + r.offset_removal_tco2e), whole(r.net_tco2e), share(r.green_share)]),
          [1, 2, 3, 4],
        ),
        h("h3", {}, t("targets")),
        table(
          [t("target"), t("year"), t("unit"), t("achieved"), t("met")],
          roadmap.targets.map((x) => [x.target, String(x.year), x.unit, whole(x.achieved), x.met ? t("yes") : t("no")]),
          [3],
        ),
      ),
    );
    const macc = roadmap.macc && roadmap.macc.bottom_up ? roadmap.macc.bottom_up : [];
    if (macc.length) {
      let left = 0;
      const blocks = macc.map((m, i) => {
        const block = [left, left + m.abatement_tco2e, m.cost_cny_per_tco2e, leverName(m.lever), i];
        left += m.abatement_tco2e;
        return block;
      });
      const colours = ["#0b7a53", "#6172f3", "#b54708", "#12b76a", "#7a5af8", "#f79009", "#2e90fa", "#ee46bc", "#667085", "#15b79e", "#875bf7"];
      parts.push(
        h(
          "section",
          { class: "card", id: "macc" },
          h("h2", {}, `${t("macc")} (${roadmap.macc.year})`),
          chart(
            "macc",
            {
              tooltip: { formatter: (p) => `${p.value[3]}<br>${whole(p.value[1] - p.value[0])} tCO2e · ${whole(p.value[2])} CNY/tCO2e` },
              grid: { left: 80, right: 30, bottom: 60 },
              xAxis: { type: "value", name: t("abatement_tco2e"), nameLocation: "middle", nameGap: 30 },
              yAxis: { type: "value", name: t("cost_per_tco2e") },
              series: [
                {
                  type: "custom",
                  renderItem: (params, apiOf) => {
                    const start = apiOf.coord([apiOf.value(0), 0]);
                    const end = apiOf.coord([apiOf.value(1), apiOf.value(2)]);
                    return {
                      type: "rect",
                      shape: { x: start[0], y: Math.min(start[1], end[1]), width: Math.max(end[0] - start[0], 1), height: Math.abs(end[1] - start[1]) },
                      style: { fill: colours[apiOf.value(4) % colours.length] },
                    };
                  },
                  encode: { x: [0, 1], y: 2, tooltip: [2] },
                  data: blocks,
                },
              ],
            },
            true,
          ),
          table(
            [t("lever"), t("abatement_tco2e"), t("cost_per_tco2e")],
            macc.map((m) => [leverName(m.lever), whole(m.abatement_tco2e), whole(m.cost_cny_per_tco2e)]),
            [1, 2],
          ),
        ),
      );
    }
  }

  // progress against the plan
  const progress = results.progress;
  const section = h("section", { class: "card", id: "progress" }, h("h2", {}, t("progress_against_plan")));
  if (progress && progress.summary && progress.summary.length) {
    section.append(
      chart("progress", {
        tooltip: { trigger: "axis" },
        legend: {},
        xAxis: { type: "category", data: progress.summary.map((r) => String(r.year)) },
        yAxis: { type: "value", name: "tCO2e" },
        series: [
          { name: t("planned"), type: "bar", data: progress.summary.map((r) => r.planned_gross_tco2e), itemStyle: { color: "#98a2b3" } },
          { name: t("actual"), type: "bar", data: progress.summary.map((r) => r.actual_gross_tco2e), itemStyle: { color: "#0b7a53" } },
        ],
      }),
      table(
        [t("year"), t("figure"), t("planned"), t("actual"), t("on_track")],
        progress.by_scope.map((r) => [String(r.year), t(r.figure), whole(r.planned_tco2e), whole(r.actual_tco2e), r.on_track ? t("yes") : t("no")]),
        [2, 3],
      ),
    );
  } else {
    section.append(h("p", { class: "muted" }, t("no_progress")));
  }
  parts.push(section);
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Carbon inclusion: an operator sends batches to the cities whose schemes registered it; a
// city registers operators and reads its ledger's totals
// ---------------------------------------------------------------------------------------------

function batchesTable(batches) {
  if (!batches.length) return h("p", { class: "muted" }, t("no_batches"));
  return table(
    [t("received_at"), t("file"), t("city"), t("operator"), t("accepted"), t("held"), t("rejected"), t("replays"), t("credited_gco2e")],
    batches.map((b) => [b.received_at.slice(0, 19).replace("T", " "), b.file_name, b.city, b.operator, whole(b.accepted), whole(b.held), whole(b.rejected), whole(b.replays), whole(b.credited_gco2e)]),
    [4, 5, 6, 7, 8],
  );
}

function batchResult(batch) {
  if ("consent_rows" in batch.summary) {
    return h("div", { class: "cards", "data-result": "consent" }, figure(t("consent_rows"), whole(batch.summary.consent_rows), "consent_rows"));
  }
  return h(
    "div",
    { class: "cards", "data-result": "batch" },
    figure(t("accepted"), whole(batch.accepted), "accepted"),
    figure(t("held"), whole(batch.held), "held"),
    figure(t("rejected"), whole(batch.rejected), "rejected"),
    figure(t("replays"), whole(batch.replays), "replays"),
    figure(t("credited_gco2e"), whole(batch.credited_gco2e), "credited_gco2e"),
  );
}

function refusal(error) {
  const parts = [notice(`${t("batch_refused")} ${explain(error)}`, "error")];
  const issues = error instanceof ApiError && error.data && Array.isArray(error.data.issues) ? error.data.issues : [];
  if (issues.length) {
    parts.push(table([t("file"), t("line"), t("column"), t("reason")], issues.map((i) => [i.file, i.line ?? "", i.column ?? "", i.reason]), [1]));
  }
  return h("div", { "data-refused": "1" }, ...parts);
}

function sendForm(organisationId, cities) {
  const city = h("select", { name: "city" }, cities.map((c) => h("option", { value: c.city_id }, `${c.city} (${c.code})`)));
  const kind = h("select", { name: "kind" }, h("option", { value: "batches" }, t("batch_file")), h("option", { value: "consents" }, t("consent_file")));
  const file = h("input", { type: "file", name: "file", accept: ".csv,.parquet", required: true });
  const said = h("div", { id: "send-result" });
  return h(
    "form",
    {
      class: "card",
      id: "send-batch",
      onsubmit: async (event) => {
        event.preventDefault();
        said.replaceChildren();
        const chosen = file.files[0];
        if (!chosen) return;
        const query = `city_id=${encodeURIComponent(city.value)}&name=${encodeURIComponent(chosen.name)}`;
        try {
          const batch = await api("POST", `/organisations/${organisationId}/ledger/${kind.value}?${query}`, chosen);
          said.replaceChildren(batchResult(batch));
          const listed = await api("GET", `/organisations/${organisationId}/ledger/batches`);
          document.getElementById("batches").replaceChildren(batchesTable(listed));
        } catch (error) {
          said.replaceChildren(refusal(error));
        }
      },
    },
    h("h2", {}, t("send_batch")),
    h("label", {}, t("city"), city),
    h("label", {}, t("file_kind"), kind),
    h("label", {}, t("file"), file),
    h("p", {}, h("button", { type: "submit" }, t("send"))),
    said,
  );
}

function registerForm(organisationId) {
  const operator = h("input", { type: "text", name: "operator", required: true, maxlength: 200 });
  const code = h("input", { type: "text", name: "code", required: true, maxlength: 100 });
  const said = h("div");
  return h(
    "form",
    {
      class: "inline",
      id: "register-operator",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          await api("POST", `/organisations/${organisationId}/ledger/operators`, { operator: operator.value, code: code.value });
          go(`/organisations/${organisationId}/ledger`);
        } catch (error) {
          said.replaceChildren(notice(explain(error), "error"));
        }
      },
    },
    h("label", {}, t("operator"), operator),
    h("label", {}, t("code"), code),
    h("button", { type: "submit" }, t("register")),
    said,
  );
}

/** A figure with at most one decimal (280.8). */
function decimal(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(value);
}

/** A held entry's action as the page shows it: "metro · 6 km". */
function entryAction(entry) {
  const named = entry.unit && state.words && state.words.words[`unit_${entry.unit}`];
  const amount = entry.units === null || entry.units === undefined ? "" : ` · ${decimal(entry.units)} ${named || entry.unit || ""}`;
  return `${entry.action || ""}${amount}`;
}

// the last review decision (or a refusal that reloaded the list), shown once on the page drawn
// after it: { text, kind }
let reviewDone = null;

/** What a decision did, in the page's words: a release with the gCO2e it credited (and what
 * the methodology's caps cut it from), or a rejection. */
function decided(entry, made) {
  const name = `${entry.operator}/${entry.event_id}`;
  const before = made.new ? "" : ` (${t("decided_before")})`;
  if (made.entry.status !== "accepted") return `${name}: ${t("rejected_entry")}${before}`;
  const credited = made.entry.credited_gco2e;
  const raw = made.entry.raw_gco2e;
  const capped = raw !== null && raw !== undefined && credited < raw ? ` (${t("capped_from")} ${decimal(raw)} gCO2e)` : "";
  return `${name}: ${t("released_credit")} ${decimal(credited)} gCO2e${capped}${before}`;
}

/** A city's held entries to review (GET …/ledger/held), each with its reviewer's reason and
 * Release and Reject (POST …/ledger/reviews); the page is drawn again after each decision. */
function reviewSection(organisationId, held) {
  const said = h("div", { id: "review-result" }, ...(reviewDone ? [notice(reviewDone.text, reviewDone.kind)] : []));
  reviewDone = null;
  const section = h("section", { class: "card", id: "review" }, h("h2", {}, t("review_queue")), h("p", { class: "muted" }, t("review_help")));
  if (!held.length) {
    section.append(h("p", { class: "muted", "data-empty": "" }, t("no_held")), said);
    return section;
  }
  const rows = held.map((entry) => {
    const note = h("input", { type: "text", name: "note", required: true, maxlength: 1000, placeholder: t("review_note"), "aria-label": t("review_note") });
    const buttons = [];
    const decide = (decision) => async (event) => {
      event.preventDefault();
      if (!note.reportValidity()) return;
      for (const button of buttons) button.disabled = true;
      try {
        const made = await api("POST", `/organisations/${organisationId}/ledger/reviews`, {
          operator: entry.operator,
          event_id: entry.event_id,
          decision,
          reason: note.value,
        });
        reviewDone = { text: decided(entry, made), kind: "ok" };
        render();
      } catch (error) {
        const refused = `${entry.operator}/${entry.event_id}: ${t("review_refused")} ${explain(error)}`;
        if (error instanceof ApiError && (error.status === 404 || error.status === 409)) {
          // decided by someone else meanwhile, or gone: the list is read again
          reviewDone = { text: refused, kind: "error" };
          render();
        } else {
          said.replaceChildren(notice(refused, "error"));
          for (const button of buttons) button.disabled = false;
        }
      }
    };
    buttons.push(
      h("button", { type: "button", "data-decision": "release", onclick: decide("release") }, t("release")),
      h("button", { type: "button", "data-decision": "reject", onclick: decide("reject") }, t("reject")),
    );
    const methodology = entry.methodology_id ? `${entry.methodology_id} v${entry.methodology_version}` : "–";
    return h(
      "tr",
      { "data-held": `${entry.operator}/${entry.event_id}` },
      h("td", {}, h("div", { "data-field": "event" }, entry.event_id), h("div", { class: "muted", "data-field": "operator" }, entry.operator)),
      h("td", { "data-field": "user" }, entry.user || "–"),
      h("td", {}, h("div", { "data-field": "action" }, entryAction(entry)), h("div", { class: "muted", "data-field": "methodology" }, methodology)),
      h("td", { class: "nowrap", "data-field": "start" }, (entry.start_time || "").slice(0, 16)),
      h("td", { "data-field": "reason" }, t(`held_${entry.reason}`)),
      h("td", { class: "num", "data-field": "raw" }, decimal(entry.raw_gco2e)),
      h("td", { "data-field": "decision" }, note, buttons),
    );
  });
  const names = [t("event"), t("pseudonym"), t("trip_action"), t("started_at"), t("held_why"), t("raw_credit"), t("decision")];
  const head = h("tr", {}, names.map((name, i) => h("th", { class: i === 5 ? "num" : "" }, name)));
  section.append(h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), h("tbody", {}, rows))), said);
  return section;
}

async function ledgerPage(organisationId) {
  const held = account(organisationId);
  if (!held) throw new ApiError(404, "no such organisation");
  const id = Number(organisationId);
  const [links, batches] = await Promise.all([
    api("GET", `/organisations/${id}/ledger/operators`),
    api("GET", `/organisations/${id}/ledger/batches`),
  ]);
  const parts = [crumbs(h("a", { href: link("/") }, t("home")), held.organisation), h("h1", {}, `${t("ledger")} · ${held.organisation}`)];
  if (held.kind === "operator") {
    const cities = links.filter((l) => l.operator_id === id);
    parts.push(
      h("section", { class: "card" }, h("h2", {}, t("cities")), cities.length ? table([t("city"), t("code")], cities.map((l) => [l.city, l.code])) : h("p", { class: "muted" }, t("no_links"))),
    );
    if (cities.length && can(id, "contributor")) parts.push(sendForm(id, cities));
  } else if (held.kind === "city") {
    const operators = links.filter((l) => l.city_id === id);
    const section = h(
      "section",
      { class: "card" },
      h("h2", {}, t("operators")),
      operators.length ? table([t("operator"), t("code"), t("created_at")], operators.map((l) => [l.operator, l.code, l.created_at.slice(0, 10)])) : h("p", { class: "muted" }, t("no_links")),
    );
    if (can(id, "admin")) section.append(h("h3", {}, t("register_operator")), registerForm(id));
    parts.push(section);
    const by = new URLSearchParams(location.hash.split("?")[1] || "").get("by") || "month";
    const totals = await api("GET", `/organisations/${id}/ledger/totals?by=${encodeURIComponent(by)}`);
    const choose = h(
      "p",
      {},
      `${t("totals_by")} `,
      ...["month", "methodology", "city"].flatMap((key, i) => [i ? " · " : "", key === by ? h("strong", {}, t(`by_${key}`)) : h("a", { href: `${link(`/organisations/${id}/ledger`)}?by=${key}` }, t(`by_${key}`))]),
    );
    const totalsSection = h("section", { class: "card", id: "totals" }, h("h2", {}, t("reduction_gco2e")), choose);
    if (totals.length) {
      totalsSection.append(
        chart("ledger-totals", {
          tooltip: { trigger: "axis" },
          grid: { left: 70, right: 20, top: 20, bottom: 60 },
          xAxis: { type: "category", data: totals.map((r) => r.key) },
          yAxis: { type: "value", name: "gCO2e" },
          series: [{ type: "bar", name: t("reduction_gco2e"), data: totals.map((r) => r.reduction_gco2e) }],
        }),
        table([t(`by_${by}`), t("credits"), t("reversals"), t("reduction_gco2e")], totals.map((r) => [r.key, whole(r.credits), whole(r.reversals), whole(r.reduction_gco2e)]), [1, 2, 3]),
      );
    } else totalsSection.append(h("p", { class: "muted" }, t("no_batches")));
    parts.push(totalsSection);
    // a reviewer decides the entries the rules held (release: a credit within the caps)
    if (can(id, "reviewer")) parts.push(reviewSection(id, await api("GET", `/organisations/${id}/ledger/held`)));
  }
  parts.push(h("section", { class: "card" }, h("h2", {}, t("batches")), h("div", { id: "batches" }, batchesTable(batches))));
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Roll-ups: an organisation's shares; a parent's consolidation; a regulator's totals
// ---------------------------------------------------------------------------------------------

function pageQuery() {
  return new URLSearchParams(location.hash.split("?")[1] || "");
}

function sharesSection(organisationId, shares, projects) {
  const section = h("section", { class: "card", id: "shares" }, h("h2", {}, t("shares")));
  const admin = can(organisationId, "admin");
  if (!shares.length) section.append(h("p", { class: "muted" }, t("no_shares")));
  else {
    section.append(
      table(
        [t("project"), t("relation"), t("organisation"), t("ownership_share"), t("sector"), t("status"), ""],
        shares.map((s) => [
          s.project,
          t(`relation_${s.relation}`),
          s.organisation,
          s.ownership_share ?? "",
          s.sector ?? "",
          s.revoked_at ? t("revoked") : t("in_force"),
          admin && !s.revoked_at
            ? h("button", { type: "button", class: "secondary", "data-revoke": s.id, onclick: async () => {
                await api("DELETE", `/organisations/${organisationId}/shares/${s.id}`);
                go(`/organisations/${organisationId}/rollups`);
              } }, t("revoke"))
            : "",
        ]),
      ),
    );
  }
  if (admin && projects.length) {
    const project = h("select", { name: "share-project" }, projects.map((p) => h("option", { value: p.id }, p.name)));
    const relation = h("select", { name: "relation" }, ["parent", "regulator"].map((r) => h("option", { value: r }, t(`relation_${r}`))));
    const target = h("input", { type: "text", name: "target", required: true, maxlength: 200 });
    const ownership = h("input", { type: "number", name: "ownership", min: 0, max: 1, step: "any", value: "1" });
    const operational = h("input", { type: "checkbox", name: "operational" });
    const financial = h("input", { type: "checkbox", name: "financial" });
    const sector = h("input", { type: "text", name: "sector", maxlength: 1, pattern: "[A-T]" });
    const said = h("div");
    section.append(
      h("h3", {}, t("share_project")),
      h(
        "form",
        {
          class: "inline",
          id: "share",
          onsubmit: async (event) => {
            event.preventDefault();
            const body = { project_id: Number(project.value), organisation: target.value, relation: relation.value };
            if (relation.value === "parent") Object.assign(body, { ownership_share: Number(ownership.value), operational_control: operational.checked, financial_control: financial.checked });
            else body.sector = sector.value.toUpperCase();
            try {
              await api("POST", `/organisations/${organisationId}/shares`, body);
              go(`/organisations/${organisationId}/rollups`);
            } catch (error) {
              said.replaceChildren(notice(explain(error), "error"));
            }
          },
        },
        h("label", {}, t("project"), project),
        h("label", {}, t("relation"), relation),
        h("label", {}, t("shared_with"), target),
        h("label", {}, t("ownership_share"), ownership),
        h("label", {}, t("operational_control"), operational),
        h("label", {}, t("financial_control"), financial),
        h("label", {}, t("sector"), sector),
        h("button", { type: "submit" }, t("share")),
      ),
      said,
    );
  }
  return section;
}

function yearForm(organisationId, year, extra = []) {
  const input = h("input", { type: "number", name: "year", min: 1990, max: 2100, value: year, required: true });
  return h(
    "form",
    {
      class: "inline",
      id: "rollup-year",
      onsubmit: (event) => {
        event.preventDefault();
        const query = new URLSearchParams({ year: input.value });
        for (const [name, node] of extra) query.set(name, node.value);
        go(`/organisations/${organisationId}/rollups?${query}`);
      },
    },
    h("label", {}, t("year"), input),
    ...extra.map(([name, node]) => h("label", {}, t(name), node)),
    h("button", { type: "submit" }, t("show")),
  );
}

function consolidationSection(organisationId, found, year, approach) {
  const choose = h("select", { name: "approach" }, ["operational_control", "financial_control", "equity_share"].map((a) => h("option", { value: a, selected: a === approach }, t(`approach_${a}`))));
  const rows = [found.own, ...found.subsidiaries].filter(Boolean).map((item) => [
    item.organisation_id === Number(organisationId) ? `${item.organisation} (${t("own_inventory")})` : item.organisation,
    item.project,
    share(item.consolidation_share),
    whole(item.reported.total_location_tco2e),
    whole(item.consolidated.total_location_tco2e),
  ]);
  const section = h(
    "section",
    { class: "card", id: "consolidation" },
    h("h2", {}, `${t("consolidation")} · ${year}`),
    yearForm(organisationId, year, [["approach", choose]]),
    h(
      "div",
      { class: "cards" },
      figure(t("group_total"), whole(found.group.total_location_tco2e), "group_total"),
      figure(t("complete"), found.complete ? t("yes") : t("no"), "complete"),
    ),
    rows.length ? table([t("organisation"), t("project"), t("consolidation_share"), t("reported_total"), t("consolidated_total")], rows, [2, 3, 4]) : h("p", { class: "muted" }, t("no_shares")),
  );
  for (const [key, items] of [["missing", found.missing], ["conflicts", found.conflicts]]) {
    if (items.length) section.append(h("h3", {}, t(key)), h("ul", {}, items.map((i) => h("li", {}, `${i.organisation}${i.projects.length ? ` (${i.projects.join(", ")})` : ""}`))));
  }
  return section;
}

function regulatorSection(organisationId, found, year) {
  const section = h(
    "section",
    { class: "card", id: "regulator-totals" },
    h("h2", {}, `${t("regulator_totals")} · ${year}`),
    yearForm(organisationId, year),
    h(
      "div",
      { class: "cards" },
      figure(t("organisations_counted"), whole(found.organisations_counted), "organisations_counted"),
      figure(t("suppressed_cells"), whole(found.suppressed_cells), "suppressed_cells"),
    ),
  );
  if (!found.cells.length) {
    section.append(h("p", { class: "muted" }, t("no_cells")));
    return section;
  }
  const provinces = [...new Set(found.cells.map((c) => c.province))];
  const scopes = [...new Set(found.cells.map((c) => c.scope))];
  section.append(
    chart("regulator-cells", {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 80, right: 20, top: 40, bottom: 60 },
      xAxis: { type: "category", data: provinces },
      yAxis: { type: "value", name: "tCO2e" },
      series: scopes.map((scope) => ({
        type: "bar",
        stack: "scope",
        name: scope,
        data: provinces.map((p) => found.cells.filter((c) => c.province === p && c.scope === scope).reduce((sum, c) => sum + c.emissions_tco2e, 0)),
      })),
    }),
    table([t("province"), t("sector"), t("scope"), "tCO2e", t("organisations_n")], found.cells.map((c) => [c.province, c.sector, c.scope, whole(c.emissions_tco2e), whole(c.organisations)]), [3, 4]),
  );
  return section;
}

async function rollupsPage(organisationId) {
  const held = account(organisationId);
  if (!held) throw new ApiError(404, "no such organisation");
  const query = pageQuery();
  const year = Number(query.get("year")) || new Date().getFullYear() - 1;
  const approach = query.get("approach") || "operational_control";
  const parts = [crumbs(h("a", { href: link("/") }, t("home")), held.organisation), h("h1", {}, `${t("rollups")} · ${held.organisation}`)];
  if (held.kind === "regulator") {
    parts.push(regulatorSection(organisationId, await api("GET", `/organisations/${organisationId}/totals?year=${year}`), year));
  } else {
    const [shares, projects, found] = await Promise.all([
      api("GET", `/organisations/${organisationId}/shares`),
      api("GET", `/organisations/${organisationId}/projects`),
      api("GET", `/organisations/${organisationId}/consolidation?year=${year}&approach=${encodeURIComponent(approach)}`),
    ]);
    parts.push(consolidationSection(organisationId, found, year, approach), sharesSection(organisationId, shares, projects));
  }
  return parts;
}

// ---------------------------------------------------------------------------------------------
// The router: #/{lang}/organisations/{o}/projects/{p}[/years/{y} | /jobs/{j}/results]
// ---------------------------------------------------------------------------------------------

async function loadWords(lang) {
  if (!wordsCache[lang]) wordsCache[lang] = await api("GET", `/words/${lang}`);
  return wordsCache[lang];
}

function header() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = `${t("app_name")}`;
  document.getElementById("brand").textContent = t("app_name");
  document.getElementById("brand").href = link("/");
  const other = state.lang === "zh" ? "en" : "zh";
  const switcher = document.getElementById("switch-language");
  switcher.textContent = t("language");
  const rest = location.hash.replace(/^#\/(zh|en)/, "");
  switcher.href = `#/${other}${rest || "/"}`;
  const who = document.getElementById("who");
  const signOut = document.getElementById("sign-out");
  if (state.me) {
    who.textContent = `${t("signed_in_as")} ${state.me.email}`;
    signOut.textContent = t("sign_out");
    signOut.hidden = false;
  } else {
    who.textContent = "";
    signOut.hidden = true;
  }
}

async function render() {
  clearTimeout(state.timer);
  const match = location.hash.match(/^#\/(zh|en)(\/.*)?$/);
  if (!match) {
    const preferred = (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
    location.replace(`#/${preferred}/`);
    return;
  }
  state.lang = match[1];
  const path = match[2] || "/";
  // what the page shows once drawn (tests wait for it)
  delete main.dataset.page;
  delete main.dataset.lang;
  state.charts = [];
  try {
    state.words = await loadWords(state.lang);
    if (!state.me) {
      try {
        state.me = await api("GET", "/me");
        state.csrf = state.me.csrf_token;
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 401)) throw error;
      }
    }
    header();
    if (!state.me) {
      main.replaceChildren(...(await signInPage()));
      return;
    }
    let parts;
    let m;
    if ((m = path.match(/^\/organisations\/(\d+)\/projects\/(\d+)\/years\/(\d+)$/))) parts = await yearPage(m[1], m[2], m[3]);
    else if ((m = path.match(/^\/organisations\/(\d+)\/projects\/(\d+)\/jobs\/(\d+)\/results$/))) parts = await resultsPage(m[1], m[2], m[3]);
    else if ((m = path.match(/^\/organisations\/(\d+)\/projects\/(\d+)$/))) parts = await projectPage(m[1], m[2]);
    else if ((m = path.match(/^\/organisations\/(\d+)\/ledger(\?.*)?$/))) parts = await ledgerPage(m[1]);
    else if ((m = path.match(/^\/organisations\/(\d+)\/rollups(\?.*)?$/))) parts = await rollupsPage(m[1]);
    else parts = await homePage();
    main.replaceChildren(...parts);
    for (const draw of state.charts.splice(0)) draw();
    main.dataset.page = path;
    main.dataset.lang = state.lang;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      state.me = null;
      state.csrf = null;
      header();
      main.replaceChildren(...(await signInPage()));
      return;
    }
    main.replaceChildren(h("h1", {}, t("error")), notice(explain(error), "error"));
  }
}

document.getElementById("sign-out").addEventListener("click", async () => {
  try {
    await api("DELETE", "/session");
  } finally {
    state.me = null;
    state.csrf = null;
    go("/");
  }
});
window.addEventListener("hashchange", render);
render();
