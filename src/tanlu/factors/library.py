"""The emission-factor library: data/*.csv with source and status on every row.

A factor row says how many tonnes of one gas one unit of an activity emits, where and when it is
valid, and where the number comes from. :func:`load_factor_library` reads the bundled files and
any project override files, checks every row, and converts every value to tonnes of gas per the
activity's canonical unit (``factor_t_per_unit``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from tanlu.errors import FactorError, InputError, InputIssue, TanluError, UnitError
from tanlu.factors.bundled import DATA_DIR, read_data_csv
from tanlu.factors.regions import resolve_grid_region, resolve_province
from tanlu.tables import ReadTable, given_tables, read_csv_tables
from tanlu.units import (
    CANONICAL_UNITS,
    ActivityProperties,
    conversion_factor,
    describe_dimension,
    parse_factor_unit,
)

REGION_LEVELS: tuple[str, ...] = ("province", "regional_grid", "national", "default")
SCOPE_CATEGORIES: dict[int, tuple[str, ...]] = {
    1: ("stationary_combustion", "mobile_combustion", "fugitive", "process"),
    2: ("purchased_electricity", "purchased_heat"),
    3: (
        "cat1_purchased_goods_services",
        "cat2_capital_goods",
        "cat3_fuel_energy_related",
        "cat4_upstream_transport",
        "cat5_waste",
        "cat6_business_travel",
        "cat7_employee_commuting",
        "cat8_upstream_leased_assets",
    ),
}
FACTOR_COLUMNS: tuple[str, ...] = (
    "factor_id",
    "dataset",
    "activity",
    "factor_kind",
    "gas",
    "value",
    "unit",
    "gwp_set",
    "region_level",
    "region",
    "year_start",
    "year_end",
    "priority",
    "method",
    "source",
    "status",
    "licence",
    "note",
)
_REQUIRED_USER_COLUMNS = ("factor_id", "activity", "gas", "value", "unit", "source")
ACTIVITY_COLUMNS = (
    "activity",
    "name_en",
    "name_zh",
    "scope",
    "category",
    "canonical_unit",
    "method",
)
# ch4_origin of an activity: fossil (fugitive fossil methane), non_fossil (biogenic or combustion
# methane) or empty (unknown: the generic GWP); docs/factors.md
CH4_ORIGINS: tuple[str, ...] = ("", "fossil", "non_fossil")


# The bundled datasets of China's two default fuel-parameter tables, by the name a project
# chooses them with ([accounting] cn_fuel_parameter_table; docs/factors.md).
CN_FUEL_TABLES: dict[str, str] = {
    "gb_t_2589": "cn_guideline_fuels",
    "ndrc_2015": "cn_guideline_2015_fuels",
}


@dataclass(frozen=True)
class FactorLibrary:
    """Activities, factors and the tables that convert them.

    Attributes
    ----------
    activities
        One row per activity: ``activity, name_en, name_zh, scope, category, canonical_unit,
        method``.
    factors
        One row per factor and gas, with the columns of the data files plus
        ``factor_t_per_unit`` [t gas / canonical unit], ``origin`` (file and line).
    gwp
        ``gas, gwp_ar5, gwp_ar6, montreal_protocol``.
    properties
        Density and net calorific value per activity, for unit conversion: the activity's
        default, used where a factor's dataset has none of its own.
    cny_per_usd
        Annual average exchange rate by year [CNY/USD].
    dataset_properties
        The net calorific value a dataset's own factors were built with, by (dataset,
        activity): a quantity entered in energy units meets a factor of that dataset through
        this NCV, never through another dataset's (fuel_properties.csv rows with a dataset).
    """

    activities: pd.DataFrame
    factors: pd.DataFrame
    gwp: pd.DataFrame
    properties: dict[str, ActivityProperties] = field(default_factory=dict)
    cny_per_usd: dict[int, float] = field(default_factory=dict)
    dataset_properties: dict[tuple[str, str], ActivityProperties] = field(default_factory=dict)

    def activity(self, name: str) -> pd.Series:
        """The catalogue row of one activity."""
        match = self.activities.loc[self.activities["activity"] == name]
        if match.empty:
            raise FactorError(f"unknown activity '{name}'")
        return match.iloc[0]

    def with_exchange_rates(self, cny_per_usd: dict[int, float]) -> FactorLibrary:
        """The library with some annual exchange rates replaced [CNY/USD].

        Per-dollar factors of those dollar years are converted again; nothing else changes.
        """
        if not cny_per_usd:
            return self
        rates = {**self.cny_per_usd, **cny_per_usd}
        factors = self.factors.copy()
        years = factors["dollar_year"]
        for year, rate in cny_per_usd.items():
            rows = years == year
            old = self.cny_per_usd.get(year)
            if old is None:
                raise FactorError(f"no per-dollar factors use {year} dollars")
            factors.loc[rows.fillna(False), "factor_t_per_unit"] *= old / rate
        return replace(self, factors=factors, cny_per_usd=rates)

    def without_datasets(self, datasets: Iterable[tuple[str, str]]) -> FactorLibrary:
        """The library without the factor rows of some (dataset, activity) pairs."""
        drop = set(datasets)
        if not drop:
            return self
        pairs = list(zip(self.factors["dataset"], self.factors["activity"], strict=True))
        keep = [pair not in drop for pair in pairs]
        return replace(self, factors=self.factors.loc[keep].reset_index(drop=True))

    def with_cn_fuel_table(self, table: str) -> FactorLibrary:
        """The library with one of China's default fuel tables (``CN_FUEL_TABLES``).

        The chosen table's factors replace the other table's for the activities it covers;
        the other table's remaining activities stay (the 2015 table has diesel and gasoline
        only, so natural gas and coal keep cn_guideline_fuels).
        """
        if table not in CN_FUEL_TABLES:
            raise FactorError(f"unknown fuel table '{table}' (one of {', '.join(CN_FUEL_TABLES)})")
        chosen = CN_FUEL_TABLES[table]
        covered = set(self.factors.loc[self.factors["dataset"] == chosen, "activity"])
        pairs = zip(self.factors["dataset"], self.factors["activity"], strict=True)
        drop = {
            (dataset, activity)
            for dataset, activity in pairs
            if dataset in CN_FUEL_TABLES.values()
            and dataset != chosen
            and (activity in covered or dataset != CN_FUEL_TABLES["gb_t_2589"])
        }
        return self.without_datasets(drop)

    def properties_of(self, dataset: str, activity: str) -> ActivityProperties | None:
        """Density and NCV with which a dataset's factors for an activity are converted.

        The dataset's own NCV where fuel_properties.csv gives one, the activity's default
        for everything else (density, or a dataset without an NCV row).
        """
        return _merged_properties(self.properties, self.dataset_properties, dataset, activity)

    def dataset_ncv_gj_per_unit(self, dataset: str, activity: str) -> float | None:
        """A dataset's own NCV per the activity's canonical unit [GJ/t or GJ/m3], or None.

        None when the dataset states no NCV of its own for the activity, or the canonical
        unit is neither t nor m3.
        """
        own = self.dataset_properties.get((dataset, activity))
        if own is None:
            return None
        unit = str(self.activity(activity)["canonical_unit"])
        return {"t": own.ncv_gj_per_t, "m3": own.ncv_gj_per_m3}.get(unit)

    def dataset_ncv_table(self) -> pd.DataFrame:
        """Every dataset's own NCV per its activity's canonical unit, as a table.

        Returns
        -------
        pandas.DataFrame
            ``dataset, activity, dataset_ncv_gj_per_unit`` [GJ/t or GJ/m3]: one row per
            (dataset, activity) for which :meth:`dataset_ncv_gj_per_unit` is not None, so that
            a merge gives the factors of many sites their NCV at once.
        """
        rows = [
            (dataset, activity, self.dataset_ncv_gj_per_unit(dataset, activity))
            for dataset, activity in self.dataset_properties
        ]
        table = pd.DataFrame(rows, columns=["dataset", "activity", "dataset_ncv_gj_per_unit"])
        table = table.loc[table["dataset_ncv_gj_per_unit"].notna()]
        return table.astype({"dataset_ncv_gj_per_unit": "float64"}).reset_index(drop=True)

    def gwp_values(self) -> pd.DataFrame:
        """gwp.csv in long form: one row per gas, origin and GWP set.

        Returns
        -------
        pandas.DataFrame
            ``gas, origin, gwp_set, gwp``: ``gwp_set`` as a project names it (``AR5``,
            ``AR6``), ``origin`` empty for a gas's generic value; where gwp.csv repeats a
            (gas, origin), its first row (as :meth:`gwp_of` reads it).
        """
        columns = [c for c in self.gwp.columns if c.startswith("gwp_")]
        long = self.gwp.drop_duplicates(["gas", "origin"]).melt(
            id_vars=["gas", "origin"], value_vars=columns, var_name="gwp_set", value_name="gwp"
        )
        long["gwp_set"] = long["gwp_set"].str.removeprefix("gwp_").str.upper()
        return long[["gas", "origin", "gwp_set", "gwp"]].astype({"gwp": "float64"})

    def gwps_of(self, rows: pd.DataFrame) -> pd.Series:
        """100-year GWPs of many rows at once, by the rule of :meth:`gwp_of` (CO2e counts 1).

        Two merges with :meth:`gwp_values`: by (gas, GWP set, origin) for the value of the
        gas's stated origin, by (gas, GWP set) for its generic value, used where gwp.csv has no
        row for that origin (or none is given).

        Parameters
        ----------
        rows
            Columns ``gas``, ``gwp_set`` and ``origin`` (``fossil``, ``non_fossil`` or empty).

        Returns
        -------
        pandas.Series
            The GWP of each row [tCO2e/t gas], on the index of ``rows``.

        Raises
        ------
        FactorError
            Naming a GWP set or a gas gwp.csv does not have, or a gas it has no generic value
            for.
        """
        keys = pd.DataFrame(
            {
                "gas": rows["gas"].astype(str).to_numpy(),
                "gwp_set": rows["gwp_set"].astype(str).str.upper().to_numpy(),
                "origin": rows["origin"].fillna("").astype(str).to_numpy(),
            }
        )
        values = self.gwp_values()
        unknown_sets = set(keys.loc[keys["gas"] != "CO2e", "gwp_set"]) - set(values["gwp_set"])
        if unknown_sets:
            raise FactorError(f"no GWP set '{sorted(unknown_sets)[0]}' in gwp.csv")
        specific = keys.merge(
            values, on=["gas", "gwp_set", "origin"], how="left", indicator="found", sort=False
        )
        generic = keys.merge(
            values.loc[values["origin"] == "", ["gas", "gwp_set", "gwp"]],
            on=["gas", "gwp_set"],
            how="left",
            indicator="found",
            sort=False,
        )
        co2e = (keys["gas"] == "CO2e").to_numpy()
        has_specific = (specific["found"] == "both").to_numpy()
        has_generic = (generic["found"] == "both").to_numpy()
        missing = ~co2e & ~has_specific & ~has_generic
        if missing.any():
            gas = str(keys["gas"].to_numpy()[missing][0])
            known = gas in set(self.gwp["gas"])
            raise FactorError(
                f"no generic GWP for gas '{gas}'" if known else f"no GWP for gas '{gas}'"
            )
        gwp = np.where(
            co2e,
            1.0,
            np.where(has_specific, specific["gwp"].to_numpy(), generic["gwp"].to_numpy()),
        )
        return pd.Series(gwp.astype("float64"), index=rows.index, name="gwp")

    def gwp_of(self, gas: str, gwp_set: str, origin: str = "") -> float:
        """100-year GWP of a gas in the chosen set (CO2e rows count 1).

        Parameters
        ----------
        origin
            ``fossil`` or ``non_fossil`` where the gas's origin is known (AR6 gives methane two
            values, IPCC AR6 WG1 Table 7.15); empty, or an origin gwp.csv has no row for, gives
            the gas's generic value.
        """
        if gas == "CO2e":
            return 1.0
        column = f"gwp_{gwp_set.lower()}"
        rows = self.gwp.loc[self.gwp["gas"] == gas]
        if rows.empty:
            raise FactorError(f"no GWP for gas '{gas}'")
        specific = rows.loc[rows["origin"] == (origin or "")]
        match = specific if not specific.empty else rows.loc[rows["origin"] == ""]
        if match.empty:
            raise FactorError(f"no generic GWP for gas '{gas}'")
        return float(match[column].iloc[0])


def _read_activity_catalogue(
    frame: pd.DataFrame,
    origin: str,
    known_units: dict[str, str] | None = None,
    header_line: int | None = 1,
) -> tuple[pd.DataFrame, list[InputIssue]]:
    issues: list[InputIssue] = []
    missing = [c for c in ACTIVITY_COLUMNS if c not in frame.columns]
    if missing:
        return frame, [
            InputIssue(origin, header_line, None, f"missing column(s): {', '.join(missing)}")
        ]
    lines = frame["source_line"]
    seen: set[str] = set()
    for position, row in zip(lines, frame.itertuples(index=False), strict=True):
        if row.activity in seen:
            issues.append(
                InputIssue(origin, position, "activity", f"activity '{row.activity}' appears twice")
            )
        seen.add(row.activity)
        if row.canonical_unit not in CANONICAL_UNITS:
            issues.append(
                InputIssue(
                    origin,
                    position,
                    "canonical_unit",
                    f"'{row.canonical_unit}' is not one of {', '.join(CANONICAL_UNITS)}",
                )
            )
        try:
            scope = int(row.scope)
        except ValueError:
            issues.append(InputIssue(origin, position, "scope", f"'{row.scope}' is not 1, 2 or 3"))
            continue
        if row.category not in SCOPE_CATEGORIES.get(scope, ()):
            issues.append(
                InputIssue(
                    origin,
                    position,
                    "category",
                    f"'{row.category}' is not a scope {scope} category",
                )
            )
    frame = frame.copy()
    frame["scope"] = pd.to_numeric(frame["scope"], errors="coerce").astype("Int64")
    if "upstream_activity" not in frame.columns:
        frame["upstream_activity"] = ""
    frame["upstream_activity"] = frame["upstream_activity"].fillna("")
    # which AR6 methane GWP the activity's CH4 takes (gwp.csv rows with an origin)
    if "ch4_origin" not in frame.columns:
        frame["ch4_origin"] = ""
    frame["ch4_origin"] = frame["ch4_origin"].fillna("")
    for position, value in zip(lines, frame["ch4_origin"], strict=True):
        if value not in CH4_ORIGINS:
            issues.append(
                InputIssue(
                    origin,
                    position,
                    "ch4_origin",
                    f"'{value}' is not one of fossil, non_fossil (or empty: unknown)",
                )
            )
    units = {
        **(known_units or {}),
        **dict(zip(frame["activity"], frame["canonical_unit"], strict=False)),
    }
    for position, row in zip(lines, frame.itertuples(index=False), strict=True):
        upstream = str(row.upstream_activity)
        if upstream and units.get(upstream) != row.canonical_unit:
            issues.append(
                InputIssue(
                    origin,
                    position,
                    "upstream_activity",
                    f"'{upstream}' is not an activity measured in {row.canonical_unit}",
                )
            )
    return frame, issues


def _merged_properties(
    properties: dict[str, ActivityProperties],
    dataset_properties: dict[tuple[str, str], ActivityProperties],
    dataset: str,
    activity: str,
) -> ActivityProperties | None:
    default = properties.get(activity)
    own = dataset_properties.get((dataset, activity))
    if own is None or default is None:
        return own or default
    return ActivityProperties(
        ncv_gj_per_t=own.ncv_gj_per_t if own.ncv_gj_per_t is not None else default.ncv_gj_per_t,
        ncv_gj_per_m3=own.ncv_gj_per_m3 if own.ncv_gj_per_m3 is not None else default.ncv_gj_per_m3,
        density_t_per_m3=(
            own.density_t_per_m3 if own.density_t_per_m3 is not None else default.density_t_per_m3
        ),
    )


def _properties(
    table: pd.DataFrame,
) -> tuple[dict[str, ActivityProperties], dict[tuple[str, str], ActivityProperties]]:
    """Activity defaults (rows without a dataset) and each dataset's own values."""
    found: dict[str, dict[str, float]] = {}
    own: dict[tuple[str, str], dict[str, float]] = {}
    for row in table.itertuples(index=False):
        dataset = "" if pd.isna(row.dataset) else str(row.dataset)
        values = (
            own.setdefault((dataset, str(row.activity)), {})
            if dataset
            else found.setdefault(str(row.activity), {})
        )
        if row.property == "ncv" and row.unit in ("GJ/t", "GJ/m3"):
            values["ncv_gj_per_t" if row.unit == "GJ/t" else "ncv_gj_per_m3"] = float(row.value)
        elif row.property == "density" and row.unit == "t/m3":
            values["density_t_per_m3"] = float(row.value)
        else:
            raise FactorError(
                f"fuel_properties.csv: unknown property '{row.property}' in '{row.unit}'"
            )
    return (
        {activity: ActivityProperties(**values) for activity, values in found.items()},
        {key: ActivityProperties(**values) for key, values in own.items()},
    )


def _normalise_factor_frame(frame: pd.DataFrame, *, user: bool, origin: str) -> pd.DataFrame:
    frame = frame.copy()
    defaults: dict[str, str] = {
        "dataset": f"user:{Path(origin).name}",
        "factor_kind": "default",
        "gwp_set": "",
        "region_level": "default",
        "region": "global",
        "year_start": "1990",
        "year_end": "",
        "priority": "-1" if user else "0",
        "method": "",
        "status": "user" if user else "",
        "licence": "",
        "note": "",
    }
    for column in FACTOR_COLUMNS:
        if column not in frame.columns:
            frame[column] = defaults.get(column, "")
        else:
            frame[column] = frame[column].fillna(defaults.get(column, ""))
    lines = frame["source_line"]
    frame["origin_file"] = origin
    frame["origin_line"] = list(lines)
    return frame


def _check_factor_rows(
    frame: pd.DataFrame,
    activities: pd.DataFrame,
    gases: set[str],
    properties: dict[str, ActivityProperties],
    cny_per_usd: dict[int, float],
    dataset_properties: dict[tuple[str, str], ActivityProperties] | None = None,
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Validate factor rows and add ``factor_t_per_unit``; returns the good rows and the issues.

    A factor given per another dimension than its activity's canonical unit (per GJ of a fuel
    measured in t) is converted with its own dataset's NCV where fuel_properties.csv has one.
    """
    canonical = dict(zip(activities["activity"], activities["canonical_unit"], strict=True))
    method_of = dict(zip(activities["activity"], activities["method"], strict=True))
    issues: list[InputIssue] = []
    converted: list[float] = []
    dollar_years: list[int | None] = []
    keep: list[bool] = []
    regions: list[str] = []
    methods: list[str] = []
    for row in frame.itertuples(index=False):
        file, line = row.origin_file, row.origin_line

        def bad(column: str, reason: str, file: str = file, line: int = line) -> None:
            issues.append(InputIssue(file, line, column, reason))

        ok = True
        region = str(row.region)
        methods.append(str(row.method) or method_of.get(str(row.activity), ""))
        if row.activity not in canonical:
            bad("activity", f"unknown activity '{row.activity}'")
            ok = False
        if row.gas not in gases and row.gas != "CO2e":
            bad("gas", f"unknown gas '{row.gas}' (not in gwp.csv and not CO2e)")
            ok = False
        if row.region_level not in REGION_LEVELS:
            bad("region_level", f"'{row.region_level}' is not one of {', '.join(REGION_LEVELS)}")
            ok = False
        elif row.region_level == "province":
            resolved = resolve_province(region)
            if resolved is None:
                bad("region", f"unknown province '{region}'")
                ok = False
            region = resolved or region
        elif row.region_level == "regional_grid":
            resolved = resolve_grid_region(region)
            if resolved is None:
                bad("region", f"unknown regional grid '{region}'")
                ok = False
            region = resolved or region
        elif row.region_level == "national":
            region = "China"
        regions.append(region)
        for column in ("year_start", "year_end", "priority"):
            text = str(getattr(row, column))
            if text and not text.lstrip("-").isdigit():
                bad(column, f"'{text}' is not a whole number")
                ok = False
        try:
            value = float(row.value)
        except ValueError:
            bad("value", f"'{row.value}' is not a number")
            ok = False
            value = float("nan")
        if ok and not (np.isfinite(value) and value >= 0):
            bad("value", f"{row.value} is not a finite, non-negative number")
            ok = False
        if not str(row.source).strip():
            bad("source", "every factor needs a source")
            ok = False
        factor = float("nan")
        dollar_year = None
        if ok:
            try:
                tonnes, denominator, dollar_year = parse_factor_unit(str(row.unit))
                unit = canonical[str(row.activity)]
                if dollar_year is not None:
                    if unit != "CNY":
                        raise TanluError(f"a per-dollar factor needs a CNY activity, not {unit}")
                    if dollar_year not in cny_per_usd:
                        raise TanluError(f"no CNY/USD exchange rate for {dollar_year}")
                    factor = value * tonnes / cny_per_usd[dollar_year]
                else:
                    try:
                        per_canonical = conversion_factor(
                            unit,
                            denominator,
                            _merged_properties(
                                properties,
                                dataset_properties or {},
                                str(row.dataset),
                                str(row.activity),
                            ),
                        )
                    except UnitError:
                        raise TanluError(
                            f"the factor is per '{denominator}' "
                            f"({describe_dimension(denominator)}), but '{row.activity}' is "
                            f"measured in {unit} ({describe_dimension(unit)})"
                        ) from None
                    factor = value * tonnes * per_canonical
            except TanluError as error:
                bad("unit", str(error))
                ok = False
        converted.append(factor)
        dollar_years.append(dollar_year if ok else None)
        keep.append(ok)
    frame = frame.copy()
    frame["region"] = regions
    frame["method"] = methods
    frame["factor_t_per_unit"] = converted
    frame["dollar_year"] = pd.array(dollar_years, dtype="Int64")
    good = frame.loc[keep].copy()
    good["year_start"] = pd.to_numeric(good["year_start"]).astype("int64")
    good["year_end"] = pd.to_numeric(good["year_end"].replace("", np.nan)).astype("Int64")
    good["priority"] = pd.to_numeric(good["priority"]).astype("int64")
    good["value"] = pd.to_numeric(good["value"])
    duplicate_key = [
        "dataset",
        "activity",
        "factor_kind",
        "region_level",
        "region",
        "year_start",
        "gas",
    ]
    duplicated = good.duplicated(duplicate_key, keep="first")
    for row in good.loc[duplicated].itertuples(index=False):
        issues.append(
            InputIssue(
                row.origin_file,
                row.origin_line,
                None,
                f"duplicate factor: {row.dataset} already has a {row.gas} factor for "
                f"'{row.activity}' ({row.factor_kind}) in {row.region} from {row.year_start}",
            )
        )
    return good.loc[~duplicated], issues


@cache
def _builtin_parts() -> tuple[
    pd.DataFrame,
    pd.DataFrame,
    dict[str, ActivityProperties],
    dict[int, float],
    dict[tuple[str, str], ActivityProperties],
]:
    activities, issues = _read_activity_catalogue(read_data_csv("activities.csv"), "activities.csv")
    if issues:
        raise FactorError("bundled activities.csv is malformed: " + "; ".join(map(str, issues)))
    gwp = read_data_csv("gwp.csv")
    gwp["gwp_ar5"] = pd.to_numeric(gwp["gwp_ar5"])
    gwp["gwp_ar6"] = pd.to_numeric(gwp["gwp_ar6"])
    gwp["montreal_protocol"] = gwp["montreal_protocol"].str.lower().isin(["true", "yes", "1"])
    gwp["origin"] = gwp["origin"].fillna("")
    properties, dataset_properties = _properties(read_data_csv("fuel_properties.csv"))
    rates = read_data_csv("exchange_rates.csv")
    cny_per_usd = {
        int(y): float(r) for y, r in zip(rates["year"], rates["cny_per_usd"], strict=True)
    }
    return activities, gwp, properties, cny_per_usd, dataset_properties


def activity_properties() -> dict[str, ActivityProperties]:
    """The bundled density and net calorific value of each activity (fuel_properties.csv)."""
    return dict(_builtin_parts()[2])


@cache
def _builtin_factors() -> pd.DataFrame:
    activities, gwp, properties, rates, dataset_properties = _builtin_parts()
    frames = []
    for path in sorted(DATA_DIR.glob("factors_*.csv")):
        frame = read_data_csv(path.name)
        frames.append(_normalise_factor_frame(frame, user=False, origin=path.name))
    good, issues = _check_factor_rows(
        pd.concat(frames, ignore_index=True),
        activities,
        set(gwp["gas"]),
        properties,
        rates,
        dataset_properties,
    )
    if issues:
        raise FactorError(
            "the bundled factor library is malformed:\n" + "\n".join(f"  {i}" for i in issues[:20])
        )
    return good


def load_factor_library(
    user_files: Sequence[Path] = (), display: Iterable[str] | None = None
) -> FactorLibrary:
    """Load the bundled library plus a project's override files.

    Parameters
    ----------
    user_files
        Factor files (the columns of docs/file-formats.md) and activity catalogues (files whose
        header has ``canonical_unit``) from the project.
    display
        How to name each file in messages; defaults to the path.

    Raises
    ------
    InputError
        When a user file has bad rows; every bad row is listed with file, line and reason.
    """
    names = list(display) if display is not None else [str(p) for p in user_files]
    return _library_with(read_csv_tables(user_files, names), ())


def factor_library_from_tables(
    tables: Mapping[str, pd.DataFrame], in_memory: Collection[str] = ()
) -> FactorLibrary:
    """The bundled library plus a project's factor tables.

    Parameters
    ----------
    tables
        Each table by the name messages give it (a file's, or a table's given in memory):
        factor rows (the columns of docs/file-formats.md, "Factor files") or an activity
        catalogue (a header with ``canonical_unit`` and no ``value``), as text with
        ``source_line`` (:func:`tanlu.tables.read_csv_table` reads a file so).
    in_memory
        The names of tables given in memory: their rows are numbered from 1 ("row N") and a
        problem with the header names no row.

    Raises
    ------
    InputError
        When a table has bad rows; every bad row is listed with its table (file), line (row),
        column and reason.
    """
    return _library_with(given_tables(tables), in_memory)


def _library_with(tables: Iterable[ReadTable], in_memory: Collection[str]) -> FactorLibrary:
    activities, gwp, properties, rates, dataset_properties = _builtin_parts()
    factors = _builtin_factors()
    issues: list[InputIssue] = []
    user_factor_frames: list[pd.DataFrame] = []
    for name, frame, read_issues in tables:
        if read_issues:
            issues.extend(read_issues)
            continue
        header = None if name in in_memory else 1
        if "canonical_unit" in frame.columns and "value" not in frame.columns:
            extra, extra_issues = _read_activity_catalogue(
                frame,
                name,
                dict(zip(activities["activity"], activities["canonical_unit"], strict=True)),
                header,
            )
            issues.extend(extra_issues)
            clash = set(extra["activity"]) & set(activities["activity"])
            issues.extend(
                InputIssue(name, None, "activity", f"activity '{a}' is already in the library")
                for a in sorted(clash)
            )
            if not extra_issues and not clash:
                activities = pd.concat(
                    [activities, extra[[*ACTIVITY_COLUMNS, "upstream_activity", "ch4_origin"]]],
                    ignore_index=True,
                )
            continue
        missing = [c for c in _REQUIRED_USER_COLUMNS if c not in frame.columns]
        if missing:
            issues.append(
                InputIssue(name, header, None, f"missing column(s): {', '.join(missing)}")
            )
            continue
        user_factor_frames.append(_normalise_factor_frame(frame, user=True, origin=name))
    if user_factor_frames:
        good, user_issues = _check_factor_rows(
            pd.concat(user_factor_frames, ignore_index=True),
            activities,
            set(gwp["gas"]),
            properties,
            rates,
        )
        issues.extend(user_issues)
        bundled = good.loc[good["dataset"].isin(set(factors["dataset"]))]
        issues.extend(
            InputIssue(
                r.origin_file,
                r.origin_line,
                "dataset",
                f"'{r.dataset}' is a bundled dataset: a project factor needs a dataset of its "
                "own (leave it empty for user:<file>), or its rows would mix with the bundled set",
            )
            for r in bundled.itertuples(index=False)
        )
        repeated = good.loc[good["factor_id"].duplicated(keep="first")]
        issues.extend(
            InputIssue(
                r.origin_file,
                r.origin_line,
                "factor_id",
                f"factor_id '{r.factor_id}' appears twice",
            )
            for r in repeated.itertuples(index=False)
        )
        clash = good.loc[good["factor_id"].isin(factors["factor_id"])]
        issues.extend(
            InputIssue(
                r.origin_file,
                r.origin_line,
                "factor_id",
                f"factor_id '{r.factor_id}' is already in the library",
            )
            for r in clash.itertuples(index=False)
        )
        factors = pd.concat([factors, good], ignore_index=True)
    if issues:
        raise InputError(
            [replace(issue, by_row=True) if issue.file in in_memory else issue for issue in issues]
        )
    return FactorLibrary(
        activities=activities.reset_index(drop=True),
        factors=factors.reset_index(drop=True),
        gwp=gwp,
        properties=properties,
        cny_per_usd=rates,
        dataset_properties=dataset_properties,
    )
