"""The ``tanlu`` command: a thin layer over the use cases of :mod:`tanlu.app`; no logic of its
own (each command parses its options, calls one use case and prints or writes its document)."""

from __future__ import annotations

import getpass
import json
import math
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from tanlu.app import (
    DEFAULT_URL,
    LANGUAGES,
    URL_VARIABLE,
    ElectricityResult,
    EngineBackend,
    InventoryResult,
    Language,
    OrganisationKind,
    ProcurementLimits,
    Project,
    ProjectInputs,
    RoadmapDocument,
    RoadmapInfeasible,
    RoadmapOptions,
    SiteProcurement,
    count_project_rows,
    count_steps,
    inventory_files,
    list_factor_activities,
    open_project,
    procurement_files,
    read_inputs,
    roadmap_files,
    run_electricity,
    run_inventory,
    run_procurement,
    run_project,
    run_roadmap,
    scaffold_project,
    show_factor,
    summarise_binding_constraints,
    use_engine,
    validate_project,
    write_run,
)
from tanlu.errors import AuditError, InputError, ProjectError, StoreError, TanluError
from tanlu.output import json_text, write_files
from tanlu.tables import records

app = typer.Typer(
    help="tanlu (碳路): GHG inventories, green power and roadmaps to carbon neutrality.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
factors_app = typer.Typer(help="Browse the emission-factor library.", no_args_is_help=True)
app.add_typer(factors_app, name="factors")
db_app = typer.Typer(
    help="The service's database: create or upgrade its schema.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
users_app = typer.Typer(help="The service's users and API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")
audit_app = typer.Typer(help="The service's audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help=f"Database URL (sqlite:///FILE or postgresql://USER@HOST/DB); default "
        f"${URL_VARIABLE}, else {DEFAULT_URL} in the working folder.",
        show_default=False,
    ),
]
PASSWORD_VARIABLE = "TANLU_PASSWORD"

# Tables printed to a file or pipe get room for their columns (a terminal sets its own width).
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

ProjectDir = Annotated[Path, typer.Argument(help="Project folder (holds tanlu.toml).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
EngineOption = Annotated[
    EngineBackend | None,
    typer.Option(
        "--engine",
        help="Where the inventory is computed: duckdb (embedded) or spark; overrides \\[engine] "
        "of tanlu.toml.",
    ),
]
MasterOption = Annotated[
    str | None,
    typer.Option("--spark-master", help="Spark master URL, e.g. local[4] or spark://host:7077."),
]
ErrorsOutOption = Annotated[
    Path | None,
    typer.Option(
        "--errors-out",
        help="When an input is bad, write every problem to this CSV or .parquet file.",
    ),
]
ProjectOption = Annotated[
    Path | None, typer.Option("--project", help="Include a project's factor overrides.")
]


def _fail(error: TanluError, code: int = 2) -> typer.Exit:
    err.print(Text.assemble(("error: ", "bold red"), str(error)), highlight=False)
    return typer.Exit(code)


def _exit_code(error: TanluError) -> int:
    """Exit code of a computing command: 1 for bad inputs or project settings, 3 when targets
    cannot be met, 2 for anything else."""
    if isinstance(error, RoadmapInfeasible):
        return 3
    return 1 if isinstance(error, (InputError, ProjectError)) else 2


class _RowBar:
    """Told the rows read (``on_rows``) and, once the files are counted, how many there are."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self.progress, self.task = progress, task

    def __call__(self, rows: int) -> None:
        self.progress.advance(self.task, rows)

    def expect(self, project: Project) -> None:
        """Set the bar's total to the project's activity rows (left open when not known)."""
        if self.progress.disable:
            return
        total = count_project_rows(project)
        if total is not None:
            self.progress.update(self.task, total=total)


@contextmanager
def _reading() -> Iterator[_RowBar]:
    """A progress bar over activity rows while files are read (on stderr): rows read of rows
    in the files (Parquet metadata, CSV line breaks)."""
    progress = Progress(
        TextColumn("reading activity data"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with progress:
        yield _RowBar(progress, progress.add_task("read", total=None))


def _project(directory: Path, engine: EngineBackend | None, master: str | None) -> Project:
    """The project, on the engine the options choose."""
    return use_engine(open_project(directory), engine, master)


def _open(
    directory: Path,
    engine: EngineBackend | None = None,
    master: str | None = None,
    errors_out: Path | None = None,
) -> tuple[Project, ProjectInputs]:
    """The project and its inputs, read with a progress bar (every problem written to
    ``errors_out`` when an input is bad)."""
    with _reading() as on_rows:
        project = _project(directory, engine, master)
        on_rows.expect(project)
        return project, read_inputs(project, on_rows, errors_out=errors_out)


def _failed(error: TanluError, errors_out: Path | None = None) -> typer.Exit:
    """Print an error (and, for bad inputs, where every problem was written)."""
    exit_ = _fail(error, _exit_code(error))
    if errors_out is not None and isinstance(error, InputError) and errors_out.exists():
        err.print(f"Every problem is in {errors_out}.", highlight=False)
    return exit_


def _print_json(data: Any) -> None:
    sys.stdout.write(json_text(data, indent=None) + "\n")


def _number(value: float) -> str:
    text = f"{value:,.1f}"
    return "0.0" if text == "-0.0" else text  # solver round-off below the shown precision


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create (must be empty or absent).")],
    name: Annotated[str, typer.Option(help="Organisation name.")] = "My organisation",
) -> None:
    """Scaffold a new project: tanlu.toml, data/ and factors/ with commented examples."""
    try:
        created = scaffold_project(directory, name)
    except TanluError as error:
        raise _fail(error) from None
    out.print(f"Created {directory}: {', '.join(str(p) for p in created)}")
    out.print(
        f"Next: edit {directory / 'tanlu.toml'}, add data, then `tanlu validate {directory}`."
    )


@app.command()
def validate(
    directory: ProjectDir,
    json_output: JsonFlag = False,
    errors_out: ErrorsOutOption = None,
) -> None:
    """Check a project's configuration and every input row; exit 1 if anything is wrong."""
    try:
        with _reading() as on_rows:
            found = validate_project(directory, on_rows, errors_out=errors_out)
    except TanluError as error:
        raise _fail(error, 1) from None
    if json_output:
        out.print_json(json.dumps(found.to_dict(), ensure_ascii=False))
    elif not found.valid:
        for line in found.listing():
            err.print(line, markup=False, highlight=False)
        err.print(f"[bold red]{found.problem_count:,} problem(s) found; fix them and run again.[/]")
    else:
        out.print(
            f"[green]OK[/]: {found.activity_rows:,} activity rows in "
            f"{found.activity_files} file(s), {found.instruments} instrument(s), "
            f"{found.sites} site(s)."
        )
    if not found.valid:
        raise typer.Exit(1)


def _inventory_table(result: InventoryResult) -> Table:
    table = Table(
        title=f"{result.organisation}: GHG inventory {result.year} (tCO2e, "
        f"GWP {result.gwp_set}, {result.consolidation_approach.replace('_', ' ')})"
    )
    table.add_column("scope / category")
    table.add_column("tCO2e", justify="right")
    for scope in (1, 2, 3):
        rows = result.by_category.loc[result.by_category["scope"] == scope]
        label = {1: "Scope 1", 2: "Scope 2 (location-based)", 3: "Scope 3"}[scope]
        total = float(rows["emissions_tco2e"].sum())
        table.add_row(f"[bold]{label}[/]", f"[bold]{_number(total)}[/]")
        for row in rows.itertuples(index=False):
            table.add_row(f"  {row.category}", _number(float(row.emissions_tco2e)))
    table.add_row(
        "[bold]Scope 2 (market-based)[/]", f"[bold]{_number(result.scope2_market_tco2e)}[/]"
    )
    table.add_section()
    table.add_row(
        "[bold]Total (location-based)[/]", f"[bold]{_number(result.total_location_tco2e)}[/]"
    )
    table.add_row("[bold]Total (market-based)[/]", f"[bold]{_number(result.total_market_tco2e)}[/]")
    if result.outside_scopes_tco2e:
        table.add_row(
            "Outside the scopes (Montreal Protocol gases)", _number(result.outside_scopes_tco2e)
        )
    return table


@app.command()
def inventory(
    directory: ProjectDir,
    year: Annotated[int, typer.Option("--year", help="Base or reporting year.")],
    json_output: JsonFlag = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Also write JSON and CSV results here.")
    ] = None,
    engine: EngineOption = None,
    spark_master: MasterOption = None,
    errors_out: ErrorsOutOption = None,
) -> None:
    """Calculate the GHG inventory of one year (scopes 1, 2 both methods, 3)."""
    try:
        project, inputs = _open(directory, engine, spark_master, errors_out)
        result = run_inventory(project, year, inputs=inputs)
    except TanluError as error:
        raise _failed(error, errors_out) from None
    if out_dir is not None:
        written = write_files(out_dir, inventory_files(result))
    if json_output:
        _print_json(result.to_dict())
    else:
        out.print(_inventory_table(result))
        if not result.fallbacks.empty:
            out.print(f"{len(result.fallbacks)} factor fallback(s) used; see the JSON 'fallbacks'.")
    if out_dir is not None:
        err.print(f"Results written to {out_dir.resolve()} ({len(written)} files).")


@app.command()
def electricity(
    directory: ProjectDir,
    year: Annotated[int, typer.Option("--year", help="Base or reporting year.")],
    hourly: Annotated[
        bool, typer.Option("--hourly", help="Also score hour-by-hour (24/7) carbon-free energy.")
    ] = False,
    json_output: JsonFlag = False,
    engine: EngineOption = None,
    spark_master: MasterOption = None,
    errors_out: ErrorsOutOption = None,
) -> None:
    """Green electricity per site: annual green share, 24/7 CFE score, scope 2 both ways."""
    try:
        project, inputs = _open(directory, engine, spark_master, errors_out)
        result = run_electricity(project, year, hourly, inputs=inputs)
    except TanluError as error:
        raise _failed(error, errors_out) from None
    if json_output:
        _print_json(result.to_dict())
    else:
        _print_electricity(result, year, hourly)


def _print_electricity(result: ElectricityResult, year: int, hourly: bool) -> None:
    view = Table(title=f"Green electricity {year} (MWh; shares in %)")
    columns = [
        "site",
        "consumption",
        "on-site PV",
        "contracts+GEC",
        "green %",
        "RE100 %",
        "market tCO2e",
    ]
    if hourly:
        columns.append("24/7 CFE %")
    for column in columns:
        view.add_column(column, justify="left" if column == "site" else "right")
    rows = [*result.by_site.itertuples(index=False)]
    for row in rows:
        cells = [
            str(row.site),
            _number(float(row.consumption_mwh)),
            _number(float(row.onsite_pv_mwh)),
            _number(float(row.contractual_mwh)),
            f"{100 * float(row.green_share):.1f}",
            f"{100 * float(row.re100_share):.1f}",
            _number(float(row.market_tco2e)),
        ]
        if hourly:
            cells.append(f"{100 * float(row.cfe_score_share):.1f}")
        view.add_row(*cells)
    totals = result.totals
    view.add_section()
    cells = [
        "[bold]organisation[/]",
        _number(totals["consumption_mwh"]),
        _number(totals["onsite_pv_mwh"]),
        _number(totals["contractual_mwh"]),
        f"{100 * totals['green_share']:.1f}",
        f"{100 * totals['re100_share']:.1f}",
        _number(totals["market_tco2e"]),
    ]
    if hourly:
        score = totals.get("cfe_score_share")
        cells.append("n/a" if score is None else f"{100 * score:.1f}")
    view.add_row(*cells)
    out.print(view)
    unverified = totals["re100_unverified_mwh"]
    if unverified:
        out.print(
            f"RE100: {_number(unverified)} MWh of instruments give no commissioning_date and are "
            "not counted (RE100 needs facilities at most 15 years old).",
            highlight=False,
        )
    if hourly:
        out.print(
            f"Grid carbon-free share {100 * result.grid_cfe_share:.1f}%: {result.grid_cfe_source}",
            highlight=False,
        )


def _sweep_values(text: str) -> tuple[str, list[float]]:
    """``path=v1,v2,...`` as the path and the values."""
    path, _, values = text.partition("=")
    try:
        numbers = [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        numbers = []
    if not path.strip() or not numbers:
        raise typer.BadParameter(
            f"'{text}' is not PATH=V1,V2,... (e.g. growth_share_per_year.data_centre=0.05,0.1)"
        )
    return path.strip(), numbers


def _shares(text: str | None) -> list[float]:
    """Targets from ``0.8,0.9,1`` (shares 0..1)."""
    if not text:
        return []
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a comma-separated list of shares") from None


@app.command()
def procure(
    directory: ProjectDir,
    site: Annotated[str, typer.Option("--site", help="Site id (tanlu.toml \\[\\[sites]]).")],
    year: Annotated[int, typer.Option("--year", help="Year whose hourly load is planned for.")],
    cfe: Annotated[
        float,
        typer.Option("--cfe", min=0.0, max=1.0, help="Target: 24/7 CFE score (or annual share)."),
    ],
    annual: Annotated[
        bool, typer.Option("--annual", help="Match annual volume (RE100) instead of hourly.")
    ] = False,
    curve: Annotated[
        str | None, typer.Option("--curve", help="Also solve these targets, e.g. 0.8,0.9,1.")
    ] = None,
    pv_max_kw: Annotated[
        float | None, typer.Option("--pv-max-kw", min=0.0, help="Most new on-site PV \\[kWp].")
    ] = None,
    wind_max_mw: Annotated[
        float | None, typer.Option("--wind-max-mw", min=0.0, help="Most new wind \\[MW].")
    ] = None,
    solar_max_mw: Annotated[
        float | None, typer.Option("--solar-max-mw", min=0.0, help="Most new solar \\[MW].")
    ] = None,
    battery_max_mwh: Annotated[
        float | None, typer.Option("--battery-max-mwh", min=0.0, help="Most battery \\[MWh].")
    ] = None,
    json_output: JsonFlag = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Also write JSON and the hourly dispatch here.")
    ] = None,
    engine: EngineOption = None,
    spark_master: MasterOption = None,
    errors_out: ErrorsOutOption = None,
) -> None:
    """Least-cost green power for one site: PV, wind and solar contracts, battery, grid."""
    limits = ProcurementLimits(pv_max_kw, wind_max_mw, solar_max_mw, battery_max_mwh)
    try:
        project, inputs = _open(directory, engine, spark_master, errors_out)
        with err.status("solving the procurement model (HiGHS)", spinner="dots"):
            plan = run_procurement(
                project, site, year, cfe, annual, limits, _shares(curve), inputs=inputs
            )
    except TanluError as error:
        raise _failed(error, errors_out) from None
    data = plan.to_dict()
    if out_dir is not None:
        written = write_files(out_dir, procurement_files(plan, site, year))
    if json_output:
        _print_json(data)
    else:
        _print_procurement(plan, site, year, cfe, annual, pv_max_kw is not None)
    if out_dir is not None:
        err.print(f"Results written to {out_dir.resolve()} ({len(written)} files).")


def _print_procurement(
    plan: SiteProcurement, site: str, year: int, cfe: float, annual: bool, pv_given: bool
) -> None:
    result = plan.result
    measure = "annual clean share" if annual else "24/7 CFE score"
    view = Table(title=f"Least-cost portfolio for {site} in {year}: {measure} >= {cfe:g}")
    view.add_column("item")
    view.add_column("value", justify="right")
    rows = [
        ("consumption (MWh)", _number(plan.load_mwh)),
        ("clean supply already held (MWh)", _number(plan.existing_clean_mwh)),
        ("24/7 CFE score now (%)", f"{100 * plan.current_cfe_score_share:.1f}"),
        ("new on-site PV (kWp)", _number(result.pv_kw)),
        ("new wind contracts (MW)", _number(result.wind_mw)),
        ("new solar contracts (MW)", _number(result.solar_mw)),
        ("battery energy (MWh)", _number(result.battery_mwh)),
        ("battery power (MW)", _number(result.battery_mw)),
        ("grid imports (MWh)", _number(float(result.dispatch["grid_mwh"].sum()))),
        ("24/7 CFE score reached (%)", f"{100 * result.cfe_score_share:.1f}"),
        ("annual clean share (%)", f"{100 * result.annual_clean_share:.1f}"),
        ("total cost (CNY/yr)", f"{result.total_cost_cny:,.0f}"),
        ("cost per MWh consumed (CNY)", f"{result.cost_per_mwh_cny:,.1f}"),
    ]
    for item, value in rows:
        view.add_row(item, value)
    out.print(view)
    if plan.curve is not None:
        curve_view = Table(title="Cost against target")
        for column in ("target %", "CNY/MWh", "PV kWp", "wind MW", "solar MW", "battery MWh"):
            curve_view.add_column(column, justify="right")
        for point in plan.curve.itertuples(index=False):
            curve_view.add_row(
                f"{100 * point.target_share:.0f}",
                f"{point.cost_per_mwh_cny:,.1f}",
                _number(point.pv_kw),
                _number(point.wind_mw),
                _number(point.solar_mw),
                _number(point.battery_mwh),
            )
        out.print(curve_view)
    pv_limit = plan.limits.pv_max_kw
    out.print(
        f"New on-site PV limited to {_number(pv_limit or 0.0)} kWp "
        + ("(--pv-max-kw)." if pv_given else "(sites.pv_potential_kw)."),
        highlight=False,
    )
    fallbacks = plan.prices.loc[plan.prices["fallback"] != ""]
    out.print(
        f"Prices: {len(plan.prices)} values from the bundled table (docs/prices.md)"
        + (f", {len(fallbacks)} by fallback" if len(fallbacks) else "")
        + "; --json lists each with its source.",
        highlight=False,
    )


# What the roadmap's spinner says during each step of the use case.
_ROADMAP_STATUS = {
    "roadmap": "building and solving the roadmap (HiGHS)",
    "MACC": "marginal abatement cost curves",
    "sweep": "sweeping the setting",
    "Monte Carlo": "Monte Carlo draws",
}


@app.command()
def roadmap(
    directory: ProjectDir,
    scenario: Annotated[
        str | None, typer.Option("--scenario", help="A scenario of \\[roadmap.scenarios].")
    ] = None,
    from_year: Annotated[
        int | None,
        typer.Option(
            "--from-year",
            help="Plan from this inventory year; later reporting years are tracked against it.",
        ),
    ] = None,
    macc: Annotated[
        bool,
        typer.Option(
            "--macc", help="Also give the marginal abatement cost curves (bottom-up and LP)."
        ),
    ] = False,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            min=1,
            help="Monte Carlo over \\[roadmap.uncertainty] ranges with this many draws.",
        ),
    ] = None,
    sweep_spec: Annotated[
        str | None,
        typer.Option(
            "--sweep",
            help="Solve once per value of one setting, e.g. "
            "growth_share_per_year.data_centre=0.05,0.1,0.15",
        ),
    ] = None,
    json_output: JsonFlag = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Also write JSON and CSV results here.")
    ] = None,
    engine: EngineOption = None,
    spark_master: MasterOption = None,
    errors_out: ErrorsOutOption = None,
) -> None:
    """Least-cost year-by-year roadmap to the project's targets (linopy + HiGHS)."""
    swept_path, values = _sweep_values(sweep_spec) if sweep_spec else ("", [])
    options = RoadmapOptions(scenario, from_year, macc, samples, swept_path, tuple(values))
    try:
        project, inputs = _open(directory, engine, spark_master, errors_out)
        with err.status(_ROADMAP_STATUS["roadmap"], spinner="dots") as status:

            def on_step(name: str) -> None:
                status.update(_ROADMAP_STATUS.get(name, name))

            document = run_roadmap(project, options, inputs, on_step=on_step)
    except TanluError as error:
        raise _failed(error, errors_out) from None
    data = document.to_dict()
    if out_dir is not None:
        written = write_files(out_dir, roadmap_files(document))
    if json_output:
        _print_json(data)
    else:
        _print_roadmap(document)
    if out_dir is not None:
        err.print(f"Results written to {out_dir.resolve()} ({len(written)} files).")


def _print_roadmap(document: RoadmapDocument) -> None:
    """The roadmap's tables on the terminal."""
    plan, progress = document.plan, document.progress
    swept, swept_path, drawn = document.sweep, document.sweep_path, document.monte_carlo
    curves: dict[str, pd.DataFrame] = {}
    if document.macc_bottom_up is not None and document.macc_model is not None:
        curves = {"bottom_up": document.macc_bottom_up, "model": document.macc_model}
    years = Table(title=f"Roadmap ({plan.scenario}): emissions (tCO2e), green share, cost")
    for column in (
        "year",
        "baseline",
        "gross",
        "offsets",
        "net",
        "green %",
        "net cost (CNY)",
    ):
        years.add_column(column, justify="right")
    for row in plan.by_year.itertuples(index=False):
        years.add_row(
            str(row.year),
            _number(row.baseline_tco2e),
            _number(row.gross_tco2e),
            _number(row.offset_avoidance_tco2e + row.offset_removal_tco2e),
            _number(row.net_tco2e),
            f"{100 * row.green_share:.1f}",
            f"{row.net_cost_cny:,.0f}",
        )
    out.print(years)
    last = plan.years[-1]
    levers = Table(title=f"Levers in {last} (abatement tCO2e, own cost CNY)")
    for column in ("lever", "quantity", "unit", "abatement", "cost"):
        levers.add_column(column, justify="left" if column in ("lever", "unit") else "right")
    final = plan.by_lever.loc[plan.by_lever["year"] == last]
    for row in final.itertuples(index=False):
        levers.add_row(
            str(row.lever),
            _number(row.quantity),
            str(row.unit),
            _number(row.abatement_tco2e),
            f"{row.cost_cny:,.0f}",
        )
    out.print(levers)
    _print_binding(plan.binding_constraints)
    for row in plan.levers.loc[~plan.levers["enabled"]].itertuples(index=False):
        out.print(f"{row.lever}: not used ({row.reason})", highlight=False, markup=False)
    if not progress.summary.empty:
        tracked = Table(title=f"Progress against the plan made from {plan.from_year}")
        for column in (
            "year",
            "planned gross",
            "actual gross",
            "variance %",
            "planned green %",
            "actual green %",
            "on track",
        ):
            tracked.add_column(column, justify="right")
        for row in progress.summary.itertuples(index=False):
            variance = row.actual_gross_tco2e / row.planned_gross_tco2e - 1
            tracked.add_row(
                str(row.year),
                _number(row.planned_gross_tco2e),
                _number(row.actual_gross_tco2e),
                f"{100 * variance:+.1f}",
                f"{100 * row.planned_green_share:.1f}",
                f"{100 * row.actual_green_share:.1f}",
                "yes" if row.on_track else "[red]no[/red]",
            )
        out.print(tracked)
    if curves:
        bars = Table(title=f"Bottom-up MACC, {plan.years[-1]} (cheapest first)")
        for column in ("lever", "abatement (tCO2e)", "CNY/tCO2e", "cumulative (tCO2e)"):
            bars.add_column(column, justify="left" if column == "lever" else "right")
        for row in curves["bottom_up"].itertuples(index=False):
            bars.add_row(
                str(row.lever),
                _number(row.abatement_tco2e),
                f"{row.cost_cny_per_tco2e:,.1f}",
                _number(row.cumulative_tco2e),
            )
        out.print(bars)
        lp_curve = Table(title=f"Marginal abatement cost from the LP, {plan.years[-1]}")
        for column in ("cut %", "abatement (tCO2e)", "marginal CNY/tCO2e"):
            lp_curve.add_column(column, justify="right")
        for row in curves["model"].itertuples(index=False):
            lp_curve.add_row(
                f"{100 * row.reduction_share:.0f}",
                _number(row.abatement_tco2e),
                f"{row.marginal_cost_cny_per_tco2e:,.1f}",
            )
        out.print(lp_curve)
    if swept is not None:
        table = Table(title=f"Sweep of {swept_path}")
        for column in ("value", "feasible", "net cost (CNY)", "last-year gross", "green %"):
            table.add_column(column, justify="right")
        for row in swept.itertuples(index=False):
            table.add_row(
                f"{row.value:g}",
                "yes" if row.feasible else "[red]no[/red]",
                "" if not row.feasible else f"{row.net_discounted_cost_cny:,.0f}",
                "" if not row.feasible else _number(row.gross_tco2e),
                "" if not row.feasible else f"{100 * row.green_share:.1f}",
            )
        out.print(table)
    if drawn is not None:
        table = Table(
            title=f"Monte Carlo, {len(drawn.samples)} draws "
            f"({100 * drawn.infeasible_share:.0f}% infeasible): P5 / P50 / P95"
        )
        for column in ("year", "gross tCO2e", "net cost (CNY)"):
            table.add_column(column, justify="right")
        for row in drawn.bands.itertuples(index=False):
            table.add_row(
                str(row.year),
                f"{row.gross_tco2e_p5:,.0f} / {row.gross_tco2e_p50:,.0f} / "
                f"{row.gross_tco2e_p95:,.0f}",
                f"{row.net_cost_cny_p5:,.0f} / {row.net_cost_cny_p50:,.0f} / "
                f"{row.net_cost_cny_p95:,.0f}",
            )
        out.print(table)
    out.print(
        f"Net cost of the plan, discounted to {plan.from_year}: "
        f"{plan.net_discounted_cost_cny:,.0f} CNY (beyond the baseline's electricity bill). "
        f"All {len(plan.targets)} target-years met.",
        highlight=False,
    )


@app.command()
def run(
    directory: ProjectDir,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the report and results.")],
    lang: Annotated[str, typer.Option("--lang", help="Language of the report: zh or en.")] = "zh",
    pdf: Annotated[
        bool,
        typer.Option(
            "--pdf/--no-pdf", help="Also print report.pdf (needs Chromium and poppler-utils)."
        ),
    ] = True,
    engine: EngineOption = None,
    spark_master: MasterOption = None,
    errors_out: ErrorsOutOption = None,
) -> None:
    """The main job: validate, inventory, green electricity, roadmap, report and results."""
    if lang not in LANGUAGES:
        raise typer.BadParameter(f"--lang must be one of {', '.join(LANGUAGES)}, not '{lang}'")
    language: Language = "zh" if lang == "zh" else "en"
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    try:
        project = _project(directory, engine, spark_master)
        with progress:
            total = count_steps(project, validate=True)
            task = progress.add_task("reading and checking the input files", total=total)

            def step(name: str) -> None:
                progress.update(task, description=name, advance=1)

            inputs = read_inputs(project, errors_out=errors_out)
            step("validated")
            result = run_project(project, inputs, step=step)
            progress.update(task, description="writing the report")
            written = write_run(result, out_dir, language, pdf)
    except TanluError as error:
        raise _failed(error, errors_out) from None
    out.print(f"Report and results written to {out_dir.resolve()}:", highlight=False)
    for path in written:
        out.print(f"  {path.name}", highlight=False)


@factors_app.command("list")
def factors_list(
    directory: ProjectOption = None,
    json_output: JsonFlag = False,
) -> None:
    """List the activities the library has factors for."""
    try:
        catalogue = list_factor_activities(directory)
    except TanluError as error:
        raise _fail(error) from None
    if json_output:
        _print_json(catalogue.to_records())
        return
    view = Table(title="Activities in the factor library")
    for column in ("activity", "name", "名称", "scope", "category", "unit", "factors"):
        view.add_column(column)
    for row in catalogue.activities.itertuples(index=False):
        view.add_row(
            row.activity,
            row.name_en,
            row.name_zh,
            str(row.scope),
            row.category,
            row.canonical_unit,
            str(row.factors),
        )
    out.print(view)


@factors_app.command("show")
def factors_show(
    activity: Annotated[str, typer.Argument(help="Activity id, e.g. electricity.")],
    region: Annotated[
        str, typer.Option(help="Province, regional grid or China (中文 or English).")
    ] = "China",
    year: Annotated[int, typer.Option(help="Year the factor should apply to.")] = 2022,
    kind: Annotated[
        str, typer.Option(help="Factor kind, e.g. excluding_market_traded_non_fossil.")
    ] = "default",
    directory: ProjectOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Show the factor an activity gets in a region and year, with its source and fallbacks."""
    try:
        found = show_factor(activity, region, year, kind, directory)
    except TanluError as error:
        raise _fail(error) from None
    if json_output:
        sys.stdout.write(json.dumps(found.to_dict(), ensure_ascii=False) + "\n")
        return
    for row in found.factors:
        value = row["factor_t_per_unit"]
        shown = f"{value:.6g}" if not math.isnan(value) else "n/a"
        out.print(
            f"[bold]{row['factor_id']}[/]: {row['value']} {row['unit']} of {row['gas']} "
            f"(= {shown} t/{found.canonical_unit})"
        )
        out.print(
            f"  where: {row['region_level']} {row['region']}; valid from {row['year_start']}"
            f"{'' if row['year_end'] is None else ' to ' + str(row['year_end'])}"
        )
        out.print(f"  source ({row['status']}): {row['source']}", highlight=False)
        if row["fallback"]:
            out.print(f"  [yellow]fallback[/]: {row['fallback']}")


def _print_binding(binding: pd.DataFrame) -> None:
    """The binding constraints, one row per family and lever or target with its highest shadow
    price (every year and site in --json and --out)."""
    if binding.empty:
        return
    rows = records(binding)
    table = Table(title="Binding constraints: why the plan looks as it does")
    for column in ("constraint", "lever / target", "years", "sites", "highest shadow price"):
        table.add_column(column, justify="right" if column.endswith("price") else "left")
    for group in summarise_binding_constraints(rows):
        sites = group["sites"]
        price = (
            "at the limit of the levers"
            if group["index"] is None
            else f"{rows[group['index']]['shadow_price_cny_per_unit']:,.2f} {group['unit']}"
        )
        table.add_row(
            str(group["constraint"]),
            str(group["lever"]),
            str(group["years"]),
            ", ".join(sites) if len(sites) <= 3 else f"{len(sites)} sites",
            price,
        )
    out.print(table)


@app.command()
def serve(
    database: DatabaseOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)
    ] = 8000,
    max_upload_mib: Annotated[
        int,
        typer.Option("--max-upload-mib", help="The largest file the service takes [MiB].", min=1),
    ] = 1024,
    job_threads: Annotated[
        int,
        typer.Option(
            "--job-threads",
            help="Threads that run queued jobs (inventories, runs) in each worker process; "
            "0: none.",
            min=0,
        ),
    ] = 1,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Worker processes that serve requests (uvicorn's), sharing the database: "
            "sessions, the sign-in limit and the job queue.",
            min=1,
        ),
    ] = 1,
    job_timeout_s: Annotated[
        float,
        typer.Option("--job-timeout-s", help="The longest a job may run [s].", min=1.0),
    ] = 3600.0,
    job_memory_gib: Annotated[
        float | None,
        typer.Option(
            "--job-memory-gib",
            help="The most memory a job's process may use [GiB]; default: half the machine's, "
            "shared among all job threads of all worker processes.",
            min=0.01,
        ),
    ] = None,
    jobs_per_organisation: Annotated[
        int,
        typer.Option(
            "--jobs-per-organisation",
            help="The most jobs an organisation may have queued or running at once.",
            min=1,
        ),
    ] = 20,
    request_threads: Annotated[
        int,
        typer.Option(
            "--request-threads",
            help="Threads that run the routes in each worker process (few keep reads fast "
            "under load: docs/performance.md).",
            min=1,
        ),
    ] = 8,
    heavy_threads: Annotated[
        int,
        typer.Option(
            "--heavy-threads",
            help="Threads for uploads, submissions and sign-ins in each worker process, apart "
            "from the routes' threads.",
            min=1,
        ),
    ] = 2,
    ledger_dir: Annotated[
        Path | None,
        typer.Option(
            "--ledger-dir",
            help="The folder of the cities' carbon-inclusion ledgers; default: "
            "$TANLU_LEDGER_DIR, else ledgers/ in the working folder.",
        ),
    ] = None,
    min_cell_organisations: Annotated[
        int | None,
        typer.Option(
            "--min-cell-organisations",
            help="The fewest organisations a regulator's published cell may hold (the threshold "
            "rule); default: $TANLU_MIN_CELL_ORGANISATIONS, else 3, never fewer than 3.",
            min=3,
        ),
    ] = None,
    cell_p_share: Annotated[
        float | None,
        typer.Option(
            "--cell-p-share",
            help="The p% rule's share for a regulator's cells (0 to 1): a cell whose total less "
            "its two largest contributions is under this share of the largest is withheld; "
            "default: $TANLU_CELL_P_SHARE, else 0.1.",
            min=0.0,
            max=1.0,
        ),
    ] = None,
) -> None:
    """Run the web service (a new database gets its schema first; an older one needs
    `tanlu db upgrade`). Its cookies are Secure: browsers send them over HTTPS, and to
    localhost over plain HTTP."""
    from tanlu.app.accounts import upgrade_new_database
    from tanlu.app.project_jobs import JobLimits
    from tanlu.service.app import run_service

    try:
        prepared = upgrade_new_database(database)
    except TanluError as error:
        raise _fail(error) from None
    if prepared.before is None:
        out.print(f"{prepared.database}: new database, schema {prepared.after}", highlight=False)
    out.print(f"tanlu service on http://{host}:{port}/ (OpenAPI: /docs)", highlight=False)
    run_service(
        database,
        host,
        port,
        workers=workers,
        max_upload_bytes=max_upload_mib * 1024 * 1024,
        job_threads=job_threads,
        job_limits=JobLimits(job_timeout_s, job_memory_gib, jobs_per_organisation),
        request_threads=request_threads,
        heavy_threads=heavy_threads,
        ledger_dir=ledger_dir,
        min_cell_organisations=min_cell_organisations,
        cell_p_share=cell_p_share,
    )


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOption = None) -> None:
    """Create the database's tables, or bring them to the newest schema (safe to repeat)."""
    from tanlu.app.accounts import upgrade_database

    try:
        done = upgrade_database(database)
    except TanluError as error:
        raise _fail(error) from None
    if done.before == done.after:
        out.print(f"{done.database}: schema {done.after}, already the newest", highlight=False)
    else:
        out.print(
            f"{done.database}: schema {done.before or '(none)'} -> {done.after}", highlight=False
        )


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (some containers)
        return f"cli:uid {os.getuid()}"


def _new_password() -> str:
    password = os.environ.get(PASSWORD_VARIABLE)
    if password:
        return password
    if not sys.stdin.isatty():
        raise _fail(
            StoreError(f"set {PASSWORD_VARIABLE} to the new user's password (no terminal to ask)")
        )
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="The user's e-mail (their login).")],
    organisation: Annotated[
        str, typer.Option("--organisation", help="Organisation (created if new).")
    ],
    role: Annotated[
        str, typer.Option("--role", help="viewer, contributor, reviewer or admin.")
    ] = "viewer",
    kind: Annotated[
        OrganisationKind,
        typer.Option("--kind", help="Kind of a new organisation."),
    ] = OrganisationKind.COMPANY,
    database: DatabaseOption = None,
) -> None:
    """Add a user (the password from $TANLU_PASSWORD, else asked for on the terminal)."""
    from tanlu.app.accounts import add_user

    try:
        account = add_user(email, _new_password(), organisation, role, _cli_actor(), kind, database)
    except TanluError as error:
        raise _fail(error) from None
    out.print(
        f"user {account.email} added to {account.organisation} as {account.role.value}",
        highlight=False,
    )


@users_app.command("token")
def users_token(
    email: Annotated[str, typer.Argument(help="The member the token acts as.")],
    organisation: Annotated[str, typer.Option("--organisation", help="The organisation.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for.")],
    database: DatabaseOption = None,
) -> None:
    """Make an API token for scripts; it is printed once and only its hash is kept."""
    from tanlu.app.accounts import add_token

    try:
        token = add_token(email, organisation, name, _cli_actor(), database)
    except TanluError as error:
        raise _fail(error) from None
    sys.stdout.write(token + "\n")


@users_app.command("revoke-token")
def users_revoke_token(
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
    database: DatabaseOption = None,
) -> None:
    """Revoke an API token, read from standard input (so that it stays out of the shell's
    history); recorded in the audit log with the reason."""
    from tanlu.app.accounts import remove_token

    token = sys.stdin.readline().strip()
    try:
        remove_token(token, reason, _cli_actor(), database)
    except TanluError as error:
        raise _fail(error) from None
    out.print("token revoked", highlight=False)


@audit_app.command("verify")
def audit_verify(database: DatabaseOption = None) -> None:
    """Recompute the audit log's hash chain; exit 1 naming the first entry that fails."""
    from tanlu.app.accounts import verify_audit

    try:
        report = verify_audit(database)
    except AuditError as error:
        raise _fail(error, 1) from None
    except TanluError as error:
        raise _fail(error) from None
    out.print(
        f"audit log intact: {report.entries} entries; last entry {report.last_id}, hash "
        f"{report.last_hash}",
        highlight=False,
    )


# --- tanlu ledger: the carbon-inclusion (碳普惠) ledger (docs/ledger.md) -----------------------

ledger_app = typer.Typer(
    help="The carbon-inclusion (碳普惠) ledger: credited low-carbon actions.", no_args_is_help=True
)
app.add_typer(ledger_app, name="ledger")
LedgerDir = Annotated[Path, typer.Argument(help="Ledger folder (made by the first ingest).")]
LedgerEngine = Annotated[
    str, typer.Option("--engine", help="Where the rules run: duckdb (embedded) or spark.")
]
LedgerMemory = Annotated[
    float | None,
    typer.Option(
        "--memory-limit-gib",
        min=0.1,
        help="DuckDB's memory limit [GiB]; it spills to the temporary folder beyond it "
        "(default: 80% of the machine's memory).",
    ),
]


def _china_time(text: str | None) -> Any:
    """A time given on the command line (China time), or None."""
    if text is None:
        return None
    stamp = pd.to_datetime(text, format="ISO8601", errors="coerce")
    if pd.isna(stamp) or stamp.tzinfo is not None:
        raise _fail(TanluError(f"'{text}' is not a time (YYYY-MM-DD[ HH:MM], China time)"))
    return stamp.to_pydatetime()


@ledger_app.command("ingest")
def ledger_ingest(
    ledger_dir: LedgerDir,
    batches: Annotated[list[Path], typer.Argument(help="Batch files (CSV or Parquet).")],
    consent: Annotated[
        Path | None, typer.Option("--consent", help="Consent file (user, scenario, granted_at).")
    ] = None,
    received: Annotated[
        str | None,
        typer.Option("--received", help="When the batch was received, China time (default now)."),
    ] = None,
    engine: LedgerEngine = "duckdb",
    master: MasterOption = None,
    memory_limit_gib: LedgerMemory = None,
    json_out: JsonFlag = False,
) -> None:
    """Check, judge and append a batch of action events; a replayed event changes nothing."""
    from tanlu.app.ledger import ingest_batches

    progress = Progress(
        TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True,
        disable=not err.is_terminal,
    )  # fmt: skip
    try:
        with progress:
            task = progress.add_task("ledger", total=None)
            summary = ingest_batches(
                ledger_dir,
                batches,
                consent,
                _china_time(received),
                engine,
                master,
                on_step=lambda name: progress.update(task, description=f"ledger: {name}"),
                memory_limit_gib=memory_limit_gib,
            )
    except TanluError as error:
        raise _failed(error) from None
    document = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(summary).items()}
    if json_out:
        _print_json(document)
        return
    where = f"batch {summary.batch} ({summary.file})" if summary.batch else "nothing new written"
    out.print(
        f"{summary.rows_read:,} rows read; {summary.replays:,} already in the ledger "
        f"({summary.conflicting_replays:,} with other content, ignored); {summary.entries:,} new "
        f"entries: {where}",
        highlight=False,
    )
    for name, counts in (("status", summary.by_status), ("reason", summary.by_reason)):
        if counts:
            out.print(f"  by {name}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    out.print(f"  credited {summary.credited_gco2e:,.3f} gCO2e", highlight=False)


def _print_frame(frame: pd.DataFrame, title: str, json_out: bool) -> None:
    if json_out:
        _print_json(records(frame))
        return
    table = Table(title=title)
    for column in frame.columns:
        numeric = frame[column].dtype.kind in "if"
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(f"{v:,.3f}" if isinstance(v, float) else str(v) for v in row))
    out.print(table)


@ledger_app.command("balances")
def ledger_balances_command(
    ledger_dir: LedgerDir,
    user: Annotated[str | None, typer.Option("--user", help="One user's balance.")] = None,
    engine: LedgerEngine = "duckdb",
    master: MasterOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Balances per user: credited, reversed, redeemed [gCO2e]."""
    from tanlu.app.ledger import ledger_balances

    try:
        document = ledger_balances(ledger_dir, user, engine, master)
    except TanluError as error:
        raise _failed(error) from None
    _print_frame(document.table, "Balances (gCO2e)", json_out)


@ledger_app.command("totals")
def ledger_totals_command(
    ledger_dir: LedgerDir,
    by: Annotated[str, typer.Option("--by", help="city, methodology or month.")] = "month",
    engine: LedgerEngine = "duckdb",
    master: MasterOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Reductions credited (less reversals) by city, methodology or month [gCO2e]."""
    from tanlu.app.ledger import ledger_totals

    try:
        document = ledger_totals(ledger_dir, by, engine, master)
    except TanluError as error:
        raise _failed(error) from None
    _print_frame(document.table, f"Reductions by {by} (gCO2e)", json_out)


@ledger_app.command("reverse")
def ledger_reverse_command(
    ledger_dir: LedgerDir,
    operator: Annotated[str, typer.Option("--operator", help="The credit's operator.")],
    event_id: Annotated[str, typer.Option("--event-id", help="The credit's event id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is reversed.")],
    json_out: JsonFlag = False,
) -> None:
    """Reverse an accepted credit by a new entry (the credit is never edited)."""
    from tanlu.app.ledger import ledger_reverse

    try:
        document = ledger_reverse(ledger_dir, operator, event_id, reason)
    except TanluError as error:
        raise _failed(error) from None
    if json_out:
        _print_json({"new": document.new, "entry": document.entry})
        return
    entry = document.entry
    done = "reversed" if document.new else "already reversed"
    out.print(
        f"{done}: {operator}/{event_id}, {-entry['credited_mgco2e'] / 1000:,.3f} gCO2e off user "
        f"'{entry['user']}' (batch {entry['batch']})",
        highlight=False,
    )


@ledger_app.command("redeem")
def ledger_redeem_command(
    ledger_dir: LedgerDir,
    user: Annotated[str, typer.Option("--user", help="The user redeeming.")],
    amount: Annotated[float, typer.Option("--gco2e", help="How much to redeem [gCO2e].")],
    redemption_id: Annotated[str, typer.Option("--id", help="The redemption's id (once only).")],
    operator: Annotated[str, typer.Option("--operator", help="Who redeems it.")] = "redemption",
    json_out: JsonFlag = False,
) -> None:
    """Redeem part of a user's balance, once per (operator, id)."""
    from tanlu.app.ledger import ledger_redeem

    try:
        document = ledger_redeem(ledger_dir, user, amount, redemption_id, operator)
    except TanluError as error:
        raise _failed(error) from None
    if json_out:
        _print_json({"new": document.new, "entry": document.entry})
        return
    done = "redeemed" if document.new else "already redeemed"
    out.print(f"{done}: {amount:,.3f} gCO2e of user '{user}' ({operator}/{redemption_id})")


@ledger_app.command("forget")
def ledger_forget_command(
    ledger_dir: LedgerDir,
    user: Annotated[str, typer.Option("--user", help="The pseudonym of the person to forget.")],
    reason: Annotated[
        str, typer.Option("--reason", help="The request it answers (logged; not the pseudonym).")
    ],
    json_out: JsonFlag = False,
) -> None:
    """Forget a person on request: pseudonym and places erased, totals kept, the erasure logged."""
    from tanlu.app.ledger import ledger_forget

    try:
        erasure = ledger_forget(ledger_dir, user, reason)
    except TanluError as error:
        raise _failed(error) from None
    if json_out:
        _print_json(erasure.to_dict())
        return
    out.print(
        f"erasure {erasure.erasure}: {erasure.entries:,} entries and {erasure.consent_rows:,} "
        f"consent rows now under '{erasure.token}' ({len(erasure.files)} files rewritten); "
        f"{erasure.reduction_gco2e:,.3f} gCO2e still counted in the totals",
        highlight=False,
    )


def _decide_held(
    ledger_dir: Path, operator: str, event_id: str, decision: str, reason: str, json_out: bool
) -> None:
    """Release or reject a held entry and say what was done (``tanlu ledger release`` and
    ``reject-held``)."""
    from tanlu.app.ledger_accounts import entry_as_json, ledger_decide_held

    try:
        document = ledger_decide_held(ledger_dir, operator, event_id, decision, reason)
    except TanluError as error:
        raise _failed(error) from None
    if json_out:
        _print_json({"new": document.new, "entry": entry_as_json(document.entry)})
        return
    entry = document.entry
    done = {"release": "released", "reject": "rejected"}[decision]
    out.print(
        f"{done if document.new else 'already ' + done}: {operator}/{event_id} of user "
        f"'{entry['user']}', {entry['credited_mgco2e'] / 1000:,.3f} gCO2e credited "
        f"(batch {entry['batch']}): {entry['detail']}",
        highlight=False,
    )


@ledger_app.command("release")
def ledger_release_command(
    ledger_dir: LedgerDir,
    operator: Annotated[str, typer.Option("--operator", help="The held entry's operator.")],
    event_id: Annotated[str, typer.Option("--event-id", help="The held entry's event id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is released.")],
    json_out: JsonFlag = False,
) -> None:
    """Release a held entry: credit it by a new entry, within its methodology's caps."""
    _decide_held(ledger_dir, operator, event_id, "release", reason, json_out)


@ledger_app.command("reject-held")
def ledger_reject_held_command(
    ledger_dir: LedgerDir,
    operator: Annotated[str, typer.Option("--operator", help="The held entry's operator.")],
    event_id: Annotated[str, typer.Option("--event-id", help="The held entry's event id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is rejected.")],
    json_out: JsonFlag = False,
) -> None:
    """Reject a held entry: confirm by a new entry that it is not credited."""
    _decide_held(ledger_dir, operator, event_id, "reject", reason, json_out)


@ledger_app.command("methodologies")
def ledger_methodologies_command(
    ledger_dir: Annotated[
        Path | None, typer.Argument(help="Ledger folder whose own methodologies to include.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """The methodologies credits are given by: bundled and the ledger's own, with sources."""
    from tanlu.app.ledger import ledger_methodologies

    try:
        registry = ledger_methodologies(ledger_dir)
    except TanluError as error:
        raise _failed(error) from None
    frame = registry.table
    if json_out:
        _print_json(records(frame.drop(columns=["level", "source_line"])))
        return
    shown = frame[
        ["methodology_id", "version", "action", "region", "valid_from", "valid_until", "unit",
         "reduction_gco2e_per_unit", "daily_cap_gco2e", "monthly_cap_gco2e", "status"]
    ].astype(object).where(frame.notna(), "")  # fmt: skip
    for column in ("valid_from", "valid_until"):
        shown[column] = [v.date().isoformat() if v != "" else "" for v in shown[column]]
    _print_frame(shown.astype(str), "Methodologies (docs/ledger.md)", False)


# --- tanlu footprint: a person's, a household's or a small firm's footprint (docs/footprint.md)

footprint_app = typer.Typer(
    help="Footprints of a person, a household or a small firm, with their sources.",
    no_args_is_help=True,
)
app.add_typer(footprint_app, name="footprint")
AnswersFile = Annotated[Path, typer.Argument(help="The answers: a TOML or JSON file.")]
FootprintLang = Annotated[str, typer.Option("--lang", help="Names in zh or en.")]


def _print_footprint(document: dict[str, Any], totals: list[tuple[str, float]], lang: str) -> None:
    """The lines, totals and comparisons of a footprint's document as tables [tCO2e]."""
    name = "name_zh" if lang == "zh" else "name_en"
    lines = Table(title=f"{document['year']}, {document['province']}")
    for column in ("line", "name", "quantity", "unit", "factor_id", "status", "tCO2e"):
        lines.add_column(column, justify="right" if column in ("quantity", "tCO2e") else "left")
    for line in document["lines"]:
        factor = line["factors"][0]
        emissions = f"{line['emissions_tco2e']:,.3f}"
        lines.add_row(line["line_id"], line[name], f"{line['quantity']:,.4g}", line["unit"],
                      factor["factor_id"], factor["status"], emissions)  # fmt: skip
    out.print(lines)
    for label, value in totals:
        out.print(f"{label}: {value:,.3f} tCO2e", highlight=False)
    for item in document["comparisons"]:
        out.print(
            f"{item[name]}: {item['value']:,.4g} vs {item['average_value']:,.4g} {item['unit']} "
            f"({item['ratio']:.0%}; {item['average_id']}, {item['status']})",
            highlight=False,
        )
    for note in document["fallbacks"]:
        out.print(f"fallback: {note}", highlight=False)


@footprint_app.command("person")
def footprint_person(
    file: AnswersFile, json_out: JsonFlag = False, lang: FootprintLang = "en"
) -> None:
    """A person's or household's footprint from a questionnaire."""
    from tanlu.app.footprint import household_footprint_from_file

    try:
        result = household_footprint_from_file(file)
    except TanluError as error:
        raise _failed(error) from None
    if json_out:
        _print_json(result.to_document())
        return
    totals = [("total", result.total_tco2e), ("per person", result.per_person_tco2e)]
    _print_footprint(result.to_document(), totals, lang)


@footprint_app.command("firm")
def footprint_firm(
    file: AnswersFile, json_out: JsonFlag = False, lang: FootprintLang = "en"
) -> None:
    """A small firm's light inventory from its bills, spend and certificates."""
    from tanlu.app.footprint import firm_footprint_from_file

    try:
        result = firm_footprint_from_file(file)
    except TanluError as error:
        raise _failed(error) from None
    if json_out:
        _print_json(result.to_document())
        return
    totals = [
        ("scope 1", result.scope1_tco2e),
        ("scope 2 location-based", result.scope2_location_tco2e),
        ("scope 2 market-based", result.scope2_market_tco2e),
        ("scope 3", result.scope3_tco2e),
        ("total location-based", result.total_location_tco2e),
        ("total market-based", result.total_market_tco2e),
    ]
    _print_footprint(result.to_document(), totals, lang)


def exit_on_sigterm() -> None:
    """Turn SIGTERM (``kill``, a job scheduler, a container stopping) into a normal exit with
    code 143, so that open files are closed and the engine's spill folder removed, as on
    Ctrl-C; without it Python stops at once and leaves them."""

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def main() -> None:
    """Entry point of the ``tanlu`` console script."""
    exit_on_sigterm()
    app()


if __name__ == "__main__":
    main()
