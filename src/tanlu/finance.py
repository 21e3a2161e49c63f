"""Money over time: the annuity that spreads an investment over its lifetime.

Shared by green-power procurement (:mod:`tanlu.electricity.procurement`) and the roadmap
(:mod:`tanlu.roadmap`), which both annualise capital costs the same way.
"""

from __future__ import annotations

from tanlu.errors import TanluError


class FinanceError(TanluError):
    """A financial parameter is out of range (the message names it)."""


def capital_recovery_factor(discount_rate_share: float, lifetime_years: float) -> float:
    """Annuity per unit of investment [1/yr].

    ``r / (1 - (1 + r) ** -n)``, and ``1 / n`` when ``r`` is 0.

    Parameters
    ----------
    discount_rate_share
        Discount rate r [1/yr].
    lifetime_years
        Lifetime n [yr].

    Raises
    ------
    FinanceError
        When the lifetime is not positive.
    """
    if lifetime_years <= 0:
        raise FinanceError(f"lifetime {lifetime_years} years is not positive")
    if discount_rate_share == 0:
        return 1.0 / lifetime_years
    r = float(discount_rate_share)
    return r / (1.0 - float((1.0 + r) ** -float(lifetime_years)))
