"""Writing a run's files: ``results.json``, ``results.xlsx``, ``report.html`` and ``report.pdf``,
all or nothing.

The files are written into a temporary folder beside the destination and moved into place only
when every one of them was written, so a failed run leaves no partial report.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from tanlu.errors import TanluError
from tanlu.output import Writer, json_text, write_files
from tanlu.report.html import SECTIONS, render_report
from tanlu.report.run import RunResult
from tanlu.report.text import Language

# Excel limits a sheet name to 31 characters.
SHEET_NAME_LIMIT = 31


def write_workbook(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """One sheet per table, in order (names cut to Excel's 31 characters)."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in tables.items():
            frame = table.copy()
            for column in frame.columns:
                if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
                    frame[column] = frame[column].dt.tz_localize(None)
            frame.to_excel(writer, sheet_name=name[:SHEET_NAME_LIMIT], index=False)


def write_run(
    result: RunResult, destination: Path, language: Language, pdf: bool = True
) -> list[Path]:
    """Write the run's files into ``destination`` (created if needed); the paths written.

    ``report.pdf`` is printed from ``report.html`` by headless Chromium, with the page numbers
    of its contents (:func:`print_report`), unless ``pdf`` is false; then a ``report.pdf`` of
    an earlier run is removed, as it would not match these results, and the contents of
    ``report.html`` carry no page numbers.
    """
    document = dict(result.document, language=language)
    html = render_report(document, language)
    files: dict[str, Writer] = {
        "results.json": lambda path: path.write_text(json_text(document), encoding="utf-8"),
        "results.xlsx": lambda path: write_workbook(result.tables, path),
        "report.html": lambda path: path.write_text(html, encoding="utf-8"),
    }
    if pdf:
        files["report.pdf"] = lambda path: print_report(
            document, language, path.with_name("report.html"), path
        )
    written = write_files(destination, files)
    stale = destination / "report.pdf"
    if not pdf and stale.exists():
        stale.unlink()
    return written


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Flags for a headless Chromium on a machine with no display and a closed network: no sandbox
# (runs as root in CI), no GPU, and none of Chromium's background connections.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_command(*arguments: str) -> list[str]:
    """A headless Chromium command line with a fresh profile.

    Raises
    ------
    TanluError
        When no Chromium is installed.
    """
    executable = find_chromium()
    if executable is None:
        raise TanluError(
            "report.pdf needs Chromium: install Debian's packages (apt-get install chromium "
            "fonts-noto-cjk poppler-utils), or run `make demo`, which installs them"
        )
    profile = tempfile.mkdtemp(prefix="tanlu-chromium-")
    return [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments]


def print_pdf(html: Path, pdf: Path, timeout_s: float = 180.0) -> None:
    """Print a page to PDF with headless Chromium (A4, the page's print styles)."""
    html, pdf = html.resolve(), pdf.resolve()
    command = chromium_command(
        "--no-pdf-header-footer",
        "--generate-pdf-document-outline",
        f"--print-to-pdf={pdf}",
        html.as_uri(),
    )
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise TanluError(f"Chromium did not print {html.name} within {timeout_s:.0f} s") from None
    finally:
        shutil.rmtree(command[len(CHROMIUM_FLAGS) + 1].split("=", 1)[1], ignore_errors=True)
    if done.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        raise TanluError(f"Chromium could not print {html.name}: {' '.join(message)}")


# Prints of the report at most: the first finds each section's page, the second prints those
# numbers in the contents; a third only if the numbers moved a section (they have a fixed width,
# so they should not).
PRINTS = 3


def print_report(document: dict[str, Any], language: Language, html: Path, pdf: Path) -> None:
    """Print the report page ``html`` to ``pdf`` with the page of each section in its contents.

    Chromium cannot number the contents itself, so the page is printed, the page each section
    starts on is read from the PDF (:func:`section_pages`), the page is written again with those
    numbers and printed again, until a print puts every section on the page its contents say
    (two prints, at most :data:`PRINTS`). ``html`` is left with the numbers, so that it prints
    as the PDF.

    Raises
    ------
    TanluError
        When no Chromium or no ``pdfinfo`` is installed, or the numbers do not settle.
    """
    pages: dict[str, int] | None = None
    for _ in range(PRINTS):
        print_pdf(html, pdf)
        printed = section_pages(pdf)
        if printed == pages:
            return
        pages = printed
        html.write_text(render_report(document, language, pages), encoding="utf-8")
    raise TanluError(
        f"the page numbers of the contents of {pdf.name} did not settle in {PRINTS} prints"
    )


# A line of `pdfinfo -dests`: page, destination, name in quotes.
DESTINATION_LINE = re.compile(r'^\s*(\d+)\s+\[.*\]\s+"(.*)"\s*$')


def section_pages(pdf: Path) -> dict[str, int]:
    """The page (from 1) on which each section of a printed report starts.

    Chromium writes a named destination into the PDF for each element that a link of the page
    points to: the contents link each section's heading (``inventory-heading``), which starts
    on the page where the section's text does. ``pdfinfo -dests`` (poppler-utils) lists them
    with their pages.

    Raises
    ------
    TanluError
        When ``pdfinfo`` is not installed, cannot read the PDF, or a section has no destination.
    """
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo is None:
        raise TanluError(
            "report.pdf's contents need pdfinfo: install Debian's package (apt-get install "
            "poppler-utils), or run `make demo`, which installs it"
        )
    done = subprocess.run(
        [pdfinfo, "-dests", str(pdf)], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise TanluError(f"pdfinfo could not read {pdf.name}: {done.stderr.strip()}")
    found = {}
    for line in done.stdout.splitlines():
        match = DESTINATION_LINE.match(line)
        if match:
            found[match.group(2)] = int(match.group(1))
    found = {
        name.removesuffix("-heading"): page
        for name, page in found.items()
        if name.endswith("-heading")
    }
    missing = [section for section in SECTIONS if section not in found]
    if missing:
        raise TanluError(f"internal: {pdf.name} has no page for the sections {', '.join(missing)}")
    return {section: found[section] for section in SECTIONS}
