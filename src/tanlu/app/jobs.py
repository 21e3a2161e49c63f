"""The ``inventory``, ``electricity`` and ``procure`` use cases, and the inventories of many
years computed once each."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from tanlu.app.inputs import OnRows, OnStep, open_project, read_inputs
from tanlu.electricity.matching import ElectricityResult, calculate_electricity
from tanlu.electricity.procurement import ProcurementLimits
from tanlu.electricity.site_procurement import SiteProcurement, procure_for_site
from tanlu.ingest.inputs import InputTables, ProjectInputs
from tanlu.inventory.calculate import (
    InventoryResult,
    calculate_inventory,
    check_base_year_structure,
)
from tanlu.project import Project


def run_inventories(
    project: Project,
    inputs: ProjectInputs,
    years: Iterable[int],
    on_step: OnStep | None = None,
) -> dict[int, InventoryResult]:
    """The inventory of each year, computed once, with the base-year check of every year after
    the base year (as :func:`tanlu.calculate_inventory` makes it).

    The base year's inventory is computed once and reused by every later year's check; only
    the check's recalculation in the later year's structure is computed anew.

    Parameters
    ----------
    project, inputs
        The project and its inputs (:func:`tanlu.app.read_inputs`).
    years
        Base or reporting years, in the order wanted.
    on_step
        Told ``inventory <year>`` as each year starts.
    """
    tell = on_step or (lambda _: None)
    base_year = project.config.organisation.base_year
    wanted = list(years)
    computed: dict[int, InventoryResult] = {}
    base: InventoryResult | None = None
    for year in wanted:
        tell(f"inventory {year}")
        result = calculate_inventory(project, year, inputs, check_base_year=False)
        if year == base_year:
            base = result
        computed[year] = result
    for year in wanted:
        if year == base_year:
            continue
        if base is None:
            base = calculate_inventory(project, base_year, inputs, check_base_year=False)
        check = check_base_year_structure(project, inputs, year, base)
        computed[year] = replace(computed[year], base_year_check=check)
    return computed


def run_inventory(
    project: Project | Path,
    year: int,
    inputs: ProjectInputs | InputTables | None = None,
    on_rows: OnRows | None = None,
    on_step: OnStep | None = None,
) -> InventoryResult:
    """The ``inventory`` use case: the GHG inventory of one year, with its base-year check.

    Its JSON shape is :meth:`InventoryResult.to_dict` (docs/json-output.md), the same as each
    year's entry of ``results.json`` ``inventories``. ``inputs``: the project's inputs as
    tables (:class:`tanlu.ingest.InputTables`) or already checked; read from its files when
    omitted (as in every use case here).
    """
    project = open_project(project)
    checked = read_inputs(project, on_rows, inputs)
    return run_inventories(project, checked, [year], on_step)[year]


def run_electricity(
    project: Project | Path,
    year: int,
    hourly: bool = False,
    inputs: ProjectInputs | InputTables | None = None,
    inventory: InventoryResult | None = None,
    on_rows: OnRows | None = None,
) -> ElectricityResult:
    """The ``electricity`` use case: green electricity per site (and the 24/7 score when
    ``hourly``), from the year's inventory (computed when not given)."""
    project = open_project(project)
    checked = read_inputs(project, on_rows, inputs)
    return calculate_electricity(project, year, checked, hourly=hourly, inventory=inventory)


def run_procurement(
    project: Project | Path,
    site: str,
    year: int,
    target_share: float,
    annual: bool = False,
    limits: ProcurementLimits | None = None,
    curve_targets: Iterable[float] = (),
    inputs: ProjectInputs | InputTables | None = None,
    on_rows: OnRows | None = None,
) -> SiteProcurement:
    """The ``procure`` use case: the least-cost portfolio for one site to reach
    ``target_share`` (24/7 CFE score, or the annual clean share when ``annual``)."""
    project = open_project(project)
    checked = read_inputs(project, on_rows, inputs)
    return procure_for_site(
        project,
        site,
        year,
        target_share,
        mode="annual" if annual else "hourly",
        limits=limits,
        curve_targets=list(curve_targets),
        inputs=checked,
    )
