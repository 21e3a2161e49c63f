"""Opening a project and reading its inputs once, for every use case."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tanlu.electricity.prices import read_procurement_prices
from tanlu.errors import InputError, InputIssue
from tanlu.ingest.inputs import ProjectInputs, load_inputs
from tanlu.project import Project, load_project

OnStep = Callable[[str], None]
"""Told the name of each step of a use case as it starts (for a progress display)."""
OnRows = Callable[[int], None]
"""Told how many activity rows were just read (for a progress bar over rows)."""


def open_project(project: Project | Path) -> Project:
    """A project from its folder (or the project itself, already loaded)."""
    return project if isinstance(project, Project) else load_project(project)


def read_inputs(
    project: Project, on_rows: OnRows | None = None, prices: bool = False
) -> ProjectInputs:
    """Read and check a project's input files.

    Parameters
    ----------
    project
        From :func:`open_project`.
    on_rows
        Told the number of activity rows as they are read.
    prices
        Also read and check the project's price files (``data/prices*.csv``), which the
        roadmap and procurement read; their problems are listed with the other files'.

    Raises
    ------
    InputError
        Listing every bad row of every file read.
    """
    issues: list[InputIssue] = []
    inputs: ProjectInputs | None = None
    try:
        inputs = load_inputs(project, on_rows)
    except InputError as error:
        issues.extend(error.issues)
    if prices:
        try:
            read_procurement_prices(
                list(project.price_files), [project.display_path(p) for p in project.price_files]
            )
        except InputError as error:
            issues.extend(error.issues)
    if issues or inputs is None:
        raise InputError(issues)
    return inputs
