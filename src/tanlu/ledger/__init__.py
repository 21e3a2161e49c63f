"""Carbon inclusion (碳普惠): methodologies, action events, rules and the credit ledger.

Operators send batches of users' low-carbon actions (trips by bus, metro or bike, steps walked,
electricity saved); :mod:`tanlu.ledger.events` reads and checks them, :mod:`tanlu.ledger.rules`
judges them (methodology, consent, claim window, fraud checks, caps) as Ibis expressions that
DuckDB or Spark run, and :mod:`tanlu.ledger.folder` appends the entries to the ledger, once per
(operator, event id), with balances, reversals, redemptions and totals (docs/ledger.md).
"""

from tanlu.ledger.events import EventBatch, read_consent, read_events
from tanlu.ledger.folder import (
    ENTRY_SCHEMA,
    IngestSummary,
    LedgerError,
    LedgerFolder,
    balances,
    ingest,
    read_entries,
    redeem,
    reverse_credit,
    totals,
)
from tanlu.ledger.methodologies import MethodologyRegistry, load_methodologies
from tanlu.ledger.rules import LedgerRules, RulesError, judge_events, rules_from_dict

__all__ = [
    "ENTRY_SCHEMA",
    "EventBatch",
    "IngestSummary",
    "LedgerError",
    "LedgerFolder",
    "LedgerRules",
    "MethodologyRegistry",
    "RulesError",
    "balances",
    "ingest",
    "judge_events",
    "load_methodologies",
    "read_consent",
    "read_entries",
    "read_events",
    "redeem",
    "reverse_credit",
    "rules_from_dict",
    "totals",
]
