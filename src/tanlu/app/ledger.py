"""The carbon-inclusion ledger's use cases: ingest batches, balances, totals, reversals,
redemptions, erasures and the methodology list (``tanlu ledger ...``; docs/ledger.md).

Each opens an engine connection (DuckDB by default, Spark when asked), does one job on the
ledger folder through :mod:`tanlu.ledger` and returns one typed document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from tanlu import engine
from tanlu.ledger import (
    IngestSummary,
    LedgerFolder,
    MethodologyRegistry,
    balances,
    ingest,
    load_methodologies,
    read_consent,
    read_events,
    redeem,
    reverse_credit,
    totals,
)
from tanlu.ledger.privacy import ErasureResult, erasure_log, forget_user

OnStep = Callable[[str], None]


def china_now() -> dt.datetime:
    """The time now in China (UTC+8), without a zone: how the ledger writes times."""
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, microsecond=0)


@contextmanager
def _connection(
    backend: str,
    master: str | None,
    memory_limit_gib: float | None = None,
    temp_directory: Path | None = None,
) -> Iterator[Any]:
    con = engine.connect(backend, master, memory_limit_gib, temp_directory)
    try:
        yield con
    finally:
        engine.close(con)


@contextmanager
def _reader(con: Any, memory_limit_gib: float | None, temp_directory: Path | None) -> Iterator[Any]:
    """The DuckDB connection that reads and checks batch files: ``con`` itself when it is
    DuckDB's, else one of its own (the checked events then go to ``con`` as Parquet)."""
    if engine.backend_name(con) == "duckdb":
        yield con
        return
    with _connection("duckdb", None, memory_limit_gib, temp_directory) as reader:
        yield reader


def ledger_methodologies(ledger_dir: Path | None = None) -> MethodologyRegistry:
    """The bundled methodologies and, with a ledger folder, its own (``methodologies/*.csv``)."""
    extra = LedgerFolder(ledger_dir).methodology_files() if ledger_dir is not None else []
    return load_methodologies(extra)


def ingest_batches(
    ledger_dir: Path,
    batch_files: Sequence[Path],
    consent_file: Path | None = None,
    received_at: dt.datetime | None = None,
    backend: str = engine.DEFAULT_BACKEND,
    master: str | None = None,
    on_step: OnStep | None = None,
    memory_limit_gib: float | None = None,
    temp_directory: Path | None = None,
) -> IngestSummary:
    """Read, check and judge batch files and append their new events to the ledger.

    Parameters
    ----------
    ledger_dir
        The ledger folder (made when missing).
    batch_files
        CSV or Parquet batch files, judged together as one batch.
    consent_file
        A consent file whose rows replace the stored ones of the same user and scenario.
    received_at
        When the batch was received, China time (default: now): the claim window counts back
        from it.
    backend, master
        The engine (``duckdb`` or ``spark``) and Spark's master URL.
    on_step
        Told the name of each step as it starts.
    memory_limit_gib, temp_directory
        DuckDB's memory limit [GiB] (DuckDB's own default, 80% of the machine's memory, when
        omitted) and the folder it spills under (the system's temporary folder when omitted):
        the batch is read and checked by DuckDB whatever the engine.

    Raises
    ------
    InputError
        A bad row in a batch, consent or methodology file: nothing is written.
    """
    step = on_step or (lambda _name: None)
    folder = LedgerFolder(ledger_dir)
    step("methodologies")
    registry = load_methodologies(folder.methodology_files())
    folder.rules()  # a bad ledger.toml fails before anything is read
    step("reading")
    consent = read_consent(consent_file, registry) if consent_file is not None else None
    with (
        _connection(backend, master, memory_limit_gib, temp_directory) as con,
        _reader(con, memory_limit_gib, temp_directory) as reader,
    ):
        events = read_events(batch_files, registry, reader)
        step("judging")
        return ingest(con, folder, events, registry, consent, received_at or china_now())


@dataclass(frozen=True)
class BalanceDocument:
    """Balances per user (``user, credited_gco2e, reversed_gco2e, redeemed_gco2e,
    balance_gco2e``)."""

    table: pd.DataFrame


def ledger_balances(
    ledger_dir: Path,
    user: str | None = None,
    backend: str = engine.DEFAULT_BACKEND,
    master: str | None = None,
) -> BalanceDocument:
    """Every user's balance, or one user's."""
    with _connection(backend, master) as con:
        return BalanceDocument(balances(con, LedgerFolder(ledger_dir), user))


@dataclass(frozen=True)
class TotalsDocument:
    """Reductions by city, methodology or month (``by`` names which)."""

    by: str
    table: pd.DataFrame


def ledger_totals(
    ledger_dir: Path, by: str, backend: str = engine.DEFAULT_BACKEND, master: str | None = None
) -> TotalsDocument:
    """Credits less reversals, grouped by ``by`` (``city``, ``methodology`` or ``month``)."""
    with _connection(backend, master) as con:
        return TotalsDocument(by, totals(con, LedgerFolder(ledger_dir), by))


@dataclass(frozen=True)
class EntryDocument:
    """One entry written (or found, when the command had been done before: ``new`` false)."""

    entry: dict[str, Any]
    new: bool


def ledger_reverse(
    ledger_dir: Path, operator: str, event_id: str, reason: str, at: dt.datetime | None = None
) -> EntryDocument:
    """Reverse an accepted credit (fraud found later) by a new entry."""
    with _connection(engine.DEFAULT_BACKEND, None) as con:
        entry, new = reverse_credit(
            con, LedgerFolder(ledger_dir), operator, event_id, reason, at or china_now()
        )
    return EntryDocument(entry, new)


def ledger_redeem(
    ledger_dir: Path,
    user: str,
    amount_gco2e: float,
    redemption_id: str,
    operator: str,
    at: dt.datetime | None = None,
) -> EntryDocument:
    """Redeem part of a user's balance, once per (operator, redemption id)."""
    with _connection(engine.DEFAULT_BACKEND, None) as con:
        entry, new = redeem(
            con,
            LedgerFolder(ledger_dir),
            user,
            amount_gco2e,
            redemption_id,
            operator,
            at or china_now(),
        )
    return EntryDocument(entry, new)


def ledger_forget(
    ledger_dir: Path, user: str, reason: str, at: dt.datetime | None = None
) -> ErasureResult:
    """Forget a person on request: their pseudonym replaced by an unlinkable token and their
    places and coordinates cleared in every entry and consent row, the totals kept, the
    erasure recorded in the ledger's erasure log (docs/ledger.md, "Privacy")."""
    with _connection(engine.DEFAULT_BACKEND, None) as con:
        return forget_user(con, LedgerFolder(ledger_dir), user, reason, at or china_now())


def ledger_erasures(ledger_dir: Path) -> list[ErasureResult]:
    """The ledger's erasure log, oldest first."""
    return erasure_log(LedgerFolder(ledger_dir))
