"""`tanlu run`: every figure in the report is the JSON's; both languages; no partial report."""

from __future__ import annotations

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

from tanlu.cli import app
from tanlu.report.html import resolve
from tanlu.report.text import Language, format_tonnes
from tanlu.report.write import chromium_command

from .conftest import MakeProject
from .test_roadmap import ACTIVITIES, PRICES, toy_toml

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


def toy_project(make_project: MakeProject) -> Path:
    toml = toy_toml()
    return make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_figure_is_the_json(make_project: MakeProject, tmp_path: Path, lang: str) -> None:
    root = toy_project(make_project)
    out = tmp_path / "out"
    args = ["run", str(root), "--out", str(out), "--lang", lang, "--no-pdf"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "results.json", "results.xlsx"]
    parser = check_report(out)
    assert parser.lang == ("zh-CN" if lang == "zh" else "en")
    assert {"emissions_by_scope", "green_share", "wedges", "macc"} <= set(parser.charts)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert ("碳中和路线图" in html) == (lang == "zh")
    # offline: no scripts, no external resources
    assert "<script" not in html and not re.search(r"""(src|href)=["']https?:""", html)


def test_workbook_has_the_disclosure_tables(make_project: MakeProject, tmp_path: Path) -> None:
    root = toy_project(make_project)
    out = tmp_path / "out"
    assert CliRunner().invoke(app, ["run", str(root), "--out", str(out), "--no-pdf"]).exit_code == 0
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    sheets = pd.read_excel(out / "results.xlsx", sheet_name=None)
    assert {"ghg_protocol", "climate_metrics", "roadmap_by_year", "macc"} <= set(sheets)
    ghg = sheets["ghg_protocol"]
    rows = document["disclosure"]["ghg_protocol"]
    assert len(ghg) == len(rows)
    assert ghg["emissions_tco2e"].tolist() == pytest.approx([r["emissions_tco2e"] for r in rows])
    # scope 2 market-based 2022: 1,000 MWh x 0.5856 (MEE/NBS 2022 residual factor)
    line = ghg.loc[(ghg["year"] == 2022) & (ghg["line"] == "scope2_market")]
    assert float(line["emissions_tco2e"].iloc[0]) == pytest.approx(585.6)


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
    """The example's report in both languages, PDF included (as `make demo` makes them)."""
    folders = {}
    for lang in ("en", "zh"):
        out = tmp_path_factory.mktemp(f"example_{lang}")
        args = ["run", str(EXAMPLE), "--out", str(out), "--lang", lang]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
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
    assert document["uncertainty"]["samples"] == 20
    assert "uncertainty" in parser.charts
    assert document["progress"]["plan_from_year"] == 2021
    assert [row["year"] for row in document["progress"]["summary"]] == [2022]


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
    assert count is not None and count.group(1) == count.group(2) == "5"
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
