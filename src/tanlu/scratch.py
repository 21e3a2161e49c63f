"""Scratch folders of one process (DuckDB's spill, the service's uploads and project copies):
named after the machine and the process, removed when the process exits, and removed by the
next process that makes one when the process that made it no longer runs (killed before it
could clean up: a 100-million-row run killed for memory once left 4 GB behind)."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

# Every folder made by :func:`make_scratch_folder` that is still there, removed at exit.
_MADE: set[Path] = set()


@atexit.register
def _remove_made() -> None:
    for folder in list(_MADE):
        shutil.rmtree(folder, ignore_errors=True)


def host_name() -> str:
    """This machine's name as it goes into a folder's name (letters, digits, _)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"


def process_alive(pid: int) -> bool:
    """Whether a process of this id runs on this machine (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):  # another user's, or not a pid here
        return True
    return True


def process_start(pid: int) -> int | None:
    """When a process of this machine started, in clock ticks since the machine booted (Linux's
    ``/proc/PID/stat``), or ``None`` where that cannot be read. With the process id it names
    one process even where ids are reused (a container's service restarts as process 1)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def remove_stale_folders(parent: Path, prefix: str) -> list[Path]:
    """Remove the folders named ``prefix`` + ``HOST-PID-...`` under ``parent`` whose process
    on this machine no longer runs; another machine's folders (a shared disk) and folders not
    named this way are left alone."""
    pattern = re.compile(re.escape(prefix) + r"([A-Za-z0-9_]+)-(\d+)-")
    removed = []
    host = host_name()
    for folder in parent.glob(prefix + "*"):
        match = pattern.match(folder.name)
        if (
            match
            and match.group(1) == host
            and folder.is_dir()
            and not process_alive(int(match.group(2)))
        ):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def make_scratch_folder(prefix: str, parent: Path | None = None) -> Path:
    """A new folder ``prefix`` + ``HOST-PID-random`` under ``parent`` (the system's temporary
    folder when omitted), after removing the stale ones of its prefix there; it is removed by
    :func:`remove_scratch_folder` or when the process exits."""
    where = Path(tempfile.gettempdir()) if parent is None else parent
    where.mkdir(parents=True, exist_ok=True)
    remove_stale_folders(where, prefix)
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{host_name()}-{os.getpid()}-", dir=where))
    _MADE.add(folder)
    return folder


def remove_scratch_folder(folder: Path) -> None:
    """Remove a folder made by :func:`make_scratch_folder`, with everything in it."""
    shutil.rmtree(folder, ignore_errors=True)
    _MADE.discard(folder)
