"""The site register: sites in a CSV, XLSX or Parquet file (``[data] sites``).

Golden cases (a register gives the same sites as ``[[sites]]``), every kind of bad row named by
file, line and column, and a Hypothesis property: any valid sites, written as a register,
load as they do from ``tanlu.toml``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tanlu.errors import InputError, InputIssue, ProjectError
from tanlu.project import load_project

from .conftest import MakeProject

HEAD = """\
[organisation]
name = "Toy Co"
base_year = 2021
reporting_years = [2021]

[[entities]]
id = "parent"
name = "Parent"

[[entities]]
id = "JV"
name = "Joint venture"
ownership_share = 0.4
"""
REGISTER_TOML = HEAD + '\n[data]\nsites = ["data/sites*.csv", "data/sites*.xlsx"]\n'
ONE_TOML_SITE = """
[[sites]]
id = "gz"
name = "Guangzhou office"
entity = "parent"
province = "广东"
"""


def issues_of(root: Path) -> list[InputIssue]:
    with pytest.raises(InputError) as caught:
        load_project(root)
    return caught.value.issues


def test_register_sites_follow_the_toml_sites(make_project: MakeProject) -> None:
    register = (
        "id,name,entity,kind,province,grid_region,latitude,longitude,leased,owned_from\n"
        "bj,Beijing data centre,parent,data_centre,Beijing,,39.9,116.4,,\n"
        "\n"  # a blank line: skipped
        " sh ,Shanghai lab,JV,,上海市,East China,,,true,2021-07-01\n"
    )
    root = make_project(toml=REGISTER_TOML + ONE_TOML_SITE, files={"data/sites.csv": register})
    project = load_project(root)
    sites = project.sites.set_index("site")
    assert list(sites.index) == ["gz", "bj", "sh"]  # [[sites]] first, then file order
    assert project.site_files == (root.resolve() / "data" / "sites.csv",)
    # defaults where a cell is empty; names canonical; the grid from the province
    assert sites.loc["bj", "kind"] == "data_centre"
    assert sites.loc["sh", "kind"] == "office"
    assert sites.loc["sh", "province"] == "Shanghai"
    assert sites.loc["sh", "grid_region"] == "East China"
    assert sites.loc["bj", "grid_region"] == "North China"
    assert sites.loc["bj", "latitude"] == pytest.approx(39.9)
    assert not bool(sites.loc["bj", "leased"]) and bool(sites.loc["sh", "leased"])
    assert sites.loc["sh", "ownership_share"] == pytest.approx(0.4)  # from the entity JV
    assert sites.loc["sh", "owned_from"] == pd.Timestamp("2021-07-01")
    assert pd.isna(sites.loc["bj", "owned_from"])


def _as_toml(frame: pd.DataFrame) -> str:
    blocks = []
    for record in frame.to_dict(orient="records"):
        lines = ["[[sites]]"]
        for key, value in record.items():
            if value is None or (isinstance(value, float) and pd.isna(value)):
                continue
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, float):
                lines.append(f"{key} = {value!r}")
            else:
                lines.append(f'{key} = "{value}"')
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


SITES = pd.DataFrame(
    {
        "id": ["a1", "b2", "c3"],
        "name": ["Alpha", "Beta", "Gamma"],
        "entity": ["parent", "JV", "parent"],
        "kind": ["office", "data_centre", "office"],
        "province": ["Guangdong", "内蒙古", "Tibet"],
        "latitude": [23.1, None, 29.6],
        "longitude": [113.3, None, 91.1],
        "leased": [False, True, False],
    }
)


@pytest.mark.parametrize("suffix", ["csv", "xlsx", "parquet"])
def test_a_register_in_each_format_gives_the_sites_of_the_toml(
    make_project: MakeProject, tmp_path: Path, suffix: str
) -> None:
    listed = load_project(make_project(toml=HEAD + "\n" + _as_toml(SITES), name="listed"))
    root = make_project(
        toml=HEAD + f'\n[data]\nsites = ["data/register.{suffix}"]\n', name=f"in_{suffix}"
    )
    path = root / "data" / f"register.{suffix}"
    if suffix == "csv":
        SITES.to_csv(path, index=False)
    elif suffix == "xlsx":
        SITES.to_excel(path, index=False)
    else:
        SITES.to_parquet(path, index=False)
    registered = load_project(root)
    pd.testing.assert_frame_equal(registered.sites, listed.sites)
    assert registered.config.sites == listed.config.sites


def test_a_register_alone_with_no_toml_sites(make_project: MakeProject) -> None:
    root = make_project(
        toml=REGISTER_TOML,
        files={"data/sites.csv": "id,name,entity,province\nx,X,parent,Hainan\n"},
    )
    assert list(load_project(root).sites["site"]) == ["x"]


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (",Nameless,parent,Beijing,", "id", "id is empty"),
        ("s9,,parent,Beijing,", "name", "name is empty"),
        ("s9,S9,nobody,Beijing,", "entity", "unknown entity 'nobody' (not in [[entities]])"),
        (
            "s9,S9,PARENT,Beijing,",
            "entity",
            "unknown entity 'PARENT' (not in [[entities]]) (did you mean 'parent'? "
            "ids are case-sensitive)",
        ),
        ("s9,S9,parent,Atlantis,", "province", "unknown province 'Atlantis'"),
        ("s9,S9,parent,Beijing,95", "latitude", "'95': Input should be less than or equal to 90"),
        ("s9,S9,parent,Beijing,north", "latitude", "'north': Input should be a valid number"),
    ],
)
def test_bad_register_row_names_file_line_and_column(
    make_project: MakeProject, row: str, column: str, reason: str
) -> None:
    root = make_project(
        toml=REGISTER_TOML,
        files={
            "data/sites.csv": "id,name,entity,province,latitude\n"
            "ok,Fine,parent,Beijing,\n\n" + row + "\n"
        },
    )
    issues = issues_of(root)
    assert len(issues) == 1
    issue = issues[0]
    assert (issue.file, issue.line, issue.column) == ("project/data/sites.csv", 4, column)
    assert issue.reason.startswith(reason), issue.reason


def test_bad_values_of_other_fields(make_project: MakeProject) -> None:
    root = make_project(
        toml=REGISTER_TOML,
        files={
            "data/sites.csv": "id,name,entity,province,grid_region,leased,owned_from,owned_until\n"
            "a,A,parent,Beijing,Nowhere grid,,,\n"
            "b,B,parent,Beijing,,maybe,,\n"
            "c,C,parent,Beijing,,,2021-13-01,\n"
            "d,D,parent,Beijing,,,2021-06-01,2021-01-01\n"
        },
    )
    found = [(i.line, i.column, i.reason.split(":")[0]) for i in issues_of(root)]
    assert found == [
        (2, "grid_region", "unknown regional grid 'Nowhere grid'"),
        (3, "leased", "'maybe'"),
        (4, "owned_from", "'2021-13-01'"),
        (5, None, "owned_until is before owned_from"),
    ]


def test_duplicate_ids_name_the_first(make_project: MakeProject) -> None:
    root = make_project(
        toml=REGISTER_TOML + ONE_TOML_SITE,
        files={
            "data/sites.csv": "id,name,entity,province\n"
            "a,A,parent,Beijing\n"
            "GZ,Again,parent,Beijing\n"
            "\uff41,A again,parent,Beijing\n"  # full-width a
        },
    )
    issues = issues_of(root)
    assert [(i.line, i.column) for i in issues] == [(3, "id"), (4, "id")]
    assert "'GZ' is the same id as 'gz'" in issues[0].reason
    assert issues[0].reason.endswith("tanlu.toml sites[0])")
    assert "'\uff41' is the same id as 'a'" in issues[1].reason
    assert issues[1].reason.endswith("(first in project/data/sites.csv, line 2)")


def test_bad_header_and_file_kinds(make_project: MakeProject) -> None:
    root = make_project(
        toml=HEAD + '\n[data]\nsites = ["data/s*"]\n',
        files={
            "data/s1.csv": "id,name,province,floor\nx,X,Beijing,3\n",
            "data/s2.txt": "id,name,entity,province\n",
            "data/s3.csv": "",
        },
    )
    reasons = {(i.file, i.line): i.reason for i in issues_of(root)}
    assert reasons == {
        ("project/data/s1.csv", 1): "missing required column(s): entity; unknown column(s): "
        "floor (a site register has: id, name, name_zh, entity, kind, province, grid_region, "
        "latitude, longitude, leased, pv_potential_kw, owned_from, owned_until)",
        ("project/data/s2.txt", None): "unsupported file type '.txt' for a site register "
        "(.csv, .xlsx, .parquet)",
        ("project/data/s3.csv", None): "the file is empty",
    }


def test_a_column_given_twice_in_another_case(make_project: MakeProject) -> None:
    root = make_project(
        toml=REGISTER_TOML,
        files={"data/sites.csv": "id,name,entity,province,ID\nx,X,parent,Beijing,y\n"},
    )
    (issue,) = issues_of(root)
    assert (issue.line, issue.reason) == (1, "column(s) given twice: id")


def test_not_utf8_register(make_project: MakeProject) -> None:
    root = make_project(toml=REGISTER_TOML)
    (root / "data" / "sites.csv").write_bytes(
        "id,name,entity,province\nx,办公,parent,北京\n".encode("gbk")
    )
    (issue,) = issues_of(root)
    assert (issue.file, issue.line, issue.reason) == (
        "project/data/sites.csv",
        None,
        "not UTF-8 text",
    )


def test_parquet_register_rows_are_numbered_from_one(make_project: MakeProject) -> None:
    root = make_project(toml=HEAD + '\n[data]\nsites = ["data/sites.parquet"]\n')
    pd.DataFrame(
        {
            "id": ["a", "b"],
            "name": ["A", "B"],
            "entity": ["parent", "x"],
            "province": ["Beijing"] * 2,
        }
    ).to_parquet(root / "data" / "sites.parquet")
    (issue,) = issues_of(root)
    assert str(issue).startswith(
        "project/data/sites.parquet, row 2, column 'entity': unknown entity 'x'"
    )


def test_a_register_glob_that_matches_nothing(make_project: MakeProject) -> None:
    root = make_project(toml=HEAD + ONE_TOML_SITE + '\n[data]\nsites = ["data/missing.csv"]\n')
    with pytest.raises(ProjectError, match=r"data\.sites: no file matches 'data/missing\.csv'"):
        load_project(root)


EXAMPLES = itertools.count()
IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=8)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            IDS,
            st.sampled_from(["parent", "JV"]),
            st.sampled_from(["Beijing", "广东省", "Xinjiang", "Hainan", "tibet"]),
            st.one_of(st.none(), st.floats(-90, 90, allow_nan=False).map(lambda x: round(x, 4))),
            st.booleans(),
        ),
        min_size=1,
        max_size=12,
        unique_by=lambda row: row[0],
    )
)
def test_any_valid_sites_load_alike_from_a_register_and_the_toml(
    make_project: MakeProject, rows: list[tuple[str, str, str, float | None, bool]]
) -> None:
    frame = pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [f"Site {r[0]}" for r in rows],
            "entity": [r[1] for r in rows],
            "province": [r[2] for r in rows],
            "latitude": [r[3] for r in rows],
            "leased": [r[4] for r in rows],
        }
    )
    name = f"p{next(EXAMPLES)}"
    listed = make_project(toml=HEAD + "\n" + _as_toml(frame), name=f"{name}_toml")
    registered = make_project(toml=REGISTER_TOML, name=f"{name}_file")
    frame.to_csv(registered / "data" / "sites.csv", index=False)
    pd.testing.assert_frame_equal(load_project(registered).sites, load_project(listed).sites)
