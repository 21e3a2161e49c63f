"""The files a use case's document is written as (``--out``): JSON for the document, CSV for
its tables, and the emission lines as a partitioned Parquet dataset that scales to any number
of rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from tanlu.app.roadmap import RoadmapDocument
from tanlu.electricity.matching import ElectricityResult
from tanlu.electricity.site_procurement import SiteProcurement
from tanlu.inventory.calculate import InventoryResult
from tanlu.inventory.lines import EmissionLines
from tanlu.output import Writer, json_text

# The most rows a lines CSV gets: Excel opens at most 1,048,576 rows, header included
# (Microsoft, "Excel specifications and limits"); beyond that the lines are in the Parquet
# dataset only.
LINES_CSV_MAX_ROWS = 1_048_575


def json_writer(data: object) -> Writer:
    """Writes ``data`` as indented UTF-8 JSON."""
    text = json_text(data)
    return lambda path: path.write_text(text, encoding="utf-8")


def csv_writer(frame: pd.DataFrame, index: bool = False) -> Writer:
    """Writes a table as UTF-8 CSV with a header row."""
    return lambda path: frame.to_csv(path, index=index)


def lines_dataset_writer(lines: EmissionLines) -> Writer:
    """Writes emission lines as a Parquet dataset partitioned by scope (``scope=1/``,
    ``scope=2/``, ``scope=3/``: Hive-style folders that DuckDB, Spark, pandas and pyarrow read
    as one table with a ``scope`` column), streamed from the engine a batch at a time."""

    def write(path: Path) -> None:
        batches = lines.batches()
        scope = pa.schema([("scope", batches.schema.field("scope").type)])
        ds.write_dataset(
            batches,
            path,
            format="parquet",
            partitioning=ds.partitioning(scope, flavor="hive"),
            basename_template="part-{i}.parquet",
            max_rows_per_file=10_000_000,
            max_rows_per_group=1_000_000,
        )

    return write


def lines_csv_writer(lines: EmissionLines) -> Writer:
    """Writes emission lines as one UTF-8 CSV file with a header row, a batch at a time."""

    def write(path: Path) -> None:
        with path.open("w", encoding="utf-8", newline="") as out:
            header = True
            for batch in lines.batches():
                batch.to_pandas().to_csv(out, index=False, header=header)
                header = False

    return write


def table_writer(frame: pd.DataFrame) -> Writer:
    """Writes a table as Parquet when the path ends in ``.parquet``, else as UTF-8 CSV."""

    def write(path: Path) -> None:
        if path.suffix.lower() == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)

    return write


def inventory_files(
    result: InventoryResult, csv_max_rows: int = LINES_CSV_MAX_ROWS
) -> dict[str, Writer]:
    """The files ``tanlu inventory --out`` writes, by name (docs/json-output.md).

    ``inventory_Y.json`` (the document), one CSV per summary table, the lines as the Parquet
    dataset ``inventory_Y_lines/`` and, when they are at most ``csv_max_rows``, also as
    ``inventory_Y_lines.csv``.
    """
    stem = f"inventory_{result.year}"
    tables: dict[str, pd.DataFrame] = {
        "by_category": result.by_category,
        "by_site": result.by_site,
        "by_gas": result.by_gas,
        "scope2_market": result.scope2_market.by_site,
        "fallbacks": result.fallbacks,
        "factors_used": result.factors_used,
    }
    files = {f"{stem}.json": json_writer(result.to_dict())}
    files[f"{stem}_lines"] = lines_dataset_writer(result.emission_lines)
    if len(result.emission_lines) <= csv_max_rows:
        files[f"{stem}_lines.csv"] = lines_csv_writer(result.emission_lines)
    files.update({f"{stem}_{name}.csv": csv_writer(frame) for name, frame in tables.items()})
    return files


def electricity_files(result: ElectricityResult, year: int) -> dict[str, Writer]:
    """The file of the ``electricity`` use case: ``electricity_Y.json``, its ``--json``."""
    return {f"electricity_{year}.json": json_writer(result.to_dict())}


def procurement_files(plan: SiteProcurement, site: str, year: int) -> dict[str, Writer]:
    """The files ``tanlu procure --out`` writes: the plan's JSON and its hourly dispatch."""
    stem = f"procurement_{site}_{year}"
    return {
        f"{stem}.json": json_writer(plan.to_dict()),
        f"{stem}_dispatch.csv": csv_writer(plan.result.dispatch, index=True),
    }


def roadmap_files(document: RoadmapDocument) -> dict[str, Writer]:
    """The files ``tanlu roadmap --out`` writes: the document's JSON and each of its tables as
    CSV."""
    stem = f"roadmap_{document.plan.scenario}"
    files = {f"{stem}.json": json_writer(document.to_dict())}
    for name, frame in document.tables().items():
        files[f"{stem}_{name}.csv"] = csv_writer(frame)
    return files
