"""Opening a project and reading its inputs once, for every use case."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tanlu.ingest.inputs import (
    InputTables,
    ProjectInputs,
    check_input_tables,
    load_inputs,
)
from tanlu.project import Project, load_project

OnStep = Callable[[str], None]
"""Told the name of each step of a use case as it starts (for a progress display)."""
OnRows = Callable[[int], None]
"""Told how many activity rows were just read (for a progress bar over rows)."""


def open_project(project: Project | Path, confined: bool = False) -> Project:
    """A project from its folder (or the project itself, already loaded or made from its
    configuration with :func:`tanlu.project.project_from_config`); ``confined``: its ``[data]``
    patterns must stay inside the folder (:func:`tanlu.project.load_project`)."""
    return project if isinstance(project, Project) else load_project(project, confined)


def read_inputs(
    project: Project,
    on_rows: OnRows | None = None,
    inputs: ProjectInputs | InputTables | None = None,
    errors_out: Path | None = None,
) -> ProjectInputs:
    """Read and check a project's inputs: its files (price files included, which the roadmap
    and procurement read), or the tables given.

    Parameters
    ----------
    project
        From :func:`open_project`.
    on_rows
        Told the number of activity rows as they are read.
    inputs
        The inputs as tables (:class:`tanlu.ingest.InputTables`), checked here as files are;
        or inputs already checked (:class:`tanlu.ingest.ProjectInputs`), returned as they
        are; ``None``: the project's files are read.
    errors_out
        When any input is bad, every problem is written to this CSV or Parquet file (the
        error lists the first of each kind and counts the rest).

    Raises
    ------
    InputError
        Listing every bad row of every file or table read.
    """
    if isinstance(inputs, ProjectInputs):
        return inputs
    if inputs is not None:
        return check_input_tables(project, inputs, on_rows, errors_out)
    return load_inputs(project, on_rows, errors_out)
