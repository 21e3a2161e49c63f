"""The carbon-inclusion ledger: hand-checked credits per bundled methodology, the fraud test set
with known answers, bad inputs, idempotency, reversals, redemptions and Hypothesis invariants."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tanlu.app.ledger import (
    ingest_batches,
    ledger_balances,
    ledger_methodologies,
    ledger_redeem,
    ledger_reverse,
    ledger_totals,
)
from tanlu.cli import app
from tanlu.errors import InputError
from tanlu.ledger import LedgerError, LedgerFolder, RulesError, read_entries

RECEIVED = dt.datetime(2025, 5, 10)
CONSENT = [
    {"user": u, "scenario": s, "granted_at": "2024-01-01"}
    for u in ("u1", "u2", "u3", "u4", "u5")
    for s in ("public_transport", "cycling", "walking", "household_electricity")
]
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "carbon-inclusion"


def event(event_id: str, **values: Any) -> dict[str, Any]:
    """A metro trip in Shenzhen of user u1 on 2025-05-01, 08:00-08:30, 10 km, unless told."""
    row: dict[str, Any] = {
        "operator": "op",
        "event_id": event_id,
        "user": "u1",
        "action": "metro",
        "channel": "app",
        "city": "深圳",
        "start_time": "2025-05-01 08:00:00",
        "end_time": "2025-05-01 08:30:00",
        "distance_km": 10,
    }
    row.update(values)
    return row


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    frame = pd.DataFrame(rows)
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


def run(
    tmp_path: Path,
    rows: list[dict[str, Any]],
    name: str = "batch.csv",
    ledger: str = "ledger",
    consent: list[dict[str, Any]] | None = CONSENT,
    received: dt.datetime = RECEIVED,
) -> pd.DataFrame:
    """Ingest rows as one batch file; the entries of the ledger, indexed by event id."""
    batch = write(tmp_path / name, rows)
    consent_file = write(tmp_path / "consent.csv", consent) if consent is not None else None
    ingest_batches(tmp_path / ledger, [batch], consent_file, received)
    entries = read_entries(LedgerFolder(tmp_path / ledger))
    return entries[entries["entry_kind"] == "credit"].set_index("event_id")


# --- hand-checked credits, one per bundled methodology -------------------------------------


def test_every_bundled_methodology_credits_by_hand(tmp_path: Path) -> None:
    rows = [
        # shenzhen-metro: 10 passenger-km x 46.8 g = 468 g
        event("sz-metro", distance_km=10),
        # shenzhen-bus: 4 passenger-km x 26.9 g = 107.6 g
        event(
            "sz-bus",
            action="bus",
            distance_km=4,
            start_time="2025-05-01 09:00",
            end_time="2025-05-01 09:20",
        ),
        # wuhan-bus (the city's, not Hubei's 105): 1 trip x 150 g = 150 g
        event("wh-bus", user="u2", action="bus", city="武汉", province="湖北", distance_km=None),
        # wuhan-cycling: 3.5 km x 40 g = 140 g
        event(
            "wh-bike",
            user="u2",
            action="cycling",
            city="武汉",
            distance_km=3.5,
            start_time="2025-05-01 10:00",
            end_time="2025-05-01 10:20",
        ),
        # hubei-bus in Yichang (no city methodology): 1 trip x 105 g = 105 g
        event("hb-bus", user="u3", action="bus", city="宜昌", province="湖北省"),
        # hubei-metro: 1 trip x 274 g = 274 g (the distance is not what it counts)
        event(
            "hb-metro",
            user="u3",
            action="metro",
            city="宜昌",
            province="Hubei",
            start_time="2025-05-01 09:00",
            end_time="2025-05-01 09:30",
        ),
        # hubei-walking: 12,000 steps x 0.02 g = 240 g, under the daily cap of 296 g
        event(
            "hb-walk",
            user="u3",
            action="walking",
            city="宜昌",
            province="湖北",
            distance_km=None,
            quantity=12000,
            start_time="2025-05-02",
            end_time="2025-05-02 23:59",
        ),
        # guangzhou-metro (mean method): 1 trip x 515.5 g = 515.5 g
        event("gz-metro", user="u4", city="广州"),
        # beijing-metro: 22 passenger-km x (5980 / 22 - 1350 / 22 = 271.8182 - 61.3636 g)
        # = 22 x 210.4546 = 4630.0012 g
        event("bj-metro", user="u5", city="北京", distance_km=22),
        # household-electricity-saving v2 (2022 factor, valid 2024-12-20..2025-12-31):
        # 50 kWh x 536.6 g = 26,830 g
        event(
            "kwh",
            user="u5",
            action="household_electricity",
            city="北京",
            distance_km=None,
            quantity=50,
            start_time="2025-04-01",
            end_time="2025-04-30 23:59",
        ),
    ]
    entries = run(tmp_path, rows)
    expected = {
        "sz-metro": ("shenzhen-metro", 1, 468_000),
        "sz-bus": ("shenzhen-bus", 1, 107_600),
        "wh-bus": ("wuhan-bus", 1, 150_000),
        "wh-bike": ("wuhan-cycling", 1, 140_000),
        "hb-bus": ("hubei-bus", 1, 105_000),
        "hb-metro": ("hubei-metro", 1, 274_000),
        "hb-walk": ("hubei-walking", 1, 240_000),
        "gz-metro": ("guangzhou-metro", 1, 515_500),
        "bj-metro": ("beijing-metro", 1, 4_630_001),
        "kwh": ("household-electricity-saving", 2, 26_830_000),
    }
    assert len(entries) == len(expected)
    for event_id, (methodology, version, mg) in expected.items():
        row = entries.loc[event_id]
        assert row["status"] == "accepted", (event_id, row["detail"])
        assert (row["methodology_id"], row["methodology_version"]) == (methodology, version)
        assert row["credited_mgco2e"] == mg, event_id
    registry = ledger_methodologies()
    assert set(registry.table["methodology_id"]) == {m for m, _, _ in expected.values()}


def test_the_version_valid_on_the_day_credits(tmp_path: Path) -> None:
    # 2024-06-01: version 1 (2021 factor, 556.8 g/kWh); 2026-02-01: version 3 (530.6 g/kWh)
    rows = [
        event(
            "old",
            action="household_electricity",
            distance_km=None,
            quantity=10,
            start_time="2024-06-01",
            end_time="2024-06-30",
        ),
        event(
            "new",
            action="household_electricity",
            distance_km=None,
            quantity=10,
            start_time="2026-02-01",
            end_time="2026-02-28",
        ),
    ]
    entries = run(tmp_path, rows, received=dt.datetime(2026, 3, 1))
    assert entries.loc["new", "methodology_version"] == 3
    assert entries.loc["new", "credited_mgco2e"] == 10 * 530_600
    # 2024-06-30 is more than 30 days before the batch: late, though version 1 matched
    assert entries.loc["old", "methodology_version"] == 1
    assert entries.loc["old", "reason"] == "late"


def test_walking_is_capped_per_day_and_the_cap_counts_earlier_batches(tmp_path: Path) -> None:
    walk = {"action": "walking", "city": "武汉", "province": "湖北", "distance_km": None}
    first = run(
        tmp_path,
        [event("w1", quantity=10000, start_time="2025-05-02", end_time="2025-05-02 12:00", **walk)],
    )
    # 10,000 steps x 0.02 = 200 g, under 296 g
    assert first.loc["w1", "credited_mgco2e"] == 200_000
    second = run(
        tmp_path,
        [
            event(
                "w2",
                quantity=10000,
                start_time="2025-05-02 12:00",
                end_time="2025-05-02 23:00",
                **walk,
            )
        ],
        name="b2.csv",
    )
    # 200 g more, but only 296 - 200 = 96 g of the day is left
    assert second.loc["w2", "credited_mgco2e"] == 96_000
    assert second.loc["w2", "reason"] == "daily_cap"
    assert second.loc["w2", "raw_mgco2e"] == 200_000


def test_a_monthly_cap_from_a_user_methodology_file(tmp_path: Path) -> None:
    folder = tmp_path / "ledger" / "methodologies"
    folder.mkdir(parents=True)
    (folder / "mine.csv").write_text(
        "methodology_id,version,action,scenario,region,region_level,unit,"
        "reduction_gco2e_per_unit,daily_cap_gco2e,monthly_cap_gco2e,source,status\n"
        "demo-scooter,1,scooter,cycling,深圳,city,km,10,30,50,a test figure,U\n",
        encoding="utf-8",
    )
    rows = [
        event(
            f"s{day}",
            action="scooter",
            distance_km=2,
            start_time=f"2025-05-0{day} 08:00",
            end_time=f"2025-05-0{day} 08:20",
        )
        for day in range(1, 8)
    ]
    entries = run(tmp_path, rows)
    # 2 km x 10 g = 20 g a day; 50 g a month: 20 + 20 + 10, then nothing
    credited = entries.sort_values("start_time")["credited_mgco2e"].tolist()
    assert credited == [20_000, 20_000, 10_000, 0, 0, 0, 0]
    assert entries.loc["s3", "reason"] == "monthly_cap"


# --- the fraud test set: every bad event caught with its reason, no good one rejected ----

FRAUD_SET: list[tuple[dict[str, Any], str | None]] = [
    # good: a commute there and back, a bike ride, a bus ride in another city later
    (event("g1", user="u1"), None),
    (event("g2", user="u1", start_time="2025-05-01 18:00", end_time="2025-05-01 18:30"), None),
    (
        event(
            "g3",
            user="u2",
            action="cycling",
            city="武汉",
            distance_km=4,
            start_time="2025-05-01 07:00",
            end_time="2025-05-01 07:20",
        ),
        None,
    ),
    (
        event(
            "g4",
            user="u4",
            action="bus",
            city="武汉",
            start_time="2025-05-02 09:00",
            end_time="2025-05-02 09:40",
            start_lat=30.59,
            start_lon=114.30,
            end_lat=30.55,
            end_lon=114.34,
        ),
        None,
    ),
    # a trip through two channels, a minute apart: the second is a duplicate
    (
        event(
            "d1",
            user="u2",
            operator="maas",
            channel="maas",
            start_time="2025-05-01 07:00:40",
            end_time="2025-05-01 07:20:30",
            action="cycling",
            city="武汉",
            distance_km=4,
        ),
        "duplicate",
    ),
    # teleporting: 50 km in 2 minutes on the metro
    (
        event(
            "t1",
            user="u3",
            distance_km=50,
            start_time="2025-05-01 12:00",
            end_time="2025-05-01 12:02",
        ),
        "impossible_speed",
    ),
    # teleporting between trips: ends in Wuhan, next starts in Beijing 10 minutes later
    (
        event(
            "t2",
            user="u4",
            city="北京",
            start_time="2025-05-02 09:50",
            end_time="2025-05-02 10:10",
            start_lat=39.90,
            start_lon=116.40,
            end_lat=39.92,
            end_lon=116.42,
        ),
        "teleport",
    ),
    # overlapping trips of one user: both are held
    (event("o1", user="u5", start_time="2025-05-03 08:00", end_time="2025-05-03 08:40"), "overlap"),
    (
        event(
            "o2",
            user="u5",
            action="bus",
            start_time="2025-05-03 08:20",
            end_time="2025-05-03 08:50",
            distance_km=5,
        ),
        "overlap",
    ),
    # no consent for cycling
    (event("c1", user="nobody", action="cycling", city="武汉", distance_km=2), "no_consent"),
    # no methodology for metro in Chengdu
    (
        event(
            "m1", user="u1", city="成都", start_time="2025-05-04 08:00", end_time="2025-05-04 08:30"
        ),
        "no_methodology",
    ),
]
# the same A->B metro trip five times a day: the fourth and fifth held (at most 3)
FRAUD_SET += [
    (
        event(
            f"r{i}",
            user="u1",
            start_place="A",
            end_place="B",
            start_time=f"2025-05-06 {9 + 2 * i}:00",
            end_time=f"2025-05-06 {9 + 2 * i}:30",
        ),
        "repeated_trip" if i >= 3 else None,
    )
    for i in range(5)
]
# a burst: eight short bus rides of one user within ten minutes; the sixth on held (at most 5)
FRAUD_SET += [
    (
        event(
            f"b{i}",
            user="u3",
            action="bus",
            distance_km=1,
            start_time=f"2025-05-07 10:0{i}:00",
            end_time=f"2025-05-07 10:0{i}:50",
        ),
        "burst" if i >= 5 else None,
    )
    for i in range(8)
]


def test_the_fraud_set_every_bad_event_caught_no_good_event_rejected(tmp_path: Path) -> None:
    entries = run(tmp_path, [row for row, _ in FRAUD_SET])
    for row, reason in FRAUD_SET:
        got = entries.loc[row["event_id"]]
        if reason is None:
            assert got["status"] == "accepted" and pd.isna(got["reason"]), (
                row["event_id"],
                got["detail"],
            )
            assert got["credited_mgco2e"] > 0
        else:
            assert got["reason"] == reason, (row["event_id"], got["reason"], got["detail"])
            assert got["status"] in ("held", "rejected") and got["credited_mgco2e"] == 0
            assert isinstance(got["detail"], str) and got["detail"]
    assert "op/g3" in entries.loc["d1", "detail"]
    assert "km/h" in entries.loc["t1", "detail"]


def test_a_duplicate_arriving_in_a_later_batch_is_caught_and_the_first_is_kept(
    tmp_path: Path,
) -> None:
    run(tmp_path, [event("first")])
    later = run(
        tmp_path,
        [event("again", operator="other", channel="card", start_time="2025-05-01 07:59:30")],
        name="b2.csv",
    )
    assert later.loc["first", "status"] == "accepted"
    assert later.loc["again", "reason"] == "duplicate"
    assert "op/first" in later.loc["again", "detail"]


def test_claim_window_and_future_events(tmp_path: Path) -> None:
    entries = run(
        tmp_path,
        [
            event("late", start_time="2025-04-01 08:00", end_time="2025-04-01 08:30"),
            event("future", start_time="2025-05-11 08:00", end_time="2025-05-11 08:30"),
        ],
    )
    assert entries.loc["late", "reason"] == "late"
    assert entries.loc["future", "reason"] == "future"


def test_rules_parameters_come_from_ledger_toml(tmp_path: Path) -> None:
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "ledger.toml").write_text("[rules]\nclaim_window_days = 60\n")
    entries = run(
        tmp_path, [event("late", start_time="2025-04-01 08:00", end_time="2025-04-01 08:30")]
    )
    assert entries.loc["late", "status"] == "accepted"
    (tmp_path / "ledger" / "ledger.toml").write_text("[rules]\nclaim_window = 60\n")
    with pytest.raises(RulesError, match="unknown parameter"):
        run(tmp_path, [event("x")], name="b2.csv")


# --- idempotency, reversals, redemptions ---------------------------------------------------


def test_a_replayed_batch_changes_nothing(tmp_path: Path) -> None:
    rows = [row for row, _ in FRAUD_SET]
    run(tmp_path, rows)
    files = LedgerFolder(tmp_path / "ledger").entry_files()
    summary = ingest_batches(tmp_path / "ledger", [tmp_path / "batch.csv"], None, RECEIVED)
    assert summary.entries == 0 and summary.batch is None
    assert summary.replays == len(rows) and summary.conflicting_replays == 0
    assert LedgerFolder(tmp_path / "ledger").entry_files() == files
    # the same key with other content: the ledger keeps its entry
    changed = write(tmp_path / "changed.csv", [event("g1", distance_km=99)])
    summary = ingest_batches(tmp_path / "ledger", [changed], None, RECEIVED)
    assert (summary.entries, summary.conflicting_replays) == (0, 1)


def test_reversal_and_redemption_are_new_entries(tmp_path: Path) -> None:
    run(
        tmp_path,
        [event("a"), event("b", start_time="2025-05-01 09:00", end_time="2025-05-01 09:30")],
    )
    # 2 x 10 km x 46.8 g = 936 g
    assert ledger_balances(tmp_path / "ledger").table["balance_gco2e"].tolist() == [936.0]
    reversal = ledger_reverse(tmp_path / "ledger", "op", "a", "fraud found later")
    assert reversal.new and reversal.entry["credited_mgco2e"] == -468_000
    assert not ledger_reverse(tmp_path / "ledger", "op", "a", "again").new
    with pytest.raises(LedgerError, match="no credit"):
        ledger_reverse(tmp_path / "ledger", "op", "zzz", "?")
    redemption = ledger_redeem(tmp_path / "ledger", "u1", 400, "r1", "shop")
    assert redemption.new
    assert not ledger_redeem(tmp_path / "ledger", "u1", 400, "r1", "shop").new
    with pytest.raises(LedgerError, match="less than"):
        ledger_redeem(tmp_path / "ledger", "u1", 100, "r2", "shop")
    balance = ledger_balances(tmp_path / "ledger", "u1").table.iloc[0]
    # 936 - 468 - 400 = 68 g
    assert (balance["credited_gco2e"], balance["reversed_gco2e"]) == (936.0, 468.0)
    assert (balance["redeemed_gco2e"], balance["balance_gco2e"]) == (400.0, 68.0)
    entries = read_entries(LedgerFolder(tmp_path / "ledger"))
    # the credit is as it was; three batches: ingest, reversal, redemption
    assert entries["batch"].tolist() == [1, 1, 2, 3]
    assert entries.loc[entries["event_id"] == "a", "credited_mgco2e"].tolist() == [
        468_000,
        -468_000,
    ]
    by_month = ledger_totals(tmp_path / "ledger", "month").table
    assert by_month.to_dict("records") == [
        {"month": "2025-05", "credits": 2, "reversals": 1, "reduction_gco2e": 468.0}
    ]


# --- bad input: every kind named by file, line, column and reason; nothing written ---------

BAD_ROWS: list[tuple[dict[str, Any], str, str]] = [
    (event("x", user=None), "user", "user is empty"),
    (event("x", start_time="yesterday"), "start_time", "is not a time"),
    (event("x", end_time="2025-05-01 07:00"), "end_time", "before start_time"),
    (event("x", distance_km="far"), "distance_km", "is not a number"),
    (event("x", distance_km=-1), "distance_km", "is negative"),
    (event("x", action="flying"), "action", "unknown action 'flying'"),
    (event("x", province="Atlantis"), "province", "unknown province"),
    (event("x", start_lat=95, start_lon=114), "start_lat", "outside -90..90"),
    (event("x", start_lat=30), "start_lon", "give both start_lat and start_lon"),
]


@pytest.mark.parametrize(("row", "column", "reason"), BAD_ROWS)
def test_every_bad_row_is_named_and_nothing_is_written(
    tmp_path: Path, row: dict[str, Any], column: str, reason: str
) -> None:
    rows = [event("good"), row]
    with pytest.raises(InputError) as caught:
        run(tmp_path, rows)
    (issue,) = caught.value.issues
    assert (issue.file, issue.line, issue.column) == (str(tmp_path / "batch.csv"), 3, column)
    assert reason in issue.reason
    assert not LedgerFolder(tmp_path / "ledger").entry_files()


def test_bad_files_and_conflicting_ids(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "empty.csv").write_text("")
    write(tmp_path / "cols.csv", [{"operator": "op"}])
    with pytest.raises(InputError) as caught:
        ingest_batches(
            tmp_path / "l", [tmp_path / "a.txt", tmp_path / "empty.csv", tmp_path / "cols.csv"]
        )
    reasons = [i.reason for i in caught.value.issues]
    assert "unsupported file type" in reasons[0] and reasons[1] == "the file is empty"
    assert reasons[2].startswith("missing required column(s): event_id")
    write(tmp_path / "twice.parquet", [event("e"), event("e"), event("e", distance_km=3)])
    with pytest.raises(InputError) as caught:
        ingest_batches(tmp_path / "l", [tmp_path / "twice.parquet"])
    (issue,) = caught.value.issues
    assert str(issue).startswith(f"{tmp_path / 'twice.parquet'}, row 3, column 'event_id'")
    assert "first on" in issue.reason and "row 1" in issue.reason
    consent = write(tmp_path / "consent.csv", [{"user": "u", "scenario": "x", "granted_at": "?"}])
    with pytest.raises(InputError, match="unknown scenario 'x'"):
        ingest_batches(tmp_path / "l", [tmp_path / "cols.csv"], consent)


def test_a_bad_user_methodology_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "ledger" / "methodologies"
    folder.mkdir(parents=True)
    (folder / "m.csv").write_text(
        "methodology_id,version,action,scenario,region,region_level,unit,"
        "reduction_gco2e_per_unit,source,status\n"
        "shenzhen-metro,1,metro,public_transport,深圳,city,passenger_km,50,x,S\n"
        "a,1,metro,public_transport,深圳,city,passenger_km,50,x,S\n"
        "b,1,bus,public_transport,深圳,town,trip,1,x,S\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        ledger_methodologies(tmp_path / "ledger")
    (issue,) = caught.value.issues
    assert issue.line == 4 and issue.column == "region_level"
    (folder / "m.csv").write_text(
        "methodology_id,version,action,scenario,region,region_level,unit,"
        "reduction_gco2e_per_unit,source,status\n"
        "shenzhen-metro,1,metro,public_transport,深圳,city,passenger_km,50,x,S\n"
        "a,1,metro,public_transport,深圳,city,passenger_km,50,x,S\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        ledger_methodologies(tmp_path / "ledger")
    reasons = [i.reason for i in caught.value.issues]
    assert "defined twice" in reasons[0]
    assert "both credit 'metro' in 深圳" in reasons[1]


# --- invariants (Hypothesis) -----------------------------------------------------------------

USERS = ("u1", "u2", "u3")


@st.composite
def batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Events of three users over three days: metro and scooter trips (some overlapping or
    repeated through another channel) and walking days, so that every rule and cap can bite."""
    n = draw(st.integers(1, 25))
    rows = []
    for index in range(n):
        kind = draw(st.sampled_from(("metro", "scooter", "walking")))
        user = draw(st.sampled_from(USERS))
        day = draw(st.integers(1, 3))
        minute = draw(st.integers(0, 600))
        start = dt.datetime(2025, 5, day, 7) + dt.timedelta(minutes=minute)
        if kind == "walking":
            rows.append(
                event(
                    f"e{index}",
                    user=user,
                    action="walking",
                    city="武汉",
                    province="湖北",
                    distance_km=None,
                    quantity=draw(st.integers(0, 20000)),
                    start_time=start.isoformat(),
                    end_time=start.isoformat(),
                    channel=draw(st.sampled_from(("a", "b"))),
                )
            )
            continue
        length = draw(st.integers(1, 60))
        rows.append(
            event(
                f"e{index}",
                user=user,
                action=kind,
                distance_km=round(draw(st.floats(0, 30, allow_nan=False)), 2),
                start_time=start.isoformat(),
                end_time=(start + dt.timedelta(minutes=length)).isoformat(),
                channel=draw(st.sampled_from(("a", "b"))),
                start_place=draw(st.sampled_from(("A", "B"))),
                end_place="C",
            )
        )
    return rows


SCOOTER = (
    "methodology_id,version,action,scenario,region,region_level,unit,"
    "reduction_gco2e_per_unit,daily_cap_gco2e,monthly_cap_gco2e,source,status\n"
    "demo-scooter,1,scooter,cycling,深圳,city,km,10,100,250,a test figure,U\n"
)
STABLE = [
    c
    for c in read_entries(LedgerFolder(Path("/nonexistent"))).columns
    if c not in ("batch", "batch_file", "batch_line")
]


def _ledger(tmp: Path, batches_rows: list[list[dict[str, Any]]], name: str) -> pd.DataFrame:
    root = tmp / name
    (root / "methodologies").mkdir(parents=True)
    (root / "methodologies" / "s.csv").write_text(SCOOTER, encoding="utf-8")
    consent = write(tmp / "consent.csv", CONSENT)
    for index, rows in enumerate(batches_rows):
        path = write(tmp / f"{name}-{index}.csv", rows)
        ingest_batches(root, [path], consent, RECEIVED)
    entries = read_entries(LedgerFolder(root))
    return entries[STABLE].sort_values(["operator", "event_id", "entry_kind"], ignore_index=True)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=batches(), seed=st.integers(0, 2**16))
def test_invariants_replay_reorder_caps_totals(
    tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, Any]], seed: int
) -> None:
    tmp = tmp_path_factory.mktemp("inv")
    once = _ledger(tmp, [rows], "once")
    # replayed: the same ledger; shuffled: the same ledger
    replayed = _ledger(tmp, [rows, rows], "replayed")
    shuffled_rows = pd.DataFrame(rows).sample(frac=1, random_state=seed).to_dict("records")
    shuffled = _ledger(tmp, [shuffled_rows], "shuffled")
    pd.testing.assert_frame_equal(once, replayed)
    pd.testing.assert_frame_equal(once, shuffled)
    # caps never exceeded: scooter 100 g a day and 250 g a month; walking 296 g a day
    accepted = once[once["status"] == "accepted"].copy()
    accepted["day"] = accepted["start_time"].dt.date
    daily = accepted.groupby(["user", "methodology_id", "day"])["credited_mgco2e"].sum()
    for (_, methodology, _), total in daily.items():
        assert total <= {"demo-scooter": 100_000, "hubei-walking": 296_000}.get(methodology, 10**12)
    monthly = accepted[accepted["methodology_id"] == "demo-scooter"].groupby("user")
    assert (monthly["credited_mgco2e"].sum() <= 250_000).all()
    assert (once["credited_mgco2e"] <= once["raw_mgco2e"]).all()
    assert (once.loc[once["status"] != "accepted", "credited_mgco2e"] == 0).all()
    # totals and balances equal the sum of accepted credits
    root = tmp / "once"
    total = sum(ledger_totals(root, by).table["reduction_gco2e"].sum() for by in ("city",))
    assert round(total * 1000) == accepted["credited_mgco2e"].sum()
    balances = ledger_balances(root).table
    assert round(balances["balance_gco2e"].sum() * 1000) == accepted["credited_mgco2e"].sum()


# --- the command line and the example ------------------------------------------------------


def test_the_cli_on_the_example(tmp_path: Path) -> None:
    runner = CliRunner()
    ledger = tmp_path / "ledger"
    args = [
        "ledger",
        "ingest",
        str(ledger),
        *map(str, sorted(EXAMPLE.glob("batch-*.csv"))),
        "--consent",
        str(EXAMPLE / "consent.csv"),
        "--received",
        "2025-05-10",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["entries"] > 0 and summary["by_status"]["accepted"] > 0
    again = json.loads(runner.invoke(app, args).output)
    assert again["entries"] == 0 and again["replays"] == summary["entries"]
    for command in (["balances"], ["totals", "--by", "city"], ["totals", "--by", "methodology"]):
        result = runner.invoke(app, ["ledger", command[0], str(ledger), *command[1:]])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["ledger", "totals", str(ledger), "--by", "planet"])
    assert result.exit_code == 2 and "choose one of" in result.output
    result = runner.invoke(app, ["ledger", "methodologies"])
    assert result.exit_code == 0 and "shenzhen-metro" in result.output
    bad = write(tmp_path / "bad.csv", [event("x", start_time="soon")])
    result = runner.invoke(app, ["ledger", "ingest", str(ledger), str(bad)])
    assert result.exit_code == 1 and "line 2, column 'start_time'" in result.output
