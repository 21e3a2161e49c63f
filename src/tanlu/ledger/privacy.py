"""Erasure: a person forgotten on request, the ledger's totals kept (docs/ledger.md, "Privacy").

The ledger holds pseudonyms only; the operator holds the mapping from a pseudonym to a person.
When a person asks to be forgotten, :func:`forget_user` rewrites every entry file, and the
consent file, that holds their pseudonym:

- the pseudonym becomes a token drawn at random for this erasure (``erased-<n>-<16 hex>``), the
  same in all of the person's entries, so that they still group together (a cap's explanation,
  the number of users behind a registry's figure) but cannot be linked back to the pseudonym;
- what locates the person is cleared: ``start_place``, ``end_place``, the four coordinates, and
  ``content_hash`` (a hash over the event's content, pseudonym included); in ``detail`` the
  pseudonym becomes the token and the entry's own places ``'(erased)'``;
- what the totals and the rules' explanations need is kept: operator and event id (a replayed
  event is still known as one), action, channel, city, province, times, distance, quantity,
  methodology and version, units, the credits, status, reason.

Each rewritten file keeps its rows in their order and its Parquet key-value metadata, with
``tanlu.ledger.erasures`` added (the erasures that rewrote it). The erasure log,
``erasures.jsonl`` in the ledger folder, gets one record per erasure (:class:`ErasureResult`):
its number, when, the reason, the token, what was rewritten and what it counted (per city,
methodology, version and month), and each file's SHA-256 before and after, so that a registry
that saw the old files can check the change. The log holds neither the pseudonym nor any hash
of it.

**Crash safety.** The rewritten files are first written in full beside the originals (hidden,
``.NAME.erasing``, flushed to disk); then a pending record, ``.erasure-pending.json``, is written
(the log's record itself: number, token, rows, hashes; no pseudonym); then each file is
renamed over its original, the consent file first, one at a time (each rename atomic); then the
record is appended to the log and the pending record removed. A crash leaves every file either
as it was or as rewritten, so the ledger stays valid and its totals the same; the next
:func:`forget_user`, whoever it forgets, first finishes the interrupted erasure from its
prepared files, with its token.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tanlu import engine
from tanlu.ledger.events import CONSENT_SCHEMA
from tanlu.ledger.folder import ENTRY_SCHEMA, LedgerError, LedgerFolder, entries_table
from tanlu.ledger.rules import ACCEPTED, ENTRY_COLUMNS

ERASURE_LOG = "erasures.jsonl"
PENDING_FILE = ".erasure-pending.json"
TOKEN_PREFIX = "erased-"
ERASED_PLACE = "(erased)"
ERASURES_KEY = b"tanlu.ledger.erasures"
# cleared in an erased person's entries: where they were, and a hash over their event's content
CLEARED_COLUMNS: tuple[str, ...] = (
    "start_place",
    "end_place",
    "start_lat",
    "start_lon",
    "end_lat",
    "end_lon",
    "content_hash",
)
_SUFFIX = ".erasing"
_READ_ROWS = 65_536
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class ErasedFile:
    """One file an erasure rewrote.

    Attributes
    ----------
    path
        The file, relative to the ledger folder (``entries/00000001.parquet``,
        ``consent.parquet``).
    rows
        The rows rewritten (0 is the file's first row); the file's other rows are as they were.
    sha256_before, sha256_after
        SHA-256 of the file's bytes before and after.
    """

    path: str
    rows: tuple[int, ...]
    sha256_before: str
    sha256_after: str


@dataclass(frozen=True)
class ErasedTotal:
    """What the erased person's entries count in one city, methodology, version and month (of
    the action's start): accepted credits and reversals, and the reduction [gCO2e]."""

    city: str | None
    methodology_id: str
    methodology_version: int
    month: str
    credits: int
    reversals: int
    reduction_gco2e: float


@dataclass(frozen=True)
class ErasureResult:
    """One erasure, as its record in the erasure log holds it (no pseudonym, no hash of one).

    Attributes
    ----------
    erasure
        Its number in the ledger's erasure log (1, 2, ...).
    erased_at
        When it was done, China time.
    reason
        Why (the request it answers).
    token
        What the pseudonym became in every rewritten entry and consent row.
    entries
        Entries rewritten.
    entries_by_kind
        Of them, by ``entry_kind`` (``credit``, ``reversal``, ``redemption``).
    consent_rows
        Consent rows rewritten.
    reduction_gco2e
        What the rewritten entries count in the ledger's totals (accepted credits less
        reversals) [gCO2e]: unchanged by the erasure, now under the token.
    balance_gco2e
        The balance they make (credits, reversals and redemptions) [gCO2e].
    totals
        ``reduction_gco2e`` by city, methodology, version and month.
    files
        Every file rewritten, with its rows and SHA-256 before and after.
    """

    erasure: int
    erased_at: dt.datetime
    reason: str
    token: str
    entries: int
    entries_by_kind: dict[str, int]
    consent_rows: int
    reduction_gco2e: float
    balance_gco2e: float
    totals: tuple[ErasedTotal, ...]
    files: tuple[ErasedFile, ...]

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON holds it (the time as ``YYYY-MM-DD HH:MM:SS``)."""
        document = dataclasses.asdict(self)
        document["erased_at"] = self.erased_at.isoformat(sep=" ")
        for item in document["files"]:
            item["rows"] = list(item["rows"])
        return document

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ErasureResult:
        return cls(
            erasure=int(document["erasure"]),
            erased_at=dt.datetime.fromisoformat(document["erased_at"]),
            reason=str(document["reason"]),
            token=str(document["token"]),
            entries=int(document["entries"]),
            entries_by_kind={str(k): int(v) for k, v in document["entries_by_kind"].items()},
            consent_rows=int(document["consent_rows"]),
            reduction_gco2e=float(document["reduction_gco2e"]),
            balance_gco2e=float(document["balance_gco2e"]),
            totals=tuple(ErasedTotal(**t) for t in document["totals"]),
            files=tuple(
                ErasedFile(f["path"], tuple(int(r) for r in f["rows"]), *_hashes(f))
                for f in document["files"]
            ),
        )


def _hashes(item: dict[str, Any]) -> tuple[str, str]:
    return str(item["sha256_before"]), str(item["sha256_after"])


# --- reading the log --------------------------------------------------------------------------


def erasure_log(folder: LedgerFolder) -> list[ErasureResult]:
    """The ledger's erasures, oldest first (none when the ledger has no log)."""
    path = folder.root / ERASURE_LOG
    if not path.exists():
        return []
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(ErasureResult.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError) as error:
            raise LedgerError(f"{path}, line {number}: not an erasure record ({error})") from None
    return out


# --- small file helpers -----------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _temp(path: Path) -> Path:
    return path.with_name(f".{path.name}{_SUFFIX}")


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _commit(temp: Path, final: Path) -> None:
    """Rename a prepared file over its original (atomic) and make the rename durable."""
    os.replace(temp, final)
    _fsync_dir(final.parent)


def _write_text_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.partial")
    temp.write_text(text, encoding="utf-8")
    _fsync_file(temp)
    _commit(temp, path)


# --- rewriting one file -----------------------------------------------------------------------


def _kv_metadata(path: Path, number: int) -> dict[bytes, bytes]:
    """The file's key-value metadata with ``number`` added to its erasures."""
    metadata = dict(pq.read_schema(path).metadata or {})
    metadata.pop(b"ARROW:schema", None)
    done = json.loads(metadata.get(ERASURES_KEY, b"[]"))
    metadata[ERASURES_KEY] = json.dumps([*done, number]).encode()
    return metadata


def _erased_detail(detail: str | None, user: str, token: str, places: list[Any]) -> str | None:
    if detail is None:
        return None
    text = detail.replace(user, token)
    for place in places:
        if place:
            text = text.replace(f"'{place}'", f"'{ERASED_PLACE}'")
    return text


def _erase_batch(table: pa.Table, mask: pa.Array, user: str, token: str) -> pa.Table:
    """The table with the rows of ``mask`` erased (the module's docstring says how)."""
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if name == "user":
            column = pc.if_else(mask, pa.scalar(token, pa.string()), column)
        elif name in CLEARED_COLUMNS:
            column = pc.if_else(mask, pa.scalar(None, column.type), column)
        elif name == "detail":
            chosen = set(pc.indices_nonzero(mask).to_pylist())
            details = column.to_pylist()
            starts = table.column("start_place").to_pylist()
            ends = table.column("end_place").to_pylist()
            column = pa.array(
                [
                    _erased_detail(d, user, token, [starts[i], ends[i]]) if i in chosen else d
                    for i, d in enumerate(details)
                ],
                pa.string(),
            )
        columns[name] = column
    return pa.table(columns, schema=table.schema)


def _prepare_entries(path: Path, user: str, token: str, number: int) -> tuple[list[int], Path]:
    """Write the erased copy of an entry file beside it (hidden, flushed); its rows erased."""
    temp = _temp(path)
    metadata = _kv_metadata(path, number)
    schema = ENTRY_SCHEMA.with_metadata(metadata)
    rows: list[int] = []
    offset = 0
    source = pq.ParquetFile(path)
    try:
        with pq.ParquetWriter(temp, schema) as writer:
            for batch in source.iter_batches(batch_size=_READ_ROWS):
                table = pa.Table.from_batches([batch]).select(list(ENTRY_COLUMNS))
                table = table.cast(ENTRY_SCHEMA)
                mask = pc.fill_null(pc.equal(table.column("user"), user), False)
                found = pc.indices_nonzero(mask).to_pylist()
                if found:
                    table = _erase_batch(table, mask.combine_chunks(), user, token)
                    rows.extend(offset + i for i in found)
                writer.write_table(table.replace_schema_metadata(metadata))
                offset += batch.num_rows
        _fsync_file(temp)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    return rows, temp


def _prepare_consent(folder: LedgerFolder, user: str, token: str) -> tuple[list[int], Path]:
    """Write the consent file with the user's rows under the token beside it (hidden)."""
    path = folder.consent_file
    temp = _temp(path)
    table = pq.read_table(path, schema=CONSENT_SCHEMA)
    mask = pc.fill_null(pc.equal(table.column("user"), user), False)
    rows = pc.indices_nonzero(mask).to_pylist()
    users = pc.if_else(mask, pa.scalar(token, pa.string()), table.column("user"))
    erased = table.set_column(table.schema.get_field_index("user"), "user", users)
    metadata = dict(pq.read_schema(path).metadata or {})
    metadata.pop(b"ARROW:schema", None)
    try:
        pq.write_table(erased.replace_schema_metadata(metadata or None), temp)
        _fsync_file(temp)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return rows, temp


def _consent_rows(folder: LedgerFolder, user: str) -> int:
    if not folder.consent_file.exists():
        return 0
    column = pq.read_table(folder.consent_file, columns=["user"]).column("user")
    return int(pc.sum(pc.equal(column, user)).as_py() or 0)


# --- what the person's entries count ------------------------------------------------------------


def _month(start: pd.Series) -> pd.Series:
    return start.dt.strftime("%Y-%m")


def _found_entries(con: Any, folder: LedgerFolder, user: str) -> pd.DataFrame:
    """The user's entries (the columns the log counts), through the engine."""
    if not folder.entry_files():
        return pd.DataFrame(
            columns=[
                "batch",
                "entry_kind",
                "status",
                "city",
                "methodology_id",
                "methodology_version",
                "start_time",
                "credited_mgco2e",
            ]
        )
    table = entries_table(con, folder, "ledger_erasure")
    mine = table.filter(table.user == user).select(
        "batch",
        "entry_kind",
        "status",
        "city",
        "methodology_id",
        "methodology_version",
        "start_time",
        "credited_mgco2e",
    )
    return engine.to_pandas(mine)


def _totals(found: pd.DataFrame) -> tuple[ErasedTotal, ...]:
    counted = found[
        found["entry_kind"].isin(["credit", "reversal"]) & (found["status"] == ACCEPTED)
    ].copy()
    if counted.empty:
        return ()
    counted["month"] = _month(pd.to_datetime(counted["start_time"]))
    counted["city"] = counted["city"].astype(object).where(counted["city"].notna(), "")
    keys = ["city", "methodology_id", "methodology_version", "month"]
    out = []
    for key, rows in counted.groupby(keys, sort=True):
        city, methodology, version, month = key
        out.append(
            ErasedTotal(
                city=str(city) or None,
                methodology_id=str(methodology),
                methodology_version=int(version),
                month=str(month),
                credits=int((rows["entry_kind"] == "credit").sum()),
                reversals=int((rows["entry_kind"] == "reversal").sum()),
                reduction_gco2e=int(rows["credited_mgco2e"].astype("int64").sum()) / 1000,
            )
        )
    return tuple(out)


# --- the erasure --------------------------------------------------------------------------------


def _new_token(con: Any, folder: LedgerFolder, number: int, taken: set[str]) -> str:
    """A token drawn at random (64 bits) that is no earlier token and no pseudonym in use."""
    while True:
        token = f"{TOKEN_PREFIX}{number}-{secrets.token_hex(8)}"
        if (
            token not in taken
            and _found_entries(con, folder, token).empty
            and _consent_rows(folder, token) == 0
        ):
            return token


def _check_request(folder: LedgerFolder, user: str, reason: str) -> None:
    if not user or not user.strip():
        raise LedgerError("give the pseudonym of the user to forget (it is empty)")
    if not reason or not reason.strip():
        raise LedgerError(
            "give a reason for the erasure (the request it answers): it is recorded in the log"
        )
    if user in reason:
        raise LedgerError(
            "the reason names the user's pseudonym: the erasure log must not hold it; "
            "give a reason without it"
        )
    if not folder.root.is_dir():
        raise LedgerError(f"{folder.root} is not a ledger folder")


def forget_user(
    con: Any, folder: LedgerFolder, user: str, reason: str, at: dt.datetime
) -> ErasureResult:
    """Forget a person: rewrite every entry and consent row of pseudonym ``user`` under a token
    drawn for this erasure, with the person's places and coordinates cleared; keep what the
    totals count; append the erasure to the log (the module's docstring says what is kept and
    how a crash is survived). Under the ledger's lock.

    Parameters
    ----------
    con
        An engine connection (DuckDB or Spark): the user's entries are found through it.
    folder
        The ledger.
    user
        The pseudonym to forget.
    reason
        Why (the request it answers); recorded in the log, so it must not name the pseudonym.
    at
        When, China time.

    Returns
    -------
    ErasureResult
        The erasure's record in the log (also when it finishes an erasure of the same user
        that a crash interrupted).

    Raises
    ------
    LedgerError
        An empty pseudonym or reason, a reason naming the pseudonym, no ledger folder, or a
        pseudonym with no entry and no consent row: never seen, or forgotten already (the
        ledger keeps nothing to tell which).
    """
    _check_request(folder, user, reason)
    with folder.writing():
        finished, same_person = _finish_pending(folder, user)
        if finished is not None and same_person:
            return finished
        found = _found_entries(con, folder, user)
        consent_rows = _consent_rows(folder, user)
        if found.empty and consent_rows == 0:
            raise LedgerError(
                f"user '{user}' has no entry and no consent row in the ledger {folder.root}: "
                "never seen, or forgotten already (an erasure keeps nothing of the pseudonym, "
                "so the two cannot be told apart)"
            )
        if user.startswith(TOKEN_PREFIX) and any(e.token == user for e in erasure_log(folder)):
            raise LedgerError(f"'{user}' is the token of an erasure: forgotten already")
        log = erasure_log(folder)
        number = (log[-1].erasure if log else 0) + 1
        token = _new_token(con, folder, number, {e.token for e in log})
        result = _prepare(folder, found, consent_rows, user, token, number, reason, at)
        _write_text_atomically(
            folder.root / PENDING_FILE, json.dumps(result.to_dict(), ensure_ascii=False)
        )
        _complete(folder, result)
    return result


def _prepare(
    folder: LedgerFolder,
    found: pd.DataFrame,
    consent_rows: int,
    user: str,
    token: str,
    number: int,
    reason: str,
    at: dt.datetime,
) -> ErasureResult:
    """Write every erased copy beside its file; the erasure's record (before anything is
    renamed into place)."""
    files: list[ErasedFile] = []
    prepared: list[Path] = []
    try:
        if consent_rows:
            rows, temp = _prepare_consent(folder, user, token)
            prepared.append(temp)
            files.append(
                ErasedFile(
                    str(folder.consent_file.relative_to(folder.root)),
                    tuple(rows),
                    _sha256(folder.consent_file),
                    _sha256(temp),
                )
            )
        expected = found.groupby("batch").size().to_dict() if not found.empty else {}
        for batch in sorted(int(b) for b in expected):
            path = folder.entries_dir / f"{batch:08d}.parquet"
            if not path.exists():
                raise LedgerError(f"{path}: missing, yet the ledger has entries of batch {batch}")
            rows, temp = _prepare_entries(path, user, token, number)
            prepared.append(temp)
            if len(rows) != int(expected[batch]):
                raise LedgerError(
                    f"{path}: {len(rows)} entries of the user, the engine read "
                    f"{int(expected[batch])}; nothing was changed"
                )
            files.append(
                ErasedFile(
                    str(path.relative_to(folder.root)), tuple(rows), _sha256(path), _sha256(temp)
                )
            )
    except BaseException:
        for temp in prepared:
            temp.unlink(missing_ok=True)
        raise
    kinds = found["entry_kind"].value_counts().to_dict() if not found.empty else {}
    totals = _totals(found)
    credited = found["credited_mgco2e"].fillna(0).astype("int64") if not found.empty else None
    return ErasureResult(
        erasure=number,
        erased_at=at,
        reason=reason,
        token=token,
        entries=len(found),
        entries_by_kind={str(k): int(v) for k, v in sorted(kinds.items())},
        consent_rows=consent_rows,
        reduction_gco2e=sum(round(t.reduction_gco2e * 1000) for t in totals) / 1000,
        balance_gco2e=int(credited.sum()) / 1000 if credited is not None else 0.0,
        totals=totals,
        files=tuple(files),
    )


def _complete(folder: LedgerFolder, result: ErasureResult) -> None:
    """Rename each prepared file over its original (the consent file first), append the record
    to the log, remove the pending record. Each step may be done again after a crash."""
    for item in result.files:
        final = folder.root / item.path
        temp = _temp(final)
        if temp.exists():
            _commit(temp, final)
    log = folder.root / ERASURE_LOG
    if not any(e.erasure == result.erasure for e in erasure_log(folder)):
        before = log.read_text(encoding="utf-8") if log.exists() else ""
        line = json.dumps(result.to_dict(), ensure_ascii=False, sort_keys=True)
        _write_text_atomically(log, before + line + "\n")
    (folder.root / PENDING_FILE).unlink(missing_ok=True)
    _fsync_dir(folder.root)


def _finish_pending(folder: LedgerFolder, user: str) -> tuple[ErasureResult | None, bool]:
    """Finish an erasure a crash interrupted, if any; with whether ``user`` is the person it
    was erasing (their entries are at the recorded rows of the files not yet rewritten).
    Without one, remove erased copies a crash left before any was recorded."""
    pending = folder.root / PENDING_FILE
    if not pending.exists():
        for stray in [*folder.entries_dir.glob(f".*{_SUFFIX}"), *folder.root.glob(f".*{_SUFFIX}")]:
            stray.unlink()
        return None, False
    try:
        result = ErasureResult.from_dict(json.loads(pending.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as error:
        raise LedgerError(
            f"{pending}: an interrupted erasure's record is unreadable: {error}"
        ) from None
    waiting = []
    for item in result.files:
        final = folder.root / item.path
        current = _sha256(final)
        if current == item.sha256_after:
            continue
        temp = _temp(final)
        if current != item.sha256_before or not temp.exists() or _sha256(temp) != item.sha256_after:
            if item.path == folder.consent_file.name:
                waiting.append(item)
                continue
            raise LedgerError(
                f"{final}: changed since erasure {result.erasure} began, which a crash "
                "interrupted; it cannot be finished (restore the file from a copy)"
            )
        waiting.append(item)
    # only entry files tell the person: a consent upload may have moved the consent rows
    entries_waiting = [item for item in waiting if item.path != folder.consent_file.name]
    same = bool(entries_waiting) and all(
        _rows_of(folder, item, user) == item.rows for item in entries_waiting
    )
    for item in waiting:
        if item.path != folder.consent_file.name or _sha256(folder.consent_file) == (
            item.sha256_before
        ):
            continue
        # a consent upload changed the file after the crash, before its rows were rewritten
        if not same:
            raise LedgerError(
                f"erasure {result.erasure} was interrupted and the consent file has changed "
                "since: forget the same user again to finish it"
            )
        _temp(folder.consent_file).unlink(missing_ok=True)
        rows, _ = _prepare_consent(folder, user, result.token)
        index = result.files.index(item)
        after = _sha256(_temp(folder.consent_file))
        redone = ErasedFile(item.path, tuple(rows), _sha256(folder.consent_file), after)
        result = dataclasses.replace(
            result, files=(*result.files[:index], redone, *result.files[index + 1 :])
        )
    _complete(folder, result)
    return result, same


def _rows_of(folder: LedgerFolder, item: ErasedFile, user: str) -> tuple[int, ...]:
    column = pq.read_table(folder.root / item.path, columns=["user"]).column("user")
    return tuple(pc.indices_nonzero(pc.fill_null(pc.equal(column, user), False)).to_pylist())
