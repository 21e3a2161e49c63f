"""The carbon-inclusion ledger as the service runs it (docs/service.md "Carbon inclusion"): a
city's scheme registers operators; an operator's member sends a batch file to a city whose
scheme has registered it; the city reads its ledger's totals.

Each city's ledger is a ledger folder (docs/ledger.md) under the service's ledger root
(``tanlu serve --ledger-dir``, else ``$TANLU_LEDGER_DIR``, else ``ledgers/`` in the working
folder), one per city: ``city-{id}/``. The folder's lock lets one batch at a time write it,
from any worker process on the machine.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy import Engine

from tanlu.app.ledger import ingest_batches, ledger_totals
from tanlu.errors import InputError, InputIssue, NotFoundError
from tanlu.ledger import LedgerFolder, load_methodologies, read_consent
from tanlu.ledger.folder import merge_consent, write_consent
from tanlu.store.ledger import (
    BatchRecord,
    SchemeLink,
    list_batches,
    operator_link,
    organisation_kind,
    record_batch,
    register_operator,
    require_kind,
    scheme_links,
)
from tanlu.store.roles import OrganisationKind

LEDGER_DIR_VARIABLE = "TANLU_LEDGER_DIR"
BATCH_SUFFIXES = (".csv", ".parquet")
# a batch's name as the operator gave it: letters, digits and ._- (the rest replaced)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

__all__ = [
    "BatchRecord",
    "SchemeLink",
    "city_ledger_dir",
    "city_totals",
    "ledger_root",
    "list_batches",
    "receive_batch",
    "receive_consent",
    "register_scheme_operator",
    "scheme_links",
]


def ledger_root(given: Path | None = None) -> Path:
    """The folder of the service's ledgers: ``given``, else ``$TANLU_LEDGER_DIR``, else
    ``ledgers`` in the working folder."""
    if given is not None:
        return given
    return Path(os.environ.get(LEDGER_DIR_VARIABLE) or "ledgers")


def city_ledger_dir(root: Path, city_id: int) -> Path:
    """The ledger folder of one city's scheme."""
    return root / f"city-{city_id}"


def register_scheme_operator(
    engine: Engine, city_id: int, operator: str, code: str, actor: str
) -> SchemeLink:
    """Register the operator named ``operator`` with the city's scheme, under the ``code``
    its batch files write in their ``operator`` column."""
    return register_operator(engine, city_id, operator, code, actor)


def batch_name(given: str) -> str:
    """The batch file's name to keep and show: its last part, unsafe characters replaced; its
    suffix must be .csv or .parquet (:class:`InputError`)."""
    name = _UNSAFE.sub("_", given.replace("\\", "/").rsplit("/", 1)[-1])[:200]
    if not name.lower().endswith(BATCH_SUFFIXES):
        raise InputError(
            [InputIssue(name or "(no name)", None, None, "a batch is a .csv or .parquet file")]
        )
    return name


def _operator_column(path: Path, name: str) -> pa.ChunkedArray:
    try:
        if name.lower().endswith(".parquet"):
            return pq.read_table(path, columns=["operator"]).column("operator").cast(pa.string())
        table = pa_csv.read_csv(
            path,
            convert_options=pa_csv.ConvertOptions(
                include_columns=["operator"], column_types={"operator": pa.string()}
            ),
        )
        return table.column("operator")
    except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        issue = InputIssue(name, None, "operator", f"cannot read the column: {reason}")
        raise InputError([issue]) from None


def check_operator(path: Path, name: str, code: str) -> None:
    """Every row of the batch is the operator's own (its ``operator`` column is ``code``);
    otherwise :class:`InputError` naming the first other row's line (CSV: its line in the file;
    Parquet: its row) and nothing is ingested."""
    column = _operator_column(path, name)
    other = pc.invert(pc.fill_null(pc.equal(column, code), False))
    if not pc.any(other).as_py():
        return
    index = pc.index(other, True).as_py()
    # a CSV's header is line 1; a Parquet file's first record is row 1
    line = index + 2 if name.lower().endswith(".csv") else index + 1
    reason = (
        f"'{column[index].as_py()}' is not this operator's code '{code}' (an operator sends "
        "only its own users' actions)"
    )
    raise InputError([InputIssue(name, line, "operator", reason)])


def _summary(ingested: Any) -> dict[str, Any]:
    document = dataclasses.asdict(ingested)
    document.pop("file", None)
    by_status = document.get("by_status") or {}
    for status in ("accepted", "held", "rejected"):
        document[status] = int(by_status.get(status, 0))
    return document


def receive_batch(
    engine: Engine,
    root: Path,
    operator_id: int,
    city_id: int,
    source: Path,
    source_sha256: str,
    given_name: str,
    actor: str,
) -> BatchRecord:
    """Ingest one batch file (``source``, of SHA-256 ``source_sha256``, named ``given_name`` by
    the operator) into the city's
    ledger and record it: the operator must be registered with the city's scheme and every row
    must be its own. A bad batch (:class:`InputError` naming file, line, column and reason)
    writes nothing; a replayed one adds no entry."""
    require_kind(engine, operator_id, OrganisationKind.OPERATOR)
    link = operator_link(engine, operator_id, city_id)
    name = batch_name(given_name)
    with tempfile.TemporaryDirectory(prefix="tanlu-batch-") as folder:
        # the reader knows a batch by its suffix, and names it in its messages
        batch = Path(folder) / name
        try:
            os.link(source, batch)
        except OSError:
            shutil.copyfile(source, batch)
        check_operator(batch, name, link.code)
        try:
            ingested = ingest_batches(city_ledger_dir(root, city_id), [batch])
        except InputError as error:
            # the issues name the temporary copy: name the batch as the operator sent it
            issues = [
                dataclasses.replace(i, file=name) if i.file == str(batch) else i
                for i in error.issues
            ]
            raise InputError(issues, error.unlisted) from None
    return record_batch(engine, link, name, source_sha256, _summary(ingested), actor)


def receive_consent(
    engine: Engine,
    root: Path,
    operator_id: int,
    city_id: int,
    source: Path,
    source_sha256: str,
    given_name: str,
    actor: str,
) -> BatchRecord:
    """Take a consent file (docs/ledger.md "Consent") from an operator registered with the
    city's scheme: its rows replace the city's stored ones of the same user and scenario, under
    the ledger's lock; a bad file (:class:`InputError`) writes nothing."""
    require_kind(engine, operator_id, OrganisationKind.OPERATOR)
    link = operator_link(engine, operator_id, city_id)
    name = batch_name(given_name)
    ledger = LedgerFolder(city_ledger_dir(root, city_id))
    with tempfile.TemporaryDirectory(prefix="tanlu-consent-") as folder:
        copy = Path(folder) / name
        shutil.copyfile(source, copy)
        try:
            given = read_consent(copy, load_methodologies(ledger.methodology_files()))
        except InputError as error:
            issues = [
                dataclasses.replace(i, file=name) if i.file == str(copy) else i
                for i in error.issues
            ]
            raise InputError(issues, error.unlisted) from None
    with ledger.writing():
        write_consent(ledger, merge_consent(ledger.consent(), given))
    summary = {"consent_rows": len(given)}
    return record_batch(engine, link, name, source_sha256, summary, actor)


def city_totals(engine: Engine, root: Path, city_id: int, by: str) -> list[dict[str, Any]]:
    """The city's reductions credited (credits less reversals) by ``city``, ``methodology``
    or ``month``; none before its first batch (:class:`NotFoundError` for an organisation
    that is not a city: it has no ledger)."""
    if organisation_kind(engine, city_id) is not OrganisationKind.CITY:
        raise NotFoundError("this organisation runs no carbon-inclusion scheme")
    folder = city_ledger_dir(root, city_id)
    if not LedgerFolder(folder).entry_files():
        return []
    records: list[dict[str, Any]] = ledger_totals(folder, by).table.to_dict("records")
    return records
