"""Identifiers: one normalisation for every id (tanlu.identifiers), and what it protects.

An id written twice with an invisible difference (a trailing space, a full-width letter, a
zero-width space) is one id: defined twice it is rejected naming both places and both
spellings; a certificate serial range claimed twice is rejected; duplicate activity rows are
found on parsed values. Bad input never computes anything (``issues_of`` checks that
``calculate_inventory`` raises with the same issues ``check_inputs`` lists).
"""

from __future__ import annotations

import random
import re
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import tanlu
from tanlu.cli import app
from tanlu.errors import ProjectError
from tanlu.factors.library import load_factor_library
from tanlu.identifiers import find_id_collisions, id_key, normalise_id
from tanlu.ingest import check_inputs
from tanlu.ingest.activities import prepare_activities
from tanlu.ingest.instruments import read_instruments
from tanlu.inventory.instruments import calculate_market_based_scope2

from .conftest import BASIC_TOML, MakeProject
from .test_inventory import GUANGDONG_2022, NATIONAL_EXCL_2022, inventory
from .test_validation import assert_issue, issues_of, only_issue


def full_width(text: str) -> str:
    """ASCII letters, digits and signs as their full-width forms (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# ---------------------------------------------------------------------------------------------
# The normalisation itself
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("GEC-LOT-1 ", "GEC-LOT-1"),  # trailing space
        ("\tGEC-LOT-1", "GEC-LOT-1"),  # leading tab
        ("ＧＥＣ－ＬＯＴ－１", "GEC-LOT-1"),  # full-width (NFKC)
        ("GEC-LOT-1\u00a0", "GEC-LOT-1"),  # no-break space (NFKC -> space, trimmed)
        ("\u3000GEC-LOT-1", "GEC-LOT-1"),  # ideographic space
        ("GEC-\u200bLOT-1", "GEC-LOT-1"),  # zero-width space (format character, removed)
        ("\ufeffGEC-LOT-1", "GEC-LOT-1"),  # byte order mark
        ("GEC  LOT\u30001", "GEC LOT 1"),  # runs of spaces inside become one space
        ("gec-lot-1", "gec-lot-1"),  # case is kept
        ("北京-数据中心", "北京-数据中心"),  # Chinese ids unchanged
    ],
)
def test_normalise_id(written: str, normalised: str) -> None:
    assert normalise_id(written) == normalised


def test_case_rule_is_checked_on_the_key_not_the_spelling() -> None:
    assert normalise_id("HQ") != normalise_id("hq")
    assert id_key("HQ") == id_key(" hq") == id_key("ｈｑ") == "hq"
    # the second, third and fourth ids are the first one; the fifth is another id
    assert find_id_collisions(["hq", "HQ", "hq ", "ｈｑ", "hq2"]) == [(0, 1), (0, 2), (0, 3)]


# ---------------------------------------------------------------------------------------------
# The reported case: one GEC lot in two rows, once with a trailing space
# ---------------------------------------------------------------------------------------------

# gz 1,000 MWh + bj 600 MWh = 1,600 MWh of 2022 scope 2 electricity
CONSUMPTION = """\
gz,2022-01-01,2022-12-31,electricity,1000,MWh
bj,2022-01-01,2022-12-31,electricity,600,MWh
"""


def test_one_gec_lot_in_two_spellings_is_rejected(make_project: MakeProject) -> None:
    # Before: 'GEC-LOT-1' and 'GEC-LOT-1 ' were two lots, 800 + 800 = 1,600 MWh allocated from
    # a 1,000 MWh lot, market-based scope 2 = (1,600 - 1,600) x 0.5856 = 0, and validate
    # passed. Now the second row is the first lot again: rejected, naming both lines.
    instruments = (
        "instrument_id,kind,vintage_year,energy_mwh\n"  # header, line 1
        "GEC-LOT-1,gec,2022,800\n"  # line 2
        "GEC-LOT-1 ,gec,2022,800\n"  # line 3: the same lot, with a trailing space
    )
    root = make_project(CONSUMPTION, files={"data/instruments.csv": instruments})
    issue = only_issue(root)
    assert_issue(
        issue,
        "project/data/instruments.csv",
        3,
        "instrument_id",
        "'GEC-LOT-1 ' is the same id as 'GEC-LOT-1'",
        "first on project/data/instruments.csv, line 2",
        "each MWh is claimed once",
    )
    result = CliRunner().invoke(app, ["validate", str(root)])
    assert result.exit_code == 1, result.output
    assert "project/data/instruments.csv, line 3, column 'instrument_id'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "second",
    [
        pytest.param("ＧＥＣ－ＬＯＴ－１", id="full-width"),
        pytest.param("gec-lot-1", id="case"),
        pytest.param("GEC-\u200bLOT-1", id="zero-width-space"),
    ],
)
def test_instrument_id_spellings_across_files(make_project: MakeProject, second: str) -> None:
    header = "instrument_id,kind,vintage_year,energy_mwh\n"
    root = make_project(
        CONSUMPTION,
        files={
            "data/instruments_a.csv": header + "GEC-LOT-1,gec,2022,800\n",
            "data/instruments_b.csv": header + f"{second},gec,2022,800\n",
        },
    )
    assert_issue(
        only_issue(root),
        "project/data/instruments_b.csv",
        2,
        "instrument_id",
        f"{second!r} is the same id as 'GEC-LOT-1'",
        "first on project/data/instruments_a.csv, line 2",
    )


def test_ids_are_normalised_where_they_are_read(make_project: MakeProject) -> None:
    # The site written with spaces and full-width letters in tanlu.toml, the activity file and
    # the instrument file is one site: 1,000 MWh x 0.4403 = 440.3 t location-based; the GEC of
    # 400 MWh covers it, market-based (1,000 - 400) x 0.5856 = 351.36 t.
    toml = BASIC_TOML.replace('id = "gz"', 'id = " gz "').replace(
        'entity = "parent"\nprovince = "广东"', 'entity = "ｐａｒｅｎｔ"\nprovince = "广东"'
    )
    rows = "ｇｚ ,2022-01-01,2022-12-31,electricity,1000,MWh\n"
    instruments = "instrument_id,kind,vintage_year,energy_mwh,site\nGEC-1 ,gec,2022,400,\u3000gz\n"
    result = inventory(make_project(rows, toml=toml, files={"data/instruments.csv": instruments}))
    assert list(result.by_site["site"]) == ["gz"]
    assert result.scope2_location_tco2e == pytest.approx(1000 * GUANGDONG_2022, rel=1e-12)
    assert result.scope2_market_tco2e == pytest.approx(600 * NATIONAL_EXCL_2022, rel=1e-12)
    assert list(result.scope2_market.allocations["instrument_id"]) == ["GEC-1"]


def test_a_reference_in_another_case_names_the_id(make_project: MakeProject) -> None:
    issue = only_issue(make_project("GZ,2022-01-01,2022-01-31,electricity,10,MWh\n"))
    assert_issue(
        issue,
        "project/data/activities.csv",
        2,
        "site",
        "unknown site 'GZ'",
        "did you mean 'gz'? ids are case-sensitive",
    )


def test_hourly_series_ids_are_normalised(make_project: MakeProject) -> None:
    # 'ｂｊ ' (full width, trailing space) is the site bj: no issue on line 2; 'BJ' on line 3 is
    # another case, so an unknown site that names bj
    meter = "site,hour_start,energy_mwh\nｂｊ ,2022-01-01 00:00,1\nBJ,2022-01-01 01:00,1\n"
    root = make_project(
        "bj,2022-01-01,2022-12-31,electricity,10,MWh\n",
        files={"data/meter_hourly.csv": meter},
    )
    found = issues_of(root)
    assert_issue(found[0], "project/data/meter_hourly.csv", 3, "site", "did you mean 'bj'?")
    assert len(found) == 1, [str(i) for i in found]


# ---------------------------------------------------------------------------------------------
# tanlu.toml: two ids that differ only before normalisation name both lines
# ---------------------------------------------------------------------------------------------

SITE = """
[[sites]]
id = "{id}"
name = "Another"
entity = "parent"
province = "Beijing"
"""


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param("gz ", id="trailing-space"),
        pytest.param("ｇｚ", id="full-width"),
        pytest.param("GZ", id="case"),
        pytest.param("gz", id="same"),
    ],
)
def test_site_ids_that_are_one_id(make_project: MakeProject, spelling: str) -> None:
    # BASIC_TOML writes gz's id on line 11 and bj's on line 17; the third site's id on line 24
    root = make_project(toml=BASIC_TOML + SITE.format(id=spelling))
    with pytest.raises(ProjectError) as caught:
        tanlu.load_project(root)
    message = str(caught.value)
    assert "tanlu.toml: sites[2].id (line 24): duplicate site id" in message
    assert "(first in sites[0].id (line 11))" in message
    same = "'gz' appears twice" if spelling == "gz" else f"{spelling!r} is the same id as 'gz'"
    assert same in message


def test_entity_ids_too(make_project: MakeProject) -> None:
    toml = BASIC_TOML.replace(
        '[[sites]]\nid = "gz"',
        '[[entities]]\nid = "Parent "\nname = "Again"\n\n[[sites]]\nid = "gz"',
    )
    with pytest.raises(ProjectError) as caught:
        tanlu.load_project(make_project(toml=toml))
    message = str(caught.value)
    # the first entity's id on line 7, the one added before the sites on line 11
    assert "entities[1].id (line 11): duplicate entity id: 'Parent ' is the same id" in message
    assert "(first in entities[0].id (line 7))" in message


def test_config_built_in_code_checks_the_key_too() -> None:
    from pydantic import ValidationError

    from tanlu.project import ProjectConfig

    raw = {
        "organisation": {"name": "x", "base_year": 2022, "reporting_years": [2022]},
        "entities": [{"id": "p", "name": "P"}],
        "sites": [
            {"id": "a", "name": "A", "entity": " p", "province": "Beijing"},
            {"id": "A", "name": "A", "entity": "p", "province": "Beijing"},
        ],
    }
    with pytest.raises(ValidationError, match="duplicate site id"):
        ProjectConfig.model_validate(raw)


# ---------------------------------------------------------------------------------------------
# Certificate serial ranges
# ---------------------------------------------------------------------------------------------

SERIAL_HEADER = "instrument_id,kind,vintage_year,energy_mwh,serial_start,serial_end\n"


def test_serial_ranges_that_do_not_overlap_are_accepted(make_project: MakeProject) -> None:
    # GEC2022-0001..0400 = 400 GECs = 400 MWh; 0401..0600 = 200 MWh: adjacent, not overlapping.
    # 1,600 MWh consumed; (1,600 - 600) x 0.5856 = 585.6 t
    instruments = (
        SERIAL_HEADER
        + "lot-a,gec,2022,400,GEC2022-0001,GEC2022-0400\n"
        + "lot-b,gec,2022,200,GEC2022-0401,GEC2022-0600\n"
    )
    result = inventory(make_project(CONSUMPTION, files={"data/instruments.csv": instruments}))
    assert result.scope2_market_tco2e == pytest.approx(1000 * NATIONAL_EXCL_2022, rel=1e-12)


def test_overlapping_serial_ranges_within_a_file(make_project: MakeProject) -> None:
    # 0001..0400 and 0301..0500 share 0301..0400: 100 certificates claimed twice
    instruments = (
        SERIAL_HEADER
        + "lot-a,gec,2022,400,GEC2022-0001,GEC2022-0400\n"
        + "lot-b,gec,2022,200,GEC2022-0301,GEC2022-0500\n"
    )
    assert_issue(
        only_issue(make_project(CONSUMPTION, files={"data/instruments.csv": instruments})),
        "project/data/instruments.csv",
        3,
        "serial_start",
        "serial range GEC2022-0301..GEC2022-0500 overlaps GEC2022-0001..GEC2022-0400",
        "on project/data/instruments.csv, line 2",
        "a certificate is claimed once",
    )


def test_overlapping_serial_ranges_across_files_whatever_the_spelling(
    make_project: MakeProject,
) -> None:
    # the second file writes the prefix in lower case and full width: the same serials
    root = make_project(
        CONSUMPTION,
        files={
            "data/instruments_a.csv": SERIAL_HEADER
            + "lot-a,gec,2022,400,GEC2022-0001,GEC2022-0400\n",
            "data/instruments_b.csv": SERIAL_HEADER
            + f"lot-b,gec,2022,1,{full_width('gec2022-0400')},gec2022-0400\n",
        },
    )
    assert_issue(
        only_issue(root),
        "project/data/instruments_b.csv",
        2,
        "serial_start",
        "overlaps GEC2022-0001..GEC2022-0400 on project/data/instruments_a.csv, line 2",
    )


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ("lot,gec,2022,400,GEC-0001,", "serial_end", "needs both serial_start and serial_end"),
        ("lot,gec,2022,400,GEC-0001,GEC-A", "serial_end", "'GEC-A' does not end in digits"),
        ("lot,gec,2022,400,GEC-0001,IREC-0400", "serial_end", "does not have the prefix"),
        ("lot,gec,2022,400,GEC-0400,GEC-0001", "serial_end", "is before serial_start"),
        # 0001..0400 is 400 GECs = 400 MWh (1 GEC = 1 MWh), not 500
        ("lot,gec,2022,500,GEC-0001,GEC-0400", "energy_mwh", "is not the 400 GECs"),
    ],
)
def test_bad_serial_range(make_project: MakeProject, row: str, column: str, reason: str) -> None:
    files = {"data/instruments.csv": SERIAL_HEADER + row + "\n"}
    issue = only_issue(make_project(CONSUMPTION, files=files))
    assert_issue(issue, "project/data/instruments.csv", 2, column, reason)


# ---------------------------------------------------------------------------------------------
# Duplicate activity rows are found on parsed values
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "again",
    [
        pytest.param("gz,2022-1-5,2022-1-5,spend_naics_334111,1e3,CNY", id="date-and-number"),
        pytest.param("gz ,2022-01-05,2022-01-05,spend_naics_334111,1000.0,CNY", id="space"),
        pytest.param("ｇｚ,2022-01-05,2022-01-05,spend_naics_334111,0.1,万元", id="unit"),
        # 1,000 to 12 significant digits: its mantissa rounds to 10 and carries to 1.0 x 10^3
        pytest.param("gz,2022-01-05,2022-01-05,spend_naics_334111,999.9999999999,CNY", id="carry"),
    ],
)
def test_duplicate_rows_compare_parsed_values(make_project: MakeProject, again: str) -> None:
    # 0.1 万元 = 0.1 x 10,000 = 1,000 CNY: the same purchase
    rows = "gz,2022-01-05,2022-01-05,spend_naics_334111,1000,CNY\n" + again + "\n"
    assert_issue(
        only_issue(make_project(rows)),
        "project/data/activities.csv",
        3,
        None,
        "duplicate of project/data/activities.csv, line 2",
    )


def test_rows_that_differ_after_parsing_are_not_duplicates(make_project: MakeProject) -> None:
    # 1,000 CNY and 1,001 CNY are two purchases; so are two days
    rows = (
        "gz,2022-01-05,2022-01-05,spend_naics_334111,1000,CNY\n"
        "gz,2022-01-05,2022-01-05,spend_naics_334111,1001,CNY\n"
        "gz,2022-01-06,2022-01-06,spend_naics_334111,1000,CNY\n"
    )
    assert check_inputs(tanlu.load_project(make_project(rows))) == []


# ---------------------------------------------------------------------------------------------
# Property tests: whatever the spelling, row order or split across files
# ---------------------------------------------------------------------------------------------


def _respell(text: str, how: int) -> str:
    """One of the spellings the rule makes equal: as is, spaces around, full width, case, a
    zero-width space, a no-break space."""
    return [
        text,
        f"  {text} ",
        full_width(text),
        text.upper() if text != text.upper() else text.lower(),
        text[:1] + "\u200b" + text[1:],
        text + "\u00a0",
    ][how]


lot = st.tuples(st.integers(min_value=1, max_value=2000), st.booleans(), st.integers(0, 5))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lot, min_size=1, max_size=6), st.randoms(use_true_random=False), st.booleans())
def test_no_certificate_is_claimed_twice(
    lots: list[tuple[int, bool, int]], shuffle: random.Random, split: bool
) -> None:
    # lot n: 'Lot-n' with energy_mwh; when `again`, a second row of it in another spelling
    rows = []
    for n, (mwh, again, how) in enumerate(lots):
        rows.append((f"Lot-{n}", mwh))
        if again:
            rows.append((_respell(f"Lot-{n}", how), mwh))
    shuffle.shuffle(rows)
    with tempfile.TemporaryDirectory() as folder:
        cut = len(rows) // 2 if split else len(rows)
        paths = []
        for part, chunk in enumerate((rows[:cut], rows[cut:])):
            path = Path(folder) / f"instruments_{part}.csv"
            body = "".join(f"{i},gec,2022,{mwh}\n" for i, mwh in chunk)
            path.write_text("instrument_id,kind,vintage_year,energy_mwh\n" + body, "utf-8")
            paths.append(path)
        table, issues = read_instruments(paths, [p.name for p in paths], {"a", "b"})
    repeats = sum(again for _, again, _ in lots)
    # every second spelling of a lot is reported once, wherever it is; nothing is kept
    assert len(issues) == repeats
    assert all(i.column == "instrument_id" and "claimed once" in i.reason for i in issues)
    if repeats:
        assert table.empty
        return
    # otherwise every lot is one row, and allocation gives each MWh once at most
    assert sorted(table["instrument_id"]) == sorted(f"Lot-{n}" for n in range(len(lots)))
    use = pd.DataFrame({"site": ["a", "b"], "electricity_mwh": [1500.0, 1500.0]})
    market = calculate_market_based_scope2(use, table, 2022, 0.5856)
    allocated = market.allocations.groupby("instrument_id")["allocated_mwh"].sum()
    held = table.set_index("instrument_id")["energy_mwh"]
    assert (allocated <= held.reindex(allocated.index) + 1e-9).all()
    assert allocated.sum() <= 3000 + 1e-9


LIBRARY = load_factor_library()


# spellings of a site that name it (_respell's case change is an unknown site instead, tested
# in test_a_reference_in_another_case_names_the_id)
SAME_REFERENCE = (0, 1, 2, 4, 5)


def _spell_row(day: int, cny: int, how: int) -> dict[str, str]:
    """A purchase on 2022-01-`day` of `cny` CNY at gz, written one of several equal ways."""
    dates = [f"2022-01-{day:02d}", f"2022-1-{day}", f"2022-01-{day:02d} 00:00:00"][how % 3]
    quantity = [str(cny), f"{cny:e}", f"{cny / 10000}", f"{cny}.0"][how % 4]
    unit = "万元" if how % 4 == 2 else "CNY"
    return {
        "site": _respell("gz", SAME_REFERENCE[how % 5]),
        "period_start": dates,
        "period_end": dates,
        "activity": "spend_naics_334111",
        "quantity": quantity,
        "unit": unit,
    }


purchase = st.tuples(st.integers(1, 28), st.booleans(), st.integers(0, 11))


# Every one of the 12 spellings `purchase` draws (`how` 0..11) written again, in one explicit
# example that always runs, so that no spelling is left to chance; the random examples add
# mixes of repeated and single rows, orders and files. 10 of them, not 25: each checks a
# whole activity table (about 1.3 s), and the spellings they drew at random are now all
# covered by the example.
@example(
    [(day, True, how) for day, how in zip(range(1, 13), range(12), strict=True)],
    random.Random(0),
)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(purchase, min_size=1, max_size=8, unique_by=lambda p: p[0]),
    st.randoms(use_true_random=False),
)
def test_duplicate_rows_are_found_whatever_the_spelling(
    purchases: list[tuple[int, bool, int]], shuffle: random.Random
) -> None:
    # purchase n on its own day for 1,000 + n CNY; when `again`, written a second time another
    # way, in either of two files
    rows = []
    for n, (day, again, how) in enumerate(purchases):
        rows.append(_spell_row(day, 1000 + n, 0))
        if again:
            rows.append(_spell_row(day, 1000 + n, how))
    shuffle.shuffle(rows)
    raw = pd.DataFrame(rows).assign(
        meter=pd.NA,
        category=pd.NA,
        source_document=pd.NA,
        note=pd.NA,
        source_file=[shuffle.choice(["a.csv", "b.csv"]) for _ in rows],
        source_sheet=None,
        source_line=range(2, len(rows) + 2),
    )
    prepared = prepare_activities(raw, LIBRARY, ["gz", "bj"], [2022])
    repeats = sum(again for _, again, _ in purchases)
    assert len(prepared.issues) == repeats, [str(i) for i in prepared.issues]
    assert all("duplicate of" in i.reason for i in prepared.issues)


# ---------------------------------------------------------------------------------------------
# Instruments under the equity share approach
# ---------------------------------------------------------------------------------------------

EQUITY_TOML = """\
[organisation]
name = "Group"
base_year = 2022
reporting_years = [2022]
consolidation_approach = "{approach}"

[[entities]]
id = "parent"
name = "Parent"

[[entities]]
id = "jv"
name = "Joint venture"
ownership_share = 0.6

[[sites]]
id = "hq"
name = "HQ"
entity = "parent"
province = "Guangdong"

[[sites]]
id = "jv-dc"
name = "JV data centre"
entity = "jv"
province = "Guangdong"
"""


@pytest.mark.parametrize(
    ("approach", "jv_consumed_mwh", "jv_contract_mwh"),
    [
        # equity share: jv-dc 1,000 MWh x 0.6 = 600 MWh; its 500 MWh contract x 0.6 = 300 MWh
        ("equity_share", 600.0, 300.0),
        # control: the jv in full, and its contract in full
        ("financial_control", 1000.0, 500.0),
    ],
)
def test_a_dedicated_instrument_counts_at_the_site_share(
    make_project: MakeProject, approach: str, jv_consumed_mwh: float, jv_contract_mwh: float
) -> None:
    rows = (
        "hq,2022-01-01,2022-12-31,electricity,1000,MWh\n"
        "jv-dc,2022-01-01,2022-12-31,electricity,1000,MWh\n"
    )
    instruments = (
        "instrument_id,kind,vintage_year,energy_mwh,site\n"
        "gpc-jv,green_power_contract,2022,500,jv-dc\n"
    )
    root = make_project(
        rows,
        toml=EQUITY_TOML.format(approach=approach),
        files={"data/instruments.csv": instruments},
        name=approach,
    )
    result = inventory(root)
    market = result.scope2_market.by_site.set_index("site")
    assert market.at["jv-dc", "electricity_mwh"] == pytest.approx(jv_consumed_mwh)
    assert market.at["jv-dc", "contractual_mwh"] == pytest.approx(jv_contract_mwh)
    # equity: residual 600 - 300 = 300 MWh (the share of 1,000 - 500); control: 1,000 - 500
    residual = jv_consumed_mwh - jv_contract_mwh
    assert market.at["jv-dc", "residual_mwh"] == pytest.approx(residual)
    # hq 1,000 MWh has no instrument; equity: (1,000 + 300) x 0.5856 = 761.28 t
    assert result.scope2_market_tco2e == pytest.approx(
        (1000 + residual) * NATIONAL_EXCL_2022, rel=1e-12
    )
    # the co-owner's 40% of the contract is theirs, not an unallocated surplus
    assert result.scope2_market.unallocated.empty
    assert result.scope2_market.allocations["allocated_mwh"].sum() == pytest.approx(jv_contract_mwh)


def test_site_growth_keys_are_site_ids(make_project: MakeProject) -> None:
    # a key written full-width with a trailing space is the site 'gz' (its growth is used, not
    # its kind's); a key that names no site, or a site in another case, is an error naming it
    spelled = full_width("gz") + " "
    toml = BASIC_TOML + f'\n[roadmap]\nsite_growth_share_per_year = {{ "{spelled}" = 0.3 }}\n'
    project = tanlu.load_project(make_project(toml=toml))
    assert project.config.roadmap.site_growth_share_per_year == {"gz": 0.3}
    for key, message in (
        ("sh", "unknown site 'sh'"),
        ("GZ", "unknown site 'GZ' (did you mean 'gz'? ids are case-sensitive)"),
    ):
        bad = BASIC_TOML + f'\n[roadmap]\nsite_growth_share_per_year = {{ "{key}" = 0.3 }}\n'
        with pytest.raises(
            ProjectError, match=r"site_growth_share_per_year.*" + re.escape(message)
        ):
            tanlu.load_project(make_project(toml=bad, name=f"bad_{key}"))
