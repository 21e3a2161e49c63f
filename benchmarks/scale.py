"""The scale sweep of issue 12: the user's path, ``tanlu inventory DIR --year Y --json``, as a
whole process from files on disk, at growing sizes, formats, site counts and engines.

Each case (engine, format, rows, sites) generates its project once (:mod:`benchmarks.command`,
cached under ``--data-dir``), times ``--command-repeat`` runs of the command with
:func:`benchmarks.command.measure` (wall time, rows/s, peak resident memory of the child and of
its whole session, Spark's JVM included) and merges the figures into ``benchmarks/data/scale.json``,
keyed by engine, format, rows and sites: a later run replaces the cases it measures and keeps the
others. A case that fails (the command exits non-zero or passes the memory limit, or its project
cannot be written) is recorded with the end of its message, and the sweep goes on.

From the JSON, :func:`render_chart` draws ``docs/img/scale.svg`` (wall time and peak memory
against rows, log-log, one line per engine, format and site count) and :func:`render_table` the
same figures as a Markdown table, written into docs/performance.md between its
``<!-- scale-table -->`` markers. ``python -m benchmarks --only scale --chart-only`` redraws both
without measuring.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

from benchmarks import command
from tanlu.factors import load_factor_library
from tanlu.report.charts import PALETTE

REPOSITORY = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "data" / "scale.json"
CHART = REPOSITORY / "docs" / "img" / "scale.svg"
DOC = REPOSITORY / "docs" / "performance.md"
# The sizes issue 12 asks for ("Done when"): 1, 10 and 100 million rows at 10,000 and 100,000
# sites on DuckDB from Parquet and CSV, and 10 million rows on local Spark (from Parquet here).
DEFAULT_ROWS: tuple[int, ...] = (1_000_000, 10_000_000, 100_000_000)
DEFAULT_SITES: tuple[int, ...] = (10_000, 100_000)
DEFAULT_ENGINES: tuple[str, ...] = (command.DEFAULT_ENGINE,)
SPARK_ROWS = 10_000_000
SPARK_FORMAT = "parquet"
# The lines drawn on the chart: issue 12's throughput target, 10 million Parquet rows at 1 million
# rows/s or more (docs/performance.md), and its bounded-memory line of 8 GiB.
TARGET_ROWS_PER_S = 1_000_000
MEMORY_LINE_GIB = 8.0
# Without --scale-memory-limit-gib, a case is stopped when its processes hold this share of the
# machine's memory, before the kernel's out-of-memory killer picks a process of another user.
DEFAULT_MEMORY_SHARE = 0.8
TABLE_BEGIN = "<!-- scale-table: written by `python -m benchmarks --only scale` -->"
TABLE_END = "<!-- /scale-table -->"


@dataclass(frozen=True)
class ScaleCase:
    """One case of the sweep: the command on ``engine`` over ``rows`` rows at ``sites`` sites."""

    engine: str
    file_format: str
    rows: int
    sites: int

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.engine, self.file_format, self.rows, self.sites)

    def describe(self) -> str:
        return f"{self.engine} {self.file_format}, {self.rows:,} rows, {self.sites:,} sites"


def plan_cases(
    rows: Sequence[int] | None = None,
    sites: Sequence[int] | None = None,
    engines: Sequence[str] | None = None,
    formats: Sequence[str] | None = None,
) -> list[ScaleCase]:
    """The cases to measure.

    With no choice given: issue 12's cases, every one of :data:`DEFAULT_ROWS` x
    :data:`DEFAULT_SITES` on DuckDB from Parquet and CSV, and :data:`SPARK_ROWS` on Spark from
    Parquet at each of :data:`DEFAULT_SITES`. With any choice given: every combination of the
    choices, an unchosen one taking its default (rows :data:`DEFAULT_ROWS`, sites
    :data:`DEFAULT_SITES`, engines DuckDB, formats Parquet and CSV).
    """
    for engine in engines or ():
        if engine not in command.ENGINES:
            raise ValueError(f"engine '{engine}' is not one of {', '.join(command.ENGINES)}")
    for file_format in formats or ():
        if file_format not in command.FORMATS:
            raise ValueError(f"format '{file_format}' is not one of {', '.join(command.FORMATS)}")
    for count in [*(rows or ()), *(sites or ())]:
        if count <= 0:
            raise ValueError(f"rows and sites must be positive, not {count}")
    if rows is None and sites is None and engines is None and formats is None:
        cases = plan_cases(DEFAULT_ROWS, DEFAULT_SITES, DEFAULT_ENGINES, command.FORMATS)
        spark = "spark"
        return cases + [ScaleCase(spark, SPARK_FORMAT, SPARK_ROWS, n) for n in DEFAULT_SITES]
    return [
        ScaleCase(engine, file_format, n_rows, n_sites)
        for engine, file_format, n_sites, n_rows in product(
            dict.fromkeys(engines or DEFAULT_ENGINES),
            dict.fromkeys(formats or command.FORMATS),
            dict.fromkeys(sites or DEFAULT_SITES),
            dict.fromkeys(rows or DEFAULT_ROWS),
        )
    ]


def default_memory_limit_mib() -> float | None:
    """:data:`DEFAULT_MEMORY_SHARE` of this machine's memory [MiB]; None without /proc/meminfo."""
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return None
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return DEFAULT_MEMORY_SHARE * int(line.split()[1]) / 1024
    return None


def source_commit(tanlu_src: Path) -> str:
    """The commit of the checkout ``tanlu_src`` is in (short hash), ``-dirty`` when a file
    under ``tanlu_src`` differs from it; ``unknown`` outside a git checkout."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(tanlu_src), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if changed else commit


def sweep(
    cases: Sequence[ScaleCase],
    log: Callable[[str], Any],
    year: int = command.DEFAULT_YEAR,
    repeat: int = command.DEFAULT_REPEAT,
    data_dir: Path | None = None,
    results: Path = RESULTS,
    tanlu_src: Path | None = None,
    machine: Mapping[str, str] | None = None,
    memory_limit_mib: float | None = None,
    duckdb_memory_gib: float | None = None,
    site_layout: str = command.DEFAULT_SITE_LAYOUT,
) -> list[dict[str, Any]]:
    """Measure each case and merge its record into ``results`` as soon as it is measured.

    Parameters
    ----------
    cases
        :func:`plan_cases`.
    log
        Prints a line of progress.
    year
        The reporting year of the generated projects.
    repeat
        Timed runs of each case; the record holds each run and the medians.
    data_dir
        Cache of the generated projects (:func:`benchmarks.command.default_data_dir`).
    results
        The JSON file of the sweep (:func:`merge_results`).
    tanlu_src
        The ``src`` folder whose tanlu the command runs (default: the imported one).
    machine
        What the figures were measured on (``benchmarks.__main__.machine``).
    memory_limit_mib
        A run whose processes hold more resident memory than this is stopped and its case
        recorded as failed [MiB] (default: no limit).
    duckdb_memory_gib
        DuckDB's memory limit for the DuckDB cases [GiB], set in each case's tanlu.toml
        (:func:`benchmarks.command.set_engine_memory`; default: none, DuckDB's own).
    site_layout
        Where each project lists its sites (:data:`benchmarks.command.SITE_LAYOUTS`).

    Returns
    -------
    list of dict
        The record of each case, in the order of ``cases``: ``status`` ``"ok"`` with the
        figures of :func:`benchmarks.command.measure`, or ``"failed"`` with ``error``.
    """
    library = load_factor_library()
    src = tanlu_src or command.default_tanlu_src()
    about = {
        "date": dt.date.today().isoformat(),
        "repeat": repeat,
        "tanlu_commit": source_commit(src),
        "machine": dict(machine or {}),
    }
    records = []
    for number, case in enumerate(cases, start=1):
        log(f"case {number}/{len(cases)}: {case.describe()}")
        record: dict[str, Any]
        try:
            project = command.ensure_project(
                case.rows,
                case.sites,
                year,
                case.file_format,
                data_dir,
                library,
                log,
                site_layout=site_layout,
            )
            duckdb_limit = duckdb_memory_gib if case.engine == "duckdb" else None
            command.set_engine_memory(project.root, duckdb_limit)
            argv = command.inventory_command(project, case.engine)
            log(f"timing {' '.join(argv[1:])} x {repeat} ...")
            figures = command.measure(project, repeat, src, case.engine, memory_limit_mib)
            record = {
                "status": "ok",
                **figures,
                **about,
                "duckdb_memory_limit_gib": duckdb_limit,
                "site_layout": site_layout,
            }
            log(
                f"{figures['wall_s']:.2f} s, {figures['rows_per_s']:,.0f} rows/s, "
                f"{figures['peak_session_rss_mib'] / 1024:.2f} GiB"
            )
        except (RuntimeError, OSError) as error:
            message = str(error)[-2000:]
            record = {
                "status": "failed",
                "engine": case.engine,
                "format": case.file_format,
                "rows": case.rows,
                "sites": case.sites,
                "year": year,
                "site_layout": site_layout,
                "error": message,
                **about,
            }
            log(f"skipped {case.describe()}: failed: {last_line(message)}")
        merge_results(results, [record])
        records.append(record)
    return records


def last_line(message: str, limit: int = 160) -> str:
    """The last non-blank line of ``message``, cut to ``limit`` characters."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = lines[-1] if lines else "(no message)"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def record_key(record: Mapping[str, Any]) -> tuple[str, str, int, int]:
    """The key a record is merged by: engine, format, rows, sites."""
    return (str(record["engine"]), str(record["format"]), int(record["rows"]), int(record["sites"]))


def _sort_key(record: Mapping[str, Any]) -> tuple[int, int, int, int]:
    engine, file_format, rows, sites = record_key(record)
    engines, formats = list(command.ENGINES), list(command.FORMATS)
    return (
        engines.index(engine) if engine in engines else len(engines),
        formats.index(file_format) if file_format in formats else len(formats),
        sites,
        rows,
    )


def read_results(results: Path) -> dict[str, Any]:
    """The sweep's JSON document; an empty one when the file does not exist yet.

    Raises
    ------
    ValueError
        When the file is not a document of this sweep (naming the file and why).
    """
    if not results.exists():
        return {"benchmark": "scale", "command": _COMMAND, "cases": []}
    try:
        document = json.loads(results.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{results}: not JSON ({error})") from error
    if not isinstance(document, dict) or not isinstance(document.get("cases"), list):
        raise ValueError(f"{results}: not the scale sweep's results (no 'cases' list)")
    for index, record in enumerate(document["cases"]):
        missing = [k for k in ("engine", "format", "rows", "sites", "status") if k not in record]
        if missing:
            raise ValueError(f"{results}: case {index + 1} lacks {', '.join(missing)}")
    return document


_COMMAND = "tanlu inventory DIR --year Y --json > /dev/null (--engine spark on Spark)"


def merge_results(results: Path, records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge ``records`` into the JSON file ``results``; returns the merged document.

    A record replaces the earlier one of its key (:func:`record_key`), a failure included: the
    file holds the latest measurement of each case. The file is replaced whole (written beside,
    renamed), so an interrupted sweep leaves the cases measured before it.
    """
    document = read_results(results)
    merged = {record_key(r): dict(r) for r in document["cases"]}
    merged.update({record_key(r): dict(r) for r in records})
    document["cases"] = sorted(merged.values(), key=_sort_key)
    results.parent.mkdir(parents=True, exist_ok=True)
    staging = results.with_name(results.name + ".tmp")
    staging.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    staging.replace(results)
    return document


def peak_gib(record: Mapping[str, Any]) -> float:
    """A measured case's peak resident memory of all its processes [GiB]."""
    return float(record["peak_session_rss_mib"]) / 1024


def series_label(engine: str, file_format: str, sites: int) -> str:
    """The name of a line of the chart: ``duckdb parquet, 10,000 sites``."""
    return f"{engine} {file_format}, {sites:,} sites"


# ---------------------------------------------------------------------------------------------
# The Markdown table


def render_table(cases: Sequence[Mapping[str, Any]]) -> str:
    """The sweep's cases as a Markdown table: each case's figures, or why it failed."""
    lines = [
        "| engine | format | rows | sites | sites listed in | file MiB | wall s | rows/s "
        "| peak memory GiB | runs | date | tanlu |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for record in sorted(cases, key=_sort_key):
        engine, file_format, rows, sites = record_key(record)
        # records from before the site register listed their sites in tanlu.toml
        listed = {"register": "register", "toml": "tanlu.toml"}[record.get("site_layout", "toml")]
        head = f"| {engine} | {file_format} | {rows:,} | {sites:,} | {listed} |"
        tail = f" {record.get('date', '')} | {record.get('tanlu_commit', '')} |"
        if record["status"] == "ok":
            figures = (
                f" {record['file_mib']:,.1f} | {record['wall_s']:,.2f} |"
                f" {record['rows_per_s']:,.0f} | {peak_gib(record):,.2f} |"
                f" {len(record['runs'])} |"
            )
        else:
            reason = last_line(str(record.get("error", "")), 100).replace("|", "\\|")
            figures = f" | failed: {reason} | | | |"
        lines.append(head + figures + tail)
    return "\n".join(lines) + "\n"


def write_doc_table(doc: Path, table: str) -> None:
    """Put ``table`` between the :data:`TABLE_BEGIN` and :data:`TABLE_END` lines of ``doc``.

    Raises
    ------
    ValueError
        When ``doc`` lacks the two marker lines, in that order (naming the file).
    """
    text = doc.read_text(encoding="utf-8")
    pattern = re.compile(
        rf"(^{re.escape(TABLE_BEGIN)}\n).*?(^{re.escape(TABLE_END)}$)", re.DOTALL | re.MULTILINE
    )
    if not pattern.search(text):
        raise ValueError(
            f"{doc}: no line '{TABLE_BEGIN}' followed by a line '{TABLE_END}' to write the "
            "scale table between"
        )
    doc.write_text(pattern.sub(lambda m: m.group(1) + table + m.group(2), text, count=1), "utf-8")


# ---------------------------------------------------------------------------------------------
# The chart: plain SVG, two log-log panels side by side

# Layout [px]: two plots of PLOT_W x PLOT_H, the time panel's at TIME_LEFT, the memory panel's at
# MEMORY_LEFT; the legend in columns of LEGEND_COLUMN_W under both.
WIDTH = 960
PLOT_W = 360.0
PLOT_H = 260.0
PLOT_TOP = 48.0
TIME_LEFT = 80.0
MEMORY_LEFT = 560.0
LEGEND_LEFT = 40.0
LEGEND_COLUMN_W = 225.0
LEGEND_ROW_H = 20.0
GRID = "#d9d9d9"
MINOR_GRID = "#f0f0f0"
REFERENCE = "#444444"
# The palette's yellow is too faint for a thin line on white.
COLOURS = tuple(colour for colour in PALETTE if colour != "#F0E442")
MARKERS = ("circle", "square", "triangle", "diamond")
# The axes reach a tenth of a decade past the decades that hold the data, so that no mark sits
# on the plot's frame.
AXIS_PAD_DECADES = 0.1
Attrs = dict[str, str | float]


@dataclass(frozen=True)
class LogAxis:
    """A base-10 logarithmic axis from ``10**low`` to ``10**high``, in pixels."""

    low: float
    high: float
    start_px: float
    end_px: float

    @classmethod
    def over(cls, decade_span: tuple[int, int], start_px: float, end_px: float) -> LogAxis:
        """The axis over whole decades, widened by :data:`AXIS_PAD_DECADES` at both ends."""
        low, high = decade_span
        return cls(low - AXIS_PAD_DECADES, high + AXIS_PAD_DECADES, start_px, end_px)

    def at(self, value: float) -> float:
        """The pixel of ``value`` (> 0)."""
        share = (math.log10(value) - self.low) / (self.high - self.low)
        return self.start_px + share * (self.end_px - self.start_px)


def decades(values: Iterable[float]) -> tuple[int, int]:
    """The whole decades that hold the positive ``values`` (at least one decade; 1-10 if none)."""
    logs = [math.log10(v) for v in values if v > 0 and math.isfinite(v)]
    if not logs:
        return 0, 1
    low, high = math.floor(min(logs)), math.ceil(max(logs))
    return low, max(high, low + 1)


def format_rows(value: float) -> str:
    """A power of ten of rows, short: 1k, 10M, 100M."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def format_decade(value: float) -> str:
    """A power of ten: 0.01, 1, 1,000."""
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _attrs(attrs: Mapping[str, str | float]) -> str:
    return " ".join(
        f'{key}="{_esc(value if isinstance(value, str) else f"{value:.2f}")}"'
        for key, value in attrs.items()
    )


def _el(tag: str, attrs: Mapping[str, str | float], content: str = "") -> str:
    return f"<{tag} {_attrs(attrs)}>{content}</{tag}>"


def _text(x: float, y: float, content: str, anchor: str = "start", **extra: str) -> str:
    return _el("text", {"x": x, "y": y, "text-anchor": anchor, **extra}, _esc(content))


def _marker(shape: str, x: float, y: float, colour: str, data: Mapping[str, str]) -> str:
    """A data mark: circle, square, triangle or diamond of about 8 px at (x, y)."""
    style: Attrs = {"fill": colour, "stroke": "white", "stroke-width": 0.8, **data}
    if shape == "circle":
        return _el("circle", {"cx": x, "cy": y, "r": 4.5, **style})
    if shape == "square":
        return _el("rect", {"x": x - 4, "y": y - 4, "width": 8.0, "height": 8.0, **style})
    corners = {
        "triangle": ((0, -5), (4.6, 3.5), (-4.6, 3.5)),
        "diamond": ((0, -5.5), (5, 0), (0, 5.5), (-5, 0)),
    }[shape]
    points = " ".join(f"{x + dx:.2f},{y + dy:.2f}" for dx, dy in corners)
    return _el("polygon", {"points": points, **style})


def _panel(
    name: str,
    title: str,
    left: float,
    x_axis: LogAxis,
    y_axis: LogAxis,
    y_format: Callable[[float], str],
) -> list[str]:
    """A panel's frame: gridlines at each decade (and its 2-9 multiples), labels, titles."""
    top, bottom, right = PLOT_TOP, PLOT_TOP + PLOT_H, left + PLOT_W
    parts = [
        f'<g class="axes" data-panel="{name}">',
        _el(
            "rect",
            {
                "x": left,
                "y": top,
                "width": PLOT_W,
                "height": PLOT_H,
                "fill": "none",
                "stroke": "currentColor",
                "stroke-width": 1.0,
            },
        ),
    ]
    for axis, horizontal in ((x_axis, True), (y_axis, False)):
        for exponent in range(math.floor(axis.low), math.ceil(axis.high) + 1):
            for multiple in range(1, 10):
                value = multiple * 10.0**exponent
                if not axis.low <= math.log10(value) <= axis.high:
                    continue
                at = axis.at(value)
                ends: Attrs = (
                    {"x1": at, "y1": top, "x2": at, "y2": bottom}
                    if horizontal
                    else {"x1": left, "y1": at, "x2": right, "y2": at}
                )
                colour = GRID if multiple == 1 else MINOR_GRID
                parts.append(_el("line", {**ends, "stroke": colour, "stroke-width": 1.0}))
                if multiple == 1 and horizontal:
                    parts.append(_text(at, bottom + 16, format_rows(value), "middle"))
                elif multiple == 1:
                    parts.append(_text(left - 6, at + 4, y_format(value), "end"))
    parts += [
        _text(left, top - 12, title, "start", **{"font-weight": "bold"}),
        _text(left + PLOT_W / 2, bottom + 34, "activity rows", "middle"),
        "</g>",
    ]
    return parts


def render_chart(cases: Sequence[Mapping[str, Any]]) -> str:
    """The sweep as an SVG chart: wall time [s] and peak memory [GiB] against rows.

    Two panels side by side on log-log axes, one line per engine, format and site count
    (colour by engine and format, mark by site count), a dashed line of
    :data:`TARGET_ROWS_PER_S` on the time panel and one at :data:`MEMORY_LINE_GIB` on the memory
    panel; the rows axis spans at least :data:`DEFAULT_ROWS`. Failed cases are listed under the
    legend. Each mark carries ``data-series``, ``data-x`` (rows) and ``data-value`` (seconds or
    GiB, ``repr`` of the float), inside a ``g`` of class ``series`` with ``data-panel``
    ``time`` or ``memory``.
    """
    measured = sorted((r for r in cases if r["status"] == "ok"), key=_sort_key)
    failed = sorted((r for r in cases if r["status"] != "ok"), key=_sort_key)
    all_rows = [float(r["rows"]) for r in cases] + [float(n) for n in DEFAULT_ROWS]
    x_low, x_high = decades(all_rows)
    times = [float(r["wall_s"]) for r in measured]
    target_s = [10.0**x_low / TARGET_ROWS_PER_S, 10.0**x_high / TARGET_ROWS_PER_S]
    memory = [peak_gib(r) for r in measured] + [MEMORY_LINE_GIB]

    def axes(left: float, values: Sequence[float]) -> tuple[LogAxis, LogAxis]:
        return (
            LogAxis.over((x_low, x_high), left, left + PLOT_W),
            LogAxis.over(decades(values), PLOT_TOP + PLOT_H, PLOT_TOP),
        )

    time_x, time_y = axes(TIME_LEFT, times + target_s)
    memory_x, memory_y = axes(MEMORY_LEFT, memory)
    parts = [
        _el("rect", {"x": 0.0, "y": 0.0, "width": float(WIDTH), "height": "100%", "fill": "white"}),
        "<defs>",
        *(
            _el(
                "clipPath",
                {"id": f"scale-{name}-plot"},
                _el("rect", {"x": left, "y": PLOT_TOP, "width": PLOT_W, "height": PLOT_H}),
            )
            for name, left in (("time", TIME_LEFT), ("memory", MEMORY_LEFT))
        ),
        "</defs>",
        *_panel("time", "wall time [s]", TIME_LEFT, time_x, time_y, format_decade),
        *_panel(
            "memory", "peak resident memory [GiB]", MEMORY_LEFT, memory_x, memory_y, format_decade
        ),
    ]

    # the reference lines, dashed, cut to the plots
    dash: Attrs = {"stroke": REFERENCE, "stroke-width": 1.5, "stroke-dasharray": "6 4"}
    low_rows, high_rows = 10.0**time_x.low, 10.0**time_x.high
    parts.append(
        _el(
            "line",
            {
                "class": "reference",
                "data-reference": f"{TARGET_ROWS_PER_S} rows/s",
                "data-panel": "time",
                "clip-path": "url(#scale-time-plot)",
                "x1": time_x.at(low_rows),
                "y1": time_y.at(low_rows / TARGET_ROWS_PER_S),
                "x2": time_x.at(high_rows),
                "y2": time_y.at(high_rows / TARGET_ROWS_PER_S),
                **dash,
            },
        )
    )
    parts.append(
        _el(
            "line",
            {
                "class": "reference",
                "data-reference": f"{MEMORY_LINE_GIB:g} GiB",
                "data-panel": "memory",
                "clip-path": "url(#scale-memory-plot)",
                "x1": memory_x.at(low_rows),
                "y1": memory_y.at(MEMORY_LINE_GIB),
                "x2": memory_x.at(high_rows),
                "y2": memory_y.at(MEMORY_LINE_GIB),
                **dash,
            },
        )
    )

    # one line per engine, format and site count
    pairs = list(dict.fromkeys((str(r["engine"]), str(r["format"])) for r in measured))
    site_counts = sorted({int(r["sites"]) for r in measured})
    legend: list[tuple[str, str, str | None]] = []
    series: dict[tuple[str, str, int], list[Mapping[str, Any]]] = {}
    for record in measured:
        engine, file_format, _, sites = record_key(record)
        series.setdefault((engine, file_format, sites), []).append(record)
    for (engine, file_format, sites), points in series.items():
        label = series_label(engine, file_format, sites)
        colour = COLOURS[pairs.index((engine, file_format)) % len(COLOURS)]
        shape = MARKERS[site_counts.index(sites) % len(MARKERS)]
        legend.append((label, colour, shape))
        for panel, x_axis, y_axis, values in (
            ("time", time_x, time_y, [float(p["wall_s"]) for p in points]),
            ("memory", memory_x, memory_y, [peak_gib(p) for p in points]),
        ):
            xy = [
                (x_axis.at(float(p["rows"])), y_axis.at(v))
                for p, v in zip(points, values, strict=True)
            ]
            parts.append(f'<g class="series" data-series="{_esc(label)}" data-panel="{panel}">')
            if len(xy) > 1:
                path = " L ".join(f"{x:.2f} {y:.2f}" for x, y in xy)
                parts.append(
                    _el(
                        "path",
                        {"d": f"M {path}", "fill": "none", "stroke": colour, "stroke-width": 2.0},
                    )
                )
            for point, value, (x, y) in zip(points, values, xy, strict=True):
                data = {
                    "data-series": label,
                    "data-x": str(int(point["rows"])),
                    "data-value": repr(value),
                }
                parts.append(_marker(shape, x, y, colour, data))
            parts.append("</g>")
    legend += [
        (f"{TARGET_ROWS_PER_S / 1e6:g} million rows/s (issue 12's target)", REFERENCE, None),
        (f"{MEMORY_LINE_GIB:g} GiB (issue 12's memory line)", REFERENCE, None),
    ]

    # the legend, then the failed cases
    top = PLOT_TOP + PLOT_H + 56
    parts.append('<g class="legend">')
    for index, (label, colour, mark) in enumerate(legend):
        x = LEGEND_LEFT + (index % 4) * LEGEND_COLUMN_W
        y = top + (index // 4) * LEGEND_ROW_H
        ends: Attrs = {"x1": x, "y1": y, "x2": x + 22, "y2": y}
        if mark is None:
            parts.append(_el("line", {**ends, **dash}))
        else:
            parts.append(_el("line", {**ends, "stroke": colour, "stroke-width": 2.0}))
            parts.append(_marker(mark, x + 11, y, colour, {}))
        parts.append(_text(x + 28, y + 4, label))
    parts.append("</g>")
    y = top + math.ceil(len(legend) / 4) * LEGEND_ROW_H + 8
    if not measured:
        parts.append(_text(WIDTH / 2, PLOT_TOP + PLOT_H / 2, "no case measured yet", "middle"))
    for record in failed:
        engine, file_format, rows, sites = record_key(record)
        note = f"failed, not drawn: {engine} {file_format}, {rows:,} rows, {sites:,} sites"
        parts.append(_text(LEGEND_LEFT, y, note, "start", **{"class": "failed"}))
        y += 16
    height = math.ceil(y + 4)

    dates = sorted({str(r.get("date", "")) for r in cases if r.get("date")})
    when = (
        f"measured {dates[0]} to {dates[-1]}"
        if len(dates) > 1
        else (f"measured {dates[0]}" if dates else "nothing measured yet")
    )
    desc = (
        f"tanlu inventory DIR --year Y --json as a whole process from files on disk, {when}: "
        "median wall time and peak resident memory of all its processes against activity "
        "rows, log-log, one line per engine, file format and number of sites "
        "(benchmarks/scale.py, docs/performance.md)."
    )
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" class="chart" data-chart="scale" '
        'font-family="sans-serif" font-size="12" fill="currentColor">'
    )
    return (
        "\n".join(
            [
                head,
                "<title>tanlu inventory at scale: wall time and peak memory against rows</title>",
                f"<desc>{_esc(desc)}</desc>",
                *parts,
                "</svg>",
            ]
        )
        + "\n"
    )


def write_outputs(results: Path, chart: Path = CHART, doc: Path | None = DOC) -> dict[str, Any]:
    """Draw ``chart`` and write the table into ``doc`` (None: no table) from ``results``.

    Raises
    ------
    ValueError
        When ``results`` does not exist or is not the sweep's JSON, or ``doc`` lacks the table
        markers.
    """
    if not results.exists():
        raise ValueError(f"{results}: no results yet; run python -m benchmarks --only scale")
    document = read_results(results)
    chart.parent.mkdir(parents=True, exist_ok=True)
    chart.write_text(render_chart(document["cases"]), encoding="utf-8")
    if doc is not None:
        write_doc_table(doc, render_table(document["cases"]))
    return document
