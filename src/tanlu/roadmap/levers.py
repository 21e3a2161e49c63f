"""Roadmap levers: what each one acts on, and its parameters with their sources.

Defaults come from ``data/levers.csv`` (every value with source and status, docs/levers.md);
a project overrides any of them in ``[roadmap.levers.<lever>]`` of tanlu.toml. A lever that
lacks a required parameter (no sourced default and none given) is disabled, and the reason is
reported with the roadmap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from importlib import resources
from pathlib import Path

import pandas as pd

from tanlu.errors import ProjectError
from tanlu.finance import capital_recovery_factor
from tanlu.project import RoadmapSettings
from tanlu.tables import read_csv_table

# Lever ids, the parameters each needs, and what it acts on (docs/roadmap.md, "Levers").
REQUIRED: dict[str, tuple[str, ...]] = {
    "building_efficiency": ("saving_share", "levelised_cost_cny_per_mwh"),
    "pue_improvement": ("baseline_pue", "target_pue", "levelised_cost_cny_per_mwh"),
    "onsite_pv": (
        "capex_cny_per_kw",
        "fixed_om_cny_per_kw_year",
        "lifetime_years",
        "yield_mwh_per_kw_year",
    ),
    "green_power_contract": ("premium_cny_per_mwh",),
    "gec": ("price_cny_per_mwh",),
    "fleet_electrification": (
        "diesel_l_per_100km",
        "electricity_kwh_per_100km",
        "capex_premium_cny_per_vehicle",
        "lifetime_years",
        "annual_km_per_vehicle",
        "diesel_price_cny_per_l",
    ),
    "backup_fuel_switch": ("cost_cny_per_tco2e",),
    "low_gwp_refrigerant": ("cost_cny_per_tco2e",),
    "supplier_engagement": ("reduction_share_max", "cost_cny_per_tco2e"),
    "offset_avoidance": ("price_cny_per_tco2e",),
    "offset_removal": ("price_cny_per_tco2e",),
}
LEVERS = tuple(REQUIRED)
EFFICIENCY_LEVERS = {"building_efficiency": "office", "pue_improvement": "data_centre"}
# Emission-reduction levers: the (scope, categories) they cut.
REDUCTION_LEVERS: dict[str, tuple[int, tuple[str, ...]]] = {
    "backup_fuel_switch": (1, ("stationary_combustion",)),
    "low_gwp_refrigerant": (1, ("fugitive",)),
    "supplier_engagement": (3, ("cat1_purchased_goods_services", "cat2_capital_goods")),
}
# Levers that act on one fuel only (an activity id of the factor library), not on the whole
# category: their stream is the baseline's ``fuels`` table, not ``streams``.
FUEL_LEVERS: dict[str, str] = {
    "fleet_electrification": "diesel_mobile",
    "backup_fuel_switch": "diesel_stationary",
}
# The stream the fleet lever takes diesel from (for the one-lever-per-stream check).
FLEET_STREAM = (1, ("mobile_combustion",))
# Optional parameters and the value that means "no limit" (not an assumption about the world):
# a ramp of 1 adopts the whole potential in one year; the first year is the first planned year;
# a reduction lever may cut its whole stream; contracts are not limited by the market. The bundled
# table (data/levers.csv) gives sourced ramps that replace these for some levers.
OPTIONAL: dict[str, float | None] = {
    "ramp_share_per_year": 1.0,
    "first_year": None,
    "reduction_share_max": 1.0,
    "max_mwh_per_year": None,
    "min_mwh_per_year": None,
    "ramp_mwh_per_year": None,
    "ramp_share_of_purchase_per_year": None,
}
# Which optional parameters each lever reads (any other is an error, not silently ignored).
_ADOPTED = ("ramp_share_per_year", "first_year")
_CUT = (*_ADOPTED, "reduction_share_max")
_BOUGHT = (
    "first_year",
    "max_mwh_per_year",
    "min_mwh_per_year",
    "ramp_mwh_per_year",
    "ramp_share_of_purchase_per_year",
)
OPTIONAL_BY_LEVER: dict[str, tuple[str, ...]] = {
    "building_efficiency": _ADOPTED,
    "pue_improvement": _ADOPTED,
    "onsite_pv": _ADOPTED,
    "green_power_contract": _BOUGHT,
    "gec": _BOUGHT,
    "fleet_electrification": _CUT,
    "backup_fuel_switch": _CUT,
    "low_gwp_refrigerant": _CUT,
    "supplier_engagement": _CUT,
    "offset_avoidance": (),
    "offset_removal": (),
}
SHARE_PARAMETERS = {
    "saving_share",
    "ramp_share_per_year",
    "reduction_share_max",
    "ramp_share_of_purchase_per_year",
}
# Parameters the model divides by: zero is not a value.
POSITIVE_PARAMETERS = {
    "baseline_pue",
    "lifetime_years",
    "diesel_l_per_100km",
    "annual_km_per_vehicle",
}
GENERAL = "all"
# Names the model uses for its own results (cost_electricity, cost_total): not for levers.
RESERVED_NAMES = frozenset({"electricity", "total", GENERAL})


@dataclass(frozen=True)
class LeverSet:
    """The levers of a roadmap and their parameters.

    Attributes
    ----------
    values
        ``{lever: {parameter: value}}`` for every enabled lever [units of docs/levers.md].
    reductions
        The emission-reduction levers: ``{lever: (scope, categories)}``, bundled and custom.
    excluded_sites
        ``{lever: sites}`` the lever is not applied at (a site that already made the change).
    disabled
        ``{lever: reason}``.
    parameters
        One row per parameter used: ``lever, parameter, value, unit, status, source``.
    general
        Parameters of the whole model (``discount_rate_share``,
        ``offset_cap_share_of_base_year``, ``sbti_linear_reduction_share_per_year``).
    """

    values: dict[str, dict[str, float]]
    disabled: dict[str, str]
    parameters: pd.DataFrame
    general: dict[str, float]
    reductions: dict[str, tuple[int, tuple[str, ...]]] = dataclass_field(
        default_factory=lambda: dict(REDUCTION_LEVERS)
    )
    excluded_sites: dict[str, frozenset[str]] = dataclass_field(default_factory=dict)

    def excluded(self, lever: str) -> frozenset[str]:
        """Sites the lever is not applied at (``[roadmap] lever_excluded_sites``)."""
        return self.excluded_sites.get(lever, frozenset())

    @property
    def names(self) -> list[str]:
        """Every lever, bundled then custom."""
        return [*LEVERS, *(r for r in self.reductions if r not in LEVERS)]

    def enabled(self, lever: str) -> bool:
        """Whether the lever takes part in the model."""
        return lever in self.values


@dataclass(frozen=True)
class FleetCoefficients:
    """Fleet electrification per litre of diesel replaced.

    Attributes
    ----------
    mwh_per_l
        Electricity charged [MWh/L]: (kWh/100 km) / (L/100 km) / 1000.
    vehicles_per_l
        Vehicles electrified [vehicle/(L/yr)]: 1 / ((L/100 km) / 100 x km per vehicle a year).
    cost_cny_per_l
        The lever's own cost [CNY/L]: the vehicles' annuitised capex premium, less the diesel
        no longer bought (the electricity is costed with the site's purchase).
    """

    mwh_per_l: float
    vehicles_per_l: float
    cost_cny_per_l: float


def fleet_coefficients(params: dict[str, float], discount_rate_share: float) -> FleetCoefficients:
    """:class:`FleetCoefficients` of the ``fleet_electrification`` lever's parameters."""
    litres_per_km = params["diesel_l_per_100km"] / 100.0
    vehicles_per_l = 1.0 / (litres_per_km * params["annual_km_per_vehicle"])
    annuity = params["capex_premium_cny_per_vehicle"] * capital_recovery_factor(
        discount_rate_share, params["lifetime_years"]
    )
    return FleetCoefficients(
        mwh_per_l=params["electricity_kwh_per_100km"] / params["diesel_l_per_100km"] / 1000.0,
        vehicles_per_l=vehicles_per_l,
        cost_cny_per_l=annuity * vehicles_per_l - params["diesel_price_cny_per_l"],
    )


PARAMETER_COLUMNS = ["lever", "parameter", "value", "unit", "status", "source"]


def saving_share(lever: str, params: dict[str, float]) -> float:
    """Share of a site's electricity an efficiency lever saves at full adoption [0..1].

    ``building_efficiency``: its ``saving_share``; ``pue_improvement``: 1 - target PUE /
    baseline PUE (the same IT load with less overhead).
    """
    if lever == "pue_improvement":
        return 1.0 - params["target_pue"] / params["baseline_pue"]
    return params["saving_share"]


def _row(
    lever: str, parameter: str, value: float, unit: object, status: object, source: object
) -> dict[str, object]:
    return dict(
        zip(PARAMETER_COLUMNS, (lever, parameter, value, unit, status, source), strict=True)
    )


def _bundled_row(lever: str, parameter: str, table: pd.DataFrame) -> dict[str, object]:
    return _row(
        lever,
        parameter,
        float(table.at[parameter, "value"]),
        table.at[parameter, "unit"],
        table.at[parameter, "status"],
        table.at[parameter, "source"],
    )


def read_lever_defaults(path: Path | None = None) -> pd.DataFrame:
    """The bundled lever parameters: ``lever, parameter, value, unit, status, source, note``."""
    if path is None:
        source = resources.files("tanlu.roadmap") / "data" / "levers.csv"
        with resources.as_file(source) as bundled:
            frame, issues = read_csv_table(bundled, "tanlu/roadmap/data/levers.csv")
    else:
        frame, issues = read_csv_table(path, str(path))
    if issues:
        raise ProjectError("; ".join(str(issue) for issue in issues))
    frame["value"] = frame["value"].astype(float)
    return frame.drop(columns="source_line")


def _number(lever: str, name: str, value: object, config: str) -> float:
    where = f"{config}: roadmap.levers.{lever}.{name}"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProjectError(f"{where}: {value!r} is not a number")
    if value < 0:
        raise ProjectError(f"{where}: {value} is negative")
    if value == 0 and name in POSITIVE_PARAMETERS:
        raise ProjectError(f"{where}: {value} must be greater than zero")
    if name in SHARE_PARAMETERS and value > 1:
        raise ProjectError(f"{where}: {value} is a share and must lie in 0..1")
    return float(value)


def select_levers(settings: RoadmapSettings, config: str = "tanlu.toml") -> LeverSet:
    """Bundled defaults with the project's overrides; levers without a required value disabled.

    Parameters
    ----------
    settings
        The project's (or scenario's) ``[roadmap]`` settings.
    config
        How to name the settings' file in messages.

    Raises
    ------
    ProjectError
        When the settings name an unknown lever or parameter or give a bad value.
    """
    defaults = read_lever_defaults()
    rows: list[dict[str, object]] = []
    values: dict[str, dict[str, float]] = {}
    disabled: dict[str, str] = {}
    for name in settings.levers:
        if name not in LEVERS:
            raise ProjectError(
                f"{config}: roadmap.levers.{name}: unknown lever (one of {', '.join(LEVERS)})"
            )
    for lever in LEVERS:
        override = settings.levers.get(lever)
        bundled = defaults.loc[defaults["lever"] == lever].set_index("parameter")
        optional = OPTIONAL_BY_LEVER[lever]
        known = set(REQUIRED[lever]) | set(optional) | set(bundled.index)
        given = dict(override.model_extra or {}) if override is not None else {}
        for name in given:
            if name not in known:
                raise ProjectError(
                    f"{config}: roadmap.levers.{lever}.{name}: unknown parameter "
                    f"(one of {', '.join(sorted(known))})"
                )
        if override is not None and not override.enabled:
            disabled[lever] = "disabled in tanlu.toml"
            continue
        chosen: dict[str, float] = {}
        for name in sorted(known):
            if name in given:
                chosen[name] = _number(lever, name, given[name], config)
                unit = bundled.at[name, "unit"] if name in bundled.index else ""
                source = f"tanlu.toml [roadmap.levers.{lever}]"
                rows.append(_row(lever, name, chosen[name], unit, "user", source))
            elif name in bundled.index:
                chosen[name] = float(bundled.at[name, "value"])
                rows.append(_bundled_row(lever, name, bundled))
        if "ramp_mwh_per_year" in given and "ramp_share_of_purchase_per_year" not in given:
            # a project that sets its own ramp in MWh keeps it instead of the bundled share
            chosen.pop("ramp_share_of_purchase_per_year", None)
            rows = [
                row
                for row in rows
                if (row["lever"], row["parameter"]) != (lever, "ramp_share_of_purchase_per_year")
            ]
        missing = [name for name in REQUIRED[lever] if name not in chosen]
        if missing:
            disabled[lever] = (
                f"no sourced default for {', '.join(missing)}: set it in tanlu.toml "
                f"[roadmap.levers.{lever}] to use this lever"
            )
            rows = [row for row in rows if row["lever"] != lever]
            continue
        for name in optional:
            value = OPTIONAL[name]
            if name not in chosen and value is not None:
                chosen[name] = value
        low, high = chosen.get("min_mwh_per_year"), chosen.get("max_mwh_per_year")
        if low is not None and high is not None and low > high:
            raise ProjectError(
                f"{config}: roadmap.levers.{lever}: min_mwh_per_year {low:g} is above "
                f"max_mwh_per_year {high:g}"
            )
        values[lever] = chosen
    general_rows = defaults.loc[defaults["lever"] == GENERAL].set_index("parameter")
    general = {str(k): float(v) for k, v in general_rows["value"].items()}
    rows.append(_bundled_row(GENERAL, "sbti_linear_reduction_share_per_year", general_rows))
    for name in ("discount_rate_share", "offset_cap_share_of_base_year"):
        value = getattr(settings, name)
        if value is not None:
            general[name] = float(value)
            rows.append(_row(GENERAL, name, float(value), "share", "user", "tanlu.toml [roadmap]"))
        else:
            rows.append(_bundled_row(GENERAL, name, general_rows))
    reductions = dict(REDUCTION_LEVERS)
    for name, custom in settings.custom_levers.items():
        if name in LEVERS or name in RESERVED_NAMES:
            raise ProjectError(
                f"{config}: roadmap.custom_levers.{name}: the name of a bundled lever or of a "
                f"result ({', '.join(sorted(RESERVED_NAMES))} are taken)"
            )
        reductions[name] = (custom.scope, tuple(custom.categories))
        chosen = {
            "reduction_share_max": custom.reduction_share_max,
            "cost_cny_per_tco2e": custom.cost_cny_per_tco2e,
            "ramp_share_per_year": custom.ramp_share_per_year,
        }
        if custom.first_year is not None:
            chosen["first_year"] = float(custom.first_year)
        values[name] = chosen
        units = {
            "reduction_share_max": "share",
            "cost_cny_per_tco2e": "CNY/tCO2e",
            "ramp_share_per_year": "share",
            "first_year": "year",
        }
        rows.extend(
            _row(name, parameter, value, units[parameter], "user", custom.source)
            for parameter, value in chosen.items()
        )
    # two reduction levers on one stream could together cut more than all of it
    claimed: dict[tuple[int, str], str] = {}
    for name, (scope, categories) in {"fleet_electrification": FLEET_STREAM, **reductions}.items():
        if name not in values:
            continue
        for category in categories:
            other = claimed.setdefault((scope, category), name)
            if other != name:
                raise ProjectError(
                    f"{config}: roadmap.custom_levers.{name}: scope {scope} '{category}' is "
                    f"already cut by lever '{other}'; one lever per stream (or set "
                    f"[roadmap.levers.{other}] enabled = false)"
                )
    table = pd.DataFrame(rows, columns=PARAMETER_COLUMNS)
    excluded: dict[str, frozenset[str]] = {}
    for lever, sites in settings.lever_excluded_sites.items():
        if lever not in LEVERS and lever not in reductions:
            raise ProjectError(
                f"{config}: roadmap.lever_excluded_sites.{lever}: not a lever of this roadmap "
                f"(one of {', '.join([*LEVERS, *(r for r in reductions if r not in LEVERS)])})"
            )
        excluded[lever] = frozenset(sites)
    return LeverSet(values, disabled, table, general, reductions, excluded)
