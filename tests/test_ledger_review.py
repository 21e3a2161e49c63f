"""Review of held entries (tanlu.ledger.review): a held trip released is credited once, within
its methodology's caps, and counted by balances, totals and later caps; a rejection credits
nothing; the same decision again writes nothing; a second, other decision and an entry that is
not held are refused with their reasons. The arithmetic by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tanlu.app.ledger import ingest_batches, ledger_balances, ledger_reverse, ledger_totals
from tanlu.app.ledger_accounts import ledger_decide_held
from tanlu.cli import app
from tanlu.ledger import LedgerError, LedgerFolder, read_entries
from tanlu.ledger.review import capped_mgco2e

from .test_ledger import RECEIVED, event, run, write

# E1 (metro, 12 km) and E2 (bus, 6 km) overlap in time: both held; E3 (metro, 10 km) accepted
OVERLAPPING = [
    event("E1", distance_km=12, start_time="2025-05-01 08:00", end_time="2025-05-01 08:30"),
    event(
        "E2",
        action="bus",
        distance_km=6,
        start_time="2025-05-01 08:10",
        end_time="2025-05-01 08:40",
    ),
    event("E3", start_time="2025-05-01 18:00", end_time="2025-05-01 18:30"),
]


def _files(ledger: Path) -> int:
    return len(LedgerFolder(ledger).entry_files())


def test_a_released_trip_is_credited_once_and_counted_everywhere(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    entries = run(tmp_path, OVERLAPPING)
    assert entries.loc[["E1", "E2"], "status"].tolist() == ["held", "held"]
    assert entries.loc["E1", "raw_mgco2e"] == 561_600  # 12 km x 46.8 g, not credited yet
    # before review: only E3, 10 km x 46.8 g = 468 g
    assert ledger_balances(ledger, "u1").table["balance_gco2e"].tolist() == [468.0]
    release = ledger_decide_held(ledger, "op", "E1", "release", "the bus tap was a colleague's")
    assert release.new
    entry = release.entry
    assert (entry["entry_kind"], entry["status"], entry["reason"]) == (
        "credit",
        "accepted",
        "released",
    )
    # 12 km x 46.8 gCO2e per passenger-km (Shenzhen metro) = 561.6 g, no cap
    assert (entry["raw_mgco2e"], entry["daily_mgco2e"], entry["credited_mgco2e"]) == (
        561_600,
        561_600,
        561_600,
    )
    assert entry["refers_to"] == "op/E1" and entry["methodology_id"] == "shenzhen-metro"
    assert entry["detail"] == "released on review: the bus tap was a colleague's (held for overlap)"
    # 468 + 561.6 = 1,029.6 g, counted once: in the balance, and in the month's totals as the
    # second accepted credit (the held entry credits 0 and is not counted)
    balance = ledger_balances(ledger, "u1").table.iloc[0]
    assert (balance["credited_gco2e"], balance["balance_gco2e"]) == (1029.6, 1029.6)
    assert ledger_totals(ledger, "month").table.to_dict("records") == [
        {"month": "2025-05", "credits": 2, "reversals": 0, "reduction_gco2e": 1029.6}
    ]
    # the held entry is as it was: the ledger has one more entry, in a batch of its own
    stored = read_entries(LedgerFolder(ledger))
    assert stored.loc[stored["event_id"] == "E1", ["batch", "status", "credited_mgco2e"]].to_dict(
        "records"
    ) == [
        {"batch": 1, "status": "held", "credited_mgco2e": 0},
        {"batch": 2, "status": "accepted", "credited_mgco2e": 561_600},
    ]
    # released again: nothing new, nothing written
    again = ledger_decide_held(ledger, "op", "E1", "release", "again")
    assert not again.new and again.entry["batch"] == 2 and _files(ledger) == 2
    # rejecting it now is refused: a decision is final (a credit found wrong is reversed)
    with pytest.raises(LedgerError, match=r"was released on review already.*reverse the credit"):
        ledger_decide_held(ledger, "op", "E1", "reject", "changed my mind")
    assert _files(ledger) == 2


def test_a_rejected_held_entry_credits_nothing_and_stays_rejected(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    run(tmp_path, OVERLAPPING)
    rejection = ledger_decide_held(ledger, "op", "E2", "reject", "two trips at once")
    entry = rejection.entry
    assert rejection.new
    assert (entry["entry_kind"], entry["status"], entry["reason"]) == (
        "rejection",
        "rejected",
        "rejected_on_review",
    )
    assert entry["credited_mgco2e"] == 0 and entry["refers_to"] == "op/E2"
    assert entry["detail"] == "rejected on review: two trips at once (held for overlap)"
    # the balance and totals are E3's alone: 468 g, one credit
    assert ledger_balances(ledger, "u1").table["balance_gco2e"].tolist() == [468.0]
    assert ledger_totals(ledger, "month").table["credits"].tolist() == [1]
    assert not ledger_decide_held(ledger, "op", "E2", "reject", "again").new
    with pytest.raises(LedgerError, match="was rejected on review already"):
        ledger_decide_held(ledger, "op", "E2", "release", "on second thoughts")
    assert _files(ledger) == 2


def test_only_a_held_entry_is_decided(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    run(tmp_path, OVERLAPPING)
    with pytest.raises(LedgerError, match="'E3' of operator 'op' was accepted, not held"):
        ledger_decide_held(ledger, "op", "E3", "release", "r")
    with pytest.raises(LedgerError, match=r"^no entry of event 'E99' of operator 'op'"):
        ledger_decide_held(ledger, "op", "E99", "release", "r")
    with pytest.raises(LedgerError, match="by release or reject, not 'approve'"):
        ledger_decide_held(ledger, "op", "E1", "approve", "r")
    with pytest.raises(LedgerError, match="give the reason"):
        ledger_decide_held(ledger, "op", "E1", "release", "  ")
    assert _files(ledger) == 1


def _scooter(tmp_path: Path, daily_cap_g: int, monthly_cap_g: int) -> None:
    """A test methodology: scooters in Shenzhen, 10 g a km, with the caps given [g]."""
    folder = tmp_path / "ledger" / "methodologies"
    folder.mkdir(parents=True)
    (folder / "mine.csv").write_text(
        "methodology_id,version,action,scenario,region,region_level,unit,"
        "reduction_gco2e_per_unit,daily_cap_gco2e,monthly_cap_gco2e,source,status\n"
        f"demo-scooter,1,scooter,cycling,深圳,city,km,10,{daily_cap_g},{monthly_cap_g},"
        "a test figure,U\n",
        encoding="utf-8",
    )


def _scooter_ride(event_id: str, km: float, day: int, start: str, end: str) -> dict[str, object]:
    return event(
        event_id,
        action="scooter",
        distance_km=km,
        start_time=f"2025-05-0{day} {start}",
        end_time=f"2025-05-0{day} {end}",
    )


def test_the_daily_cap_cuts_a_release_and_counts_it_afterwards(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    _scooter(tmp_path, daily_cap_g=30, monthly_cap_g=1000)
    rows = [
        _scooter_ride("S1", 2, 1, "08:00", "08:20"),  # 2 km x 10 g = 20 g, accepted
        _scooter_ride("S2", 3, 1, "09:00", "09:30"),  # 30 g, held: overlaps M1
        event("M1", distance_km=5, start_time="2025-05-01 09:10", end_time="2025-05-01 09:40"),
    ]
    entries = run(tmp_path, rows)
    assert entries.loc["S1", "credited_mgco2e"] == 20_000
    assert entries.loc["S2", "status"] == "held"
    entry = ledger_decide_held(ledger, "op", "S2", "release", "checked").entry
    # 30 g raw, but the day's cap of 30 g has 30 - 20 = 10 g left
    assert (entry["raw_mgco2e"], entry["daily_mgco2e"], entry["credited_mgco2e"]) == (
        30_000,
        10_000,
        10_000,
    )
    assert entry["detail"] == (
        "released on review: checked (held for overlap); the daily cap of 30000 mgCO2e of "
        "'demo-scooter' left 10000 of 30000 mgCO2e"
    )
    # a later ride that day finds the day full (20 + 10 = 30 g): the release counts in the caps
    later = run(tmp_path, [_scooter_ride("S3", 1, 1, "12:00", "12:10")], name="b2.csv")
    assert later.loc["S3", ["raw_mgco2e", "credited_mgco2e"]].tolist() == [10_000, 0]
    assert later.loc["S3", "reason"] == "daily_cap"
    # the user's credits by scooter: 20 + 10 + 0 = 30 g, the cap, never above it
    assert ledger_balances(ledger, "u1").table["credited_gco2e"].tolist() == [30.0]


def test_the_monthly_cap_cuts_a_release(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    _scooter(tmp_path, daily_cap_g=100, monthly_cap_g=50)
    rows = [
        _scooter_ride("S1", 3, 1, "08:00", "08:30"),  # 30 g on the 1st, accepted
        _scooter_ride("S2", 3, 2, "09:00", "09:30"),  # 30 g on the 2nd, held: overlaps M1
        event("M1", distance_km=5, start_time="2025-05-02 09:10", end_time="2025-05-02 09:40"),
    ]
    run(tmp_path, rows)
    entry = ledger_decide_held(ledger, "op", "S2", "release", "checked").entry
    # the 2nd's day is empty (30 g fit under 100 g); the month has 50 - 30 = 20 g left
    assert (entry["daily_mgco2e"], entry["credited_mgco2e"]) == (30_000, 20_000)
    assert entry["detail"].endswith(
        "; the monthly cap of 50000 mgCO2e of 'demo-scooter' left 20000 of 30000 mgCO2e"
    )


def test_the_cap_arithmetic_by_hand() -> None:
    # min(before + amount, cap) - min(before, cap), never below 0; no cap: all of it
    assert capped_mgco2e(20_000, 30_000, 30_000) == 10_000  # min(50, 30) - min(20, 30) = 10
    assert capped_mgco2e(40_000, 30_000, 30_000) == 0  # min(70, 30) - min(40, 30) = 0
    assert capped_mgco2e(0, 30_000, 100_000) == 30_000
    assert capped_mgco2e(10**9, 30_000, None) == 30_000


def test_the_commands_release_and_reject_held(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    run(tmp_path, OVERLAPPING)
    runner = CliRunner()
    base = [str(ledger), "--operator", "op"]
    released = runner.invoke(
        app, ["ledger", "release", *base, "--event-id", "E1", "--reason", "ok", "--json"]
    )
    assert released.exit_code == 0, released.output
    document = json.loads(released.output)
    assert document["new"] is True and document["entry"]["credited_mgco2e"] == 561_600
    rejected = runner.invoke(
        app, ["ledger", "reject-held", *base, "--event-id", "E2", "--reason", "no"]
    )
    assert rejected.exit_code == 0, rejected.output
    assert "rejected: op/E2 of user 'u1', 0.000 gCO2e credited (batch 3)" in rejected.output
    refused = runner.invoke(app, ["ledger", "release", *base, "--event-id", "E3", "--reason", "no"])
    assert refused.exit_code != 0
    assert "was accepted, not held" in refused.output


def test_a_released_event_counts_once_in_later_rules_replays_and_reversals(
    tmp_path: Path,
) -> None:
    """The release is a second credit entry of the held event: the rules, a replay and a
    reversal must see the event once."""
    ledger = tmp_path / "ledger"
    placed = dict(start_place="Futian", end_place="Nanshan")
    first = [event("E1", distance_km=12, **placed), *OVERLAPPING[1:]]
    run(tmp_path, first)
    ledger_decide_held(ledger, "op", "E1", "release", "checked with the operator")
    # two more metro trips Futian -> Nanshan that day: with E1 three, the most a day allows,
    # so both are accepted (E1 counted twice would make the second the fourth, held)
    later = [
        event("T1", start_time="2025-05-01 12:00", end_time="2025-05-01 12:30", **placed),
        event("T2", start_time="2025-05-01 14:00", end_time="2025-05-01 14:30", **placed),
    ]
    entries = run(tmp_path, later, name="later.csv")
    assert entries.loc[["T1", "T2"], "status"].tolist() == ["accepted", "accepted"]
    # the first batch again: its three events are replays, E1 once
    batch = tmp_path / "again.csv"
    write(batch, first)
    replayed = ingest_batches(ledger, [batch], None, RECEIVED)
    assert (replayed.replays, replayed.entries) == (3, 0)
    # the released credit is the one a reversal takes back: -561.6 g
    reversal = ledger_reverse(ledger, "op", "E1", "the colleague's tap after all")
    assert reversal.entry["credited_mgco2e"] == -561_600
    # 468 (E3) + 561.6 (E1) - 561.6 + 2 x 468 (T1, T2) = 1,404 g
    assert ledger_balances(ledger, "u1").table["balance_gco2e"].tolist() == [1404.0]
