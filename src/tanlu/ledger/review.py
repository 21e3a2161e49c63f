"""Review of held entries: a city's reviewer decides an entry the rules held (overlap, teleport,
repeated trip, burst; docs/ledger.md "Rules") by a new entry, never by editing the held one.

- **release** credits it after all: a new entry of kind ``credit``, status ``accepted``, reason
  :data:`RELEASED`, ``refers_to`` the held event, with the same event, methodology and raw
  credit, capped by the methodology's daily and monthly caps as an accepted credit is
  (counting the accepted credits, released ones included, that the ledger already holds for
  the user and methodology that day and month); ``detail`` says why it was released and, when
  a cap cut it, by how much. Being of kind ``credit`` and accepted, it is counted by every sum
  that counts accepted credits (balances, totals, evidence for issuance, later caps), once:
  the held entry credits 0 and those sums leave it out.
- **reject** confirms that it is not credited: a new entry of kind :data:`REJECTION`, status
  ``rejected``, crediting 0, which no sum counts.

Deciding an entry again the same way changes nothing; deciding it the other way, or deciding
an entry that is not held, is a :class:`~tanlu.ledger.folder.LedgerError`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from tanlu import engine
from tanlu.ledger.folder import (
    LedgerError,
    LedgerFolder,
    entries_table,
    entry_record,
    write_one_entry,
)
from tanlu.ledger.methodologies import MethodologyRegistry
from tanlu.ledger.rules import ACCEPTED, HELD, REJECTED

RELEASE, REJECT = "release", "reject"
DECISIONS: tuple[str, ...] = (RELEASE, REJECT)
# the reason of a release entry (kind "credit"), and the kind and reason of a rejection
RELEASED = "released"
REJECTION = "rejection"
REJECTED_ON_REVIEW = "rejected_on_review"
DECIDED = {RELEASE: "released", REJECT: "rejected"}

__all__ = [
    "DECISIONS",
    "REJECT",
    "REJECTED_ON_REVIEW",
    "REJECTION",
    "RELEASE",
    "RELEASED",
    "capped_mgco2e",
    "decide_held",
]


def capped_mgco2e(before_mgco2e: int, amount_mgco2e: int, cap_mgco2e: int | None) -> int:
    """What of ``amount_mgco2e`` fits under ``cap_mgco2e`` when ``before_mgco2e`` was counted
    already: ``min(before + amount, cap) - min(before, cap)``, never below 0; all of it without
    a cap (the rules' own cap, :func:`tanlu.ledger.rules._capped`, in plain integers) [mgCO2e]."""
    if cap_mgco2e is None:
        return amount_mgco2e
    fitted = min(before_mgco2e + amount_mgco2e, cap_mgco2e) - min(before_mgco2e, cap_mgco2e)
    return max(fitted, 0)


def _caps_mgco2e(
    registry: MethodologyRegistry, methodology_id: str, version: int
) -> tuple[int | None, int | None]:
    """The methodology version's daily and monthly caps [mgCO2e] (``None``: no cap)."""
    table = registry.table
    row = table[(table["methodology_id"] == methodology_id) & (table["version"] == version)]
    if row.empty:
        raise LedgerError(
            f"methodology '{methodology_id}' version {version} is not in the ledger's registry "
            "(a methodology file removed?): its caps are unknown, nothing was released"
        )

    def milligrams(value: Any) -> int | None:
        return None if pd.isna(value) else round(float(value) * 1000)

    return milligrams(row["daily_cap_gco2e"].iloc[0]), milligrams(row["monthly_cap_gco2e"].iloc[0])


def _credited_before(
    con: Any, folder: LedgerFolder, user: str, methodology_id: str, start: dt.datetime
) -> tuple[int, int]:
    """The user's accepted credits by the methodology (released ones included; reversals do not
    give room back, docs/ledger.md "Credits") on ``start``'s day, after the daily cap, and in
    its month [mgCO2e], as the rules count them."""
    month_start = dt.datetime(start.year, start.month, 1)
    month_end = dt.datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
    day_start = dt.datetime(start.year, start.month, start.day)
    day_end = day_start + dt.timedelta(days=1)
    entries = entries_table(con, folder)
    mine = entries.filter(
        (entries.entry_kind == "credit")
        & (entries.status == ACCEPTED)
        & (entries.user == user)
        & (entries.methodology_id == methodology_id)
        & (entries.start_time >= month_start)
        & (entries.start_time < month_end)
    )
    in_day = (mine.start_time >= day_start) & (mine.start_time < day_end)
    summed = engine.to_pandas(
        mine.aggregate(
            day=mine.daily_mgco2e.cast("int64").sum(where=in_day),
            month=mine.credited_mgco2e.cast("int64").sum(),
        )
    ).iloc[0]
    return (
        0 if pd.isna(summed["day"]) else int(summed["day"]),
        0 if pd.isna(summed["month"]) else int(summed["month"]),
    )


def _release(
    con: Any,
    folder: LedgerFolder,
    registry: MethodologyRegistry,
    held: dict[str, Any],
    reason: str,
) -> dict[str, Any]:
    """The release entry's credit fields: the held entry's raw credit through the caps."""
    raw = int(held["raw_mgco2e"] or 0)
    methodology_id, version = held["methodology_id"], held["methodology_version"]
    if methodology_id is None or version is None or raw <= 0:
        raise LedgerError(
            f"event '{held['event_id']}' of operator '{held['operator']}' has no credit to "
            "release (no methodology or no quantity)"
        )
    daily_cap, monthly_cap = _caps_mgco2e(registry, str(methodology_id), int(version))
    day_before, month_before = _credited_before(
        con, folder, str(held["user"]), str(methodology_id), held["start_time"]
    )
    daily = capped_mgco2e(day_before, raw, daily_cap)
    credited = capped_mgco2e(month_before, daily, monthly_cap)
    detail = f"released on review: {reason} (held for {held['reason']})"
    if daily < raw:
        detail += (
            f"; the daily cap of {daily_cap} mgCO2e of '{methodology_id}' left {daily} of "
            f"{raw} mgCO2e"
        )
    if credited < daily:
        detail += (
            f"; the monthly cap of {monthly_cap} mgCO2e of '{methodology_id}' left {credited} "
            f"of {daily} mgCO2e"
        )
    return {
        "entry_kind": "credit",
        "daily_mgco2e": daily,
        "credited_mgco2e": credited,
        "status": ACCEPTED,
        "reason": RELEASED,
        "detail": detail,
    }


def decide_held(
    con: Any,
    folder: LedgerFolder,
    registry: MethodologyRegistry,
    operator: str,
    event_id: str,
    decision: str,
    reason: str,
    at: dt.datetime,
) -> tuple[dict[str, Any], bool]:
    """Release or reject the held entry of (``operator``, ``event_id``) by a new entry (the
    module's docstring says which); the same decision again changes nothing.

    Parameters
    ----------
    con
        An engine connection (DuckDB or Spark) to read the ledger with.
    folder
        The ledger.
    registry
        The methodologies the ledger credits by (their caps).
    operator, event_id
        The held event.
    decision
        ``release`` or ``reject``.
    reason
        Why, in the reviewer's words (the new entry's ``detail``).
    at
        When, China time (the new entry's ``received_at``).

    Returns
    -------
    tuple[dict, bool]
        The decision's entry (:data:`~tanlu.ledger.rules.ENTRY_COLUMNS`) and whether it is
        new.

    Raises
    ------
    LedgerError
        An unknown decision or an empty reason; no entry of the event in the ledger (the
        message starts "no entry"); an entry that was not held; one decided the other way
        already. Nothing is written.
    """
    if decision not in DECISIONS:
        raise LedgerError(f"decide a held entry by {' or '.join(DECISIONS)}, not '{decision}'")
    if not reason.strip():
        raise LedgerError("give the reason for the decision")
    with folder.writing():
        entries = entries_table(con, folder)
        found = engine.to_pandas(
            entries.filter((entries.operator == operator) & (entries.event_id == event_id))
        )
        credits = found[found["entry_kind"] == "credit"]
        if credits.empty:
            raise LedgerError(
                f"no entry of event '{event_id}' of operator '{operator}' in {folder.root}"
            )
        held = credits[credits["status"] == HELD]
        if held.empty:
            first = entry_record(credits.iloc[0])
            raise LedgerError(
                f"event '{event_id}' of operator '{operator}' was {first['status']}, not held: "
                "only a held entry is released or rejected"
            )
        released = credits[credits["reason"] == RELEASED]
        rejected = found[found["entry_kind"] == REJECTION]
        for done, kind in ((released, RELEASE), (rejected, REJECT)):
            if done.empty:
                continue
            entry = entry_record(done.iloc[0])
            if kind == decision:
                return entry, False
            raise LedgerError(
                f"event '{event_id}' of operator '{operator}' was {DECIDED[kind]} on review "
                f"already (at {entry['received_at']:%Y-%m-%d %H:%M:%S}); a decision is final"
                + ("; reverse the credit instead" if kind == RELEASE else "")
            )
        row = entry_record(held.iloc[0])
        if decision == RELEASE:
            decided = _release(con, folder, registry, row, reason)
        else:
            decided = {
                "entry_kind": REJECTION,
                "daily_mgco2e": 0,
                "credited_mgco2e": 0,
                "status": REJECTED,
                "reason": REJECTED_ON_REVIEW,
                "detail": f"rejected on review: {reason} (held for {row['reason']})",
            }
        batch = folder.next_batch()
        entry = {
            **row,
            **decided,
            "batch": batch,
            "received_at": at,
            "refers_to": f"{operator}/{event_id}",
        }
        write_one_entry(folder, batch, entry, decision)
    return entry, True
