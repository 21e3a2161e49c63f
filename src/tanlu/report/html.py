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
from tanlu.report.text import Language, format_number, format_share, format_tonnes, label

SECTIONS = [
    ("summary", "summary"),
    ("boundary", "boundary"),
    ("inventory", "inventory"),
    ("electricity", "electricity"),
    ("targets", "targets"),
    ("roadmap", "roadmap"),
    ("macc", "macc"),
    ("uncertainty", "uncertainty"),
    ("progress", "progress"),
    ("disclosure", "disclosure"),
    ("quality", "quality"),
]


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


def render_report(document: dict[str, Any], language: Language) -> str:
    """The report page of a run's results in one language."""
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
    roadmap = document["roadmap"]
    final_levers = []
    if roadmap:
        final_year = roadmap["years"][-1]
        final_levers = [
            (index, row)
            for index, row in enumerate(roadmap["by_lever"])
            if row["year"] == final_year
        ]
    first = document["years"][0]
    site_index: dict[str, dict[int, int]] = {}
    for year in (first, last):
        for index, row in enumerate(document["inventories"][str(year)]["by_site"]):
            site_index.setdefault(str(row["site"]), {})[year] = index
    return template.render(
        doc=document,
        lang=language,
        t=lambda key: label(key, language),
        fig=figure,
        org_name=name,
        last=last,
        inv=f"inventories.{last}",
        ele=f"electricity.{last}",
        sections=SECTIONS,
        charts=_charts(document, language),
        final_levers=final_levers,
        first=first,
        site_trend=sorted(site_index.items()),
    )


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
        "band": "",
    }
    uncertainty = document.get("uncertainty")
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
        )
    roadmap = document["roadmap"]
    if roadmap:
        plan_years = roadmap["years"]
        by_year = roadmap["by_year"]
        wedges: dict[str, list[float]] = {}
        for row in roadmap["by_lever"]:
            if row["abatement_tco2e"]:
                wedges.setdefault(row["lever"], [0.0] * len(plan_years))
                wedges[row["lever"]][plan_years.index(row["year"])] = float(row["abatement_tco2e"])
        result["wedges"] = charts.wedge_chart(
            "wedges",
            label("wedges", language),
            plan_years,
            [float(r["baseline_tco2e"]) for r in by_year],
            wedges,
            [float(r["net_tco2e"]) for r in by_year],
            "tCO2e",
            empty_text=empty,
        )
    if document["macc"]:
        result["macc"] = charts.macc_chart(
            "macc",
            label("macc", language),
            [
                (r["lever"], float(r["abatement_tco2e"]), float(r["cost_cny_per_tco2e"]))
                for r in document["macc"]
            ],
            "tCO2e",
            "CNY/tCO2e",
            empty_text=empty,
        )
    return {key: Markup(value) for key, value in result.items()}
