"""Green electricity: hourly profiles, 24/7 carbon-free-energy scoring, procurement."""

from tanlu.electricity.cfe import Battery, CfeError, CfeResult, score_cfe
from tanlu.electricity.procurement import (
    ProcurementCosts,
    ProcurementError,
    ProcurementLimits,
    ProcurementProblem,
    ProcurementResult,
    cost_curve,
    solve_procurement,
)
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
    "ProcurementCosts",
    "ProcurementError",
    "ProcurementLimits",
    "ProcurementProblem",
    "ProcurementResult",
    "ProfileError",
    "cost_curve",
    "data_centre_load_mwh",
    "flat_profile_mwh",
    "hours_of_year",
    "office_load_mwh",
    "pv_profile_mwh_per_kw",
    "score_cfe",
    "solve_procurement",
]
