"""SVG charts: valid XML, every plotted number read back, pixel arithmetic checked by hand."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tanlu.report.charts import (
    PALETTE,
    PLOT_HEIGHT_PX,
    PLOT_WIDTH_PX,
    band_chart,
    line_chart,
    macc_chart,
    nice_ticks,
    stacked_bar_chart,
    step_chart,
    wedge_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
PX = 0.01  # coordinates are written to 0.01 px


def parse(svg: str, name: str = "c", title: str | None = None) -> ET.Element:
    """Parse the chart and check what every chart has: the root's attributes, title and desc."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("class") == "chart"
    assert root.get("data-chart") == name
    assert root.get("viewBox", "").startswith("0 0 ")
    assert [child.tag for child in root[:2]] == [f"{SVG}title", f"{SVG}desc"]
    if title is not None:
        assert root[0].text == title
    for mark in marks(root):  # every data mark carries its series, x and raw value
        assert mark.get("data-series") is not None
        assert mark.get("data-x") is not None
    return root


def marks(root: ET.Element, tag: str = "*") -> list[ET.Element]:
    return [el for el in root.iter(f"{SVG}{tag}") if el.get("data-value") is not None]


def series_values(root: ET.Element, tag: str) -> dict[str, list[float]]:
    """``data-value`` of the ``tag`` marks by series, in document order."""
    out: dict[str, list[float]] = {}
    for mark in marks(root, tag):
        out.setdefault(mark.get("data-series", ""), []).append(float(mark.get("data-value", "")))
    return out


def floats(text: str | None) -> list[float]:
    return [float(v) for v in (text or "").split(",")]


def zero_line_y(root: ET.Element) -> float:
    lines = [el for el in root.iter(f"{SVG}line") if el.get("class") == "zero"]
    (line,) = [el for el in lines if el.get("y1") == el.get("y2")]  # the horizontal one
    return float(line.get("y1", ""))


def texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter(f"{SVG}text")]


# --- ticks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0, 87, [0, 20, 40, 60, 80, 100]),  # step 10 needs 10 ticks, 20 needs 6
        (0, 100, [0, 20, 40, 60, 80, 100]),
        (0, 0.87, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),  # exact decimals, not 0.6000000000000001
        (0, 4.3e6, [0, 1e6, 2e6, 3e6, 4e6, 5e6]),
        (1.9, 10.1, [0, 2.5, 5, 7.5, 10, 12.5]),  # step 2 needs 0..12 = 7 ticks
        (-30, 87, [-50, 0, 50, 100]),  # 20 needs -40..100 = 8, 25 needs -50..100 = 7
        (-4, -1, [-4, -3, -2, -1]),
        (0, 0, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),  # an empty range becomes 0..1
    ],
)
def test_nice_ticks(low: float, high: float, ticks: list[float]) -> None:
    assert nice_ticks(low, high) == ticks


@settings(max_examples=300, deadline=None)
@given(
    st.floats(-1e9, 1e9, allow_nan=False, allow_subnormal=False),
    st.floats(0, 1e9, allow_nan=False, allow_subnormal=False),
)
def test_nice_ticks_properties(low: float, span: float) -> None:
    high = low + span
    ticks = nice_ticks(low, high)
    step = ticks[1] - ticks[0]
    assert 4 <= len(ticks) <= 6
    assert ticks[0] <= low and ticks[-1] >= high
    resolution = 1e-9 * max(abs(tick) for tick in ticks)  # floats near 16 differ by 3.6e-15
    assert all(
        b > a and math.isclose(b - a, step, abs_tol=resolution)
        for a, b in itertools.pairwise(ticks)
    )
    mantissa = step / 10 ** math.floor(math.log10(step))
    # a step of 2e-10 of the ticks' magnitude is read to within a few floats' resolution
    assert any(math.isclose(mantissa, m, rel_tol=1e-5) for m in (1, 2, 2.5, 5, 10))
    if low <= 0 <= high:
        assert 0 in ticks


def test_nice_ticks_rejects_bad_ranges() -> None:
    for low, high in [(1, 0), (math.nan, 1), (0, math.inf)]:
        with pytest.raises(ValueError, match="cannot make ticks"):
            nice_ticks(low, high)


# --- stacked bars --------------------------------------------------------------------------


def test_stacked_bars_round_trip_and_heights() -> None:
    svg = stacked_bar_chart("c", "Emissions", ["2022"], {"a": [10.0], "b": [20.0]}, "tCO2e")
    root = parse(svg, title="Emissions")
    assert series_values(root, "rect") == {"a": [10.0], "b": [20.0]}
    a, b = marks(root, "rect")
    # the stack reaches 30: ticks 0, 10, 20, 30 over the plot's 240 px, so 8 px per tCO2e:
    # a is 10 * 8 = 80 px tall, b 20 * 8 = 160 px, twice a, and b sits on a, on the zero line
    assert PLOT_HEIGHT_PX == 240
    assert float(a.get("height", "")) == pytest.approx(80, abs=PX)
    assert float(b.get("height", "")) == pytest.approx(160, abs=PX)
    zero = zero_line_y(root)
    assert float(a.get("y", "")) + 80 == pytest.approx(zero, abs=PX)
    assert float(b.get("y", "")) + 160 == pytest.approx(float(a.get("y", "")), abs=PX)
    assert [a.get("data-x"), b.get("data-x")] == ["2022", "2022"]
    assert [a.get("fill"), b.get("fill")] == [PALETTE[0], PALETTE[1]]
    assert {"10", "20", "30", "tCO2e", "a", "b", "2022"} <= set(texts(root))


def test_stacked_bars_negative_go_below_zero() -> None:
    series = {"scope 1": [10.0, 4.0], "removals": [-5.0, -2.0], "scope 2": [20.0, 8.0]}
    root = parse(stacked_bar_chart("c", "t", ["2022", "2023"], series, "tCO2e"))
    assert series_values(root, "rect") == {
        "scope 1": [10.0, 4.0],
        "removals": [-5.0, -2.0],
        "scope 2": [20.0, 8.0],
    }
    # ticks -10, 0, 10, 20, 30 over 240 px: 6 px per tCO2e; the zero line is 10 * 6 = 60 px
    # above the bottom of the plot
    zero = zero_line_y(root)
    for mark in marks(root, "rect"):
        value, y = float(mark.get("data-value", "")), float(mark.get("y", ""))
        height = float(mark.get("height", ""))
        assert height == pytest.approx(abs(value) * 6, abs=PX)
        if value < 0:
            assert y == pytest.approx(zero, abs=PX)  # hangs from the zero line
        else:
            assert y + height <= zero + PX
    assert "-10" in texts(root)


def test_palette_cycles() -> None:
    series = {f"s{k}": [1.0] for k in range(9)}
    root = parse(stacked_bar_chart("c", "t", ["x"], series, "t"))
    fills = [mark.get("fill") for mark in marks(root, "rect")]
    assert fills == [*PALETTE, PALETTE[0]]


# --- wedges --------------------------------------------------------------------------------


def test_wedge_chart_round_trip() -> None:
    years = [2025, 2026, 2027]
    baseline = [100.0, 110.0, 120.0]
    wedges = {"efficiency": [10.0, 20.0, 30.0], "solar": [5.0, 10.0, 15.0]}
    net = [85.0, 80.0, 75.0]
    root = parse(wedge_chart("w", "Wedges", years, baseline, wedges, net, "tCO2e"), name="w")
    polygons = list(root.iter(f"{SVG}polygon"))
    assert {p.get("data-series"): floats(p.get("data-values")) for p in polygons} == wedges
    assert all(p.get("data-x") == "2025,2026,2027" for p in polygons)
    assert series_values(root, "circle") == {"baseline": baseline, "net": net}
    # the first wedge's top edge is the baseline; the second starts where the first ends:
    # ticks 0..125 (step 25) over 240 px, 1.92 px per tCO2e from the bottom at 268 px
    bottom = zero_line_y(root)
    baseline_y = [float(c.get("cy", "")) for c in marks(root, "circle")[:3]]
    assert baseline_y == pytest.approx([bottom - 1.92 * v for v in baseline], abs=PX)
    first = [
        [float(v) for v in point.split(",")] for point in polygons[0].get("points", "").split()
    ]
    assert [y for _, y in first[:3]] == pytest.approx(baseline_y, abs=PX)
    second = [
        [float(v) for v in point.split(",")] for point in polygons[1].get("points", "").split()
    ]
    assert [y for _, y in second[:3]] == pytest.approx([y for _, y in first[3:][::-1]], abs=PX)
    assert [y for _, y in second[3:][::-1]] == pytest.approx(
        [bottom - 1.92 * v for v in (85, 80, 75)],
        abs=PX,  # 100-10-5, 110-20-10, 120-30-15
    )


# --- MACC ----------------------------------------------------------------------------------


def test_macc_widths_heights_and_negative_costs() -> None:
    bars = [("LED", 100.0, -200.0), ("PV", 300.0, 150.0), ("EV", 100.0, 400.0)]
    root = parse(macc_chart("m", "MACC", bars, "tCO2e", "CNY/tCO2e"), name="m")
    rects = marks(root, "rect")
    read = [
        (r.get("data-series"), float(r.get("data-width", "")), float(r.get("data-value", "")))
        for r in rects
    ]
    assert read == bars
    assert [float(r.get("data-x", "")) for r in rects] == [0, 100, 400]  # cumulative starts
    # x: ticks 0..500 (step 100) over 552 px; y: -200..400 (step 200) over 240 px, 0.4 px each
    widths = [float(r.get("width", "")) for r in rects]
    assert widths == pytest.approx([100 * 552 / 500, 300 * 552 / 500, 100 * 552 / 500], abs=PX)
    assert PLOT_WIDTH_PX == 552
    heights = [float(r.get("height", "")) for r in rects]
    assert heights == pytest.approx([200 * 0.4, 150 * 0.4, 400 * 0.4], abs=PX)
    zero = zero_line_y(root)
    assert float(rects[0].get("y", "")) == pytest.approx(zero, abs=PX)  # below the line
    assert float(rects[1].get("y", "")) + heights[1] == pytest.approx(zero, abs=PX)
    lefts = [float(r.get("x", "")) for r in rects]
    assert lefts[1] == pytest.approx(lefts[0] + widths[0], abs=PX)  # side by side
    assert {"CNY/tCO2e", "tCO2e", "PV", "-200", "500"} <= set(texts(root))


def test_macc_rejects_negative_abatement() -> None:
    with pytest.raises(ValueError, match="abatement must be >= 0"):
        macc_chart("m", "t", [("x", -1.0, 5.0)], "tCO2e", "CNY/tCO2e")


# --- lines and bands -----------------------------------------------------------------------


def test_line_chart_share_in_percent() -> None:
    root = parse(
        line_chart(
            "g",
            "Green share",
            [2025, 2026, "2030"],
            {"green": [0.25, 0.5, 1.0], "target": [0.3, 0.6, 0.9]},
            "%",
            format_number=lambda v: f"{v:.0%}",
            y_min=0.0,
            y_max=1.0,
        ),
        name="g",
    )
    assert series_values(root, "circle") == {"green": [0.25, 0.5, 1.0], "target": [0.3, 0.6, 0.9]}
    assert [c.get("data-x") for c in marks(root, "circle")][:3] == ["2025", "2026", "2030"]
    assert {"0%", "20%", "40%", "60%", "80%", "100%"} <= set(texts(root))
    # 0.5 of the 0..1 axis is half the plot height above the zero line
    middle = marks(root, "circle")[1]
    assert float(middle.get("cy", "")) == pytest.approx(zero_line_y(root) - 120, abs=PX)
    assert len([p for p in root.iter(f"{SVG}path") if p.get("class") == "line"]) == 2


def test_band_chart_round_trip() -> None:
    years, low, mid, high = [2030, 2035], [80.0, 60.0], [100.0, 75.0], [130.0, 95.0]
    root = parse(band_chart("b", "Monte Carlo", years, low, mid, high, "tCO2e"), name="b")
    (band,) = root.iter(f"{SVG}polygon")
    assert band.get("data-series") == "P5–P95"
    assert floats(band.get("data-low")) == low
    assert floats(band.get("data-high")) == high
    assert series_values(root, "circle") == {"median": mid}


def test_lengths_and_finite_values_are_checked() -> None:
    with pytest.raises(ValueError, match="a: 1 values for 2 points"):
        stacked_bar_chart("c", "t", ["x", "y"], {"a": [1.0]}, "t")
    with pytest.raises(ValueError, match="finite"):
        line_chart("c", "t", [1], {"a": [math.nan]}, "t")


# --- text ----------------------------------------------------------------------------------


def test_chinese_and_markup_characters_are_escaped() -> None:
    nasty = "范围一 <b>&\"'</b>"
    svg = stacked_bar_chart(
        f"id {nasty}", f"排放 {nasty}", [f"二〇二二 {nasty}"], {nasty: [1.5]}, f"吨 {nasty}"
    )
    assert "<b>" not in svg
    root = parse(svg, name=f"id {nasty}", title=f"排放 {nasty}")
    (mark,) = marks(root, "rect")
    assert mark.get("data-series") == nasty
    assert mark.get("data-x") == f"二〇二二 {nasty}"
    assert {f"吨 {nasty}", f"二〇二二 {nasty}", nasty} <= set(texts(root))


def test_characters_xml_cannot_hold_are_dropped() -> None:
    root = parse(stacked_bar_chart("c", "t\x00\x1b", ["a\x0b"], {"s\ufffe": [1.0]}, "t"))
    assert root[0].text == "t"
    assert series_values(root, "rect") == {"s": [1.0]}


# --- empty input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "svg",
    [
        stacked_bar_chart("c", "t", [], {}, "t", empty_text="无数据"),
        stacked_bar_chart("c", "t", ["2022"], {}, "t", empty_text="无数据"),
        wedge_chart("c", "t", [], [], {}, [], "t", empty_text="无数据"),
        macc_chart("c", "t", [], "t", "CNY/t", empty_text="无数据"),
        line_chart("c", "t", [], {"a": []}, "t", empty_text="无数据"),
        band_chart("c", "t", [], [], [], [], "t", empty_text="无数据"),
    ],
)
def test_empty_input_says_so(svg: str) -> None:
    root = parse(svg, title="t")
    assert texts(root) == ["无数据"]
    assert marks(root) == []


# --- any non-negative data -----------------------------------------------------------------

label = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Cn")), min_size=1, max_size=12
)  # XML keeps no surrogates or control characters, and turns tabs and newlines in attributes
# into spaces
value = st.floats(0, 1e12, allow_nan=False, allow_infinity=False)


@st.composite
def table(draw: st.DrawFn) -> tuple[list[str], dict[str, list[float]]]:
    columns = draw(st.lists(label, min_size=1, max_size=8))
    names = draw(st.lists(label, min_size=1, max_size=10, unique=True))
    size = len(columns)
    return columns, {n: draw(st.lists(value, min_size=size, max_size=size)) for n in names}


@settings(max_examples=100, deadline=None)
@given(table())
@example((["0"], {"-0": [0.0]}))  # once written "0": the negative-zero cleanup is for pixels only
def test_any_non_negative_series_round_trip(data: tuple[list[str], dict[str, list[float]]]) -> None:
    columns, series = data
    root = parse(stacked_bar_chart("c", "t", columns, series, "tCO2e"))
    assert series_values(root, "rect") == series
    assert [m.get("data-x") for m in marks(root, "rect")][:: len(series)] == columns
    for mark in marks(root, "rect"):
        assert float(mark.get("height", "")) >= 0
    root = parse(line_chart("c", "t", columns, series, "tCO2e"))
    assert series_values(root, "circle") == series


@settings(max_examples=50, deadline=None)
@given(table())
def test_any_non_negative_wedges_round_trip(data: tuple[list[str], dict[str, list[float]]]) -> None:
    columns, wedges = data
    years = list(range(2025, 2025 + len(columns)))
    baseline = [sum(column) + 1.0 for column in zip(*wedges.values(), strict=True)]
    net = [1.0] * len(years)
    root = parse(wedge_chart("w", "t", years, baseline, wedges, net, "tCO2e"), name="w")
    polygons = list(root.iter(f"{SVG}polygon"))
    assert {p.get("data-series"): floats(p.get("data-values")) for p in polygons} == wedges
    assert series_values(root, "circle") == {"baseline": baseline, "net": net}


def test_step_chart_by_hand() -> None:
    svg = step_chart(
        "s",
        "Steps",
        {"model": [(100.0, 50.0), (300.0, 50.0), (500.0, 400.0)], "bottom-up": [(100.0, -200.0)]},
        "tCO2e",
        "CNY/tCO2e",
    )
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    points = [
        (c.get("data-series"), float(c.get("data-x", "")), float(c.get("data-value", "")))
        for c in root.iter(f"{ns}circle")
    ]
    assert points == [
        ("model", 100, 50),
        ("model", 300, 50),
        ("model", 500, 400),
        ("bottom-up", 100, -200),
    ]
    # x: 0..500 t over 552 px from 72 px (1.104 px/t); y: -200..400 over 240 px from 28 px
    # (0.4 px per CNY/t, 400 at the top): 50 -> 28 + 350 x 0.4 = 168 px, 400 -> 28 px
    [model] = [p for p in root.iter(f"{ns}path") if p.get("data-series") == "model"]
    assert model.get("d") == "M 72 168 L 182.4 168 L 182.4 168 L 403.2 168 L 403.2 28 L 624 28"
    with pytest.raises(ValueError, match="ascending"):
        step_chart("s", "t", {"x": [(2.0, 1.0), (1.0, 1.0)]}, "t", "CNY/t")
    assert "no data" in step_chart("s", "t", {"x": []}, "t", "CNY/t")
