"""The ``tanlu`` command: a thin layer over the public functions; no logic of its own."""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from tanlu.electricity.matching import calculate_electricity
from tanlu.errors import InputError, ProjectError, TanluError
from tanlu.factors import load_factor_library, lookup_factor
from tanlu.inventory import InventoryResult, calculate_inventory, load_inputs
from tanlu.inventory.calculate import ProjectInputs, load_project_library
from tanlu.project import Project, load_project
from tanlu.scaffold import scaffold_project

app = typer.Typer(
    help="tanlu (碳路): GHG inventories, green power and roadmaps to carbon neutrality.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
factors_app = typer.Typer(help="Browse the emission-factor library.", no_args_is_help=True)
app.add_typer(factors_app, name="factors")

# Tables printed to a file or pipe get room for their columns (a terminal sets its own width).
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

ProjectDir = Annotated[Path, typer.Argument(help="Project folder (holds tanlu.toml).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
ProjectOption = Annotated[
    Path | None, typer.Option("--project", help="Include a project's factor overrides.")
]


def _fail(error: TanluError, code: int = 2) -> typer.Exit:
    err.print(Text.assemble(("error: ", "bold red"), str(error)), highlight=False)
    return typer.Exit(code)


@contextmanager
def _import_progress() -> Iterator[Progress]:
    """A progress bar over activity rows while files are read (on stderr)."""
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
        yield progress


def _load(project: Project) -> ProjectInputs:
    with _import_progress() as progress:
        task = progress.add_task("read", total=None)
        return load_inputs(project, lambda rows: progress.advance(task, rows))


def _number(value: float) -> str:
    return f"{value:,.1f}"


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
def validate(directory: ProjectDir, json_output: JsonFlag = False) -> None:
    """Check a project's configuration and every input row; exit 1 if anything is wrong."""
    try:
        project = load_project(directory)
        inputs = _load(project)
    except InputError as error:
        if json_output:
            issues = [
                {
                    "file": i.file,
                    "sheet": i.sheet,
                    "line": i.line,
                    "column": i.column,
                    "reason": i.reason,
                }
                for i in error.issues
            ]
            out.print_json(json.dumps({"valid": False, "issues": issues}, ensure_ascii=False))
        else:
            for issue in error.issues:
                err.print(str(issue), markup=False, highlight=False)
            err.print(f"[bold red]{len(error.issues)} problem(s) found; fix them and run again.[/]")
        raise typer.Exit(1) from None
    except TanluError as error:
        raise _fail(error, 1) from None
    summary = {
        "valid": True,
        "activity_rows": inputs.rows_read,
        "activity_files": len(project.activity_files),
        "instruments": len(inputs.instruments),
        "sites": len(project.sites),
    }
    if json_output:
        out.print_json(json.dumps(summary))
    else:
        out.print(
            f"[green]OK[/]: {inputs.rows_read:,} activity rows in "
            f"{len(project.activity_files)} file(s), {len(inputs.instruments)} instrument(s), "
            f"{len(project.sites)} site(s)."
        )


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


def _write_results(result: InventoryResult, destination: Path) -> list[Path]:
    """Write JSON and CSV results into a temporary folder, then move them into place."""
    destination.mkdir(parents=True, exist_ok=True)
    stem = f"inventory_{result.year}"
    tables: dict[str, pd.DataFrame] = {
        "lines": result.lines,
        "by_category": result.by_category,
        "by_site": result.by_site,
        "by_gas": result.by_gas,
        "scope2_market": result.scope2_market.by_site,
        "fallbacks": result.fallbacks,
        "factors_used": result.factors_used,
    }
    written = []
    with tempfile.TemporaryDirectory(dir=destination) as staging:
        staged = Path(staging)
        (staged / f"{stem}.json").write_text(
            json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=_json_default),
            encoding="utf-8",
        )
        for name, frame in tables.items():
            frame.to_csv(staged / f"{stem}_{name}.csv", index=False)
        for path in sorted(staged.iterdir()):
            target = destination / path.name
            shutil.move(str(path), target)
            written.append(target)
    return written


def _json_default(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@app.command()
def inventory(
    directory: ProjectDir,
    year: Annotated[int, typer.Option("--year", help="Base or reporting year.")],
    json_output: JsonFlag = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Also write JSON and CSV results here.")
    ] = None,
) -> None:
    """Calculate the GHG inventory of one year (scopes 1, 2 both methods, 3)."""
    try:
        project = load_project(directory)
        inputs = _load(project)
        result = calculate_inventory(project, year, inputs)
    except TanluError as error:
        raise _fail(error, 1 if isinstance(error, (InputError, ProjectError)) else 2) from None
    if out_dir is not None:
        written = _write_results(result, out_dir)
    if json_output:
        text = json.dumps(result.to_dict(), ensure_ascii=False, default=_json_default)
        sys.stdout.write(text + "\n")
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
) -> None:
    """Green electricity per site: annual green share, 24/7 CFE score, scope 2 both ways."""
    try:
        project = load_project(directory)
        inputs = _load(project)
        result = calculate_electricity(project, year, inputs, hourly=hourly)
    except TanluError as error:
        raise _fail(error, 1 if isinstance(error, (InputError, ProjectError)) else 2) from None
    if json_output:
        text = json.dumps(result.to_dict(), ensure_ascii=False, default=_json_default)
        sys.stdout.write(text + "\n")
        return
    view = Table(title=f"Green electricity {year} (MWh; shares in %)")
    columns = ["site", "consumption", "on-site PV", "contracts+GEC", "green %", "market tCO2e"]
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
        _number(totals["market_tco2e"]),
    ]
    if hourly:
        score = totals.get("cfe_score_share")
        cells.append("n/a" if score is None else f"{100 * score:.1f}")
    view.add_row(*cells)
    out.print(view)
    if hourly:
        out.print(
            f"Grid carbon-free share {100 * result.grid_cfe_share:.1f}%: {result.grid_cfe_source}",
            highlight=False,
        )


@factors_app.command("list")
def factors_list(
    directory: ProjectOption = None,
    json_output: JsonFlag = False,
) -> None:
    """List the activities the library has factors for."""
    try:
        library = _library(directory)
    except TanluError as error:
        raise _fail(error) from None
    counts = library.factors.groupby("activity").size().rename("factors")
    table = library.activities.join(counts, on="activity")
    table["factors"] = table["factors"].fillna(0).astype(int)
    if json_output:
        records = (
            table[
                [
                    "activity",
                    "name_en",
                    "name_zh",
                    "scope",
                    "category",
                    "canonical_unit",
                    "method",
                    "factors",
                ]
            ]
            .astype(object)
            .to_dict(orient="records")
        )
        sys.stdout.write(json.dumps(records, ensure_ascii=False, default=_json_default) + "\n")
        return
    view = Table(title="Activities in the factor library")
    for column in ("activity", "name", "名称", "scope", "category", "unit", "factors"):
        view.add_column(column)
    for row in table.itertuples(index=False):
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


def _library(directory: Path | None) -> Any:
    if directory is None:
        return load_factor_library()
    return load_project_library(load_project(directory))


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
        library = _library(directory)
        found = lookup_factor(library, activity, region, year, kind)
    except TanluError as error:
        raise _fail(error) from None
    canonical = str(library.activity(activity)["canonical_unit"])
    rows = []
    for row in found.itertuples(index=False):
        rows.append(
            {
                "factor_id": row.factor_id,
                "activity": activity,
                "factor_kind": kind,
                "gas": row.gas,
                "value": float(row.value),
                "unit": row.unit,
                "factor_t_per_unit": float(row.factor_t_per_unit),
                "canonical_unit": canonical,
                "region_level": row.region_level,
                "region": row.factor_region,
                "year_start": int(row.year_start),
                "year_end": None if pd.isna(row.year_end) else int(row.year_end),
                "dataset": row.dataset,
                "source": row.source,
                "status": row.status,
                "fallback": row.fallback or None,
            }
        )
    if json_output:
        payload = {
            "query": {"activity": activity, "region": region, "year": year, "kind": kind},
            "factors": rows,
        }
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    for row in rows:
        value = row["factor_t_per_unit"]
        shown = f"{value:.6g}" if not math.isnan(value) else "n/a"
        out.print(
            f"[bold]{row['factor_id']}[/]: {row['value']} {row['unit']} of {row['gas']} "
            f"(= {shown} t/{canonical})"
        )
        out.print(
            f"  where: {row['region_level']} {row['region']}; valid from {row['year_start']}"
            f"{'' if row['year_end'] is None else ' to ' + str(row['year_end'])}"
        )
        out.print(f"  source ({row['status']}): {row['source']}", highlight=False)
        if row["fallback"]:
            out.print(f"  [yellow]fallback[/]: {row['fallback']}")


def main() -> None:
    """Entry point of the ``tanlu`` console script."""
    app()
