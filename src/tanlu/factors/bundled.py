"""The data files bundled with tanlu (``factors/data/*.csv``), read as they are.

Below both :mod:`tanlu.factors.library` and :mod:`tanlu.factors.regions`, so that neither
imports the other to read its data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

DATA_DIR = Path(__file__).parent / "data"


def read_data_csv(name: str) -> pd.DataFrame:
    """Read one bundled data file as strings (empty cells as NaN), with ``source_line``."""
    frame = pd.read_csv(DATA_DIR / name, dtype=str, keep_default_na=False, na_values=[""])
    frame["source_line"] = range(2, len(frame) + 2)
    return frame
