"""``tanlu ... --help``: flags read as flags, options that take a value show its type.

typer 0.29 printed ``<bool>`` beside every flag (``--json <bool>``, even ``--help <bool>``), as if
each took a value; constraints.txt pins the last release that prints flags bare. This test walks
every command, so a new release or a new flag cannot bring the misreading back unnoticed.
"""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from tanlu.cli import app


def command_paths() -> list[tuple[str, ...]]:
    """Every leaf command as the words that call it, e.g. ``("factors", "show")``."""
    root = typer.main.get_command(app)
    paths: list[tuple[str, ...]] = []

    def walk(command: object, prefix: tuple[str, ...]) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, (*prefix, name))
        else:
            paths.append(prefix)

    walk(root, ())
    return sorted(paths)


def help_text(*words: str) -> str:
    result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def option_line(text: str, option: str) -> str:
    """The help line that lists ``option`` (``--json``, ``--pdf``)."""
    lines = [line for line in text.splitlines() if re.search(rf"{option}(\s|,|/|$)", line)]
    assert lines, f"{option} not in help:\n{text}"
    return lines[0]


def test_every_command_is_walked() -> None:
    paths = command_paths()
    # the nine commands of the CLI (factors has two); a new one joins this test by itself
    assert ("roadmap",) in paths and ("factors", "show") in paths and ("run",) in paths
    assert len(paths) >= 9


@pytest.mark.parametrize("words", command_paths(), ids=lambda words: " ".join(words))
def test_flags_show_no_value_type(words: tuple[str, ...]) -> None:
    text = help_text(*words)
    assert "<bool>" not in text, text
    assert option_line(text, "--help").split("--help", 1)[1].lstrip().startswith("Show")


def test_flag_and_valued_options_of_roadmap() -> None:
    text = help_text("roadmap")
    for flag in ("--json", "--macc"):
        after = option_line(text, flag).split(flag, 1)[1].lstrip()
        assert not after.startswith("<"), after  # the help text follows the flag directly
    assert "<int" in option_line(text, "--samples")  # a value-taking option keeps its type
    assert "<path>" in option_line(text, "--out")
