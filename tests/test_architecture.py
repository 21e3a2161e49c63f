"""The rooms of docs/architecture.md hold: every import of src/tanlu, walked with ast.

The tables of allowed arrows and of exceptions are read from docs/architecture.md, so the page is
the rule and this test enforces it. The checker itself is tested on small made-up modules first,
so that a rule that can no longer fail shows up as a failing test.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src"
PACKAGE = "tanlu"
DOC = ROOT / "docs" / "architecture.md"
# The one name any module may import from the package's __init__.py (docs/architecture.md).
METADATA_NAMES = frozenset({"__version__"})


@dataclass(frozen=True)
class Import:
    """One name a module takes from another tanlu module: ``line`` of ``module``."""

    module: str
    line: int
    target: str
    name: str | None  # the name imported from ``target`` (None: the module itself)


@dataclass(frozen=True)
class Rules:
    rooms: dict[str, tuple[str, ...]]  # room -> module entries
    allowed: dict[str, frozenset[str]]  # room -> rooms it may import
    exceptions: dict[tuple[str, str], str]  # (module, room) -> exception name


def _table(text: str, marker: str) -> list[list[list[str]]]:
    """The rows of the table between ``<!-- marker: ... -->`` and ``<!-- /marker -->``; each
    cell as the list of its `backticked` words."""
    match = re.search(rf"<!-- {marker}:[^>]*-->\n(.*?)<!-- /{marker} -->", text, re.S)
    assert match, f"{DOC}: no table marked '<!-- {marker}: ... -->'"
    rows = [line for line in match.group(1).splitlines() if line.startswith("|")][2:]
    return [[re.findall(r"`([^`]+)`", cell) for cell in row.strip("|").split("|")] for row in rows]


def read_rules(text: str) -> Rules:
    rooms: dict[str, tuple[str, ...]] = {}
    allowed: dict[str, frozenset[str]] = {}
    for room_cell, modules, may_import, *_ in _table(text, "rooms"):
        (room,) = room_cell
        rooms[room] = tuple(modules)
        allowed[room] = frozenset(may_import)
    exceptions: dict[tuple[str, str], str] = {}
    for name_cell, module_cell, targets, *_ in _table(text, "exceptions"):
        (name,) = name_cell
        (module,) = module_cell
        exceptions.update({(module, room): name for room in targets})
    return Rules(rooms, allowed, exceptions)


def room_of(module: str, rules: Rules) -> str | None:
    """The room whose entry is the longest prefix of ``module`` (``tanlu`` only for itself)."""
    best: tuple[int, str] | None = None
    for room, entries in rules.rooms.items():
        for entry in entries:
            matches = module == entry or (entry != PACKAGE and module.startswith(entry + "."))
            if matches and (best is None or len(entry) > best[0]):
                best = (len(entry), room)
    return None if best is None else best[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules() -> dict[str, str]:
    """Every module under src/tanlu: dotted name -> source text."""
    return {
        module_name(path): path.read_text(encoding="utf-8")
        for path in sorted((SOURCE / PACKAGE).rglob("*.py"))
    }


def imports_of(module: str, source: str, known: set[str], is_package: bool) -> list[Import]:
    """Every tanlu module or name ``module`` imports, and every attribute it reads from a tanlu
    module bound to a local name (``engine.connect`` after ``from tanlu import engine``)."""
    found: list[Import] = []
    bound: dict[str, str] = {}  # local name -> tanlu module
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    found.append(Import(module, node.lineno, alias.name, None))
                    if alias.asname:
                        bound[alias.asname] = alias.name
                    else:
                        bound[alias.name.split(".")[0]] = PACKAGE
        elif isinstance(node, ast.ImportFrom):
            origin = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = package[: len(package) - node.level + 1]
                origin = ".".join(base + ([origin] if origin else []))
            if origin != PACKAGE and not origin.startswith(PACKAGE + "."):
                continue
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"
                if submodule in known:
                    found.append(Import(module, node.lineno, submodule, None))
                    bound[alias.asname or alias.name] = submodule
                else:
                    found.append(Import(module, node.lineno, origin, alias.name))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            chain.insert(0, current.attr)
            current = current.value
        if not isinstance(current, ast.Name) or current.id not in bound:
            continue
        # ``tanlu.roadmap.plan._solve`` -> the module ``tanlu.roadmap.plan``, the name ``_solve``
        parts = [*bound[current.id].split("."), *chain]
        prefixes = [n for n in range(1, len(parts) + 1) if ".".join(parts[:n]) in known]
        depth = max(prefixes, default=0)
        if 0 < depth < len(parts):
            attribute = Import(module, node.lineno, ".".join(parts[:depth]), parts[depth])
            if attribute not in found:
                found.append(attribute)
    return found


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(imports: list[Import]) -> list[str]:
    problems = []
    for item in imports:
        parts = [*item.target.split("."), *([item.name] if item.name else [])]
        if any(is_private(part) for part in parts):
            shown = item.target + (f".{item.name}" if item.name else "")
            problems.append(f"{item.module} line {item.line}: imports the private name {shown}")
    return problems


def reachable(room: str, rules: Rules) -> set[str]:
    """Every room ``room`` may import, directly or through the rooms it may import."""
    seen: set[str] = set()
    stack = list(rules.allowed.get(room, ()))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(rules.allowed.get(current, ()))
    return seen


def arrows(imports: list[Import], rules: Rules) -> list[tuple[Import, str, str]]:
    """(import, from room, to room) for every import that crosses rooms."""
    crossing = []
    for item in imports:
        if item.target == PACKAGE and item.name in METADATA_NAMES:
            continue
        source_room = room_of(item.module, rules)
        target_room = room_of(item.target, rules)
        assert source_room and target_room, f"{item}: a module outside every room"
        if source_room != target_room:
            crossing.append((item, source_room, target_room))
    return crossing


def bad_arrows(imports: list[Import], rules: Rules) -> list[str]:
    problems = []
    for item, source_room, target_room in arrows(imports, rules):
        if target_room in rules.allowed[source_room]:
            continue
        if (item.module, target_room) in rules.exceptions:
            continue
        if source_room in reachable(target_room, rules):
            kind = "upward"
        elif target_room in reachable(source_room, rules):
            kind = "room-skipping"  # downward, but past the room that should stand between
        else:
            kind = "sideways"
        problems.append(
            f"{item.module} line {item.line}: {kind} arrow {source_room} -> {target_room} "
            f"(imports {item.target}{'.' + item.name if item.name else ''}); "
            f"{source_room} may import {', '.join(sorted(rules.allowed[source_room])) or 'nothing'}"
            " (docs/architecture.md)"
        )
    return problems


def import_circles(imports: list[Import]) -> list[list[str]]:
    """Every circle of modules that import each other (as ``[a, b, ..., a]``), one per circle."""
    graph: dict[str, set[str]] = {}
    for item in imports:
        if item.target != item.module:
            graph.setdefault(item.module, set()).add(item.target)
    circles: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def walk(path: list[str]) -> None:
        for target in sorted(graph.get(path[-1], ())):
            if target == path[0]:
                if frozenset(path) not in seen:
                    seen.add(frozenset(path))
                    circles.append([*path, target])
            elif target not in path and target > path[0]:
                walk([*path, target])

    for start in sorted(graph):
        walk([start])
    return circles


# --- the checker, on made-up modules --------------------------------------------------------

RULES = read_rules(DOC.read_text(encoding="utf-8"))
KNOWN = {"tanlu", "tanlu.engine", "tanlu.roadmap", "tanlu.roadmap.plan", "tanlu.report"}


def check(module: str, source: str) -> tuple[list[str], list[str]]:
    found = imports_of(module, source, KNOWN, is_package=False)
    return private_imports(found), bad_arrows(found, RULES)


def test_the_checker_finds_a_private_import_in_every_form() -> None:
    for source in (
        "from tanlu.roadmap.plan import _solve\n",
        "from tanlu.roadmap import plan\nplan._solve(1)\n",
        "import tanlu.roadmap.plan as p\np._solve(1)\n",
        "import tanlu.roadmap.plan\ntanlu.roadmap.plan._solve(1)\n",
        "from .plan import _solve\n",  # relative, from inside tanlu.roadmap
    ):
        private, _ = check("tanlu.roadmap.macc", source)
        assert private == [
            f"tanlu.roadmap.macc line {source.count(chr(10))}: imports the "
            "private name tanlu.roadmap.plan._solve"
        ], source
    # a public name and a dunder are not private
    assert check("tanlu.roadmap.macc", "from tanlu.roadmap.plan import solve_roadmap\n")[0] == []
    assert check("tanlu.report.run", "from tanlu import __version__\n") == ([], [])


def test_the_checker_finds_upward_and_sideways_arrows() -> None:
    _, upward = check("tanlu.inventory.calculate", "from tanlu.roadmap.plan import solve_roadmap\n")
    assert upward == [
        "tanlu.inventory.calculate line 1: upward arrow inventory -> roadmap (imports "
        "tanlu.roadmap.plan.solve_roadmap); inventory may import base, engine, factors, ingest, "
        "project (docs/architecture.md)"
    ]
    _, sideways = check("tanlu.footprint.person", "from tanlu import engine\nimport tanlu.report\n")
    assert sideways == [
        "tanlu.footprint.person line 2: sideways arrow footprint -> report (imports tanlu.report); "
        "footprint may import base, engine, factors, ingest (docs/architecture.md)"
    ]
    _, skipping = check("tanlu.service.routes", "from tanlu.roadmap import plan\n")
    assert skipping == [
        "tanlu.service.routes line 1: room-skipping arrow service -> roadmap (imports "
        "tanlu.roadmap.plan); service may import app, base, store (docs/architecture.md)"
    ]
    # the cli reaches below app/ no more (issue 11 struck its exception)
    _, cli = check("tanlu.cli", "from tanlu.roadmap import plan\n")
    assert cli == [
        "tanlu.cli line 1: room-skipping arrow cli -> roadmap (imports tanlu.roadmap.plan); "
        "cli may import app, base, service (docs/architecture.md)"
    ]
    # an exception of docs/architecture.md is allowed, and only for its own module
    excepted = Rules(RULES.rooms, RULES.allowed, {("tanlu.cli", "roadmap"): "made-up"})
    found = imports_of("tanlu.cli", "from tanlu.roadmap import plan\n", KNOWN, False)
    assert bad_arrows(found, excepted) == []
    found = imports_of("tanlu.service.routes", "from tanlu.roadmap import plan\n", KNOWN, False)
    assert len(bad_arrows(found, excepted)) == 1
    # downward and within a room: allowed
    assert check("tanlu.roadmap.macc", "from tanlu.roadmap.plan import solve_roadmap\n") == ([], [])


def test_the_checker_finds_a_circle_of_modules() -> None:
    # the circle broken in issue 11: factors.library read regions, regions read library
    library = imports_of("tanlu.factors.library", "from .regions import x\n", KNOWN, False)
    regions = imports_of("tanlu.factors.regions", "from .library import y\n", KNOWN, False)
    assert import_circles(library + regions) == [
        ["tanlu.factors.library", "tanlu.factors.regions", "tanlu.factors.library"]
    ]
    assert import_circles(library) == []


def test_the_checker_reads_the_longest_room_entry() -> None:
    assert room_of("tanlu", RULES) == "tanlu"
    assert room_of("tanlu.roadmap.plan", RULES) == "roadmap"
    assert room_of("tanlu.solver", RULES) == "finance"
    assert room_of("tanlu.elsewhere", RULES) is None


# --- the rules themselves ------------------------------------------------------------------


def test_the_allowed_arrows_name_rooms_and_go_one_way() -> None:
    for room, targets in RULES.allowed.items():
        assert targets <= set(RULES.rooms), f"{room} may import an unknown room"
        assert room not in reachable(room, RULES), f"{room} reaches itself: a cycle of rooms"
    for module, room in RULES.exceptions:
        assert room in RULES.rooms, f"exception for {module}: unknown room {room}"


def test_every_module_is_in_a_room() -> None:
    unplaced = [module for module in source_modules() if room_of(module, RULES) is None]
    assert unplaced == [], f"give these modules a room in docs/architecture.md: {unplaced}"


@pytest.fixture(scope="module")
def all_imports() -> list[Import]:
    modules = source_modules()
    known = set(modules)
    return [
        item
        for module, source in modules.items()
        for item in imports_of(module, source, known, (SOURCE / Path(*module.split("."))).is_dir())
    ]


def test_no_module_imports_a_private_name_from_another(all_imports: list[Import]) -> None:
    assert private_imports(all_imports) == []


def test_no_arrow_goes_up_or_sideways(all_imports: list[Import]) -> None:
    assert bad_arrows(all_imports, RULES) == []


def test_no_modules_import_each_other_in_a_circle(all_imports: list[Import]) -> None:
    assert import_circles(all_imports) == []


def test_every_exception_still_exists(all_imports: list[Import]) -> None:
    present = {(item.module, target) for item, _, target in arrows(all_imports, RULES)}
    gone = sorted(
        f"{name}: {module} no longer imports {room}; strike it from docs/architecture.md"
        for (module, room), name in RULES.exceptions.items()
        if (module, room) not in present
    )
    assert gone == []
