"""Identifiers: one normalisation for every id read from any input.

Sites, entities, meters, instruments, certificate serial numbers, PV systems and batteries are
named by ids typed by people, in spreadsheets and TOML. Two spellings that look the same must
never count as two things, so every reader passes every id through :func:`normalise_id` when it
enters (docs/file-formats.md, "Identifiers"):

1. Unicode NFKC: full-width ``ＧＥＣ－１`` becomes ``GEC-1``, a no-break or ideographic space
   becomes a plain space, a ligature or superscript its plain letters.
2. Invisible format characters (Unicode category Cf: zero-width space, zero-width joiner, byte
   order mark, soft hyphen) are removed.
3. Runs of white space become one space; white space around the id is removed.

Case rule: ids are case-sensitive after normalisation (``HQ`` in an activity file does not name
the site ``hq``), but two ids that differ only in case may not both be defined, because a reader
of the report could not tell them apart: :func:`id_key` (the normalised id, case-folded) is what
uniqueness is checked on. A reference whose case differs from a defined id is an error that
names the id it should be (:func:`unknown_id_hint`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Iterable, Sequence

import pandas as pd

_WHITESPACE = re.compile(r"\s+")

ID_RULE = "ids compare after Unicode NFKC, spaces trimmed, and regardless of case"


def normalise_id(text: str) -> str:
    """The canonical spelling of an id: NFKC, format characters removed, spaces trimmed.

    Parameters
    ----------
    text
        An id as written in an input.

    Returns
    -------
    str
        The id every comparison and every output uses. Case is kept.
    """
    if text.isascii() and text.isprintable() and "  " not in text and text == text.strip(" "):
        return text  # printable ASCII, single spaces: NFKC leaves it as it is (the common case)
    folded = unicodedata.normalize("NFKC", text)
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return _WHITESPACE.sub(" ", visible).strip()


def normalise_ids(values: pd.Series) -> pd.Series:
    """:func:`normalise_id` of every text in a column (missing values stay missing; a value that
    normalises to nothing becomes missing). Returns a ``string`` column."""
    text = values.astype("string")
    distinct = {v: normalise_id(v) for v in text.dropna().unique()}
    out = text.map(distinct, na_action="ignore").astype("string")
    return out.mask(out == "")


def id_key(text: str) -> str:
    """The key uniqueness is checked on: :func:`normalise_id`, then case-folded."""
    return normalise_id(text).casefold()


def find_id_collisions(ids: Sequence[str]) -> list[tuple[int, int]]:
    """Positions of ids that are the same id under :func:`id_key`.

    Parameters
    ----------
    ids
        Ids as written (not yet normalised), in input order.

    Returns
    -------
    list of (first, later)
        For every id whose key an earlier id already has: the position of that earliest id
        and its own position, in input order.
    """
    first: dict[str, int] = {}
    collisions: list[tuple[int, int]] = []
    for position, raw in enumerate(ids):
        key = id_key(raw)
        if key in first:
            collisions.append((first[key], position))
        else:
            first[key] = position
    return collisions


def describe_collision(raw: str, first_raw: str) -> str:
    """Why two spellings are one id, e.g. ``'hq ' is the same id as 'hq' (...)``."""
    if raw == first_raw:
        return f"{raw!r} appears twice"
    return f"{raw!r} is the same id as {first_raw!r} ({ID_RULE})"


def unknown_id_hint(name: str, known: Iterable[Hashable]) -> str:
    """`` (did you mean 'HQ'? ids are case-sensitive)`` when a known id differs from ``name``
    only in case; otherwise an empty string."""
    key = id_key(name)
    for candidate in known:
        if isinstance(candidate, str) and id_key(candidate) == key and candidate != name:
            return f" (did you mean '{candidate}'? ids are case-sensitive)"
    return ""
