"""Review of held entries, redemptions and the citizen's own account: the use cases of
``tanlu ledger release|reject-held`` and of the service's routes for them (docs/ledger.md
"Review, redemption and the citizen's account", docs/service.md "Carbon inclusion").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tanlu import engine
from tanlu.app.ledger import EntryDocument, china_now
from tanlu.ledger import LedgerFolder, load_methodologies
from tanlu.ledger.review import decide_held

__all__ = ["entry_as_json", "ledger_decide_held"]


def entry_as_json(entry: dict[str, Any]) -> dict[str, Any]:
    """A ledger entry as JSON holds it: times as text (``2025-05-01 08:00:00``)."""
    return {k: v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v for k, v in entry.items()}


def ledger_decide_held(
    ledger_dir: Path,
    operator: str,
    event_id: str,
    decision: str,
    reason: str,
    at: dt.datetime | None = None,
) -> EntryDocument:
    """Release (``decision`` ``release``: credit it, within its methodology's caps) or reject
    (``reject``) a held entry by a new entry; the same decision again changes nothing.

    Raises
    ------
    LedgerError
        No entry of the event, an entry that is not held, one decided the other way already,
        an unknown decision or an empty reason: nothing is written.
    """
    folder = LedgerFolder(ledger_dir)
    registry = load_methodologies(folder.methodology_files())
    con = engine.connect()
    try:
        entry, new = decide_held(
            con, folder, registry, operator, event_id, decision, reason, at or china_now()
        )
    finally:
        engine.close(con)
    return EntryDocument(entry, new)
