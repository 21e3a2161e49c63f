"""Shared fixtures: small projects written into a temporary folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from . import postgres

BASIC_TOML = """\
[organisation]
name = "Toy Co"
base_year = 2021
reporting_years = [2021, 2022]

[[entities]]
id = "parent"
name = "Parent"

[[sites]]
id = "gz"
name = "Guangzhou office"
entity = "parent"
province = "广东"

[[sites]]
id = "bj"
name = "Beijing data centre"
entity = "parent"
kind = "data_centre"
province = "Beijing"
"""

ACTIVITY_HEADER = "site,period_start,period_end,activity,quantity,unit\n"

MakeProject = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path) -> MakeProject:
    """Write a project: ``make_project(activities_csv_body, toml=..., files={relpath: text})``."""

    def make(
        activities: str = "",
        toml: str = BASIC_TOML,
        files: dict[str, str] | None = None,
        name: str = "project",
    ) -> Path:
        root = tmp_path / name
        (root / "data").mkdir(parents=True)
        (root / "tanlu.toml").write_text(toml, encoding="utf-8")
        if activities:
            (root / "data" / "activities.csv").write_text(
                ACTIVITY_HEADER + activities, encoding="utf-8"
            )
        for relative, text in (files or {}).items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return root

    return make


@pytest.fixture(scope="module")
def pg_socket() -> Iterator[str]:
    """A throw-away PostgreSQL cluster for the module's tests (tests/postgres.py)."""
    with postgres.cluster() as socket:
        yield socket


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tanlu.db'}"
    else:
        with postgres.fresh_database(request.getfixturevalue("pg_socket")) as url:
            yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """As ``database_url``, one per module and database (for fixtures costly to set up)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'tanlu.db'}"
    else:
        with postgres.fresh_database(request.getfixturevalue("pg_socket")) as url:
            yield url
