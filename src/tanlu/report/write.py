"""Writing a run's files: ``results.json``, ``results.xlsx``, ``report.html`` and ``report.pdf``,
all or nothing.

The files are written into a temporary folder beside the destination and moved into place only
when every one of them was written, so a failed run leaves no partial report.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from tanlu.errors import TanluError
from tanlu.output import Writer, json_text, write_files
from tanlu.report.html import render_report
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

    ``report.pdf`` is printed from ``report.html`` by headless Chromium (:func:`print_pdf`)
    unless ``pdf`` is false; then a ``report.pdf`` of an earlier run is removed, as it would
    not match these results.
    """
    document = dict(result.document, language=language)
    html = render_report(document, language)
    files: dict[str, Writer] = {
        "results.json": lambda path: path.write_text(json_text(document), encoding="utf-8"),
        "results.xlsx": lambda path: write_workbook(result.tables, path),
        "report.html": lambda path: path.write_text(html, encoding="utf-8"),
    }
    if pdf:
        files["report.pdf"] = lambda path: print_pdf(path.with_name("report.html"), path)
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
            "report.pdf needs Chromium: install Debian's package (apt-get install chromium "
            "fonts-noto-cjk), or run `make demo`, which installs it"
        )
    profile = tempfile.mkdtemp(prefix="tanlu-chromium-")
    return [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments]


def print_pdf(html: Path, pdf: Path, timeout_s: float = 180.0) -> None:
    """Print a page to PDF with headless Chromium (A4, the page's print styles)."""
    html, pdf = html.resolve(), pdf.resolve()
    command = chromium_command("--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.as_uri())
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise TanluError(f"Chromium did not print {html.name} within {timeout_s:.0f} s") from None
    finally:
        shutil.rmtree(command[len(CHROMIUM_FLAGS) + 1].split("=", 1)[1], ignore_errors=True)
    if done.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        raise TanluError(f"Chromium could not print {html.name}: {' '.join(message)}")
