"""Dependency-free SVG charts for the self-contained HTML report (and its PDF through Chromium).

Every function returns one ``<svg>`` string: no JavaScript, no external fonts or files. Text
inherits the page's ``font-family`` and colour (``currentColor``), so Chinese labels are just
text. The root element is ``<svg xmlns=... viewBox="0 0 W H" role="img" class="chart"
data-chart="{name}">`` with a ``<title>`` (the chart's title) and a ``<desc>``; the visible
title is left to the report's figure caption.

Every data mark carries its raw numbers (``repr`` of the float) so that a test, or a reader of
the HTML, can get the plotted values back:

- ``rect`` and ``circle``: ``data-series``, ``data-x`` and ``data-value`` (MACC bars also
  ``data-width``);
- ``circle`` of a step chart: ``data-series``, ``data-x`` (the step's right end) and
  ``data-value``;
- ``polygon`` (wedges, bands): ``data-series``, ``data-x`` and comma-separated values per x
  (``data-values``; bands ``data-low`` and ``data-high``).

Numbers shown on the chart go through ``format_number``, which the caller chooses per language
(thousands separators, percent for shares). Values on the y axis may be negative: the axis always
includes 0, bars grow from the zero line. Empty input gives a small chart that says
``empty_text``. Colours are the Okabe-Ito colour-blind-safe palette, cycled.
"""

from __future__ import annotations

import html
import itertools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "PALETTE",
    "PLOT_HEIGHT_PX",
    "PLOT_WIDTH_PX",
    "band_chart",
    "line_chart",
    "macc_chart",
    "nice_ticks",
    "stacked_bar_chart",
    "step_chart",
    "wedge_chart",
]

# Okabe & Ito (2008), "Color Universal Design (CUD): how to make figures and presentations that
# are friendly to colorblind people", https://jfly.uni-koeln.de/color/ (black left out: it is
# the text and line colour here).
PALETTE = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#999999",
)

# Layout [px in the viewBox]: the plot area, with room for the y labels on the left, the unit
# above, the x labels and the legend below.
WIDTH_PX = 640
PLOT_LEFT_PX = 72.0
PLOT_TOP_PX = 28.0
PLOT_WIDTH_PX = 552.0
PLOT_HEIGHT_PX = 240.0
_PLOT_BOTTOM_PX = PLOT_TOP_PX + PLOT_HEIGHT_PX
_PLOT_RIGHT_PX = PLOT_LEFT_PX + PLOT_WIDTH_PX
_FONT_PX = 11.0
_GRID = "#d9d9d9"
_NICE_MANTISSAS = (1.0, 2.0, 2.5, 5.0)
# Characters XML 1.0 does not allow, even escaped (C0 controls but tab, newline, return, ...).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

Scale = Callable[[float], float]
Attrs = dict[str, str | float]


def _format_default(value: float) -> str:
    return f"{value:,.0f}"


# ---------------------------------------------------------------------------------------------
# Helpers: escaping and elements, the axis, the legend.


def _el(tag: str, attrs: Attrs, content: str = "") -> str:
    """One SVG element; attribute values escaped, floats written as pixels to 0.01 px."""
    parts = [tag]
    for key, value in attrs.items():
        text = value if isinstance(value, str) else _px(value)
        parts.append(f'{key}="{_esc(text)}"')
    return f"<{' '.join(parts)}>{content}</{tag}>"


def _px(value: float) -> str:
    """A coordinate to 0.01 px, without trailing zeros or a negative zero."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _esc(text: str) -> str:
    """Escape text for XML and HTML alike, dropping the characters XML cannot hold."""
    return html.escape(_NOT_XML.sub("", text), quote=True)


def _text(x: float, y: float, content: str, anchor: str = "start") -> str:
    attrs: Attrs = {
        "x": x,
        "y": y,
        "text-anchor": anchor,
        "font-size": _FONT_PX,
        "fill": "currentColor",
    }
    return _el("text", attrs, _esc(content))


def _text_width(text: str) -> float:
    """Estimated width of ``text`` [px]: wide (CJK) characters are a full em, others 0.6 em."""
    wide = sum(unicodedata.east_asian_width(char) in "WF" for char in text)
    return (wide + 0.6 * (len(text) - wide)) * _FONT_PX


def nice_ticks(low: float, high: float, max_ticks: int = 6) -> list[float]:
    """Evenly spaced "nice" ticks that cover ``[low, high]``.

    The step is the smallest 1, 2, 2.5 or 5 x 10^n that covers the range with at most
    ``max_ticks`` ticks; as the next smaller step needed more, there are at least 4 (for
    ``max_ticks=6``). Ticks are whole multiples of the step, so 0 is one when the range holds it.

    Parameters
    ----------
    low, high
        The range to cover, in the data's unit; a range narrower than 1e-9 of its magnitude (or
        empty) is widened upwards.
    max_ticks
        The most ticks to return.

    Returns
    -------
    list of float
        The ticks, ascending; the first <= ``low`` and the last >= ``high``.
    """
    if not math.isfinite(high - low) or low > high:
        raise ValueError(f"cannot make ticks for the range {low!r}..{high!r}")
    span = high - low if high > low else abs(low) or 1.0
    # a span near the floats' resolution at this magnitude (or subnormal) would give equal ticks
    span = max(span, 1e-9 * max(abs(low), abs(high)), 1e-300)
    exponent = math.floor(math.log10(span)) - 2  # a step of at most span/20: too many ticks
    while True:
        for mantissa in _NICE_MANTISSAS:
            # m / 10^-e keeps 0.1, 0.2, 0.25 ... exact to the float's precision (3 * 0.1 is not)
            def tick(i: int, m: float = mantissa, e: int = exponent) -> float:
                return i * m * 10.0**e if e >= 0 else i * m / 10.0**-e

            top, step = max(high, low + span), tick(1)
            # the nearest multiples, corrected for rounding (0.6 / 0.2 is 2.9999999999999996)
            first, last = math.floor(low / step), math.ceil(top / step)
            first += (tick(first + 1) <= low) - (tick(first) > low)
            last += (tick(last) < top) - (tick(last - 1) >= top)
            if last - first + 1 <= max_ticks:
                return [tick(i) for i in range(first, last + 1)]
        exponent += 1


def _axis(
    low: float,
    high: float,
    unit: str,
    format_number: Callable[[float], str],
    horizontal: bool = False,
) -> tuple[Scale, list[str]]:
    """The scale from data to pixels and the axis's gridlines, tick labels and unit.

    The vertical axis runs up the plot area with its unit above; the horizontal one runs along
    the bottom with its unit at the right, under the tick labels. The line at 0 is drawn darker.
    """
    ticks = nice_ticks(low, high)
    first, last = ticks[0], ticks[-1]
    start, end = (PLOT_LEFT_PX, _PLOT_RIGHT_PX) if horizontal else (_PLOT_BOTTOM_PX, PLOT_TOP_PX)

    def scale(value: float) -> float:
        return start + (value - first) / (last - first) * (end - start)

    parts = []
    for value in ticks:
        at = scale(value)
        style: Attrs = (
            {"class": "zero", "stroke": "currentColor"} if value == 0 else {"stroke": _GRID}
        )
        if horizontal:
            ends: Attrs = {"x1": at, "y1": PLOT_TOP_PX, "x2": at, "y2": _PLOT_BOTTOM_PX}
            label = _text(at, _PLOT_BOTTOM_PX + 16, format_number(value), "middle")
        else:
            ends = {"x1": PLOT_LEFT_PX, "y1": at, "x2": _PLOT_RIGHT_PX, "y2": at}
            label = _text(PLOT_LEFT_PX - 6, at + 4, format_number(value), "end")
        parts += [_el("line", {**ends, **style, "stroke-width": 1.0}), label]
    if horizontal:
        parts.append(_text(_PLOT_RIGHT_PX, _PLOT_BOTTOM_PX + 32, unit, "end"))
    else:
        parts.append(_text(8, PLOT_TOP_PX - 12, unit))
    return scale, parts


def _legend(items: Sequence[tuple[str, str, str]], top: float) -> tuple[list[str], float]:
    """Legend entries ``(label, colour, kind)`` in rows from ``top``; kind is box, line or dash.

    Returns the elements and the height used [px].
    """
    parts, x, y, row_px = [], PLOT_LEFT_PX, top, 18.0
    for label, colour, kind in items:
        width = 16 + 4 + _text_width(label) + 16
        if x > PLOT_LEFT_PX and x + width > WIDTH_PX - 8:
            x, y = PLOT_LEFT_PX, y + row_px
        if kind == "box":
            box: Attrs = {"x": x, "y": y, "width": 12.0, "height": 12.0, "fill": colour}
            parts.append(_el("rect", {**box, "class": "legend"}))
        else:
            ends: Attrs = {"x1": x, "y1": y + 6, "x2": x + 16, "y2": y + 6, "stroke": colour}
            dash: Attrs = {"stroke-dasharray": "4 3"} if kind == "dash" else {}
            parts.append(_el("line", {**ends, **dash, "stroke-width": 2.0}))
        parts.append(_text(x + 20, y + 10, label))
        x += width
    return parts, y + row_px - top


def _x_labels(labels: Sequence[str], centres: Sequence[float]) -> list[str]:
    """Category labels under the plot, every k-th one when they would not fit side by side."""
    widest = max(_text_width(label) for label in labels) + 8
    every = max(1, math.ceil(len(labels) * widest / PLOT_WIDTH_PX))
    return [
        _text(centre, _PLOT_BOTTOM_PX + 16, label, "middle")
        for index, (label, centre) in enumerate(zip(labels, centres, strict=True))
        if index % every == 0
    ]


def _line(
    label: str,
    xs: Sequence[str],
    centres: Sequence[float],
    values: Sequence[float],
    y: Scale,
    colour: str,
    dashed: bool = False,
) -> list[str]:
    """A line through the values, a circle (the data mark) at each point."""
    points = " L ".join(f"{_px(x)} {_px(y(v))}" for x, v in zip(centres, values, strict=True))
    stroke: Attrs = {"stroke": colour, "stroke-width": 2.0, "fill": "none"}
    dash: Attrs = {"stroke-dasharray": "6 4"} if dashed else {}
    parts = [
        _el("path", {"class": "line", "data-series": label, "d": f"M {points}", **stroke, **dash})
    ]
    for x, centre, value in zip(xs, centres, values, strict=True):
        mark: Attrs = {"data-series": label, "data-x": x, "data-value": repr(float(value))}
        parts.append(
            _el("circle", {"cx": centre, "cy": y(value), "r": 3.0, "fill": colour, **mark})
        )
    return parts


def _check(values: Sequence[float], length: int, what: str) -> list[float]:
    """The values as floats, after checking there are ``length`` of them and all are finite."""
    if len(values) != length:
        raise ValueError(f"{what}: {len(values)} values for {length} points")
    numbers = [float(value) for value in values]
    if not all(math.isfinite(number) for number in numbers):
        raise ValueError(f"{what}: values must be finite numbers, got {list(values)!r}")
    return numbers


def _centres(count: int) -> list[float]:
    band = PLOT_WIDTH_PX / count
    return [PLOT_LEFT_PX + (index + 0.5) * band for index in range(count)]


def _extent(values: Iterable[float]) -> tuple[float, float]:
    """The range of the values, widened to hold 0."""
    numbers = list(values)
    return min(0.0, *numbers), max(0.0, *numbers)


def _svg(name: str, title: str, desc: str, height: float, parts: Iterable[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH_PX} {math.ceil(height)}" '
        f'role="img" class="chart" data-chart="{_esc(name)}">'
    )
    return "\n".join(
        [head, f"<title>{_esc(title)}</title>", f"<desc>{_esc(desc)}</desc>", *parts, "</svg>"]
    )


def _empty(name: str, title: str, empty_text: str) -> str:
    return _svg(name, title, empty_text, 60, [_text(WIDTH_PX / 2, 34, empty_text, "middle")])


def _finish(
    name: str,
    title: str,
    desc: str,
    parts: list[str],
    legend: Sequence[tuple[str, str, str]],
    legend_top: float,
) -> str:
    legend_parts, legend_px = _legend(legend, legend_top)
    return _svg(name, title, desc, legend_top + legend_px + 8, [*parts, *legend_parts])


# ---------------------------------------------------------------------------------------------
# Charts


def stacked_bar_chart(
    name: str,
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    unit: str,
    format_number: Callable[[float], str] = _format_default,
    empty_text: str = "no data",
) -> str:
    """Stacked vertical bars per category, e.g. emissions by scope per year.

    Positive values stack up from the zero line, negative ones down from it, each in the order of
    ``series``.

    Parameters
    ----------
    name
        Identifies the chart in ``data-chart``.
    title
        The chart's ``<title>``.
    categories
        The bars, left to right (e.g. years as text).
    series
        Series name -> one value per category [``unit``, e.g. tCO2e].
    unit
        The values' unit, shown above the y axis.
    format_number
        Formats tick values and tooltips.
    empty_text
        Shown when there are no categories or no series.

    Returns
    -------
    str
        The SVG; each ``rect`` has ``data-series``, ``data-x`` (the category) and ``data-value``.
    """
    if not categories or not series:
        return _empty(name, title, empty_text)
    values = {label: _check(vals, len(categories), label) for label, vals in series.items()}
    columns = list(zip(*values.values(), strict=True))
    low, _ = _extent(sum(min(v, 0.0) for v in column) for column in columns)
    _, high = _extent(sum(max(v, 0.0) for v in column) for column in columns)
    y, parts = _axis(low, high, unit, format_number)
    centres = _centres(len(categories))
    bar_px = PLOT_WIDTH_PX / len(categories) * 0.6
    colours = {label: PALETTE[k % len(PALETTE)] for k, label in enumerate(values)}
    for index, (category, centre) in enumerate(zip(categories, centres, strict=True)):
        up = down = 0.0
        for label, vals in values.items():
            value = vals[index]
            base = up if value >= 0 else down
            top_px, bottom_px = y(max(base, base + value)), y(min(base, base + value))
            box: Attrs = {
                "x": centre - bar_px / 2,
                "y": top_px,
                "width": bar_px,
                "height": bottom_px - top_px,
            }
            mark: Attrs = {"data-series": label, "data-x": category, "data-value": repr(value)}
            tip = _esc(f"{label}, {category}: {format_number(value)} {unit}")
            parts.append(
                _el("rect", {**box, "fill": colours[label], **mark}, f"<title>{tip}</title>")
            )
            if value >= 0:
                up += value
            else:
                down += value
    parts += _x_labels(categories, centres)
    legend = [(label, colour, "box") for label, colour in colours.items()]
    desc = f"{title} [{unit}]: {', '.join(values)}"
    return _finish(name, title, desc, parts, legend, _PLOT_BOTTOM_PX + 32)


def wedge_chart(
    name: str,
    title: str,
    years: Sequence[int],
    baseline: Sequence[float],
    wedges: Mapping[str, Sequence[float]],
    net: Sequence[float],
    unit: str,
    format_number: Callable[[float], str] = _format_default,
    empty_text: str = "no data",
    baseline_label: str = "baseline",
    net_label: str = "net",
) -> str:
    """A mitigation-wedge chart: the baseline, each lever's abatement below it, and net emissions.

    The first wedge lies just under the baseline line, the next under it, and so on; the net
    emissions line is drawn dashed on top.

    Parameters
    ----------
    name, title
        ``data-chart`` and ``<title>``.
    years
        The x axis.
    baseline
        Emissions without the levers, per year [``unit``, e.g. tCO2e].
    wedges
        Lever name -> its abatement per year [``unit``].
    net
        Emissions after the levers (and any offsets), per year [``unit``].
    unit
        The values' unit, shown above the y axis.
    format_number
        Formats tick values.
    empty_text
        Shown when there are no years.
    baseline_label, net_label
        Legend labels (and ``data-series``) of the two lines, in the report's language.

    Returns
    -------
    str
        The SVG; each wedge is a ``polygon`` with ``data-series``, ``data-x`` and ``data-values``
        (comma-separated, one per year); each line point a ``circle`` with ``data-series``,
        ``data-x`` and ``data-value``.
    """
    if not years:
        return _empty(name, title, empty_text)
    count = len(years)
    base = _check(baseline, count, baseline_label)
    after = _check(net, count, net_label)
    levers = {label: _check(vals, count, label) for label, vals in wedges.items()}
    edges = [base]  # the upper edge of each wedge, then the lower edge of the last
    for vals in levers.values():
        edges.append([edge - value for edge, value in zip(edges[-1], vals, strict=True)])
    y, parts = _axis(*_extent([*after, *(v for edge in edges for v in edge)]), unit, format_number)
    xs, centres = [str(year) for year in years], _centres(count)
    legend = []
    for k, (label, vals) in enumerate(levers.items()):
        colour = PALETTE[k % len(PALETTE)]
        upper = [f"{_px(x)},{_px(y(v))}" for x, v in zip(centres, edges[k], strict=True)]
        lower = [f"{_px(x)},{_px(y(v))}" for x, v in zip(centres, edges[k + 1], strict=True)]
        area: Attrs = {
            "points": " ".join(upper + lower[::-1]),
            "fill": colour,
            "fill-opacity": 0.85,
        }
        mark: Attrs = {
            "data-series": label,
            "data-x": ",".join(xs),
            "data-values": ",".join(map(repr, vals)),
        }
        parts.append(_el("polygon", {**area, **mark}, f"<title>{_esc(label)}</title>"))
        legend.append((label, colour, "box"))
    parts += _line(baseline_label, xs, centres, base, y, "currentColor")
    parts += _line(net_label, xs, centres, after, y, "currentColor", dashed=True)
    parts += _x_labels(xs, centres)
    legend += [(baseline_label, "currentColor", "line"), (net_label, "currentColor", "dash")]
    desc = f"{title} [{unit}]: {', '.join([baseline_label, *levers, net_label])}"
    return _finish(name, title, desc, parts, legend, _PLOT_BOTTOM_PX + 32)


def macc_chart(
    name: str,
    title: str,
    bars: Sequence[tuple[str, float, float]],
    unit_x: str,
    unit_y: str,
    format_number: Callable[[float], str] = _format_default,
    empty_text: str = "no data",
) -> str:
    """A marginal abatement cost curve: one bar per lever, side by side in the given order.

    A bar's width is the lever's abatement and its height the cost of abating a tonne, below the
    zero line when the lever saves money. Pass the bars sorted by cost (as
    :func:`tanlu.roadmap.macc.bottom_up_macc` returns them).

    Parameters
    ----------
    name, title
        ``data-chart`` and ``<title>``.
    bars
        ``(label, abatement, cost)`` per lever: abatement [``unit_x``, e.g. tCO2e], >= 0, and
        cost [``unit_y``, e.g. CNY/tCO2e].
    unit_x, unit_y
        Units of the x (abatement) and y (cost) axes.
    format_number
        Formats tick values on both axes.
    empty_text
        Shown when there are no bars.

    Returns
    -------
    str
        The SVG; each ``rect`` has ``data-series`` (the label), ``data-x`` (the cumulative
        abatement where it starts), ``data-width`` (its abatement) and ``data-value`` (its cost).
    """
    if not bars:
        return _empty(name, title, empty_text)
    widths = _check([bar[1] for bar in bars], len(bars), unit_x)
    costs = _check([bar[2] for bar in bars], len(bars), unit_y)
    if any(width < 0 for width in widths):
        raise ValueError(f"abatement must be >= 0 [{unit_x}], got {widths!r}")
    x, x_axis = _axis(0.0, sum(widths), unit_x, format_number, horizontal=True)
    y, parts = _axis(*_extent(costs), unit_y, format_number)
    parts += x_axis
    start, legend = 0.0, []
    for k, ((label, *_), width, cost) in enumerate(zip(bars, widths, costs, strict=True)):
        colour = PALETTE[k % len(PALETTE)]
        left_px, right_px = x(start), x(start + width)
        top_px, bottom_px = y(max(cost, 0.0)), y(min(cost, 0.0))
        box: Attrs = {
            "x": left_px,
            "y": top_px,
            "width": right_px - left_px,
            "height": bottom_px - top_px,
        }
        mark: Attrs = {
            "data-series": label,
            "data-x": repr(start),
            "data-width": repr(width),
            "data-value": repr(cost),
        }
        tip = _esc(f"{label}: {format_number(width)} {unit_x}, {format_number(cost)} {unit_y}")
        parts.append(_el("rect", {**box, "fill": colour, **mark}, f"<title>{tip}</title>"))
        if _text_width(label) <= right_px - left_px:
            label_y = top_px - 4 if cost >= 0 else bottom_px + 12
            parts.append(_text((left_px + right_px) / 2, label_y, label, "middle"))
        legend.append((label, colour, "box"))
        start += width
    desc = f"{title} [{unit_x}; {unit_y}]: {', '.join(label for label, *_ in bars)}"
    return _finish(name, title, desc, parts, legend, _PLOT_BOTTOM_PX + 44)


def line_chart(
    name: str,
    title: str,
    xs: Sequence[int | str],
    series: Mapping[str, Sequence[float]],
    unit: str,
    format_number: Callable[[float], str] = _format_default,
    y_min: float | None = None,
    y_max: float | None = None,
    empty_text: str = "no data",
) -> str:
    """Lines over evenly spaced x values, e.g. the green-electricity share over the years.

    Parameters
    ----------
    name, title
        ``data-chart`` and ``<title>``.
    xs
        The x values (years or labels), evenly spaced left to right.
    series
        Series name -> one value per x [``unit``; a share is 0..1, shown as % by a
        ``format_number`` such as ``lambda v: f"{v:.0%}"``].
    unit
        The values' unit, shown above the y axis.
    format_number
        Formats tick values.
    y_min, y_max
        Fix the y range (e.g. 0 and 1 for a share); by default it spans the data and 0. Points
        outside a fixed range are drawn outside the plot area.
    empty_text
        Shown when there are no x values or no series.

    Returns
    -------
    str
        The SVG; each point a ``circle`` with ``data-series``, ``data-x`` and ``data-value``.
    """
    if not xs or not series:
        return _empty(name, title, empty_text)
    values = {label: _check(vals, len(xs), label) for label, vals in series.items()}
    low, high = _extent(v for vals in values.values() for v in vals)
    y, parts = _axis(
        low if y_min is None else y_min, high if y_max is None else y_max, unit, format_number
    )
    labels, centres = [str(x) for x in xs], _centres(len(xs))
    legend = []
    for k, (label, vals) in enumerate(values.items()):
        colour = PALETTE[k % len(PALETTE)]
        parts += _line(label, labels, centres, vals, y, colour)
        legend.append((label, colour, "line"))
    parts += _x_labels(labels, centres)
    desc = f"{title} [{unit}]: {', '.join(values)}"
    return _finish(name, title, desc, parts, legend, _PLOT_BOTTOM_PX + 32)


def band_chart(
    name: str,
    title: str,
    years: Sequence[int],
    low: Sequence[float],
    mid: Sequence[float],
    high: Sequence[float],
    unit: str,
    format_number: Callable[[float], str] = _format_default,
    empty_text: str = "no data",
    band_label: str = "P5–P95",
    mid_label: str = "median",
) -> str:
    """An uncertainty band (e.g. the Monte Carlo P5-P95) with the median line.

    Parameters
    ----------
    name, title
        ``data-chart`` and ``<title>``.
    years
        The x axis.
    low, mid, high
        Lower edge, median and upper edge of the band per year [``unit``, e.g. tCO2e].
    unit
        The values' unit, shown above the y axis.
    format_number
        Formats tick values.
    empty_text
        Shown when there are no years.
    band_label, mid_label
        Legend labels (and ``data-series``) of the band and the line, in the report's language.

    Returns
    -------
    str
        The SVG; the band is a ``polygon`` with ``data-series``, ``data-x``, ``data-low`` and
        ``data-high`` (comma-separated, one per year); each median point a ``circle`` with
        ``data-series``, ``data-x`` and ``data-value``.
    """
    if not years:
        return _empty(name, title, empty_text)
    count = len(years)
    lows, mids, highs = (
        _check(v, count, what) for v, what in ((low, "low"), (mid, "mid"), (high, "high"))
    )
    y, parts = _axis(*_extent([*lows, *mids, *highs]), unit, format_number)
    xs, centres = [str(year) for year in years], _centres(count)
    edge_high = [f"{_px(x)},{_px(y(v))}" for x, v in zip(centres, highs, strict=True)]
    edge_low = [f"{_px(x)},{_px(y(v))}" for x, v in zip(centres, lows, strict=True)]
    area: Attrs = {
        "points": " ".join(edge_high + edge_low[::-1]),
        "fill": PALETTE[1],
        "fill-opacity": 0.4,
    }
    mark: Attrs = {
        "data-series": band_label,
        "data-x": ",".join(xs),
        "data-low": ",".join(map(repr, lows)),
        "data-high": ",".join(map(repr, highs)),
    }
    parts.append(_el("polygon", {**area, **mark}, f"<title>{_esc(band_label)}</title>"))
    parts += _line(mid_label, xs, centres, mids, y, PALETTE[4])
    parts += _x_labels(xs, centres)
    legend = [(band_label, PALETTE[1], "box"), (mid_label, PALETTE[4], "line")]
    desc = f"{title} [{unit}]: {band_label}, {mid_label}"
    return _finish(name, title, desc, parts, legend, _PLOT_BOTTOM_PX + 32)


def step_chart(
    name: str,
    title: str,
    series: Mapping[str, Sequence[tuple[float, float]]],
    unit_x: str,
    unit_y: str,
    format_number: Callable[[float], str] = _format_default,
    empty_text: str = "no data",
) -> str:
    """Step curves over a numeric x axis, e.g. marginal abatement cost against abatement.

    Each series is a list of points ``(x, y)`` with ``x`` ascending; the curve stands at ``y``
    from the previous point's ``x`` (0 for the first) to the point's own ``x``, so that a
    marginal cost holds up to the abatement it was measured at.

    Parameters
    ----------
    name, title
        ``data-chart`` and ``<title>``.
    series
        Series name -> its points ``(x, y)``: x [``unit_x``, e.g. tCO2e], >= 0 and ascending;
        y [``unit_y``, e.g. CNY/tCO2e].
    unit_x, unit_y
        Units of the x and y axes.
    format_number
        Formats tick values on both axes.
    empty_text
        Shown when no series has a point.

    Returns
    -------
    str
        The SVG; each point a ``circle`` with ``data-series``, ``data-x`` (its x) and
        ``data-value`` (its y); each series a ``path`` with ``data-series``.
    """
    curves = {
        label: (
            _check([x for x, _ in points], len(points), f"{label} ({unit_x})"),
            _check([y for _, y in points], len(points), f"{label} ({unit_y})"),
        )
        for label, points in series.items()
        if points
    }
    if not curves:
        return _empty(name, title, empty_text)
    for label, (xs, _) in curves.items():
        if xs[0] < 0 or any(b < a for a, b in itertools.pairwise(xs)):
            raise ValueError(f"{label}: x must be >= 0 and ascending [{unit_x}], got {xs!r}")
    x_high = max(xs[-1] for xs, _ in curves.values())
    x, x_axis = _axis(0.0, x_high, unit_x, format_number, horizontal=True)
    y, parts = _axis(*_extent(v for _, ys in curves.values() for v in ys), unit_y, format_number)
    parts += x_axis
    legend = []
    for k, (label, (xs, ys)) in enumerate(curves.items()):
        colour = PALETTE[k % len(PALETTE)]
        steps: list[str] = []
        start = 0.0
        for right, value in zip(xs, ys, strict=True):
            steps.append(f"{'M' if not steps else 'L'} {_px(x(start))} {_px(y(value))}")
            steps.append(f"L {_px(x(right))} {_px(y(value))}")
            start = right
        stroke: Attrs = {"stroke": colour, "stroke-width": 2.0, "fill": "none"}
        curve: Attrs = {"class": "step", "data-series": label, "d": " ".join(steps), **stroke}
        parts.append(_el("path", curve))
        for right, value in zip(xs, ys, strict=True):
            mark: Attrs = {
                "data-series": label,
                "data-x": repr(right),
                "data-value": repr(value),
            }
            tip = _esc(f"{label}: {format_number(right)} {unit_x}, {format_number(value)} {unit_y}")
            parts.append(
                _el(
                    "circle",
                    {"cx": x(right), "cy": y(value), "r": 3.0, "fill": colour, **mark},
                    f"<title>{tip}</title>",
                )
            )
        legend.append((label, colour, "line"))
    desc = f"{title} [{unit_x}; {unit_y}]: {', '.join(curves)}"
    return _finish(name, title, desc, parts, legend, _PLOT_BOTTOM_PX + 44)
