"""Erasure of a person from the carbon-inclusion ledger (issue 14 item 7): a hand-checked case
(totals, others' balances, no byte of the pseudonym left, the log's counts, sums and SHA-256),
a replay after the erasure, bad requests, a crash half-way finished by the next erasure, the
command line, and a Hypothesis invariant (a forgotten person leaves every total unchanged)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tanlu.app.ledger import (
    ingest_batches,
    ledger_balances,
    ledger_erasures,
    ledger_forget,
    ledger_redeem,
    ledger_reverse,
    ledger_totals,
)
from tanlu.app.ledger_service import city_ledger_dir
from tanlu.cli import app
from tanlu.ledger import LedgerError, LedgerFolder, privacy, read_entries
from tanlu.ledger.folder import METADATA_KEY
from tanlu.ledger.privacy import ERASURE_LOG, ERASURES_KEY, PENDING_FILE
from tanlu.store.audit import verify_chain

# the service's world: a city, two operators and a company, and the city's batch, by hand
from .test_ledger_service import CITY, CONSENT, OPERATOR, World, _batch, _register, _send
from .test_ledger_service import world as world  # the fixture

RECEIVED = dt.datetime(2025, 5, 10)
AT = dt.datetime(2025, 6, 1, 9, 30)
ANA, BO, CY = "ana-4471", "bo-9d2e", "cy-0b5c"
BY = ("city", "methodology", "month")


def trip(event_id: str, user: str, start: str, minutes: int = 30, **values: Any) -> dict[str, Any]:
    """A metro trip in Shenzhen, 10 km, from 车公庙 (22.535, 114.022) to 深圳北站, unless told."""
    begin = dt.datetime.fromisoformat(start)
    row: dict[str, Any] = {
        "operator": "sz-metro",
        "event_id": event_id,
        "user": user,
        "action": "metro",
        "channel": "card",
        "city": "深圳",
        "province": "广东",
        "start_time": begin.isoformat(sep=" "),
        "end_time": (begin + dt.timedelta(minutes=minutes)).isoformat(sep=" "),
        "start_place": "车公庙",
        "end_place": "深圳北站",
        "distance_km": 10.0,
        "quantity": None,
        "start_lat": 22.535,
        "start_lon": 114.022,
        "end_lat": 22.610,
        "end_lon": 114.029,
    }
    row.update(values)
    return row


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def consent_for(users: list[str] | tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {"user": u, "scenario": s, "granted_at": "2025-01-01 00:00:00"}
        for u in users
        for s in ("public_transport", "walking")
    ]


def totals_by(root: Path) -> dict[str, pd.DataFrame]:
    return {by: ledger_totals(root, by).table for by in BY}


def others(root: Path, user: str) -> pd.DataFrame:
    table = ledger_balances(root).table
    return table[table["user"] != user].reset_index(drop=True)


def file_bytes(root: Path) -> dict[str, bytes]:
    """Every file under the ledger folder, hidden ones too, by its path in the folder."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def decoded_text(root: Path) -> str:
    """Every string value of every Parquet file and the text of every other file: what the
    ledger holds once compression is undone."""
    parts = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            parts.append(pq.read_table(path).to_pandas().astype(str).to_csv())
            parts.append(str(pq.read_schema(path).metadata))
        else:
            parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts)


# --- the hand-checked case ------------------------------------------------------------------


BATCH = [
    # ana: 3 metro trips of 10 km at 46.8 g a passenger-km (shenzhen-metro) = 468 g each; one in
    # April, two in May
    trip("A1", ANA, "2025-04-28 08:00"),
    trip("A2", ANA, "2025-05-01 08:00"),
    trip("A3", ANA, "2025-05-01 18:00", start_place="深圳北站", end_place="车公庙"),
    # ana: four identical 1 km trips on 5 May: 3 x 46.8 g = 140.4 g; the 4th held (repeated
    # trip, its detail naming the places)
    *(trip(f"R{i}", ANA, f"2025-05-05 {7 + 2 * i:02d}:00", distance_km=1.0) for i in range(1, 5)),
    # bo: 5 km by metro = 234 g; 10,000 steps in Wuhan at 0.02 g (hubei-walking) = 200 g
    trip("B1", BO, "2025-05-02 08:00", distance_km=5.0, start_place="会展中心", end_place="福田"),
    trip(
        "B2",
        BO,
        "2025-05-03 00:00",
        minutes=0,
        action="walking",
        city="武汉",
        province="湖北",
        distance_km=None,
        quantity=10_000,
        start_place=None,
        end_place=None,
        start_lat=None,
        start_lon=None,
        end_lat=None,
        end_lon=None,
    ),
    # cy never consented: rejected, its detail naming cy
    trip("C1", CY, "2025-05-02 09:00", start_place="会展中心", end_place="福田"),
]


def hand_ledger(tmp_path: Path) -> Path:
    """The batch ingested, A3 reversed (the reason naming ana), 100 g of ana's redeemed."""
    root = tmp_path / "ledger"
    batch = write_csv(tmp_path / "batch.csv", BATCH)
    consent = write_csv(tmp_path / "consent.csv", consent_for([ANA, BO]))
    summary = ingest_batches(root, [batch], consent, RECEIVED)
    assert summary.by_status == {"accepted": 8, "held": 1, "rejected": 1}
    ledger_reverse(root, "sz-metro", "A3", f"card of {ANA} reported stolen", RECEIVED)
    ledger_redeem(root, ANA, 100.0, "X1", "shop", RECEIVED)
    return root


def test_forgetting_a_person_by_hand(tmp_path: Path) -> None:
    root = hand_ledger(tmp_path)
    before_totals = totals_by(root)
    # by hand: 深圳 468 x 3 + 140.4 + 234 - 468 (A3 reversed) = 1,310.4 g; 武汉 200 g
    city = before_totals["city"].set_index("city")["reduction_gco2e"]
    assert city.to_dict() == {"深圳": pytest.approx(1310.4), "武汉": pytest.approx(200.0)}
    # April: A1 468 g; May: 468 + 468 + 140.4 + 234 + 200 - 468 = 1,042.4 g
    assert before_totals["month"]["month"].tolist() == ["2025-04", "2025-05"]
    assert before_totals["month"]["reduction_gco2e"].tolist() == pytest.approx([468.0, 1042.4])
    before_others = others(root, ANA)
    copy = tmp_path / "before"
    shutil.copytree(root, copy)
    # the pseudonym is in the files as they are written (the check below can fail)
    assert any(ANA.encode() in data for data in file_bytes(root).values())
    assert ANA in decoded_text(root) and "车公庙" in decoded_text(root)

    erasure = ledger_forget(root, ANA, "request 2025-06-01/17 by the operator", AT)

    # every total the same, every other user's balance the same
    after_totals = totals_by(root)
    for by in BY:
        pd.testing.assert_frame_equal(after_totals[by], before_totals[by])
    pd.testing.assert_frame_equal(others(root, erasure.token), before_others)
    # the token holds ana's balance: 468 x 3 + 140.4 - 468 - 100 = 976.4 g
    token_row = ledger_balances(root, erasure.token).table.iloc[0]
    assert token_row["balance_gco2e"] == pytest.approx(976.4)
    assert ledger_balances(root, ANA).table.empty
    # no byte of the pseudonym in any file of the folder, nor in what the files decode to;
    # ana's places are gone from her entries (bo's own places stay)
    for name, data in file_bytes(root).items():
        assert ANA.encode() not in data, name
    text = decoded_text(root)
    assert ANA not in text and "车公庙" not in text and "深圳北站" not in text
    assert "会展中心" in text
    entries = read_entries(LedgerFolder(root))
    hers = entries[entries["user"] == erasure.token]
    assert len(hers) == 9  # 7 credits, 1 reversal, 1 redemption
    for column in privacy.CLEARED_COLUMNS:
        assert hers[column].isna().all(), column
    # kept: operator, event id, city, methodology, month, status, credits
    assert sorted(hers["event_id"]) == ["A1", "A2", "A3", "A3", "R1", "R2", "R3", "R4", "X1"]
    held = hers[hers["status"] == "held"].iloc[0]
    assert held["reason"] == "repeated_trip" and "'(erased)'" in held["detail"]
    reversal = hers[hers["entry_kind"] == "reversal"].iloc[0]
    assert reversal["detail"] == f"card of {erasure.token} reported stolen"
    assert reversal["credited_mgco2e"] == -468_000

    # the log: counts and sums by hand, and each file's SHA-256 before and after
    assert erasure.erasure == 1 and erasure.token.startswith("erased-1-")
    assert erasure.entries == 9
    assert erasure.entries_by_kind == {"credit": 7, "redemption": 1, "reversal": 1}
    assert erasure.consent_rows == 2
    # what the totals count: 468 x 3 + 140.4 - 468 = 1,076.4 g; the balance 100 g less
    assert erasure.reduction_gco2e == pytest.approx(1076.4)
    assert erasure.balance_gco2e == pytest.approx(976.4)
    assert [(t.month, t.credits, t.reversals, t.reduction_gco2e) for t in erasure.totals] == [
        ("2025-04", 1, 0, pytest.approx(468.0)),
        ("2025-05", 5, 1, pytest.approx(468 + 468 + 140.4 - 468)),
    ]
    assert {(t.city, t.methodology_id, t.methodology_version) for t in erasure.totals} == {
        ("深圳", "shenzhen-metro", 1)
    }
    assert [f.path for f in erasure.files] == [
        "consent.parquet",
        "entries/00000001.parquet",
        "entries/00000002.parquet",
        "entries/00000003.parquet",
    ]
    for item in erasure.files:
        assert hashlib.sha256((copy / item.path).read_bytes()).hexdigest() == item.sha256_before
        assert hashlib.sha256((root / item.path).read_bytes()).hexdigest() == item.sha256_after
        # the rows named are the token's, the others as they were
        now = pq.read_table(root / item.path)
        was = pq.read_table(copy / item.path)
        users = now.column("user").to_pylist()
        assert [i for i, u in enumerate(users) if u == erasure.token] == list(item.rows)
        assert {was.column("user")[i].as_py() for i in item.rows} == {ANA}
        kept = [i for i in range(now.num_rows) if i not in item.rows]
        index = pa.array(kept, pa.int64())
        assert now.take(index).equals(was.take(index))
    assert erasure.files[1].rows == (0, 1, 2, 3, 4, 5, 6)  # the batch's file is sorted by user
    # each entry file keeps its metadata (rules, methodologies), the erasure's number added
    for item in erasure.files[1:]:
        was_meta = pq.read_schema(copy / item.path).metadata
        now_meta = pq.read_schema(root / item.path).metadata
        assert now_meta[METADATA_KEY] == was_meta[METADATA_KEY]
        assert json.loads(now_meta[ERASURES_KEY]) == [1]
    assert [e.to_dict() for e in ledger_erasures(root)] == [erasure.to_dict()]
    assert not (root / PENDING_FILE).exists()
    assert not [p for p in root.rglob("*.erasing")]

    # the same events sent again: every one a replay (kept by operator and event id), nothing
    # new, the pseudonym not back
    again = ingest_batches(root, [tmp_path / "batch.csv"], None, RECEIVED)
    assert (again.entries, again.replays) == (0, len(BATCH))
    for by in BY:
        pd.testing.assert_frame_equal(ledger_totals(root, by).table, before_totals[by])
    assert ANA not in decoded_text(root)

    # forgetting her again finds nothing, and says why it cannot tell
    with pytest.raises(LedgerError, match="never seen, or forgotten already"):
        ledger_forget(root, ANA, "the same request again", AT)
    # a token is not a pseudonym to forget
    with pytest.raises(LedgerError, match="token of an erasure"):
        ledger_forget(root, erasure.token, "again", AT)
    # bo next: erasure 2, its own token; the totals still the same
    second = ledger_forget(root, BO, "request 18", AT)
    assert second.erasure == 2 and second.token not in (erasure.token, BO)
    assert second.reduction_gco2e == pytest.approx(234 + 200)
    for by in BY:
        pd.testing.assert_frame_equal(ledger_totals(root, by).table, before_totals[by])
    assert [e.erasure for e in ledger_erasures(root)] == [1, 2]
    log_text = (root / ERASURE_LOG).read_text(encoding="utf-8")
    assert ANA not in log_text and BO not in log_text
    assert hashlib.sha256(ANA.encode()).hexdigest() not in log_text


def test_a_consent_only_person_and_bad_requests(tmp_path: Path) -> None:
    root = hand_ledger(tmp_path)
    untouched = file_bytes(root)
    for user, reason, message in [
        ("nobody-1", "request", "user 'nobody-1' has no entry and no consent row"),
        (ANA, "", "give a reason"),
        (ANA, "   ", "give a reason"),
        ("", "request", "give the pseudonym"),
        (ANA, f"asked by {ANA}", "the reason names the user's pseudonym"),
    ]:
        with pytest.raises(LedgerError, match=message):
            ledger_forget(root, user, reason, AT)
    with pytest.raises(LedgerError, match="is not a ledger folder"):
        ledger_forget(tmp_path / "none", ANA, "request", AT)
    assert not (tmp_path / "none").exists()
    # nothing was written by any of them
    assert file_bytes(root) == untouched
    # cy has a rejected entry and no consent row; a person with consent only is forgotten too
    consent = write_csv(tmp_path / "more.csv", consent_for(["dee-55aa"]))
    ingest_batches(root, [write_csv(tmp_path / "empty.csv", [BATCH[-1]])], consent, RECEIVED)
    dee = ledger_forget(root, "dee-55aa", "request 3", AT)
    assert (dee.entries, dee.consent_rows, [f.path for f in dee.files]) == (
        0,
        2,
        ["consent.parquet"],
    )
    cy = ledger_forget(root, CY, "request 4", AT)
    assert (cy.entries, cy.consent_rows, cy.entries_by_kind) == (1, 0, {"credit": 1})
    assert cy.reduction_gco2e == 0 and cy.totals == ()


# --- a crash half-way -------------------------------------------------------------------------


def crash_on(monkeypatch: pytest.MonkeyPatch, call: int) -> None:
    """Make the ``call``-th rename of an erased file into place fail, as a crash would stop it."""
    real = privacy._commit
    calls = {"n": 0}

    def commit(temp: Path, final: Path) -> None:
        if final.name != ERASURE_LOG and not final.name.startswith("."):
            calls["n"] += 1
            if calls["n"] == call:
                raise OSError("the machine stopped here")
        real(temp, final)

    monkeypatch.setattr(privacy, "_commit", commit)


def test_a_crash_half_way_leaves_a_valid_ledger_and_the_next_erasure_finishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = hand_ledger(tmp_path)
    before = totals_by(root)
    with monkeypatch.context() as patch:
        # consent.parquet and entries/00000001.parquet renamed, then the crash
        crash_on(patch, 3)
        with pytest.raises(OSError, match="stopped here"):
            ledger_forget(root, ANA, "request 1", AT)
    pending = json.loads((root / PENDING_FILE).read_text(encoding="utf-8"))
    assert ANA not in json.dumps(pending, ensure_ascii=False)
    # the ledger is valid and its totals the same: each file as it was or as rewritten
    for by in BY:
        pd.testing.assert_frame_equal(ledger_totals(root, by).table, before[by])
    entries = read_entries(LedgerFolder(root))
    assert set(entries.loc[entries["batch"] == 1, "user"]) == {pending["token"], BO, CY}
    assert set(entries.loc[entries["batch"] > 1, "user"]) == {ANA}
    assert not ledger_erasures(root)
    # an ingest in between changes nothing of it
    ingest_batches(root, [tmp_path / "batch.csv"], None, RECEIVED)
    # forgetting her again finishes the same erasure, with its token
    done = ledger_forget(root, ANA, "request 1, again", AT)
    assert (done.erasure, done.token, done.reason) == (1, pending["token"], "request 1")
    assert [e.erasure for e in ledger_erasures(root)] == [1]
    assert ANA not in decoded_text(root)
    assert not (root / PENDING_FILE).exists() and not list(root.rglob("*.erasing"))
    for by in BY:
        pd.testing.assert_frame_equal(ledger_totals(root, by).table, before[by])


def test_a_crash_is_finished_by_the_erasure_of_someone_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = hand_ledger(tmp_path)
    before = totals_by(root)
    with monkeypatch.context() as patch:
        crash_on(patch, 2)
        with pytest.raises(OSError):
            ledger_forget(root, ANA, "request 1", AT)
    token = json.loads((root / PENDING_FILE).read_text(encoding="utf-8"))["token"]
    other = ledger_forget(root, BO, "request 2", AT)
    log = ledger_erasures(root)
    assert [(e.erasure, e.token) for e in log] == [(1, token), (2, other.token)]
    assert ANA not in decoded_text(root) and BO not in decoded_text(root)
    for by in BY:
        pd.testing.assert_frame_equal(ledger_totals(root, by).table, before[by])
    # a crash while the copies are written changes nothing and leaves nothing behind
    with monkeypatch.context() as patch:

        def broken(*args: Any) -> Any:
            raise OSError("disk full")

        patch.setattr(privacy, "_prepare_entries", broken)
        untouched = file_bytes(root)
        with pytest.raises(OSError, match="disk full"):
            ledger_forget(root, CY, "request 3", AT)
    assert file_bytes(root) == untouched
    assert ledger_forget(root, CY, "request 3", AT).erasure == 3


def test_a_consent_upload_after_a_crash_is_erased_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = hand_ledger(tmp_path)
    with monkeypatch.context() as patch:
        crash_on(patch, 1)  # nothing renamed yet
        with pytest.raises(OSError):
            ledger_forget(root, ANA, "request 1", AT)
    # an operator's consent file arrives before the erasure is finished: the prepared copy of
    # consent.parquet is stale, and only the same person can be erased from the new one
    more = write_csv(tmp_path / "more.csv", consent_for(["eve-77c1"]))
    ingest_batches(root, [write_csv(tmp_path / "one.csv", [BATCH[-1]])], more, RECEIVED)
    untouched = file_bytes(root)
    with pytest.raises(LedgerError, match="forget the same user again to finish it"):
        ledger_forget(root, BO, "request 2", AT)
    assert file_bytes(root) == untouched
    done = ledger_forget(root, ANA, "request 1", AT)
    assert done.erasure == 1 and done.consent_rows == 2
    consent = next(f for f in done.files if f.path == "consent.parquet")
    assert hashlib.sha256((root / "consent.parquet").read_bytes()).hexdigest() == (
        consent.sha256_after
    )
    users = set(pq.read_table(root / "consent.parquet").column("user").to_pylist())
    assert users == {done.token, BO, "eve-77c1"}
    assert ANA not in decoded_text(root)


# --- the command line -------------------------------------------------------------------------


def test_the_forget_command(tmp_path: Path) -> None:
    root = hand_ledger(tmp_path)
    runner = CliRunner()
    args = ["ledger", "forget", str(root), "--user", ANA, "--reason", "request 7", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["erasure"] == 1 and document["entries"] == 9
    assert document["reduction_gco2e"] == pytest.approx(1076.4)
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "forgotten already" in again.output
    plain = runner.invoke(app, ["ledger", "forget", str(root), "--user", BO, "--reason", "r 8"])
    assert plain.exit_code == 0, plain.output
    assert "erasure 2: 2 entries and 2 consent rows" in plain.output


# --- the invariant (Hypothesis) ------------------------------------------------------------------

PEOPLE = ("p-aa01", "p-bb02", "p-cc03", "p-dd04")


@st.composite
def small_batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Metro trips and walking days of four people over three days of May, some overlapping
    or repeated, so that caps, holds and duplicates bite."""
    rows = []
    for index in range(draw(st.integers(1, 16))):
        user = draw(st.sampled_from(PEOPLE))
        start = dt.datetime(2025, 5, draw(st.integers(1, 3)), 7) + dt.timedelta(
            minutes=draw(st.integers(0, 600))
        )
        if draw(st.booleans()):
            rows.append(
                trip(
                    f"e{index}",
                    user,
                    start.isoformat(sep=" "),
                    minutes=draw(st.integers(1, 60)),
                    distance_km=round(draw(st.floats(0, 30, allow_nan=False)), 2),
                    start_place=draw(st.sampled_from(("A", "B"))),
                    end_place="C",
                )
            )
        else:
            rows.append(
                trip(
                    f"e{index}",
                    user,
                    start.isoformat(sep=" "),
                    minutes=0,
                    action="walking",
                    city="武汉",
                    province="湖北",
                    distance_km=None,
                    quantity=draw(st.integers(0, 20_000)),
                    start_place=None,
                    end_place=None,
                    start_lat=None,
                    start_lon=None,
                    end_lat=None,
                    end_lon=None,
                )
            )
    return rows


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=small_batches(), pick=st.integers(0, 100), reverse=st.booleans())
def test_a_forgotten_person_leaves_every_total_unchanged(
    tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, Any]], pick: int, reverse: bool
) -> None:
    tmp = tmp_path_factory.mktemp("forget")
    root = tmp / "ledger"
    batch = write_csv(tmp / "batch.csv", rows)
    consent = write_csv(tmp / "consent.csv", consent_for(PEOPLE))
    ingest_batches(root, [batch], consent, RECEIVED)
    entries = read_entries(LedgerFolder(root))
    credited = entries[(entries["status"] == "accepted") & (entries["credited_mgco2e"] > 0)]
    if reverse and not credited.empty:
        first = credited.iloc[0]
        ledger_reverse(root, first["operator"], first["event_id"], "fraud", RECEIVED)
    entries = read_entries(LedgerFolder(root))
    present = sorted(set(entries["user"]))
    user = present[pick % len(present)]
    counted = entries[
        (entries["user"] == user)
        & (entries["status"] == "accepted")
        & entries["entry_kind"].isin(["credit", "reversal"])
    ]
    expected = counted.groupby(counted["start_time"].dt.strftime("%Y-%m"))["credited_mgco2e"].sum()
    before = totals_by(root)
    balance = ledger_balances(root, user).table["balance_gco2e"].iloc[0]
    before_others = others(root, user)

    erasure = ledger_forget(root, user, "request", AT)

    for by in BY:
        pd.testing.assert_frame_equal(ledger_totals(root, by).table, before[by])
    pd.testing.assert_frame_equal(others(root, erasure.token), before_others)
    assert ledger_balances(root, erasure.token).table["balance_gco2e"].iloc[0] == balance
    assert erasure.balance_gco2e == pytest.approx(balance)
    # the log's totals are what the person's entries counted, month by month, to the mg
    logged: dict[str, int] = {}
    for total in erasure.totals:
        logged[total.month] = logged.get(total.month, 0) + round(total.reduction_gco2e * 1000)
    assert logged == {m: int(v) for m, v in expected.items()}
    assert round(erasure.reduction_gco2e * 1000) == int(expected.sum())
    after = read_entries(LedgerFolder(root))
    assert not (after["user"] == user).any() and len(after) == len(entries)
    assert (
        (after["user"] == erasure.token).sum() == erasure.entries == (entries["user"] == user).sum()
    )
    # a replay of the whole batch after the erasure: nothing new, the pseudonym not back
    again = ingest_batches(root, [batch], None, RECEIVED)
    assert again.entries == 0
    for by in BY:
        pd.testing.assert_frame_equal(ledger_totals(root, by).table, before[by])
    assert ledger_balances(root, user).table.empty


# --- the service (SQLite and PostgreSQL) --------------------------------------------------------


def test_a_city_forgets_a_person_through_the_service(world: World) -> None:
    client, city = world.client, world.as_(CITY)

    def forget(user: str, reason: str, who: str = CITY) -> Any:
        body = {"user": user, "reason": reason}
        return client.post(world.url(who, "erasures"), json=body, headers=world.as_(who))

    # before any ledger: nothing to forget, an empty log
    assert forget("p-a", "request 1").status_code == 404
    assert client.get(world.url(CITY, "erasures"), headers=city).json() == []
    _register(world)
    _send(world, "consents", CONSENT, "consent.csv")
    _send(world, "batches", _batch(), "week.csv")
    reads = ("totals?by=month", "totals?by=city", "totals?by=methodology", "evidence")
    before = {tail: client.get(world.url(CITY, tail), headers=city).json() for tail in reads}
    board = client.get(world.url(CITY, "leaderboard"), headers=city).json()
    assert "p-a" in [row["user"] for row in board]
    # an operator's member cannot erase, nor read the log (an admin's route)
    assert forget("p-a", "request 1", OPERATOR).status_code == 403
    assert client.get(world.url(OPERATOR, "erasures"), headers=world.as_(OPERATOR)).status_code == (
        403
    )
    # a reason naming the pseudonym, or blank: refused
    for reason in ("asked by p-a", "   "):
        refused = forget("p-a", reason)
        assert refused.status_code == 422, refused.text
    # p-a: two accepted metro trips, 2 x 10 km x 46.8 g = 936 g, and one consent row
    done = forget("p-a", "request 2025/1 of the operator")
    assert done.status_code == 201, done.text
    erasure = done.json()
    assert (erasure["erasure"], erasure["entries"], erasure["consent_rows"]) == (1, 2, 1)
    assert erasure["reduction_gco2e"] == pytest.approx(936.0)
    assert [f["path"] for f in erasure["files"]] == [
        "consent.parquet",
        "entries/00000001.parquet",
    ]
    # the totals and the registry's evidence (its SHA-256, its users) unchanged
    for tail, answer in before.items():
        assert client.get(world.url(CITY, tail), headers=city).json() == answer, tail
    assert client.get(world.url(CITY, "users/p-a"), headers=city).status_code == 404
    token = client.get(world.url(CITY, f"users/{erasure['token']}"), headers=city).json()
    assert token["balance_gco2e"] == pytest.approx(936.0)
    # the leaderboard: the forgotten person's place goes, not another's
    after = client.get(world.url(CITY, "leaderboard"), headers=city).json()
    assert [row["user"] for row in after] == [row["user"] for row in board if row["user"] != "p-a"]
    # again: not found, the server's folder not named
    again = forget("p-a", "request 2025/1 of the operator")
    assert again.status_code == 404
    assert "forgotten already" in again.json()["detail"] and str(world.ledgers) not in again.text
    # the log and the audit entry, without the pseudonym
    log = client.get(world.url(CITY, "erasures"), headers=city)
    assert log.json() == [erasure] and "p-a" not in log.text
    audit = client.get(f"/api/organisations/{world.ids[CITY]}/audit", headers=city)
    assert [e["action"] for e in audit.json()].count("ledger.forget") == 1
    assert "p-a" not in audit.text
    verify_chain(world.engine)
    # the batch sent again: replays only, the pseudonym not back
    replay = _send(world, "batches", _batch(), "week.csv").json()  # type: ignore[attr-defined]
    assert (replay["accepted"], replay["replays"]) == (0, 6)
    folder = city_ledger_dir(world.ledgers, world.ids[CITY])
    # (its bytes are no test here: "parquet-cpp-arrow", in every file pyarrow writes, holds them)
    assert "p-a" not in decoded_text(folder) and "p-b" in decoded_text(folder)
