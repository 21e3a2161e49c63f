// tanlu's citizen's page (docs/service.md, "Carbon inclusion"): a citizen enters the one-time
// code their operator's app shows them and reads their own balance and entries in every city
// they are linked in, in Chinese (#/zh) or English (#/en); links another code; signs out. The
// words come from /api/citizen/words/..., every figure from /api/citizen/...; the session is
// the citizen's cookie, and each change sends its CSRF token. Text from the server is only
// ever set as text (never parsed as HTML).

import { h } from "./dom.js";

const main = document.getElementById("main");
// ``ledger``: the last answer of GET /api/citizen/ledger (null: signed out); ``notice``: a
// message to show once, {text, error}
const state = { lang: "zh", page: null, csrf: null, ledger: null, notice: null, typed: "" };
const pages = {};

function t(key) {
  return (state.page && state.page.words[key]) || key;
}

/** A code's words (``status_held``), or the code itself when the page has none. */
function named(prefix, code) {
  return (state.page && state.page.words[`${prefix}_${code}`]) || code;
}

function locale() {
  return state.lang === "zh" ? "zh-CN" : "en-US";
}

/** gCO2e as written: up to three decimals (the ledger counts whole mg), thousands grouped. */
function grams(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 3 }).format(value);
}

function language() {
  const found = /^#\/(zh|en)\b/.exec(location.hash);
  return found ? found[1] : "zh";
}

async function load(lang) {
  if (!pages[lang]) {
    const answer = await fetch(`/api/citizen/words/${lang}`, { credentials: "omit" });
    pages[lang] = await answer.json();
  }
  return pages[lang];
}

/** Call the citizen's API: JSON in and out, the CSRF token on every change. */
async function call(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const answer = await fetch(`/api/citizen${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = answer.status === 204 ? null : await answer.json().catch(() => null);
  return { status: answer.status, ok: answer.ok, data, retryAfter: answer.headers.get("Retry-After") };
}

/** The words for a refused code: one message for a code unknown, used or expired (401, 422),
 * the limit's (429, with the minutes it says to wait), another account's pseudonym (409). */
function refusal(answer) {
  if (answer.status === 401 || answer.status === 422) return t("bad_code");
  if (answer.status === 429) {
    const minutes = Math.max(1, Math.ceil(Number(answer.retryAfter || 900) / 60));
    return t("too_many").replace("{minutes}", String(minutes));
  }
  if (answer.status === 409) return t("taken");
  return t("failed").replace("{status}", String(answer.status));
}

function notice() {
  const said = state.notice;
  state.notice = null;
  if (!said) return h("div", { id: "notice" });
  return h(
    "div",
    { id: "notice" },
    h("div", { class: said.error ? "notice error" : "notice", role: said.error ? "alert" : "status" }, said.text),
  );
}

// ---------------------------------------------------------------------------------------------
// Signed out: the code
// ---------------------------------------------------------------------------------------------

function codeInput(name, value) {
  return h("input", {
    type: "text",
    name,
    value: value || "",
    autocomplete: "one-time-code",
    autocapitalize: "characters",
    spellcheck: "false",
    maxlength: 40,
    placeholder: t("code_hint"),
  });
}

function codeForm() {
  return h(
    "form",
    { id: "code-form", novalidate: true, onsubmit: signIn },
    h("fieldset", {}, h("label", {}, t("code"), codeInput("code", state.typed))),
    h("button", { type: "submit", class: "wide", id: "sign-in" }, t("sign_in")),
  );
}

async function signIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const code = form.querySelector("[name=code]").value.trim();
  const button = form.querySelector("#sign-in");
  if (!code) {
    state.notice = { text: t("empty_code"), error: true };
    state.typed = "";
    draw();
    return;
  }
  button.disabled = true;
  button.textContent = t("signing_in");
  const answer = await call("POST", "/session", { code });
  if (!answer.ok) {
    state.notice = { text: refusal(answer), error: true };
    state.typed = code;
    draw();
    return;
  }
  state.csrf = answer.data.csrf_token;
  state.typed = "";
  await refresh();
}

// ---------------------------------------------------------------------------------------------
// Signed in: the accounts
// ---------------------------------------------------------------------------------------------

function figure(name, value, label) {
  return h(
    "div",
    { class: "figure", "data-figure": name },
    h("div", { class: "value" }, grams(value)),
    h("div", { class: "label" }, `${label} (${t("gco2e")})`),
  );
}

/** What an entry counted in its methodology's unit ("10 km", "6,000 steps"), or nothing. */
function amount(entry) {
  if (entry.units === null || entry.units === undefined || !entry.unit) return "";
  return ` · ${new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(entry.units)} ${named("unit", entry.unit)}`;
}

/** An entry: its date and action (or what kind of entry it is) with what it counted, the
 * gCO2e credited, its status with the reason in words. */
function entryLine(entry) {
  const when = (entry.start_time || entry.end_time || "").slice(0, 10) || "–";
  const what = entry.entry_kind === "credit" ? named("action", entry.action || "–") : named("kind", entry.entry_kind);
  const action = (entry.entry_kind === "credit" || !entry.action ? what : `${what} · ${named("action", entry.action)}`) + amount(entry);
  const reason = entry.reason ? `: ${named("reason", entry.reason)}` : "";
  return h(
    "div",
    { class: "line", "data-event": entry.event_id, "data-status": entry.status, "data-kind": entry.entry_kind },
    h(
      "div",
      { class: "head" },
      h("span", {}, h("span", { class: "date" }, when), " · ", h("span", { class: "action" }, action)),
      h("span", { class: entry.credited_gco2e < 0 ? "num negative" : "num" }, `${grams(entry.credited_gco2e)} g`),
    ),
    h("p", { class: "small state" }, `${named("status", entry.status)}${reason}`),
  );
}

function accountCard(account) {
  return h(
    "section",
    { class: "card account", "data-city-id": account.city_id },
    h("h2", {}, account.city),
    h("p", { class: "small" }, `${t("pseudonym")}: `, h("span", { class: "pseudonym" }, account.user)),
    h(
      "div",
      { class: "cards" },
      figure("balance", account.balance_gco2e, t("balance")),
      figure("credited", account.credited_gco2e, t("credited")),
      figure("reversed", account.reversed_gco2e, t("reversed")),
      figure("redeemed", account.redeemed_gco2e, t("redeemed")),
    ),
    h("h3", {}, t("entries")),
    account.entries.length
      ? [h("p", { class: "small" }, t("newest")), h("div", { class: "entries" }, account.entries.map(entryLine))]
      : h("p", { class: "muted" }, t("no_entries")),
  );
}

function linkForm() {
  return h(
    "form",
    { id: "link-form", novalidate: true, onsubmit: link },
    h(
      "fieldset",
      {},
      h("legend", {}, t("link")),
      h("p", { class: "small" }, t("link_hint")),
      h("label", {}, t("code"), codeInput("link_code", "")),
      h("button", { type: "submit", class: "wide", id: "link" }, t("add")),
    ),
  );
}

async function link(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const code = form.querySelector("[name=link_code]").value.trim();
  if (!code) {
    state.notice = { text: t("empty_code"), error: true };
    draw();
    return;
  }
  form.querySelector("#link").disabled = true;
  const answer = await call("POST", "/links", { code });
  if (answer.status === 401) return signedOut(null);
  state.notice = answer.ok
    ? { text: answer.data.new ? t("linked") : t("linked_already"), error: false }
    : { text: refusal(answer), error: true };
  await refresh();
}

async function signOut() {
  await call("DELETE", "/session");
  signedOut({ text: t("signed_out"), error: false });
}

function signedOut(said) {
  state.ledger = null;
  state.csrf = null;
  state.notice = said;
  draw();
}

function accounts() {
  const ledger = state.ledger;
  return [
    h("h2", {}, t("accounts")),
    ledger.accounts.length ? ledger.accounts.map(accountCard) : h("p", { class: "muted" }, t("no_accounts")),
    linkForm(),
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", id: "sign-out", onclick: signOut }, t("sign_out"))),
  ];
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

/** Read the citizen's accounts (signed out when the session is gone) and draw them. */
async function refresh() {
  const answer = await call("GET", "/ledger");
  if (answer.ok) {
    state.ledger = answer.data;
    state.csrf = answer.data.csrf_token;
  } else {
    state.ledger = null;
    state.csrf = null;
  }
  draw();
}

function draw() {
  const parts = [
    h("h1", {}, t("title")),
    state.ledger ? "" : h("p", { class: "muted" }, t("intro")),
    notice(),
    state.ledger ? accounts() : codeForm(),
    h("p", { class: "small" }, t("privacy")),
    h("p", { class: "small" }, h("a", { href: `footprint.html#/${state.lang}` }, t("footprint"))),
  ];
  main.replaceChildren(...parts.flat(Infinity).filter((part) => part));
  main.dataset.lang = state.lang;
  main.dataset.view = state.ledger ? "accounts" : "code";
}

async function render(first) {
  // a code typed before the language is switched stays
  const typed = document.querySelector("#code-form [name=code]");
  if (typed) state.typed = typed.value;
  state.lang = language();
  state.page = await load(state.lang);
  document.documentElement.lang = state.lang;
  document.title = `tanlu · ${t("title")}`;
  const other = state.lang === "zh" ? "en" : "zh";
  const switcher = document.getElementById("switch-language");
  switcher.href = `#/${other}`;
  switcher.textContent = t("other_language");
  if (first === true) await refresh();
  else draw();
}

window.addEventListener("hashchange", () => render(false));
render(true);
