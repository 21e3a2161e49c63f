"""Writing result files: all or nothing, and JSON for the types tables hold."""

from __future__ import annotations

import errno
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from tanlu.errors import ResourceError

Writer = Callable[[Path], object]


def json_default(value: Any) -> Any:
    """JSON for what tables hold besides plain Python: dates as ISO text, numpy scalars."""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_text(data: Any, indent: int | None = 2) -> str:
    """``data`` as JSON text (UTF-8 characters kept)."""
    return json.dumps(data, ensure_ascii=False, indent=indent, default=json_default)


def write_files(destination: Path, files: dict[str, Writer]) -> list[Path]:
    """Write files into a temporary folder inside ``destination``, then move them into place.

    ``files`` maps a file name to a function that writes that file (or a folder, e.g. a
    partitioned Parquet dataset) at the path it is given, called in order (a writer may read a
    file written before it in the staging folder); nothing is moved unless every file was
    written. A file or folder of the same name already in ``destination`` is replaced. Returns
    the paths written.
    """
    destination = destination.resolve()
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(dir=destination) as staging:
        staged = Path(staging)
        for name, write in files.items():
            try:
                write(staged / name)
            except OSError as error:
                if error.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                done = ", ".join(list(files)[: list(files).index(name)]) or "none"
                raise ResourceError(
                    f"{destination}: no space left on the device while writing {name} "
                    f"(files finished before it: {done}); nothing was written. Free some "
                    "space and run again"
                ) from None
        for path in sorted(staged.iterdir()):
            target = destination / path.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            shutil.move(str(path), target)
            written.append(target)
    return written
