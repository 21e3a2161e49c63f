"""The HTML report: one self-contained page (styles and charts inline, no scripts, no network).

Every number on the page is written by :func:`figure` from a path into the results document
(``inventories.2022.totals.scope1_tco2e``): the span carries the path and the exact value
(``data-path``, ``data-value``), so a test can check that every figure shown equals the JSON.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup, escape

from tanlu.errors import TanluError
from tanlu.report import charts
from tanlu.report.text import (
    Language,
    category_name,
    constraint_name,
    fallback_text,
    format_number,
    format_share,
    format_tonnes,
    label,
    lever_name,
    metric_name,
    reference_name,
    target_name,
    unit_name,
)
from tanlu.roadmap.plan import summarise_binding_constraints
from tanlu.roadmap.scenarios import BASE_SCENARIO

# The chapters in the order a reader meets them (each section's id is also its label's key):
# what an executive reads first, then the disclosure tables; the methods, factors, fallbacks
# and assumptions close the report as its appendix.
CHAPTERS = (
    "summary",
    "targets",
    "inventory",
    "electricity",
    "roadmap",
    "macc",
    "uncertainty",
    "progress",
    "disclosure",
)
APPENDIX = ("boundary", "quality")
SECTIONS = (*CHAPTERS, *APPENDIX)

# Scenarios per table beside the base plan: four columns of figures fit an A4 page.
SCENARIOS_PER_TABLE = 3


def resolve(document: dict[str, Any], path: str) -> Any:
    """The value at a dotted path (list items by index): ``roadmap.by_year.0.net_tco2e``."""
    node: Any = document
    for key in path.split("."):
        if isinstance(node, list):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            raise TanluError(f"internal: the report asks for '{path}', not in the results")
    return node


def format_figure(value: float, kind: str, language: Language) -> str:
    """How a figure is written: ``plain`` (grouped, no decimals), ``prose`` (10^4 units in
    Chinese), ``share`` (percent, one decimal), ``decimal`` (one decimal), ``raw`` (up to six
    significant digits)."""
    if kind == "share":
        return format_share(value)
    if kind == "prose":
        return format_tonnes(value, language)
    if kind == "decimal":
        return format_number(value, 1)
    if kind == "raw":
        return f"{value:.6g}"
    return format_number(value)


def section_number(section: str, language: Language) -> str:
    """A section's number in the headings and the contents: ``3`` for the third chapter,
    ``Appendix A`` (``附录A``) for the first section of the appendix."""
    if section in APPENDIX:
        letter = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[APPENDIX.index(section)]
        return f"{label('appendix', language)}{'' if language == 'zh' else ' '}{letter}"
    return str(CHAPTERS.index(section) + 1)


def section_heading(section: str, language: Language) -> str:
    """A section's heading as text: its number and title (``3 Inventory``)."""
    return f"{section_number(section, language)} {label(section, language)}"


def render_report(
    document: dict[str, Any], language: Language, pages: dict[str, int] | None = None
) -> str:
    """The report page of a run's results in one language.

    ``pages`` gives the PDF page of each section (:data:`SECTIONS`) for the contents; without
    it the contents list the sections with no page numbers.
    """
    environment = Environment(
        autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True
    )
    template_text = (resources.files("tanlu.report") / "templates" / "report.html.j2").read_text(
        encoding="utf-8"
    )
    template = environment.from_string(template_text)

    def figure(path: str, kind: str = "plain") -> Markup:
        value = resolve(document, path)
        number = float(value)
        text = format_figure(number, kind, language)
        return Markup(
            f'<span class="fig" data-path="{escape(path)}" data-kind="{kind}" '
            f'data-value="{number!r}">{escape(text)}</span>'
        )

    last = document["years"][-1]
    organisation = document["organisation"]
    name = (
        organisation["name_zh"]
        if language == "zh" and organisation["name_zh"]
        else organisation["name"]
    )
    site_names = {
        row["site"]: (row["name_zh"] if language == "zh" and row["name_zh"] else row["name"])
        for row in document.get("sites", [])
    }
    activity_names = {
        row["activity"]: row["name_zh"] if language == "zh" else row["name_en"]
        for row in document.get("activities", [])
    }
    # the market-based residual factor's "activity" in the fallbacks (tanlu.inventory.calculate)
    activity_names[label("market_residual_activity", "en")] = label(
        "market_residual_activity", language
    )
    roadmap = document["roadmap"]
    final_levers = []
    if roadmap:
        final_year = roadmap["years"][-1]
        final_levers = [
            (index, row)
            for index, row in enumerate(roadmap["by_lever"])
            if row["year"] == final_year
        ]
    return template.render(
        doc=document,
        lang=language,
        t=lambda key: label(key, language),
        target_name=lambda name: target_name(str(name), language),
        category_name=lambda name: category_name(str(name), language),
        lever_name=lambda name: lever_name(str(name), language),
        unit_name=lambda name: unit_name(str(name), language),
        metric_name=lambda name: metric_name(str(name), language),
        reference_name=lambda name: reference_name(str(name), language),
        fallback_text=lambda text: fallback_text(str(text), language),
        site_name=lambda site: site_names.get(str(site), str(site)),
        activity_name=lambda activity: activity_names.get(str(activity), str(activity)),
        fig=figure,
        org_name=name,
        last=last,
        inv=f"inventories.{last}",
        ele=f"electricity.{last}",
        sections=SECTIONS,
        appendix=APPENDIX,
        pages=pages,
        heading=lambda section: Markup(
            f'<span class="no">{escape(section_number(section, language))}</span> '
            f'<span class="title">{escape(label(section, language))}</span>'
        ),
        charts=_charts(document, language),
        final_levers=final_levers,
        binding=summarise_binding_constraints(roadmap["binding_constraints"] if roadmap else []),
        constraint_name=lambda name: constraint_name(str(name), language),
        scenario_tables=_scenario_tables(document),
        scenario_name=lambda name: (
            label("base_plan", language) if name == BASE_SCENARIO else str(name)
        ),
    )


def _scenario_tables(document: dict[str, Any]) -> list[list[int]]:
    """The scenario comparison's tables: indices into ``scenarios.summary``, the base plan
    first in each, then up to :data:`SCENARIOS_PER_TABLE` scenarios; none without scenarios."""
    scenarios = document.get("scenarios")
    if not scenarios or len(scenarios["summary"]) < 2:
        return []
    others = list(range(1, len(scenarios["summary"])))
    return [
        [0, *others[start : start + SCENARIOS_PER_TABLE]]
        for start in range(0, len(others), SCENARIOS_PER_TABLE)
    ]


def _charts(document: dict[str, Any], language: Language) -> dict[str, Markup]:
    """The report's charts as inline SVG."""
    years = document["years"]
    inventories = document["inventories"]
    empty = label("no_data", language)
    scopes = {
        label(key, language): [float(inventories[str(y)]["totals"][f"{key}_tco2e"]) for y in years]
        for key in ("scope1", "scope2_market", "scope3")
    }
    result = {
        "scopes": charts.stacked_bar_chart(
            "emissions_by_scope",
            label("emissions_by_scope", language),
            [str(y) for y in years],
            scopes,
            "tCO2e",
            empty_text=empty,
        ),
        "green": charts.line_chart(
            "green_share",
            label("green_over_years", language),
            [str(y) for y in years],
            {
                label("green_share", language): [
                    float(document["electricity"][str(y)]["totals"]["green_share"]) for y in years
                ]
            },
            "%",
            format_number=format_share,
            y_min=0.0,
            y_max=1.0,
            empty_text=empty,
        ),
        "wedges": "",
        "macc": "",
        "macc_model": "",
        "band": "",
        "scenarios": "",
    }
    roadmap = document["roadmap"]
    uncertainty = roadmap["monte_carlo"] if roadmap else None
    if uncertainty and uncertainty["bands"]:
        bands = uncertainty["bands"]
        result["band"] = charts.band_chart(
            "uncertainty",
            label("band_gross", language),
            [int(r["year"]) for r in bands],
            [float(r["gross_tco2e_p5"]) for r in bands],
            [float(r["gross_tco2e_p50"]) for r in bands],
            [float(r["gross_tco2e_p95"]) for r in bands],
            "tCO2e",
            empty_text=empty,
            band_label=label("band_range", language),
            mid_label=label("median", language),
        )
    if roadmap:
        plan_years = roadmap["years"]
        by_year = roadmap["by_year"]
        wedges: dict[str, list[float]] = {}
        for row in roadmap["by_lever"]:
            if row["abatement_tco2e"]:
                name = lever_name(row["lever"], language)
                wedges.setdefault(name, [0.0] * len(plan_years))
                wedges[name][plan_years.index(row["year"])] = float(row["abatement_tco2e"])
        result["wedges"] = charts.wedge_chart(
            "wedges",
            label("wedges", language),
            plan_years,
            [float(r["baseline_tco2e"]) for r in by_year],
            wedges,
            [float(r["net_tco2e"]) for r in by_year],
            "tCO2e",
            empty_text=empty,
            baseline_label=label("baseline", language),
            net_label=label("net", language),
        )
    macc = roadmap["macc"] if roadmap else None
    if macc and macc["bottom_up"]:
        result["macc"] = charts.macc_chart(
            "macc",
            label("macc", language),
            [
                (
                    lever_name(r["lever"], language),
                    float(r["abatement_tco2e"]),
                    float(r["cost_cny_per_tco2e"]),
                )
                for r in macc["bottom_up"]
            ],
            "tCO2e",
            "CNY/tCO2e",
            empty_text=empty,
        )
    if macc and macc["model"]:
        curves = {
            label("macc_model_series", language): [
                (float(r["abatement_tco2e"]), float(r["marginal_cost_cny_per_tco2e"]))
                for r in macc["model"]
            ],
            label("macc_bottom_up_series", language): [
                (float(r["cumulative_tco2e"]), float(r["cost_cny_per_tco2e"]))
                for r in macc["bottom_up"]
            ],
        }
        result["macc_model"] = charts.step_chart(
            "macc_model",
            label("macc_model", language),
            curves,
            "tCO2e",
            "CNY/tCO2e",
            empty_text=empty,
        )
    scenarios = document.get("scenarios")
    if scenarios and len(scenarios["summary"]) > 1 and roadmap:
        plan_years = roadmap["years"]
        trajectories: dict[str, list[float]] = {}
        for row in scenarios["summary"]:
            rows = [r for r in scenarios["by_year"] if r["scenario"] == row["scenario"]]
            # a scenario planned over other years than the base plan has no line here
            if [r["year"] for r in rows] == plan_years:
                name = (
                    label("base_plan", language)
                    if row["scenario"] == BASE_SCENARIO
                    else str(row["scenario"])
                )
                trajectories[name] = [float(r["gross_tco2e"]) for r in rows]
        result["scenarios"] = charts.line_chart(
            "scenarios",
            label("scenario_gross", language),
            plan_years,
            trajectories,
            "tCO2e",
            empty_text=empty,
        )
    return {key: Markup(value) for key, value in result.items()}
