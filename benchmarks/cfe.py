"""24/7 CFE scoring benchmark: 1,000 sites x 8,760 hours in one call of tanlu.electricity.score_cfe.

Target (issue 3): under 1 s. The profiles are built before timing: flat data-centre load with a
site-specific level, and a clean supply mixing a solar-like day shape and a flat wind-like part,
deterministic (seeded).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from tanlu.electricity import score_cfe

SITES = 1_000
HOURS = 8_760
TARGET_SECONDS = 1.0


def make_profiles(sites: int = SITES, hours: int = HOURS) -> tuple[np.ndarray, np.ndarray]:
    """Load and clean supply [MWh per hour], shape (sites, hours)."""
    rng = np.random.default_rng(20261124)
    level = rng.uniform(0.5, 50.0, size=(sites, 1))
    load = level * (1.0 + 0.05 * rng.standard_normal((sites, hours))).clip(0.5, 1.5)
    hour_of_day = np.arange(hours) % 24
    sun = np.clip(np.sin((hour_of_day - 6) / 12 * np.pi), 0.0, None)
    solar = level * rng.uniform(0.0, 1.5, size=(sites, 1)) * sun
    wind = level * rng.uniform(0.0, 0.6, size=(sites, 1)) * rng.uniform(0, 1, (sites, hours))
    return load, solar + wind


def run(repeat: int = 5) -> dict[str, float]:
    """Median seconds of ``repeat`` timed calls after one warm-up."""
    load, clean = make_profiles()
    score_cfe(load, clean, 0.355)
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = score_cfe(load, clean, 0.355)
        seconds.append(time.perf_counter() - began)
    scores = result.table["cfe_score_share"]
    if not ((scores >= 0) & (scores <= 1)).all():
        raise AssertionError("a CFE score outside 0..1")
    return {
        "sites": SITES,
        "hours": HOURS,
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
        "target_s": TARGET_SECONDS,
    }
