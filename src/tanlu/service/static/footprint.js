// tanlu's footprint page (docs/footprint.md, "Footprint page and API"): a household answers the
// questionnaire and reads its footprint, in Chinese (#/zh) or English (#/en), without signing in.
// The words, the choices and every figure come from the API (/api/footprint/...); nothing is
// stored. Text from the server is only ever set as text (never parsed as HTML).

import { h } from "./dom.js";

const main = document.getElementById("main");
const state = { lang: "zh", page: null, answers: {}, result: null, chart: null };
const pages = {};

function t(key) {
  return (state.page && state.page.words[key]) || key;
}

function locale() {
  return state.lang === "zh" ? "zh-CN" : "en-US";
}

/** A figure with ``digits`` decimals, thousands grouped (1,234.57). */
function fixed(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

/** A quantity as written, up to three decimals. */
function amount(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 3 }).format(value);
}

/** A factor, four significant digits. */
function factor(value) {
  return new Intl.NumberFormat(locale(), { maximumSignificantDigits: 4 }).format(value);
}

function percent(value) {
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 0 }).format(value);
}

/** A name given in both languages by the API (``name_en``, ``name_zh``), in the page's. */
function named(item, prefix = "") {
  return item[`${prefix}name_${state.lang}`];
}

async function load(language) {
  if (!pages[language]) {
    const answer = await fetch(`/api/footprint/words/${language}`);
    pages[language] = await answer.json();
  }
  return pages[language];
}

function language() {
  const found = /^#\/(zh|en)\b/.exec(location.hash);
  return found ? found[1] : "zh";
}

// ---------------------------------------------------------------------------------------------
// The questionnaire
// ---------------------------------------------------------------------------------------------

function options(choices, selected, empty) {
  const list = empty === undefined ? [] : [h("option", { value: "" }, empty)];
  return list.concat(choices.map((c) => h("option", { value: c.value, selected: c.value === selected }, c.name)));
}

function numberInput(name, value, attrs = {}) {
  return h("input", { type: "number", name, inputmode: "decimal", step: "any", value: value ?? "", ...attrs });
}

function field(label, input) {
  return h("label", {}, label, input);
}

function removable(row) {
  row.append(h("button", { type: "button", class: "secondary wide", onclick: () => row.remove() }, t("remove")));
  return row;
}

function carRow(car = {}) {
  const by = car.distance ? "distance" : "fuel";
  const given = car.distance || car.fuel_used;
  return removable(
    h(
      "div",
      { class: "row", "data-car": "" },
      field(t("fuel"), h("select", { name: "fuel" }, options(state.page.choices.fuels, car.fuel || "petrol"))),
      field(
        t("counted_by"),
        h("select", { name: "by" }, options([{ value: "fuel", name: t("by_fuel") }, { value: "distance", name: t("by_distance") }], by)),
      ),
      field(t("car_amount"), numberInput("amount", given ? given.quantity : "")),
      field(t("l_per_100km"), numberInput("l_per_100km", car.l_per_100km)),
    ),
  );
}

function flightRow(flight = {}) {
  return removable(
    h(
      "div",
      { class: "row", "data-flight": "" },
      field(t("haul"), h("select", { name: "haul" }, options(state.page.choices.hauls, flight.haul || "domestic"))),
      field(t("distance_km"), numberInput("distance", flight.distance ? flight.distance.quantity : "")),
      field(t("trips"), numberInput("trips", flight.trips ?? 2, { inputmode: "numeric" })),
      field(t("travellers"), numberInput("travellers", flight.travellers ?? 1, { inputmode: "numeric" })),
    ),
  );
}

function questionnaire() {
  const a = state.answers;
  const choices = state.page.choices;
  // one empty car and flight to fill in (an empty one is left out)
  const cars = h("div", { id: "cars" }, (a.cars && a.cars.length ? a.cars : [{}]).map((car) => carRow(car)));
  const flights = h("div", { id: "flights" }, (a.flights && a.flights.length ? a.flights : [{}]).map((flight) => flightRow(flight)));
  const rail = (a.rail || [])[0] || {};
  const diet = (a.diet || [])[0] || {};
  const spent = Object.fromEntries((a.goods || []).map((g) => [g.kind, g.spend.quantity]));
  const radio = (value, checked) =>
    h("label", {}, h("input", { type: "radio", name: "radiative_forcing", value, checked }), t(value));
  const provinces = h("datalist", { id: "provinces" }, choices.provinces.map((p) => h("option", { value: p.value })));
  const form = h(
    "form",
    { id: "questionnaire", novalidate: true, onsubmit: submit },
    h(
      "fieldset",
      {},
      h("legend", {}, t("household")),
      field(t("year"), numberInput("year", a.year ?? new Date().getFullYear() - 1, { inputmode: "numeric" })),
      field(t("members"), numberInput("members", a.members ?? 1, { inputmode: "numeric" })),
      field(t("province"), h("input", { type: "text", name: "province", list: "provinces", autocomplete: "off", placeholder: t("province_hint"), value: a.province ?? "" })),
      provinces,
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, t("home_energy")),
      field(t("electricity_kwh"), numberInput("electricity", a.electricity ? a.electricity.quantity : "")),
      field(t("natural_gas_m3"), numberInput("natural_gas", a.natural_gas ? a.natural_gas.quantity : "")),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, t("transport")),
      h("h3", {}, t("cars")),
      cars,
      h("button", { type: "button", class: "secondary wide", id: "add-car", onclick: () => cars.append(carRow()) }, t("add_car")),
      h("h3", {}, t("flights")),
      flights,
      h("button", { type: "button", class: "secondary wide", id: "add-flight", onclick: () => flights.append(flightRow()) }, t("add_flight")),
      h("p", { class: "small" }, t("radiative_forcing")),
      h("div", { class: "choice" }, radio("yes", a.radiative_forcing === true), radio("no", a.radiative_forcing === false)),
      h("h3", {}, t("rail")),
      field(t("distance_km"), numberInput("rail_distance", rail.distance ? rail.distance.quantity : "")),
      field(t("trips"), numberInput("rail_trips", rail.trips ?? 2, { inputmode: "numeric" })),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, t("diet")),
      field(t("diet_kind"), h("select", { name: "diet_kind" }, options(choices.diets, diet.kind || "", t("diet_none")))),
      field(t("diet_persons"), numberInput("diet_persons", diet.persons, { inputmode: "numeric" })),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, t("goods")),
      choices.goods.map((g) => field(g.name, numberInput(`goods_${g.value}`, spent[g.value]))),
    ),
    h("div", { id: "form-error" }),
    h("button", { type: "submit", class: "wide", id: "calculate" }, t("calculate")),
  );
  return form;
}

/** The value of a number input: a number, or undefined when left empty. */
function num(root, name) {
  const input = root.querySelector(`[name="${name}"]`);
  if (!input || input.value.trim() === "") return undefined;
  return Number(input.value);
}

function quantity(value, unit) {
  return value === undefined ? undefined : { quantity: value, unit };
}

/** The answers as the API takes them (HouseholdAnswers): what was left empty is left out. */
function collect(form) {
  const body = {};
  const set = (key, value) => {
    if (value !== undefined && !(Array.isArray(value) && !value.length)) body[key] = value;
  };
  set("year", num(form, "year"));
  set("members", num(form, "members"));
  const province = form.querySelector("[name=province]").value.trim();
  set("province", province || undefined);
  set("electricity", quantity(num(form, "electricity"), "kWh"));
  set("natural_gas", quantity(num(form, "natural_gas"), "m3"));
  const cars = [];
  for (const row of form.querySelectorAll("[data-car]")) {
    const given = num(row, "amount");
    if (given === undefined) continue;
    const car = { fuel: row.querySelector("[name=fuel]").value };
    if (row.querySelector("[name=by]").value === "fuel") car.fuel_used = quantity(given, "L");
    else car.distance = quantity(given, "km");
    const consumption = num(row, "l_per_100km");
    if (consumption !== undefined) car.l_per_100km = consumption;
    cars.push(car);
  }
  set("cars", cars);
  const flights = [];
  for (const row of form.querySelectorAll("[data-flight]")) {
    const distance = num(row, "distance");
    if (distance === undefined) continue;
    const flight = { haul: row.querySelector("[name=haul]").value, distance: quantity(distance, "km") };
    for (const key of ["trips", "travellers"]) if (num(row, key) !== undefined) flight[key] = num(row, key);
    flights.push(flight);
  }
  set("flights", flights);
  const forcing = form.querySelector("[name=radiative_forcing]:checked");
  if (forcing) body.radiative_forcing = forcing.value === "yes";
  const railDistance = num(form, "rail_distance");
  if (railDistance !== undefined) {
    const trip = { distance: quantity(railDistance, "km") };
    if (num(form, "rail_trips") !== undefined) trip.trips = num(form, "rail_trips");
    body.rail = [trip];
  }
  const dietKind = form.querySelector("[name=diet_kind]").value;
  if (dietKind) body.diet = [{ kind: dietKind, persons: num(form, "diet_persons") ?? body.members ?? 1 }];
  const goods = [];
  for (const g of state.page.choices.goods) {
    const spend = num(form, `goods_${g.value}`);
    if (spend !== undefined) goods.push({ kind: g.value, spend: quantity(spend, "CNY") });
  }
  set("goods", goods);
  return body;
}

/** The message of a refusal: the API's text, or each field of FastAPI's list with its reason. */
function refusal(detail) {
  if (Array.isArray(detail)) {
    return detail
      .map((d) => {
        const path = (d.loc || []).slice(1).map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${p}`)).join("");
        return `${path}: ${d.msg}`;
      })
      .join("; ");
  }
  return String(detail);
}

async function submit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const said = form.querySelector("#form-error");
  const button = form.querySelector("#calculate");
  state.answers = collect(form);
  said.replaceChildren();
  button.disabled = true;
  button.textContent = t("calculating");
  try {
    const answer = await fetch("/api/footprint/household", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(state.answers),
      credentials: "omit",
    });
    const data = await answer.json().catch(() => ({ detail: answer.statusText }));
    if (!answer.ok) {
      state.result = null;
      showResult();
      said.replaceChildren(h("div", { class: "notice error", role: "alert" }, `${t("refused")}: ${refusal(data.detail)}`));
      return;
    }
    state.result = data;
    showResult();
    document.getElementById("result").scrollIntoView();
  } finally {
    button.disabled = false;
    button.textContent = t("calculate");
  }
}

// ---------------------------------------------------------------------------------------------
// The result
// ---------------------------------------------------------------------------------------------

function figure(name, value, label) {
  return h("div", { class: "figure", "data-figure": name }, h("div", { class: "value" }, fixed(value)), h("div", { class: "label" }, `${label} (${t("tco2e")})`));
}

function sourceOf(item) {
  return h("p", { class: "small" }, `${t("source")}: ${item.source} · ${t("status")}: ${item.status} (${t(`status_${item.status}`)})`);
}

/** The per-person footprint beside the averages in tonnes per person a year, as a bar chart. */
function comparisonChart(result) {
  // the comparisons of the whole footprint per person (diet and electricity are listed below)
  const compared = result.comparisons.filter((c) => c.comparison_id.startsWith("per_person_"));
  const node = h("div", { class: "chart", "data-chart": "comparison" });
  if (!compared.length) return [];
  const labels = [t("you"), ...compared.map((c) => (state.page.words[`average_${c.average_id}`] || named(c, "average_")))];
  const values = [result.per_person_tco2e, ...compared.map((c) => c.average_value)];
  state.draw = () => {
    if (state.chart) state.chart.dispose();
    state.chart = window.echarts.init(node, null, { locale: state.lang === "zh" ? "ZH" : "EN", renderer: "canvas" });
    state.chart.setOption({
      animation: false,
      textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" },
      grid: { left: 8, right: 48, top: 8, bottom: 24, containLabel: true },
      xAxis: { type: "value", name: t("tco2e"), nameLocation: "middle", nameGap: 22 },
      yAxis: { type: "category", data: labels, inverse: true, axisLabel: { width: 130, overflow: "break" } },
      series: [
        {
          type: "bar",
          data: values,
          itemStyle: { color: (p) => (p.dataIndex === 0 ? "#0b7a53" : "#9aa5b1") },
          label: { show: true, position: "right", formatter: (p) => fixed(p.value) },
        },
      ],
    });
    node.dataset.rendered = "1";
  };
  return [h("h3", {}, t("chart")), node];
}

function comparisonList(result) {
  return result.comparisons.map((c) =>
    h(
      "div",
      { class: "line", "data-comparison": c.comparison_id },
      h("div", { class: "head" }, h("span", {}, named(c)), h("span", { class: "num" }, `${amount(c.value)} / ${amount(c.average_value)} ${c.unit}`)),
      h("p", {}, `${t("of_average").replace("{ratio}", percent(c.ratio))}: ${named(c, "average_")} (${c.average_year})`),
      sourceOf(c),
    ),
  );
}

function linesByCategory(result) {
  return result.by_category.map((category) =>
    h(
      "section",
      { class: "card", "data-category": category.category },
      h("div", { class: "line head" }, h("h3", {}, named(category)), h("span", { class: "num" }, `${fixed(category.emissions_tco2e)} · ${t("per_person")} ${fixed(category.per_person_tco2e)}`)),
      result.lines
        .filter((line) => line.category === category.category)
        .map((line) =>
          h(
            "div",
            { class: "line", "data-line": line.line_id },
            h("div", { class: "head" }, h("span", {}, named(line)), h("span", { class: "num" }, `${fixed(line.emissions_tco2e, 3)} ${t("tco2e")}`)),
            h(
              "p",
              { class: "small" },
              `${t("quantity")}: ${amount(line.quantity_given ?? line.quantity)} ${line.unit_given ?? line.unit} → ${amount(line.quantity)} ${line.unit} × ${factor(line.factor_tco2e_per_unit)} tCO₂e/${line.unit}`,
            ),
            line.factors.map((f) =>
              h("p", { class: "small" }, `${t("factor")} ${f.factor_id}: ${factor(f.value)} ${f.unit} (${f.gas}, ${f.region}${f.year_start ? `, ${f.year_start}` : ""}) · ${t("source")}: ${f.source} · ${t("status")}: ${f.status}${f.fallback ? ` · ${f.fallback}` : ""}`),
            ),
          ),
        ),
    ),
  );
}

function showResult() {
  const section = document.getElementById("result");
  state.draw = null;
  if (state.chart) {
    state.chart.dispose();
    state.chart = null;
  }
  const result = state.result;
  if (!result) {
    section.replaceChildren();
    return;
  }
  const parts = [
    h("h2", {}, t("result")),
    h("div", { class: "cards" }, figure("total", result.total_tco2e, t("total")), figure("per-person", result.per_person_tco2e, t("per_person"))),
    result.lines.length ? "" : h("div", { class: "notice" }, t("nothing_counted")),
    h("section", { class: "card", id: "comparisons" }, comparisonChart(result), h("h3", {}, t("comparisons")), comparisonList(result)),
    h("h2", {}, t("lines")),
    linesByCategory(result),
    result.fallbacks.length ? [h("h3", {}, t("fallbacks")), h("ul", { class: "small" }, result.fallbacks.map((f) => h("li", {}, f)))] : "",
    h("p", { class: "small" }, t("privacy")),
  ];
  section.replaceChildren(...parts.flat(Infinity).filter((part) => part));
  section.dataset.lang = state.lang;
  if (state.draw) state.draw();
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

async function render() {
  const form = document.getElementById("questionnaire");
  if (form && state.page) state.answers = collect(form);
  state.lang = language();
  state.page = await load(state.lang);
  document.documentElement.lang = state.lang;
  document.title = `tanlu · ${t("title")}`;
  const other = state.lang === "zh" ? "en" : "zh";
  const switcher = document.getElementById("switch-language");
  switcher.href = `#/${other}`;
  switcher.textContent = t("other_language");
  main.replaceChildren(
    h("h1", {}, t("title")),
    h("p", { class: "muted" }, t("intro")),
    questionnaire(),
    h("div", { id: "result", "aria-live": "polite" }),
    h("p", { class: "small" }, h("a", { href: `./#/${state.lang}/` }, t("dashboard"))),
  );
  main.dataset.lang = state.lang;
  showResult();
}

window.addEventListener("hashchange", render);
window.addEventListener("resize", () => state.chart && state.chart.resize());
render();
