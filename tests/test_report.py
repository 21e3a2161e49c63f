"""`tanlu run`: every figure in the report is the JSON's; both languages; no partial report."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import tanlu
from tanlu.app import count_steps, run_project
from tanlu.cli import app
from tanlu.errors import TanluError
from tanlu.report.html import resolve
from tanlu.report.text import LANGUAGES, Language, format_tonnes
from tanlu.report.write import chromium_command, write_run

from .conftest import ACTIVITY_HEADER, MakeProject
from .test_roadmap import ACTIVITIES, GROWING, INTENSITY, PRICES, REVENUE, toy_toml

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "internet-company"


class Figures(HTMLParser):
    """Collects every figure span: its path, kind, exact value and the text shown."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[dict[str, str]] = []
        self.charts: list[str] = []
        self.lang = ""
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = values.get("lang", "")
        if tag == "svg" and "data-chart" in values:
            self.charts.append(values["data-chart"])
        if tag == "span" and "data-path" in values:
            self._open = {**values, "text": ""}

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open is not None:
            self.figures.append(self._open)
            self._open = None


def shown(text: str, kind: str) -> float:
    """The number a reader sees, parsed back."""
    text = text.strip()
    if kind == "share":
        return float(text.rstrip("%")) / 100
    if text.endswith("万"):
        return float(text[:-1].replace(",", "")) * 1e4
    return float(text.replace(",", ""))


def tolerance(kind: str, text: str) -> float:
    """Half a unit of the last digit shown."""
    if kind == "share":
        return 0.0005 + 1e-12
    if text.strip().endswith("万"):
        return 0.05e4 + 1e-9
    decimals = len(text.split(".")[1]) if "." in text and kind != "raw" else 0
    if kind == "raw":
        return abs(shown(text, kind)) * 5e-6 + 1e-12
    return 0.5 * 10**-decimals + 1e-9


def check_report(folder: Path) -> Figures:
    document = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    parser = Figures()
    parser.feed((folder / "report.html").read_text(encoding="utf-8"))
    assert parser.figures, "the report shows no figures"
    for figure in parser.figures:
        value: Any = resolve(document, figure["data-path"])
        # the exact value behind the figure is the JSON's
        assert float(figure["data-value"]) == pytest.approx(float(value), rel=1e-12, abs=1e-12)
        # and what is written is that value, rounded as shown
        kind = figure["data-kind"]
        assert shown(figure["text"], kind) == pytest.approx(
            float(value), abs=tolerance(kind, figure["text"])
        ), figure
    return parser


# Two named scenarios of the toy project: certificates at 50 CNY/MWh instead of 5.59, and no
# certificates at all (then nothing makes scope 2 carbon neutral: the scenario is infeasible).
SCENARIOS = """\
[roadmap.scenarios.costly_certificates]
levers = { gec = { price_cny_per_mwh = 50 } }

[roadmap.scenarios.no_certificates]
levers = { gec = { enabled = false } }

"""


def toy_project(make_project: MakeProject, **kwargs: Any) -> Path:
    """The one-office roadmap project of tests/test_roadmap.py, with :data:`SCENARIOS`."""
    toml = toy_toml().replace(
        "[roadmap.levers.building_efficiency]",
        SCENARIOS + "[roadmap.levers.building_efficiency]",
        1,
    )
    return make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES}, **kwargs)


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``tanlu run --no-pdf`` of the toy project once in each language, for the tests that only
    read what it wrote (each reads its own language's folder; none writes there)."""
    folder = tmp_path_factory.mktemp("toy")
    root = toy_project(
        lambda activities, toml, files: _write_project(folder / "project", activities, toml, files)
    )
    folders = {}
    for lang in LANGUAGES:
        out = folder / f"out_{lang}"
        args = ["run", str(root), "--out", str(out), "--lang", lang, "--no-pdf"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        folders[lang] = out
    return folders


def _write_project(root: Path, activities: str, toml: str, files: dict[str, str]) -> Path:
    """As the ``make_project`` fixture writes a project, into ``root``."""
    (root / "data").mkdir(parents=True)
    (root / "tanlu.toml").write_text(toml, encoding="utf-8")
    (root / "data" / "activities.csv").write_text(ACTIVITY_HEADER + activities, encoding="utf-8")
    for relative, text in files.items():
        (root / relative).write_text(text, encoding="utf-8")
    return root


def toy_document(toy_runs: dict[str, Path], lang: str = "en") -> dict[str, Any]:
    """The results.json of the toy project's run in ``lang``."""
    document: dict[str, Any] = json.loads(
        (toy_runs[lang] / "results.json").read_text(encoding="utf-8")
    )
    return document


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_figure_is_the_json(toy_runs: dict[str, Path], lang: str) -> None:
    out = toy_runs[lang]
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "results.json", "results.xlsx"]
    parser = check_report(out)
    assert parser.lang == ("zh-CN" if lang == "zh" else "en")
    charts = {"emissions_by_scope", "green_share", "wedges", "macc", "macc_model", "scenarios"}
    assert charts <= set(parser.charts)
    # the check above covers the scenarios, the model-derived MACC and the trend year by year
    paths = {figure["data-path"].split(".")[0] for figure in parser.figures}
    assert {"scenarios", "trend", "roadmap", "inventories"} <= paths
    # the two MACCs, in the roadmap's document (docs/json-output.md)
    curves = {".".join(figure["data-path"].split(".")[:3]) for figure in parser.figures}
    assert {"roadmap.macc.model", "roadmap.macc.bottom_up"} <= curves
    html = (out / "report.html").read_text(encoding="utf-8")
    assert ("碳中和路线图" in html) == (lang == "zh")
    # offline: no scripts, no external resources
    assert "<script" not in html and not re.search(r"""(src|href)=["']https?:""", html)


def test_workbook_has_the_disclosure_tables(toy_runs: dict[str, Path]) -> None:
    out = toy_runs["zh"]  # `tanlu run`'s default language
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    sheets = pd.read_excel(out / "results.xlsx", sheet_name=None)
    assert {"ghg_protocol", "climate_metrics", "roadmap_by_year", "macc"} <= set(sheets)
    assert {"macc_model", "scenarios", "scenarios_by_year", "trend_by_scope"} <= set(sheets)
    assert {"trend_by_site", "scenario_shortfalls", "scenario_settings"} <= set(sheets)
    # the assumptions: [roadmap] settings in effect (the toy sets a discount rate of 0) and the
    # plan's parameters with their status
    settings = {row["setting"]: row["value"] for row in document["roadmap_settings"]}
    assert settings["discount_rate_share"] == 0.0
    assert settings["scope2_basis"] == "market"
    assert not any(name.startswith("levers.") for name in settings)
    assert sheets["roadmap_settings"]["setting"].tolist() == list(settings)
    ghg = sheets["ghg_protocol"]
    rows = document["disclosure"]["ghg_protocol"]
    assert len(ghg) == len(rows)
    assert ghg["emissions_tco2e"].tolist() == pytest.approx([r["emissions_tco2e"] for r in rows])
    # scope 2 market-based 2022: 1,000 MWh x 0.5856 (MEE/NBS 2022 residual factor)
    line = ghg.loc[(ghg["year"] == 2022) & (ghg["line"] == "scope2_market")]
    assert float(line["emissions_tco2e"].iloc[0]) == pytest.approx(585.6)


# The toy plan by hand (tests/test_roadmap.py): 1,000 MWh a year at 600 CNY/MWh, no discounting;
# building efficiency saves 16% (160 MWh at a levelised 354.79 CNY/MWh) from 2023, and 840 MWh
# of certificates at 5.59 CNY/MWh make scope 2 carbon neutral in 2024.
YEARLY_COST_CNY = 840 * 600 + 160 * 354.79


def test_scenarios_side_by_side(toy_runs: dict[str, Path]) -> None:
    document = toy_document(toy_runs)
    rows = {row["scenario"]: row for row in document["scenarios"]["summary"]}
    assert list(rows) == ["default", "costly_certificates", "no_certificates"]
    base, costly, none = rows["default"], rows["costly_certificates"], rows["no_certificates"]
    # the base row is the base roadmap's
    roadmap = document["roadmap"]
    assert base["total_discounted_cost_cny"] == roadmap["total_discounted_cost_cny"]
    assert base["net_discounted_cost_cny"] == roadmap["net_discounted_cost_cny"]
    assert base["last_year_gross_tco2e"] == roadmap["by_year"][-1]["gross_tco2e"]
    assert base["last_year_green_share"] == roadmap["by_year"][-1]["green_share"]
    # by hand: two years of grid electricity and efficiency, and the certificates: 840 MWh in
    # 2024, and under the bundled GEC ramp (0.51 x 1,000 MWh = 510 MWh more a year)
    # 840 - 510 = 330 MWh in 2023
    assert base["total_discounted_cost_cny"] == pytest.approx(
        2 * YEARLY_COST_CNY + (330 + 840) * 5.59
    )
    assert base["last_year_cost_cny"] == pytest.approx(YEARLY_COST_CNY + 840 * 5.59)
    assert costly["total_discounted_cost_cny"] == pytest.approx(
        2 * YEARLY_COST_CNY + (330 + 840) * 50
    )
    assert costly["last_year_cost_cny"] == pytest.approx(YEARLY_COST_CNY + 840 * 50)
    # net cost: beyond the baseline's bill of 1,000 MWh x 600 a year
    assert costly["net_discounted_cost_cny"] == pytest.approx(
        2 * YEARLY_COST_CNY + (330 + 840) * 50 - 2 * 1000 * 600
    )
    for row in (base, costly):
        assert row["feasible"] and row["last_year"] == 2024
        assert row["last_year_gross_tco2e"] == pytest.approx(0, abs=1e-6)
        assert row["last_year_net_tco2e"] == pytest.approx(
            row["last_year_gross_tco2e"] - row["last_year_offsets_tco2e"]
        )
        assert row["plan_offsets_tco2e"] == pytest.approx(0, abs=1e-6)
        assert row["last_year_green_share"] == pytest.approx(1.0)
    # no certificates: efficiency alone leaves 840 MWh x 0.5856 = 491.904 tCO2e in 2024
    assert not none["feasible"] and none["total_discounted_cost_cny"] is None
    assert "short by 492 tCO2e" in none["message"]
    [short] = document["scenarios"]["shortfalls"]
    assert short["scenario"] == "no_certificates" and short["year"] == 2024
    assert short["shortfall"] == pytest.approx(840 * 0.5856)
    settings = document["scenarios"]["settings"]
    assert [(r["scenario"], r["setting"], r["value"]) for r in settings] == [
        ("costly_certificates", "levers.gec.price_cny_per_mwh", 50),
        ("no_certificates", "levers.gec.enabled", False),
    ]
    # trajectories of the feasible plans only
    assert {r["scenario"] for r in document["scenarios"]["by_year"]} == {
        "default",
        "costly_certificates",
    }


@pytest.mark.parametrize(
    ("lang", "words", "target"),
    [
        ("en", "cannot meet every target", "carbon neutral in scopes 2 by 2024, 2024"),
        ("zh", "仍无法实现全部目标", "2024年前范围2碳中和，2024"),
    ],
)
def test_infeasible_scenario_shows_its_shortfall(
    toy_runs: dict[str, Path], lang: str, words: str, target: str
) -> None:
    html = (toy_runs[lang] / "report.html").read_text(encoding="utf-8")
    shortfall = re.search(r'<p class="shortfall">(.*?)</ul>', html, re.DOTALL)
    assert shortfall is not None
    text = re.sub(r"<[^>]+>", "", shortfall.group(1))
    assert "no_certificates" in text and words in text
    assert target in text
    assert "492" in text  # 491.904 tCO2e, shown to the tonne
    assert 'data-path="scenarios.shortfalls.0.shortfall"' in shortfall.group(1)


def test_bad_scenario_writes_nothing(make_project: MakeProject, tmp_path: Path) -> None:
    bad = "[roadmap.scenarios.bad]\ndiscount_rate_share = 5\n\n"
    toml = toy_toml().replace(
        "[roadmap.levers.building_efficiency]", bad + "[roadmap.levers.building_efficiency]", 1
    )
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(root), "--out", str(out), "--no-pdf"])
    assert result.exit_code == 1
    assert "roadmap.scenarios.bad: discount_rate_share" in result.output
    assert not out.exists() or not any(out.iterdir())


def test_model_macc_in_report(toy_runs: dict[str, Path]) -> None:
    document = toy_document(toy_runs)
    rows = document["roadmap"]["macc"]["model"]
    # cuts of 10%, 20%, ... 90%, 95% and 100% of 2024's baseline, 585.6 tCO2e: all reachable
    assert [r["reduction_share"] for r in rows] == [
        0.1,
        0.2,
        0.3,
        0.4,
        0.5,
        0.6,
        0.7,
        0.8,
        0.9,
        0.95,
        1.0,
    ]
    assert rows[1]["cap_tco2e"] == pytest.approx(585.6 * 0.8)
    # efficiency (16%, 93.696 t) saves money and is taken anyway: a 10% cap does not bind;
    # every further tonne is a certificate, 5.59 CNY/MWh / 0.5856 tCO2e/MWh = 9.5458 CNY/t.
    # A cut of share r needs 1,000 r - 160 MWh of GECs in 2024; above the bundled ramp's
    # 0.51 x 1,000 = 510 MWh (r > 0.67) each further MWh in 2024 needs one in 2023 too
    assert rows[0]["marginal_cost_cny_per_tco2e"] == pytest.approx(0, abs=1e-6)
    assert rows[0]["abatement_tco2e"] == pytest.approx(160 * 0.5856)
    for row in rows[1:]:
        years = 1 if 1000 * row["reduction_share"] - 160 <= 510 else 2
        assert row["marginal_cost_cny_per_tco2e"] == pytest.approx(years * 5.59 / 0.5856)
        assert row["abatement_tco2e"] == pytest.approx(585.6 * row["reduction_share"])
    marginal = [r["marginal_cost_cny_per_tco2e"] for r in rows]
    assert marginal == sorted(marginal)
    html = (toy_runs["en"] / "report.html").read_text(encoding="utf-8")
    assert 'data-chart="macc_model"' in html
    assert html.count('data-path="roadmap.macc.model.') == 4 * len(rows)


def test_inventory_trend_every_year(make_project: MakeProject, tmp_path: Path) -> None:
    # no targets (no roadmap); base year 2022 and 2023: 1,000 then 1,100 MWh
    toml = toy_toml(targets="").replace(
        "reporting_years = [2022]", "reporting_years = [2022, 2023]"
    )
    activities = ACTIVITIES + "office,2023-01-01,2023-12-31,electricity,1100,MWh\n"
    root = make_project(activities, toml=toml, files={"data/prices.csv": PRICES})
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(root), "--out", str(out), "--no-pdf"])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    by_scope = document["trend"]["by_scope"]
    assert [r["year"] for r in by_scope] == [2022, 2023]
    # market-based: 1,000 MWh x 0.5856 (2022) and 1,100 MWh x 0.6096 (2023), MEE/NBS residual
    assert by_scope[0]["total_market_tco2e"] == pytest.approx(585.6)
    assert by_scope[1]["total_market_tco2e"] == pytest.approx(1100 * 0.6096)
    assert by_scope[0]["total_market_change_share"] == pytest.approx(0.0)
    assert by_scope[1]["total_market_change_share"] == pytest.approx(1100 * 0.6096 / 585.6 - 1)
    for row in by_scope:
        totals = document["inventories"][str(row["year"])]["totals"]
        assert row["scope2_location_tco2e"] == totals["scope2_location_tco2e"]
    by_site = document["trend"]["by_site"]
    assert [(r["site"], r["year"]) for r in by_site] == [("office", 2022), ("office", 2023)]
    assert by_site[1]["total_market_tco2e"] == pytest.approx(1100 * 0.6096)
    sheets = pd.read_excel(out / "results.xlsx", sheet_name=["trend_by_scope", "trend_by_site"])
    assert sheets["trend_by_scope"]["year"].tolist() == [2022, 2023]
    assert len(sheets["trend_by_site"]) == 2
    # one table row per year in the report, every figure the JSON's
    parser = check_report(out)
    for index in range(2):
        assert any(
            f["data-path"] == f"trend.by_scope.{index}.total_market_tco2e" for f in parser.figures
        )
        assert any(
            f["data-path"] == f"trend.by_site.{index}.total_market_tco2e" for f in parser.figures
        )
    assert document["scenarios"] is None and document["roadmap"] is None


def test_progress_steps_are_counted(make_project: MakeProject) -> None:
    # the toy project: one year (inventory, green electricity), validation, then the roadmap,
    # its two MACCs and its two scenarios: 2 + 1 + 3 + 2 = 8 steps
    project = tanlu.load_project(toy_project(make_project))
    told: list[str] = []
    run_project(project, step=told.append)
    assert len(told) == count_steps(project, validate=True) == 8


def test_bad_input_writes_nothing(make_project: MakeProject, tmp_path: Path) -> None:
    root = make_project(
        "office,2022-01-01,2022-12-31,electricity,-5,MWh\n",
        toml=toy_toml(settings=""),
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(root), "--out", str(out)])
    assert result.exit_code == 1
    assert "activities.csv, line 2" in result.output
    assert not out.exists() or not any(out.iterdir())


def test_relative_output_folder(
    make_project: MakeProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = toy_project(make_project)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["run", str(root), "--out", "reports/toy"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "reports" / "toy" / "report.pdf").stat().st_size > 0


def test_contents_numbers_settle(
    toy_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The print loop of the PDF's contents, with Chromium and pdfinfo replaced: a first print
    finds the pages, a second confirms them; numbers that keep moving are an error."""
    from tanlu.report import write
    from tanlu.report.html import SECTIONS

    document = toy_document(toy_runs)
    html = tmp_path / "report.html"
    html.write_text(write.render_report(document, "en"), encoding="utf-8")
    first = {section: index + 1 for index, section in enumerate(SECTIONS)}  # 1, 2, ..., 11
    moved = {**first, "quality": 12}
    printed: list[str] = []

    def fake_print(page: Path, pdf: Path) -> None:
        printed.append(page.read_text(encoding="utf-8"))

    monkeypatch.setattr(write, "print_pdf", fake_print)
    # the second print puts every section where the first did: two prints
    results = iter([first, first])
    monkeypatch.setattr(write, "section_pages", lambda pdf: next(results))
    write.print_report(document, "en", html, tmp_path / "report.pdf")
    assert len(printed) == 2
    assert '<span class="page"></span>' in printed[0]  # the first print has no numbers
    # the second (and the page left behind) gives Appendix B page 11
    assert _contents(printed[1])[-1][2] == "11"
    assert _contents(html.read_text("utf-8"))[-1][2] == "11"
    # the numbers move the last section once: a third print confirms 12
    printed.clear()
    results = iter([first, moved, moved])
    write.print_report(document, "en", html, tmp_path / "report.pdf")
    assert len(printed) == 3 and _contents(html.read_text("utf-8"))[-1][2] == "12"
    # they keep moving: an error after three prints
    results = iter([first, moved, first])
    with pytest.raises(TanluError, match=r"report\.pdf did not settle in 3 prints"):
        write.print_report(document, "en", html, tmp_path / "report.pdf")


def test_contents_pages_need_pdfinfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tanlu.report import write

    monkeypatch.setattr(write.shutil, "which", lambda name: None)
    with pytest.raises(TanluError, match=r"need pdfinfo.*apt-get install poppler-utils"):
        write.section_pages(tmp_path / "report.pdf")


def test_no_pdf_removes_an_earlier_pdf(make_project: MakeProject, tmp_path: Path) -> None:
    root = toy_project(make_project)
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.pdf").write_bytes(b"%PDF old")
    result = CliRunner().invoke(app, ["run", str(root), "--out", str(out), "--no-pdf"])
    assert result.exit_code == 0, result.output
    assert not (out / "report.pdf").exists()


def test_bad_language(make_project: MakeProject, tmp_path: Path) -> None:
    root = toy_project(make_project)
    result = CliRunner().invoke(app, ["run", str(root), "--out", str(tmp_path), "--lang", "fr"])
    assert result.exit_code != 0
    assert "not 'fr'" in result.output


@pytest.fixture(scope="module")
def example_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example's report in both languages, PDF included (as `make demo` makes them).

    The results are computed once and written in each language, as `tanlu run` does for one
    (the command itself is tested on the toy project above).
    """
    result = run_project(tanlu.load_project(EXAMPLE))
    folders = {}
    for lang in LANGUAGES:
        out = tmp_path_factory.mktemp(f"example_{lang}")
        write_run(result, out, lang)
        folders[lang] = out
    return folders


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_example_report(example_reports: dict[str, Path], lang: str) -> None:
    out = example_reports[lang]
    assert sorted(p.name for p in out.iterdir()) == [
        "report.html",
        "report.pdf",
        "results.json",
        "results.xlsx",
    ]
    parser = check_report(out)
    assert len(parser.figures) > 200
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert document["years"] == [2021, 2022]
    assert document["roadmap"]["by_year"][-1]["net_tco2e"] == pytest.approx(0, abs=1e-3)
    # the example sets Monte Carlo ranges (20 draws) and has 2022 after its 2021 base year
    assert len(document["roadmap"]["monte_carlo"]["samples"]) == 20
    assert "uncertainty" in parser.charts
    assert document["progress"]["plan_from_year"] == 2021
    assert [row["year"] for row in document["progress"]["summary"]] == [2022]
    # every reporting year in the trend; the example's two named scenarios beside the base plan
    assert [row["year"] for row in document["trend"]["by_scope"]] == [2021, 2022]
    assert {row["year"] for row in document["trend"]["by_site"]} == {2021, 2022}
    scenarios = [row["scenario"] for row in document["scenarios"]["summary"]]
    assert scenarios == ["default", "slow_growth", "greening_grid"]
    assert "scenarios" in parser.charts and "macc_model" in parser.charts
    # the model-derived MACC: marginal costs never fall as the cut deepens (the LP's value is
    # convex in the cap)
    marginal = [row["marginal_cost_cny_per_tco2e"] for row in document["roadmap"]["macc"]["model"]]
    assert len(marginal) >= 5
    assert all(later >= earlier - 1e-6 for earlier, later in itertools.pairwise(marginal))
    # the check above covers the factors of every year, the progress by lever and each scope 3
    # category of the climate metrics
    paths = {figure["data-path"] for figure in parser.figures}
    factors = document["factors_used_all"]
    assert {f"factors_used_all.{i}.value" for i in range(len(factors))} <= paths
    by_lever = document["progress"]["by_lever"]
    assert by_lever
    for index in range(len(by_lever)):
        for key in ("planned", "actual", "variance"):
            assert f"progress.by_lever.{index}.{key}" in paths
    metrics = document["disclosure"]["climate_metrics"]
    categories = [i for i, r in enumerate(metrics) if r["metric"].startswith("gross_scope3_tco2e.")]
    assert categories
    assert {f"disclosure.climate_metrics.{i}.value" for i in categories} <= paths


def _section(page: str, start: str) -> str:
    """The page from ``start`` to the end of the first table after it."""
    begin = page.index(start)
    return page[begin : page.index("</table>", begin)]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_factors_and_fallbacks_of_every_year(example_reports: dict[str, Path], lang: str) -> None:
    out = example_reports[lang]
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    used = {
        year: {row["factor_id"] for row in document["inventories"][str(year)]["factors_used"]}
        for year in (2021, 2022)
    }
    # the example's 2021 inventory uses the MEE/NBS 2021 provincial factors, 2022 the 2022 ones
    only_2021 = sorted(used[2021] - used[2022])
    assert "cn_mee_nbs_2021_province_beijing_electricity" in only_2021
    rows = {row["factor_id"]: row for row in document["factors_used_all"]}
    assert set(rows) == used[2021] | used[2022]  # once per factor id
    assert rows[only_2021[0]]["years"] == "2021"
    assert rows[sorted(used[2021] & used[2022])[0]]["years"] == "2021, 2022"
    page = (out / "report.html").read_text(encoding="utf-8")
    table = _section(page, 'id="factors"')
    for factor_id in only_2021:
        assert f'<td class="id">{factor_id}</td>' in table
    # fallbacks: both years', each with its year
    fallbacks = document["fallbacks_all"]
    assert {row["year"] for row in fallbacks} == {2021, 2022}
    assert len(fallbacks) == sum(
        len(document["inventories"][str(y)]["fallbacks"]) for y in (2021, 2022)
    )
    title = "因子替代" if lang == "zh" else "Factor fallbacks"
    shown_years = re.findall(r"<tr[^>]*><td>(\d{4})</td>", _section(page, title + " ("))
    assert [int(y) for y in shown_years] == [row["year"] for row in fallbacks]
    sheets = pd.read_excel(out / "results.xlsx", sheet_name=["factors_used_all", "fallbacks_all"])
    assert sheets["factors_used_all"]["factor_id"].tolist() == list(rows)
    assert sheets["fallbacks_all"]["year"].tolist() == [row["year"] for row in fallbacks]


def test_scope3_categories_and_progress_by_lever(example_reports: dict[str, Path]) -> None:
    out = example_reports["en"]
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    metrics = document["disclosure"]["climate_metrics"]
    for year in document["years"]:
        inventory = document["inventories"][str(year)]
        rows = {r["metric"]: r for r in metrics if r["year"] == year}
        expected = {
            f"gross_scope3_tco2e.{r['category']}": r["emissions_tco2e"]
            for r in inventory["by_category"]
            if r["scope"] == 3
        }
        categories = {m: r["value"] for m, r in rows.items() if m in expected}
        assert categories == pytest.approx(expected)
        assert all(rows[m]["unit"] == "tCO2e" for m in expected)
        # the categories add up to the scope 3 total
        assert sum(categories.values()) == pytest.approx(rows["gross_scope3_tco2e"]["value"])
    html = {
        lang: (example_reports[lang] / "report.html").read_text(encoding="utf-8")
        for lang in LANGUAGES
    }
    assert "Gross scope 3 emissions: 1 Purchased goods and services" in html["en"]
    assert "范围三排放总量：类别1 外购商品和服务" in html["zh"]
    # progress by lever: a workbook sheet as in the JSON, and a table of the report
    sheet = pd.read_excel(out / "results.xlsx", sheet_name="progress_by_lever")
    by_lever = document["progress"]["by_lever"]
    assert list(sheet.columns) == ["year", "lever", "unit", "planned", "actual", "variance"]
    assert sheet["lever"].tolist() == [row["lever"] for row in by_lever]
    assert sheet["variance"].tolist() == pytest.approx([row["variance"] for row in by_lever])
    for row in by_lever:
        assert row["variance"] == pytest.approx(row["actual"] - row["planned"])
    assert "Levers: planned and actual" in html["en"] and "各措施计划与实际" in html["zh"]
    assert "分布式光伏" in _section(html["zh"], "各措施计划与实际")


def test_chinese_chart_legends(example_reports: dict[str, Path]) -> None:
    from tanlu.report.text import label

    for lang in LANGUAGES:
        page = (example_reports[lang] / "report.html").read_text(encoding="utf-8")
        wedges = page[
            page.index('data-chart="wedges"') : page.index(
                "</svg>", page.index('data-chart="wedges"')
            )
        ]
        band = page[
            page.index('data-chart="uncertainty"') : page.index(
                "</svg>", page.index('data-chart="uncertainty"')
            )
        ]
        for key, chart in (("baseline", wedges), ("net", wedges), ("median", band)):
            name = label(key, lang)
            assert f'data-series="{name}"' in chart and f">{name}</text>" in chart, (lang, key)
    zh = (example_reports["zh"] / "report.html").read_text(encoding="utf-8")
    for english in ('data-series="baseline"', 'data-series="net"', 'data-series="median"'):
        assert english not in zh


def chromium(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = chromium_command("--enable-logging=stderr", "--v=0", *arguments)
    profile = next(a for a in command if a.startswith("--user-data-dir=")).split("=", 1)[1]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# Injected into a copy of the report (the report itself has no scripts): measures every chart as
# laid out and writes the count of charts with a non-empty box into the page.
PROBE = """<script>
const charts = [...document.querySelectorAll("svg.chart")];
const drawn = charts.filter(c => { const b = c.getBBox(); return b.width > 0 && b.height > 0; });
document.body.setAttribute("data-charts", drawn.length + "/" + charts.length);
</script></body>"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_loads_in_chromium(example_reports: dict[str, Path], lang: str) -> None:
    report = example_reports[lang] / "report.html"
    # no console message at all (errors, failed loads) while the page loads
    loaded = chromium("--dump-dom", report.as_uri())
    assert "<h1>" in loaded.stdout
    console = [line for line in loaded.stderr.splitlines() if ":CONSOLE(" in line]
    assert console == []
    # every chart is laid out with a non-empty box
    probe = report.with_name("probe.html")
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE), "utf-8")
    try:
        measured = chromium("--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    count = re.search(r'data-charts="(\d+)/(\d+)"', measured.stdout)
    assert count is not None and count.group(1) == count.group(2) == "7"
    # the screenshot in the README comes from here (TANLU_UPDATE_SCREENSHOT=1 to refresh it)
    target = (
        Path(__file__).resolve().parents[1] / "docs" / "images" / f"report-{lang}.png"
        if os.environ.get("TANLU_UPDATE_SCREENSHOT") == "1"
        else report.with_name("screenshot.png")
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    chromium("--window-size=1100,1500", f"--screenshot={target}", report.as_uri())
    assert target.stat().st_size > 20_000
    if target.parent == report.parent:
        target.unlink()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pdf_pages_and_text(example_reports: dict[str, Path], lang: str, tmp_path: Path) -> None:
    out = example_reports[lang]
    subprocess.run(
        ["pdftoppm", "-gray", "-r", "20", str(out / "report.pdf"), str(tmp_path / "page")],
        check=True,
        timeout=120,
    )
    pages = sorted(tmp_path.glob("page*.pgm"))
    assert len(pages) >= 3
    for page in pages:
        data = page.read_bytes()
        pixels = data.split(b"\n", 3)[3]  # P5 header: magic, size, maxval
        assert min(pixels) < 128, f"{page.name} is blank"
    text = subprocess.run(
        ["pdftotext", "-layout", str(out / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    totals = document["inventories"]["2022"]["totals"]
    language: Language = "zh" if lang == "zh" else "en"
    for key in ("scope1_tco2e", "scope2_market_tco2e", "scope3_tco2e", "total_market_tco2e"):
        assert format_tonnes(totals[key], language) in text
    assert ("碳中和路线图" in text) == (lang == "zh")


# The report's chapters in the order a reader meets them, as the headings and the contents
# write them: what an executive reads first, then the disclosure tables, then the appendix.
CHAPTERS = {
    "en": [
        ("summary", "1 Summary"),
        ("targets", "2 Targets"),
        ("inventory", "3 Inventory"),
        ("electricity", "4 Green electricity"),
        ("roadmap", "5 Roadmap"),
        ("macc", "6 Marginal abatement cost curve"),
        ("uncertainty", "7 Scenarios and uncertainty"),
        ("progress", "8 Progress against the plan"),
        ("disclosure", "9 Disclosure tables"),
        ("boundary", "Appendix A Boundary and methodology"),
        ("quality", "Appendix B Data quality, fallbacks and assumptions"),
    ],
    "zh": [
        ("summary", "1 摘要"),
        ("targets", "2 目标"),
        ("inventory", "3 温室气体排放清单"),
        ("electricity", "4 绿色电力"),
        ("roadmap", "5 路线图"),
        ("macc", "6 边际减排成本曲线"),
        ("uncertainty", "7 情景与不确定性"),
        ("progress", "8 目标进展"),
        ("disclosure", "9 披露表"),
        ("boundary", "附录A 边界与方法学"),
        ("quality", "附录B 数据质量、替代因子与假设"),
    ],
}


def _contents(page: str) -> list[tuple[str, str, str]]:
    """The contents of a report page: each entry's link, heading text and page number."""
    nav = page[page.index('<nav id="contents">') : page.index("</nav>")]
    entries = re.findall(r'<a href="#([\w-]+)">(.*?)<span class="page">(\d*)</span></a>', nav)
    return [(link, re.sub(r"<[^>]+>", "", text), number) for link, text, number in entries]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_linked_contents(toy_runs: dict[str, Path], lang: str) -> None:
    out = toy_runs[lang]
    page = (out / "report.html").read_text(encoding="utf-8")
    entries = _contents(page)
    # every chapter in order, each linked to its heading; no page numbers without a PDF
    assert [(link, text) for link, text, _ in entries] == [
        (f"{section}-heading", heading) for section, heading in CHAPTERS[lang]
    ]
    assert all(number == "" for _, _, number in entries)
    for section, _ in CHAPTERS[lang]:
        assert re.search(f'<section id="{section}">\\n<h2 id="{section}-heading">', page)
    # the chapters come in the order of the contents, the appendix last
    starts = [page.index(f'<section id="{section}">') for section, _ in CHAPTERS[lang]]
    assert starts == sorted(starts)


def _pdf_pages(pdf: Path) -> list[list[str]]:
    """The lines of text of each page of a PDF (pdftotext), spaces removed (pdftotext spaces
    Chinese and wide layouts unevenly)."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return [
        [re.sub(r"\s+", "", line) for line in page.splitlines() if line.strip()]
        for page in text.split("\f")
    ]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pdf_summary_first_with_page_numbers(example_reports: dict[str, Path], lang: str) -> None:
    out = example_reports[lang]
    pages = _pdf_pages(out / "report.pdf")
    # the contents on the first page: each heading with its page number, in order
    contents = {}
    for section, heading in CHAPTERS[lang]:
        key = re.sub(r"\s+", "", heading)
        numbers = [
            line[len(key) :]
            for line in pages[0]
            if line.startswith(key) and line[len(key) :].isdigit()
        ]
        assert len(numbers) == 1, (heading, pages[0])
        contents[section] = int(numbers[0])
    # each heading stands on the page the contents give, and on no page before it
    for section, heading in CHAPTERS[lang]:
        key = re.sub(r"\s+", "", heading)
        on = [number for number, lines in enumerate(pages, start=1) if key in lines]
        assert on and on[0] == contents[section], (heading, on, contents[section])
    # the report page says the same numbers as the PDF's contents
    page = (out / "report.html").read_text(encoding="utf-8")
    assert [int(number) for _, _, number in _contents(page)] == list(contents.values())
    # with bookmarks (the PDF's outline, from the headings)
    assert b"/Outlines" in (out / "report.pdf").read_bytes()
    # an executive's first five pages: summary, targets, inventory and roadmap
    for section in ("summary", "targets", "inventory", "roadmap"):
        assert contents[section] <= 5, (section, contents)
    # the factor tables, the fallbacks and the lever parameters sit in the appendix, after
    # the last chapter (the disclosure tables), which starts on a page of its own
    assert contents["disclosure"] < contents["boundary"] < contents["quality"] < len(pages)
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    # no factor id shows before the appendix (a long id wraps in its cell: its first 12
    # characters are on one line)
    chapters = "".join("".join(lines) for lines in pages[: contents["boundary"] - 1])
    for row in document["factors_used_all"]:
        assert row["factor_id"][:12] not in chapters, row["factor_id"]
    titles = {
        "en": ("Emissionfactorsused(", "Factorfallbacks(", "Leverparametersandtheirsources"),
        "zh": ("使用的排放因子(", "因子替代(", "减排措施参数及来源"),
    }[lang]
    for title in titles:
        found = [n for n, lines in enumerate(pages, 1) if any(x.startswith(title) for x in lines)]
        assert found and min(found) >= contents["boundary"], (title, found, contents)


def test_names_in_both_languages() -> None:
    from tanlu.factors.library import SCOPE_CATEGORIES
    from tanlu.project import Target, TargetKind
    from tanlu.report.text import (
        CATEGORY_NAMES,
        LEVER_NAMES,
        category_name,
        lever_name,
        metric_name,
        target_name,
    )
    from tanlu.roadmap.levers import LEVERS
    from tanlu.roadmap.model import target_label

    # every bundled lever and every category has a name in each language
    assert set(LEVER_NAMES) == set(LEVERS)
    assert set(CATEGORY_NAMES) == {
        c for categories in SCOPE_CATEGORIES.values() for c in categories
    }
    assert lever_name("gec", "zh") == "绿证（GEC）"
    assert lever_name("my_custom_lever", "zh") == "my_custom_lever"  # custom levers keep their id
    assert category_name("cat6_business_travel", "zh") == "类别6 商务差旅"
    # targets and target metrics: no English words left in Chinese
    targets = [
        Target(kind=TargetKind.CARBON_NEUTRAL, year=2030, scopes=[1, 2, 3]),
        Target(kind=TargetKind.NET_ZERO, year=2050, scopes=[1, 2]),
        Target(kind=TargetKind.ABSOLUTE_REDUCTION, year=2030, scopes=[1, 2]),
        Target(kind=TargetKind.GREEN_ELECTRICITY, year=2030, share=1.0),
        Target(
            kind=TargetKind.INTENSITY_REDUCTION,
            year=2030,
            scopes=[1, 2],
            denominator="revenue_cny",
            annual_reduction_share=0.07,
        ),
    ]
    names = [target_name(target_label(t), "zh") for t in targets]
    assert names == [
        "2030年前范围1、2、3碳中和",
        "2050年前范围1、2净零排放",
        "2030年前范围1、2排放按目标路径绝对减排",
        "2030年前绿色电力占比达到100%",
        "2030年前范围1、2单位revenue_cny排放强度按目标路径下降",
    ]
    assert target_name(target_label(targets[0]), "en") == "carbon neutral in scopes 1, 2, 3 by 2030"
    assert (
        metric_name("target_0.carbon_neutral.scopes_1+2+3", "zh")
        == "目标1（范围1、2、3）：碳中和（净排放）"
    )
    assert metric_name("target_1.green_electricity", "en") == "Target 2: green electricity share"
    assert metric_name("gross_scope1_tco2e", "zh") == "范围一排放总量"
    assert (
        metric_name("target_2.intensity_reduction.scopes_1+2.per_revenue_cny", "zh")
        == "目标3（范围1、2，单位revenue_cny）：强度减排（每年占基准年强度比例）"
    )
    assert (
        metric_name("intensity_total_market.per_revenue_cny", "en")
        == "Emission intensity (total, market-based) per revenue_cny"
    )
    # each scope 3 category of the climate metrics, by the GHG Protocol's names
    assert (
        metric_name("gross_scope3_tco2e.cat6_business_travel", "en")
        == "Gross scope 3 emissions: 6 Business travel"
    )
    assert (
        metric_name("gross_scope3_tco2e.cat6_business_travel", "zh")
        == "范围三排放总量：类别6 商务差旅"
    )


def test_units_and_fallbacks_in_chinese() -> None:
    from tanlu.report.text import fallback_text, reference_name, unit_name

    assert [unit_name(u, "zh") for u in ("share", "share/yr", "flag", "year", "tCO2e")] == [
        "比例",
        "比例/年",
        "标志（1 = 是）",
        "年",
        "tCO2e",  # unit symbols as written
    ]
    assert unit_name("share/yr", "en") == "share/yr"
    assert (
        reference_name("CDP climate change questionnaire, energy", "zh")
        == "CDP 气候变化问卷（能源）"
    )
    assert reference_name("IFRS S2 29(a)", "zh") == "IFRS S2 29(a)"
    # the wordings of tanlu.factors.lookup and tanlu.inventory.calculate
    text = (
        "no electricity factor for Xizang: used national China; no 2021 factor: used 2025 "
        "(earliest later); CO2e factor uses AR4 GWPs, project uses AR5"
    )
    assert fallback_text(text, "en") == text
    assert fallback_text(text, "zh") == (
        "Xizang无该活动因子：采用全国（中国）因子；无2021年因子：采用2025年因子（此后最早年份）；"
        "CO2e 因子所用全球变暖潜势为AR4，项目采用AR5"
    )
    assert fallback_text("something new", "zh") == "something new"


def test_chinese_report_names_levers_and_categories_in_chinese(
    example_reports: dict[str, Path],
) -> None:
    from tanlu.report.text import CATEGORY_NAMES, LEVER_NAMES

    page = (example_reports["zh"] / "report.html").read_text(encoding="utf-8")
    # configuration identifiers (class "id": factor ids, setting paths) and sources are shown
    # as written
    page = re.sub(r'<td class="(id|source)">.*?</td>', " ", page, flags=re.S)
    visible = re.sub(
        r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    )
    for identifier in [*LEVER_NAMES, *CATEGORY_NAMES]:
        assert identifier not in visible, identifier
    assert "车队电动化" in visible and "类别1 外购商品和服务" in visible
    assert "carbon neutral in scopes" not in visible
    assert "深圳总部大楼" in visible and "hq_shenzhen" not in visible  # sites by their Chinese name
    assert "柴油（移动源，车辆）" in visible and "diesel_mobile" not in visible  # activities too
    assert "excluding_market_traded_non_fossil" not in visible
    # chart legends, units that are words, fallbacks and references in Chinese
    for english in (
        "baseline",
        "median",
        "share/yr",
        "flag",
        " share ",
        " year ",
        "ratio",
        "latest earlier",
        "earliest later",
        "GWPs",
        "market-based residual",
        "questionnaire",
        "CNY)",
    ):
        assert english not in visible, english
    assert "基准情景" in visible and "中位数" in visible and "比例/年" in visible
    assert "无2021年因子：采用2019年因子（此前最近年份）" in visible
    # the assumptions: the roadmap's settings and every lever parameter with its status
    assert "路线图设定（假设）" in visible and "减排措施参数及来源" in visible


def test_intensity_in_the_climate_metrics(make_project: MakeProject) -> None:
    toml = toy_toml(targets=INTENSITY, settings=GROWING, efficiency=False) + REVENUE
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    document = run_project(tanlu.load_project(root)).document
    metrics = {(r["metric"], r["year"]): r for r in document["disclosure"]["climate_metrics"]}
    # 2022: 1,000 MWh x 0.5856 t (market-based) over 1e8 CNY of revenue
    intensity = metrics[("intensity_total_market.per_revenue_cny", 2022)]
    assert intensity["value"] == pytest.approx(585.6 / 1e8)
    assert intensity["unit"] == "tCO2e/CNY"
    target = metrics[("target_0.intensity_reduction.scopes_2.per_revenue_cny", 2024)]
    assert target["value"] == pytest.approx(0.1) and target["unit"] == "share/yr"


def test_binding_constraints_summarised_by_hand() -> None:
    from tanlu.roadmap.plan import summarise_binding_constraints, year_ranges

    assert year_ranges([2030, 2024, 2025, 2026, 2028]) == "2024–2026, 2028, 2030"
    assert year_ranges([2030]) == "2030"
    assert year_ranges([2024.0, 2025.0]) == "2024–2025"  # a year column with gaps is float
    rows = [  # as RoadmapResult.binding_constraints writes them (shadow prices by hand)
        {"constraint": "ramp_share_of_purchase", "year": 2024, "site": "", "lever": "gec",
         "shadow_price_cny_per_unit": 5.59, "unit": "CNY/MWh"},
        {"constraint": "ramp_share_of_purchase", "year": 2025, "site": "", "lever": "gec",
         "shadow_price_cny_per_unit": 7.0, "unit": "CNY/MWh"},
        {"constraint": "within_purchase", "year": 2030, "site": "b", "lever": "",
         "shadow_price_cny_per_unit": 90.0, "unit": "CNY/MWh"},
        {"constraint": "within_purchase", "year": 2030, "site": "a", "lever": "",
         "shadow_price_cny_per_unit": 97.7, "unit": "CNY/MWh"},
        {"constraint": "target", "year": 2030, "site": "",
         "lever": "carbon neutral in scopes 1, 2 by 2030",
         "shadow_price_cny_per_unit": 681.4, "unit": "CNY/tCO2e"},
        {"constraint": "target_green", "year": 2030, "site": "", "lever": "100% green by 2030",
         "shadow_price_cny_per_unit": None, "unit": "CNY/MWh", "at_limit": True},
    ]  # fmt: skip
    summary = summarise_binding_constraints(rows)
    # the target first, then the families in the model's order; one entry per family and lever
    assert [(g["constraint"], g["lever"]) for g in summary] == [
        ("target", "carbon neutral in scopes 1, 2 by 2030"),
        ("target_green", "100% green by 2030"),
        ("ramp_share_of_purchase", "gec"),
        ("within_purchase", ""),
    ]
    # the highest price of each: 7.0 > 5.59 (row 1); 97.7 > 90.0 (row 3); none at the limit
    assert [g["index"] for g in summary] == [4, None, 1, 3]
    assert [g["at_limit"] for g in summary] == [False, True, False, False]
    assert [g["years"] for g in summary] == ["2030", "2030", "2024–2025", "2030"]
    assert [g["sites"] for g in summary] == [[], [], [], ["a", "b"]]
    assert summarise_binding_constraints([]) == []


def test_trajectory_targets_in_chinese() -> None:
    from tanlu.report.text import target_name

    fall = (
        "trajectory: net emissions of scopes 1, 2, 3 fall by at most 35% of the base year's "
        "in a year"
    )
    line = (
        "trajectory: gross emissions of scopes 1, 2 on the straight line from 2021 to 10% of it "
        "by 2030"
    )
    assert target_name(fall, "zh") == "减排路径：范围1、2、3净排放单年降幅不超过基准年的35%"
    assert (
        target_name(line, "zh") == "减排路径：范围1、2总排放不高于2021年至2030年降至基准年10%的直线"
    )
    assert target_name(fall, "en") == fall


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_binding_constraints_in_the_roadmap_chapter(
    example_reports: dict[str, Path], lang: str
) -> None:
    from tanlu.report.text import label

    out = example_reports[lang]
    page = (out / "report.html").read_text(encoding="utf-8")
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    binding = document["roadmap"]["binding_constraints"]
    assert binding  # the example's plan is held by its ramps, targets and trajectory
    roadmap = page[page.index('id="roadmap-heading"') : page.index('id="macc-heading"')]
    section = _section(roadmap, label("binding", lang))
    shown = re.findall(
        r'data-path="roadmap\.binding_constraints\.(\d+)\.shadow_price_cny_per_unit"', section
    )
    # one row per constraint family and lever/target, each showing its highest shadow price
    families = {(row["constraint"], row["lever"]) for row in binding if not row["at_limit"]}
    assert len(shown) == len(families)
    for index in map(int, shown):
        row = binding[index]
        same = [
            r["shadow_price_cny_per_unit"]
            for r in binding
            if (r["constraint"], r["lever"]) == (row["constraint"], row["lever"])
            and r["shadow_price_cny_per_unit"] is not None
        ]
        assert row["shadow_price_cny_per_unit"] == max(same)
    # the contract ramp binds in the example (the glide path), named in the report's language
    assert label("binding", lang) in page
    assert ("Purchase growth" if lang == "en" else "采购增长上限") in section


def test_every_constraint_family_has_a_name() -> None:
    # the report names each family of the roadmap model (tanlu.roadmap.plan) in both languages
    from tanlu.report.text import CONSTRAINT_NAMES, constraint_name
    from tanlu.roadmap.plan import CONSTRAINT_MEANINGS

    assert list(CONSTRAINT_NAMES) == list(CONSTRAINT_MEANINGS)  # same families, same order
    assert constraint_name("trajectory_fall", "zh") == "单年最大降幅"
