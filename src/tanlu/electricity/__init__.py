"""Green electricity: hourly profiles, 24/7 carbon-free-energy scoring, procurement."""

from tanlu.electricity.cfe import Battery, CfeError, CfeResult, score_cfe
from tanlu.electricity.profiles import (
    ProfileError,
    data_centre_load_mwh,
    flat_profile_mwh,
    hours_of_year,
    office_load_mwh,
    pv_profile_mwh_per_kw,
)

__all__ = [
    "Battery",
    "CfeError",
    "CfeResult",
    "ProfileError",
    "data_centre_load_mwh",
    "flat_profile_mwh",
    "hours_of_year",
    "office_load_mwh",
    "pv_profile_mwh_per_kw",
    "score_cfe",
]
