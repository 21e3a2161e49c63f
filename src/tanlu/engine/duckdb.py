"""The default backend: embedded, in-memory DuckDB through Ibis."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

# The folder each connection spills to, removed when it closes (by id of the connection), or
# when the process exits with the connection still open.
_SPILL_FOLDERS: dict[int, Path] = {}


@atexit.register
def _remove_spill_folders() -> None:
    for spill in _SPILL_FOLDERS.values():
        shutil.rmtree(spill, ignore_errors=True)


SPILL_PREFIX = "tanlu-duckdb-"
_SPILL_NAME = re.compile(re.escape(SPILL_PREFIX) + r"([A-Za-z0-9_]+)-(\d+)-")


def _host() -> str:
    """This machine's name as it goes into a spill folder's name (letters, digits, _)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):  # another user's, or not a pid here
        return True
    return True


def remove_stale_spill_folders(parent: Path) -> list[Path]:
    """Remove the spill folders under ``parent`` left by tanlu processes of this machine that no
    longer run (killed before they could remove them: a folder is named after its machine and
    process id, and a folder of another machine sharing the folder is left alone). A
    100-million-row run killed for memory left 4 GB behind before this."""
    removed = []
    host = _host()
    for folder in parent.glob(SPILL_PREFIX + "*"):
        match = _SPILL_NAME.match(folder.name)
        if match and match.group(1) == host and folder.is_dir() and not _alive(int(match.group(2))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def connect(memory_limit_gib: float | None = None, temp_directory: Path | None = None) -> Any:
    """A fresh in-memory DuckDB connection (Ibis backend).

    Parameters
    ----------
    memory_limit_gib
        The most memory DuckDB's buffers may hold [GiB] before it spills to disk (DuckDB's
        ``memory_limit``; its own default, 80% of the machine's memory, when omitted).
    temp_directory
        The folder under which it spills: a new folder is made there (under the system's
        temporary folder when omitted) and removed when the connection closes or the process
        exits; folders there left by tanlu processes that were killed are removed first
        (:func:`remove_stale_spill_folders`). DuckDB's own default for an in-memory database
        would be ``.tmp`` in the working directory.
    """
    parent = Path(tempfile.gettempdir()) if temp_directory is None else temp_directory
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_spill_folders(parent)
    spill = Path(tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{_host()}-{os.getpid()}-", dir=parent))
    config: dict[str, Any] = {"temp_directory": str(spill)}
    if memory_limit_gib is not None:
        config["memory_limit"] = f"{memory_limit_gib * 1024:.0f}MiB"
    con = ibis.duckdb.connect(**config)
    # tanlu draws its own progress bar; DuckDB's would print over it on long queries
    con.raw_sql("SET enable_progress_bar = false")
    _SPILL_FOLDERS[id(con)] = spill
    return con


def register(con: Any, table: pa.Table, name: str) -> Any:
    """Load an Arrow table into the connection as ``name`` (replacing one): the fast path."""
    return con.create_table(name, table, overwrite=True)


def append(con: Any, table: pa.Table, name: str) -> None:
    """Append an Arrow table's rows to the table ``name`` (made by :func:`register`; the same
    columns in the same order), so that a file read a chunk at a time lands in one table."""
    raw = con.con
    view = f"{name}__chunk"
    raw.register(view, table)
    try:
        raw.execute(f'INSERT INTO "{name}" SELECT * FROM "{view}"')
    finally:
        raw.unregister(view)


def close(con: Any, names: list[str]) -> None:
    """Close the connection (its in-memory tables go with it) and remove its spill folder."""
    con.disconnect()
    spill = _SPILL_FOLDERS.pop(id(con), None)
    if spill is not None:
        shutil.rmtree(spill, ignore_errors=True)


def keep(con: Any, expr: Any, name: str) -> Any:
    """Compute an expression into the table ``name`` (replacing one)."""
    return con.create_table(name, expr, overwrite=True)
