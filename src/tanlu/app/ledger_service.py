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
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy import Engine

from tanlu import engine as engines
from tanlu.app.ledger import (
    ingest_batches,
    ledger_balances,
    ledger_erasures,
    ledger_forget,
    ledger_reverse,
    ledger_totals,
)
from tanlu.errors import ConflictError, InputError, InputIssue, NotFoundError, StoreError
from tanlu.ledger import LedgerError, LedgerFolder, load_methodologies, read_consent
from tanlu.ledger.folder import entries_table, merge_consent, write_consent
from tanlu.ledger.privacy import TOKEN_PREFIX
from tanlu.ledger.review import REJECTION
from tanlu.store.citizens import forget_pseudonym
from tanlu.store.ledger import (
    BatchRecord,
    SchemeLink,
    list_batches,
    operator_link,
    organisation_kind,
    record_batch,
    record_ledger_action,
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
    "city_erasures",
    "city_ledger_dir",
    "city_totals",
    "forget_city_user",
    "held_entries",
    "issuance_evidence",
    "leaderboard",
    "ledger_root",
    "list_batches",
    "receive_batch",
    "receive_consent",
    "register_scheme_operator",
    "reverse_city_credit",
    "scheme_links",
    "user_account",
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


def _as_sent(error: InputError, copy: Path, name: str) -> InputError:
    """The error with its issues naming the file as the operator sent it, not the temporary
    copy it was read from."""
    issues = [dataclasses.replace(i, file=name) if i.file == str(copy) else i for i in error.issues]
    return InputError(issues, error.unlisted)


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
    the operator) into the city's ledger and record it: the operator must be registered with the
    city's scheme and every row must be its own. A bad batch (:class:`InputError` naming file,
    line, column and reason) writes nothing; a replayed one adds no entry."""
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
            raise _as_sent(error, batch, name) from None
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
            raise _as_sent(error, copy, name) from None
    with ledger.writing():
        write_consent(ledger, merge_consent(ledger.consent(), given))
    summary = {"consent_rows": len(given)}
    return record_batch(engine, link, name, source_sha256, summary, actor)


# the entry columns a city or an operator reads back (no coordinates, no content hash)
ENTRY_FIELDS = (
    "operator",
    "event_id",
    "user",
    "action",
    "channel",
    "city",
    "start_time",
    "end_time",
    "entry_kind",
    "status",
    "reason",
    "methodology_id",
    "methodology_version",
    "unit",
    "units",
    "raw_mgco2e",
    "credited_mgco2e",
)


def _city(engine: Engine, city_id: int) -> None:
    if organisation_kind(engine, city_id) is not OrganisationKind.CITY:
        raise NotFoundError("this organisation runs no carbon-inclusion scheme")


def _plain(value: Any) -> Any:
    """A value of an entry as JSON holds it: no NaN or NaT (``None``), times as text, numpy's
    numbers as Python's."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ")
    return value.item() if hasattr(value, "item") else value


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    """An entry as read back: its credit, and the credit before the caps (``raw_gco2e``: what
    a held entry would give if released; ``None`` without a methodology), in gCO2e."""
    out = {k: _plain(row.get(k)) for k in ENTRY_FIELDS if not k.endswith("_mgco2e")}
    raw = _plain(row.get("raw_mgco2e"))
    out["raw_gco2e"] = None if raw is None else int(raw) / 1000
    out["credited_gco2e"] = int(_plain(row.get("credited_mgco2e")) or 0) / 1000
    return out


def _entries(root: Path, city_id: int, keep: Any, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` entries of the city's ledger that ``keep(table)`` keeps (a function
    of the entries' table giving the rows wanted)."""
    folder = LedgerFolder(city_ledger_dir(root, city_id))
    if not folder.entry_files():
        return []
    con = engines.connect()
    try:
        table = entries_table(con, folder)
        table = keep(table)
        chosen = table.order_by([table.batch.desc(), table.start_time.desc(), table.event_id])
        frame = engines.to_pandas(chosen.select(*ENTRY_FIELDS).limit(limit))
    finally:
        engines.close(con)
    return [_entry(row) for row in frame.to_dict("records")]


def held_entries(
    engine: Engine, root: Path, city_id: int, limit: int = 100
) -> list[dict[str, Any]]:
    """The city's newest held entries (for review), with their reasons."""
    _city(engine, city_id)
    return _entries(root, city_id, undecided_held, limit)


def undecided_held(entries: Any) -> Any:
    """The held entries no reviewer has released or rejected yet: a decision is a new entry of
    the same event (a released credit or a rejection) that refers to it."""
    decided = entries.filter(
        entries.refers_to.notnull() & entries.entry_kind.isin(["credit", REJECTION])
    ).select(d_operator=entries.operator, d_event_id=entries.event_id)
    held = entries.filter(entries.status == "held")
    return held.anti_join(
        decided, (held.operator == decided.d_operator) & (held.event_id == decided.d_event_id)
    )


def user_account(
    engine: Engine,
    root: Path,
    organisation_id: int,
    user: str,
    city_id: int | None = None,
    limit: int = 200,
) -> dict[str, Any]:
    """A user's (a pseudonym's) balance in a city's ledger and their newest entries, as the city
    reads them, or as an operator that has sent the user's actions reads them (its own entries
    only; the balance is the user's in the city). A user the reader has no entry of is not found
    (:class:`NotFoundError`), the same as one who does not exist."""
    kind = organisation_kind(engine, organisation_id)
    code: str | None = None
    if kind is OrganisationKind.CITY:
        city = organisation_id
    elif kind is OrganisationKind.OPERATOR and city_id is not None:
        link = operator_link(engine, organisation_id, city_id)
        city, code = city_id, link.code
    else:
        raise NotFoundError("this organisation reads no carbon-inclusion ledger (give city_id)")

    def mine(t: Any) -> Any:
        chosen = t.user == user
        return t.filter(chosen if code is None else chosen & (t.operator == code))

    entries = _entries(root, city, mine, limit)
    if not entries:
        raise NotFoundError("no such user in the ledger")
    (row,) = ledger_balances(city_ledger_dir(root, city), user).table.to_dict("records")
    return {
        "user": user,
        "city_id": city,
        "credited_gco2e": float(row["credited_gco2e"]),
        "reversed_gco2e": float(row["reversed_gco2e"]),
        "redeemed_gco2e": float(row["redeemed_gco2e"]),
        "balance_gco2e": float(row["balance_gco2e"]),
        "entries": entries,
    }


def reverse_city_credit(
    engine: Engine,
    root: Path,
    city_id: int,
    operator: str,
    event_id: str,
    reason: str,
    actor: str,
) -> tuple[dict[str, Any], bool]:
    """Reverse an accepted credit of the city's ledger (fraud found later) by a new entry, with
    the reason (an audit entry of the city's); reversing it again changes nothing. Returns the
    reversal and whether it is new. An event the ledger has no credit of is not found; one that
    was not accepted or credited nothing cannot be reversed (:class:`ConflictError`)."""
    _city(engine, city_id)
    folder = city_ledger_dir(root, city_id)
    try:
        done = ledger_reverse(folder, operator, event_id, reason)
    except LedgerError as error:
        # the message names the folder on the server: not for the caller
        text = str(error).replace(f" in {folder}", "")
        raise (NotFoundError if text.startswith("no credit") else ConflictError)(text) from None
    entry = _entry(done.entry)
    if done.new:
        record_ledger_action(
            engine,
            city_id,
            "ledger.reverse",
            f"ledger entry {operator}/{event_id}",
            reason,
            # no pseudonym: the audit trail cannot be edited, and a person may be forgotten
            {"credited_gco2e": entry["credited_gco2e"]},
            actor,
        )
    return entry, done.new


def _month(table: Any) -> Any:
    return (
        table.start_time.year().cast("string")
        + "-"
        + table.start_time.month().cast("string").lpad(2, "0")
    )


def issuance_evidence(
    engine: Engine, root: Path, city_id: int, month: str | None = None
) -> list[dict[str, Any]]:
    """What a registry needs to issue the city's reductions, per month of the actions, city,
    methodology and its version: the credits and reversals counted, the reduction [gCO2e],
    the users, operators and batches behind it, the first and last action, and a SHA-256 over
    the counted entries' ``operator/event_id/kind/credited_mgco2e`` in order, so that the
    registry can check the entries it is given add up to the figure. Only accepted entries
    count; held entries are not issued until released. ``month``: one month (``YYYY-MM``)."""
    _city(engine, city_id)
    folder = LedgerFolder(city_ledger_dir(root, city_id))
    if not folder.entry_files():
        return []
    con = engines.connect()
    try:
        table = entries_table(con, folder)
        counted = table.filter(
            table.entry_kind.isin(["credit", "reversal"]) & (table.status == "accepted")
        ).mutate(month=_month(table))
        if month is not None:
            counted = counted.filter(counted.month == month)
        keys = ["month", "city", "methodology_id", "methodology_version"]
        grouped = counted.group_by(keys).aggregate(
            credits=(counted.entry_kind == "credit").sum(),
            reversals=(counted.entry_kind == "reversal").sum(),
            reduction_mgco2e=counted.credited_mgco2e.sum(),
            users=counted.user.nunique(),
            operators=counted.operator.nunique(),
            batches=counted.batch.nunique(),
            first_start=counted.start_time.min(),
            last_end=counted.end_time.max(),
        )
        frame = engines.to_pandas(grouped.order_by(keys))
        ids = engines.to_pandas(
            counted.select(*keys, "operator", "event_id", "entry_kind", "credited_mgco2e").order_by(
                [*keys, "operator", "event_id", "entry_kind"]
            )
        )
    finally:
        engines.close(con)
    digests: dict[tuple[Any, ...], Any] = {}
    for key, rows in ids.groupby(keys, sort=False, dropna=False):
        digest = hashlib.sha256()
        for operator, event_id, kind, credited in rows[
            ["operator", "event_id", "entry_kind", "credited_mgco2e"]
        ].itertuples(index=False):
            digest.update(f"{operator}/{event_id}/{kind}/{int(credited)}\n".encode())
        digests[tuple(key)] = digest.hexdigest()
    out = []
    for row in frame.to_dict("records"):
        key = tuple(row[k] for k in keys)
        out.append(
            {
                "month": str(row["month"]),
                "city": _plain(row["city"]),
                "methodology_id": str(row["methodology_id"]),
                "methodology_version": int(row["methodology_version"]),
                "credits": int(row["credits"]),
                "reversals": int(row["reversals"]),
                "reduction_gco2e": int(row["reduction_mgco2e"]) / 1000,
                "users": int(row["users"]),
                "operators": int(row["operators"]),
                "batches": int(row["batches"]),
                "first_start": _plain(row["first_start"]),
                "last_end": _plain(row["last_end"]),
                "entries_sha256": digests[key],
            }
        )
    return out


def leaderboard(
    engine: Engine, root: Path, city_id: int, month: str | None = None, top: int = 20
) -> list[dict[str, Any]]:
    """The city's users (pseudonyms) by reduction credited (credits less reversals, of actions
    in ``month`` or in all), most first, ties by pseudonym; a user with any held entry is left
    out until every one is released or rejected (a held account), and so is a forgotten
    person's token (an erasure keeps their credits in the totals, not their place among the
    city's users)."""
    _city(engine, city_id)
    folder = LedgerFolder(city_ledger_dir(root, city_id))
    if not folder.entry_files():
        return []
    con = engines.connect()
    try:
        entries = entries_table(con, folder)
        table = entries.mutate(month=_month(entries))
        undecided = undecided_held(table)
        held = undecided.select(held_user=undecided.user).distinct()
        counted = table.filter(
            table.entry_kind.isin(["credit", "reversal"]) & (table.status == "accepted")
        )
        if month is not None:
            counted = counted.filter(counted.month == month)
        counted = counted.anti_join(held, counted.user == held.held_user)
        counted = counted.filter(~counted.user.startswith(TOKEN_PREFIX))
        ranked = (
            counted.group_by("user")
            .aggregate(reduction_mgco2e=counted.credited_mgco2e.sum(), credits=counted.count())
            .order_by([ibis.desc("reduction_mgco2e"), "user"])
            .limit(top)
        )
        frame = engines.to_pandas(ranked)
    finally:
        engines.close(con)
    return [
        {
            "rank": index + 1,
            "user": str(row["user"]),
            "credits": int(row["credits"]),
            "reduction_gco2e": int(row["reduction_mgco2e"]) / 1000,
        }
        for index, row in enumerate(frame.to_dict("records"))
    ]


def city_totals(engine: Engine, root: Path, city_id: int, by: str) -> list[dict[str, Any]]:
    """The city's reductions credited (credits less reversals) by ``city``, ``methodology``
    or ``month``; none before its first batch (:class:`NotFoundError` for an organisation
    that is not a city: it has no ledger)."""
    _city(engine, city_id)
    folder = city_ledger_dir(root, city_id)
    if not LedgerFolder(folder).entry_files():
        return []
    records: list[dict[str, Any]] = ledger_totals(folder, by).table.to_dict("records")
    return records


def forget_city_user(
    engine: Engine, root: Path, city_id: int, user: str, reason: str, actor: str
) -> dict[str, Any]:
    """Forget a person on request (docs/ledger.md "Privacy"): in the city's ledger, every entry
    and consent row of pseudonym ``user`` rewritten under a token of the erasure, places and
    coordinates cleared, the totals kept; the erasure's record in the ledger's erasure log and
    an audit entry of the city's, neither holding the pseudonym. A pseudonym the ledger holds
    nothing of (never seen, or forgotten already) is not found; a reason naming the pseudonym,
    or blank, is refused (422)."""
    _city(engine, city_id)
    folder = city_ledger_dir(root, city_id)
    if not folder.is_dir():
        raise NotFoundError(
            f"user '{user}' has no entry and no consent row in the ledger: never seen, or "
            "forgotten already"
        )
    try:
        erasure = ledger_forget(folder, user, reason)
    except LedgerError as error:
        # the message names the folder on the server: not for the caller
        text = str(error).replace(f" {folder}", "")
        if "never seen, or forgotten already" in text:
            raise NotFoundError(text) from None
        if "forgotten already" in text:
            raise ConflictError(text) from None
        raise StoreError(text) from None
    links = forget_pseudonym(engine, city_id, user)
    record_ledger_action(
        engine,
        city_id,
        "ledger.forget",
        f"ledger erasure {erasure.erasure}",
        erasure.reason,
        {
            "erasure": erasure.erasure,
            "token": erasure.token,
            "entries": erasure.entries,
            "consent_rows": erasure.consent_rows,
            "reduction_gco2e": erasure.reduction_gco2e,
            "citizen_links_removed": links,
        },
        actor,
    )
    return erasure.to_dict()


def city_erasures(engine: Engine, root: Path, city_id: int) -> list[dict[str, Any]]:
    """The city's erasure log, oldest first (docs/ledger.md "Privacy"): what each erasure
    rewrote and counted, with each file's SHA-256 before and after; no pseudonym."""
    _city(engine, city_id)
    folder = city_ledger_dir(root, city_id)
    if not folder.is_dir():
        return []
    return [erasure.to_dict() for erasure in ledger_erasures(folder)]
