"""A tanlu project folder: ``tanlu.toml`` (pydantic models) plus data files -> typed objects.

The file format is documented field by field in docs/file-formats.md.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from tanlu.errors import InputError, InputIssue, ProjectError
from tanlu.factors.regions import (
    grid_region_of_province,
    resolve_grid_region,
    resolve_province,
)
from tanlu.identifiers import (
    describe_collision,
    find_id_collisions,
    normalise_id,
    unknown_id_hint,
)
from tanlu.site_register import SiteRecords, read_site_files

CONFIG_FILE = "tanlu.toml"
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Year = Annotated[int, Field(ge=1990, le=2100)]


def _normalised(value: object) -> object:
    return normalise_id(value) if isinstance(value, str) else value


# An id as every reader sees it (tanlu.identifiers): NFKC, format characters removed, spaces
# trimmed; case kept.
Id = Annotated[str, BeforeValidator(_normalised), Field(min_length=1)]


class ConsolidationApproach(StrEnum):
    """GHG Protocol Corporate Standard ch. 3 consolidation approaches."""

    OPERATIONAL_CONTROL = "operational_control"
    FINANCIAL_CONTROL = "financial_control"
    EQUITY_SHARE = "equity_share"


class GwpSet(StrEnum):
    """IPCC assessment report whose 100-year GWPs convert gases to CO2e."""

    AR5 = "AR5"
    AR6 = "AR6"


class MarketResidualPolicy(StrEnum):
    """Which factor applies to grid electricity not covered by contractual instruments.

    ``excluding_market_traded_non_fossil`` is reading A in docs/methods.md section 5 (the
    residual-mix reading, default); ``grid_average`` is reading B (the national average).
    """

    EXCLUDING_MARKET_TRADED_NON_FOSSIL = "excluding_market_traded_non_fossil"
    GRID_AVERAGE = "grid_average"


class FactorFallbackOrder(StrEnum):
    """Whether a lookup gives up region specificity or year first (docs/methods.md)."""

    REGION_FIRST = "region_first"
    YEAR_FIRST = "year_first"


class CnFuelParameterTable(StrEnum):
    """Which official Chinese default table supplies diesel and gasoline NCVs (docs/factors.md).

    ``gb_t_2589``: 42.652 / 43.070 GJ/t, the GB/T 2589 reference values (dataset
    cn_guideline_fuels, default); ``ndrc_2015``: 43.33 / 44.80 GJ/t, the table of the 2015
    NDRC guidelines for other industries and public buildings (dataset cn_guideline_2015_fuels).
    """

    GB_T_2589 = "gb_t_2589"
    NDRC_2015 = "ndrc_2015"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Organisation(_Model):
    name: str
    name_zh: str | None = None
    base_year: Year
    reporting_years: list[Year] = Field(min_length=1)
    consolidation_approach: ConsolidationApproach = ConsolidationApproach.OPERATIONAL_CONTROL
    gwp_set: GwpSet = GwpSet.AR5
    # Recalculate when structural change is >= 5% of the base year: SBTi Target Validation
    # Protocol criterion C26 (docs/methods.md section 8). User-changeable.
    base_year_significance_share: Share = 0.05


class Accounting(_Model):
    market_residual_policy: MarketResidualPolicy = (
        MarketResidualPolicy.EXCLUDING_MARKET_TRADED_NON_FOSSIL
    )
    factor_fallback_order: FactorFallbackOrder = FactorFallbackOrder.REGION_FIRST
    include_radiative_forcing: bool = False
    # Derive scope 3 category 3 (well-to-tank of fuels) from scope 1 fuel rows.
    derive_fuel_upstream: bool = True
    # Annual-average CNY per USD that replace the bundled rates (factors/data/exchange_rates.csv)
    # when per-dollar spend factors are applied to CNY spend, e.g. {2022 = 6.9}.
    cny_per_usd: dict[Year, Annotated[float, Field(gt=0)]] = {}
    # Chinese default fuel table for diesel and gasoline (docs/factors.md, "Two official tables").
    cn_fuel_parameter_table: CnFuelParameterTable = CnFuelParameterTable.GB_T_2589


class Entity(_Model):
    id: Id
    name: str
    ownership_share: Share = 1.0
    operational_control: bool = True
    financial_control: bool = True


class Site(_Model):
    id: Id
    name: str
    name_zh: str | None = None
    entity: Id
    kind: str = "office"
    province: str
    grid_region: str | None = None
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    leased: bool = False
    # roof and land area left for more on-site PV [kWp]; `tanlu procure` builds at most this
    pv_potential_kw: Annotated[float, Field(ge=0)] = 0.0
    owned_from: date | None = None
    owned_until: date | None = None

    @model_validator(mode="after")
    def _ownership_dates_in_order(self) -> Site:
        if self.owned_from and self.owned_until and self.owned_until < self.owned_from:
            raise ValueError("owned_until is before owned_from")
        return self


class PvSystem(_Model):
    """On-site or distributed PV at a site (self-generation, not a purchase)."""

    id: Id
    site: Id
    capacity_kw: Annotated[float, Field(gt=0)]
    tilt_deg: Annotated[float, Field(ge=0, le=90)]
    azimuth_deg: Annotated[float, Field(ge=0, le=360)] = 180.0
    # measured or typical-year yield; scales the clear-sky shape (docs/methods.md section 10)
    annual_yield_mwh_per_kw: Annotated[float, Field(gt=0)] | None = None
    commissioned: date | None = None


class BatterySystem(_Model):
    """A battery at a site, charged only from the site's clean supply (docs/methods.md)."""

    id: Id
    site: Id
    energy_mwh: Annotated[float, Field(gt=0)]
    power_mw: Annotated[float, Field(gt=0)]
    # energy out / energy in, from the battery's own datasheet or acceptance test: no default
    round_trip_efficiency_share: Annotated[float, Field(gt=0, le=1)]
    commissioned: date | None = None


class ElectricitySettings(_Model):
    # carbon-free share of grid electricity for the 24/7 score: "derived" = 1 - national
    # average factor / national fossil-only factor of the year (MEE/NBS), or a number 0..1
    grid_cfe_share: Literal["derived"] | Share = "derived"


class TargetKind(StrEnum):
    CARBON_NEUTRAL = "carbon_neutral"
    NET_ZERO = "net_zero"
    ABSOLUTE_REDUCTION = "absolute_reduction"
    INTENSITY_REDUCTION = "intensity_reduction"
    GREEN_ELECTRICITY = "green_electricity"


class Target(_Model):
    """A climate target (docs/roadmap.md, "Targets").

    ``carbon_neutral``: gross emissions of ``scopes`` minus offsets (avoidance and removal) are
    zero from ``year`` on. ``net_zero``: the same with removals only. ``absolute_reduction``:
    emissions of ``scopes`` fall linearly from the base year by ``annual_reduction_share`` a
    year (SBTi 1.5 degC: 4.2%) until ``year``, and stay there after. ``intensity_reduction``:
    the same for emissions per unit of the output metric ``denominator`` (revenue, computing;
    ``[output_metrics]``), at the ``annual_reduction_share`` the target gives.
    ``green_electricity``: green electricity is at least ``share`` of consumption from ``year``
    on.
    """

    kind: TargetKind
    year: Year
    scopes: list[Literal[1, 2, 3]] = [1, 2, 3]
    annual_reduction_share: Share | None = None
    share: Share = 1.0
    # Intermediate milestones: {year: reduction share from the base year} (absolute and
    # intensity targets) or {year: green share} (green electricity), each enforced from its
    # year on.
    milestones: dict[Year, Share] = {}
    # intensity targets: the name of an [output_metrics] entry
    denominator: str | None = None

    @model_validator(mode="after")
    def _scopes_once(self) -> Target:
        if len(set(self.scopes)) != len(self.scopes):
            raise ValueError(f"scopes {self.scopes} names a scope twice")
        if self.kind == TargetKind.INTENSITY_REDUCTION:
            if self.denominator is None:
                raise ValueError("an intensity_reduction target needs a denominator")
            if self.annual_reduction_share is None:
                raise ValueError(
                    "an intensity_reduction target needs annual_reduction_share (no default: "
                    "the SBTi 4.2% is for absolute targets)"
                )
        elif self.denominator is not None:
            raise ValueError(f"denominator applies to intensity_reduction targets, not {self.kind}")
        return self


class OutputMetric(_Model):
    """An activity or economic output that intensity targets divide by (``[output_metrics.X]``).

    ``values`` are the organisation's own figures by year (at least the base year); planned
    years without a value follow the last one at ``[roadmap] output_growth_share_per_year``.
    """

    unit: str = Field(min_length=1)
    values: dict[Year, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(min_length=1)
    source: str = Field(min_length=1)


class LeverSettings(_Model):
    """Overrides of one lever's parameters (docs/levers.md); any bundled parameter may be set."""

    model_config = ConfigDict(extra="allow", frozen=True)
    enabled: bool = True


class CustomLever(_Model):
    """A project's own emission-reduction lever on scope 1 or scope 3 streams.

    It cuts up to ``reduction_share_max`` of the emissions of ``categories`` in ``scope``
    (at every site that has them) at ``cost_cny_per_tco2e`` (negative when it saves money),
    adopted cumulatively at most ``ramp_share_per_year`` a year from ``first_year``. Every
    number must say where it comes from (``source``).
    """

    scope: Literal[1, 3]
    categories: list[str] = Field(min_length=1)
    reduction_share_max: Share
    cost_cny_per_tco2e: float
    ramp_share_per_year: Share = 1.0
    first_year: Year | None = None
    source: str = Field(min_length=1)


class TrajectorySettings(_Model):
    """A path the plan's emissions keep to every planned year (docs/roadmap.md, "Trajectory").

    ``emissions`` of ``scopes`` (``net``: gross less the credits retired) stay at or below the
    straight line from the base year's emissions to ``line_end_share_of_base_year`` of them in
    ``line_end_year`` (held after it), and fall by at most ``max_fall_share_of_base_year`` of
    the base year's emissions from one planned year to the next. ``green_share_rises``: green
    electricity grows every year at least as fast as the baseline's consumption. Each part is
    optional.
    """

    emissions: Literal["net", "gross"] = "net"
    scopes: list[Literal[1, 2, 3]] = [1, 2, 3]
    line_end_year: Year | None = None
    line_end_share_of_base_year: Share = 0.0
    max_fall_share_of_base_year: Share | None = None
    green_share_rises: bool = False


class UncertaintySettings(_Model):
    """Monte Carlo draws over roadmap settings (docs/roadmap.md, "Uncertainty")."""

    samples: Annotated[int, Field(ge=1, le=100_000)] = 100
    # the random generator's seed, so that a run can be repeated exactly
    seed: Annotated[int, Field(ge=0)] = 0
    # dotted setting path -> [low, high], drawn uniformly
    ranges: dict[str, tuple[float, float]] = {}

    @model_validator(mode="after")
    def _ranges_in_order(self) -> UncertaintySettings:
        for path, (low, high) in self.ranges.items():
            if high < low:
                raise ValueError(f"ranges.{path}: high {high} is below low {low}")
        return self


class RoadmapSettings(_Model):
    """The ``[roadmap]`` table: horizon, baseline projection, hierarchy rules, levers, scenarios.

    Every field is optional; docs/roadmap.md gives each default and where it comes from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    from_year: Year | None = None
    end_year: Year | None = None
    scope2_basis: Literal["market", "location"] = "market"
    # activity growth per year by site kind, and per site (which wins) [share/yr, may be < 0]
    growth_share_per_year: dict[str, Annotated[float, Field(ge=-1, le=10)]] = {}
    site_growth_share_per_year: dict[Id, Annotated[float, Field(ge=-1, le=10)]] = {}
    # growth of each [output_metrics] entry after its last value [share/yr]
    output_growth_share_per_year: dict[str, Annotated[float, Field(ge=-1, le=10)]] = {}
    # change of the grid emission factors per year [share/yr; -0.02 = 2% lower each year]
    grid_factor_change_share_per_year: Annotated[float, Field(ge=-1, le=1)] = 0.0
    # change of the grid electricity price per year [share/yr]
    electricity_price_change_share_per_year: Annotated[float, Field(ge=-1, le=1)] = 0.0
    discount_rate_share: Share | None = None
    offset_cap_share_of_base_year: Share | None = None
    max_certificate_share_of_green: Share = 1.0
    # levers not applied at some sites: {lever: [site ids]} (a site that already made the change)
    lever_excluded_sites: dict[str, list[Id]] = {}
    levers: dict[str, LeverSettings] = {}
    custom_levers: dict[str, CustomLever] = {}
    uncertainty: UncertaintySettings | None = None
    trajectory: TrajectorySettings | None = None
    scenarios: dict[str, dict[str, Any]] = {}

    def excluded_site_problem(self, site_ids: set[str]) -> str | None:
        """What is wrong with ``lever_excluded_sites`` or the keys of
        ``site_growth_share_per_year`` given the project's sites, or None."""
        for lever, excluded in self.lever_excluded_sites.items():
            unknown = sorted(set(excluded) - site_ids)
            if unknown:
                return f"roadmap.lever_excluded_sites.{lever}: unknown site(s) {', '.join(unknown)}"
        for site in self.site_growth_share_per_year:
            if site not in site_ids:
                return (
                    f"roadmap.site_growth_share_per_year: unknown site '{site}'"
                    + unknown_id_hint(site, site_ids)
                )
        return None


class DataFiles(_Model):
    # site register files (CSV/XLSX/Parquet), their sites after those of [[sites]]; none unless
    # given (tanlu.site_register)
    sites: list[str] = []
    activities: list[str] = ["data/activities*.csv", "data/activities*.xlsx", "data/*.parquet"]
    factors: list[str] = ["factors/*.csv"]
    instruments: list[str] = ["data/instruments*.csv"]
    meter_hourly: list[str] = ["data/meter_hourly*.csv"]
    delivery_hourly: list[str] = ["data/delivery_hourly*.csv"]
    grid_cfe_hourly: list[str] = ["data/grid_cfe_hourly*.csv"]
    pv_hourly: list[str] = ["data/pv_hourly*.csv"]
    prices: list[str] = ["data/prices*.csv"]


class EngineBackend(StrEnum):
    """Where the inventory's tables are computed (:mod:`tanlu.engine`, docs/engines.md)."""

    DUCKDB = "duckdb"
    SPARK = "spark"


class EngineSettings(_Model):
    """``[engine]``: the backend; Spark's master URL (``local[*]`` when omitted); DuckDB's
    memory limit [GiB] (DuckDB's own default, 80% of the machine's memory, when omitted) and
    the folder it spills under (the system's temporary folder when omitted; a relative path is
    from the project's folder). docs/engines.md."""

    backend: EngineBackend = EngineBackend.DUCKDB
    spark_master: str | None = Field(default=None, min_length=1)
    memory_limit_gib: float | None = Field(default=None, gt=0)
    temp_directory: str | None = Field(default=None, min_length=1)


class ProjectConfig(_Model):
    organisation: Organisation
    accounting: Accounting = Accounting()
    entities: list[Entity] = Field(min_length=1)
    sites: list[Site] = Field(min_length=1)
    pv_systems: list[PvSystem] = []
    batteries: list[BatterySystem] = []
    electricity: ElectricitySettings = ElectricitySettings()
    targets: list[Target] = []
    output_metrics: dict[str, OutputMetric] = {}
    roadmap: RoadmapSettings = RoadmapSettings()
    data: DataFiles = DataFiles()
    engine: EngineSettings = EngineSettings()

    @model_validator(mode="after")
    def _references_resolve(self) -> ProjectConfig:
        entity_ids = [e.id for e in self.entities]
        site_ids = [s.id for s in self.sites]
        battery_ids = [b.id for b in self.batteries]
        pv_ids = [p.id for p in self.pv_systems]
        for kind, ids in (
            ("entity", entity_ids),
            ("site", site_ids),
            ("batteries", battery_ids),
            ("pv_systems", pv_ids),
        ):
            # ids are unique regardless of case (tanlu.identifiers)
            duplicates = sorted({ids[later] for _, later in find_id_collisions(ids)})
            if duplicates:
                raise ValueError(f"duplicate {kind} id(s): {', '.join(duplicates)}")
        for index, site in enumerate(self.sites):
            if site.entity not in entity_ids:
                raise ValueError(
                    f"sites[{index}] ('{site.id}') names unknown entity '{site.entity}'"
                    + unknown_id_hint(site.entity, entity_ids)
                )
        for index, battery in enumerate(self.batteries):
            if battery.site not in site_ids:
                raise ValueError(
                    f"batteries[{index}] ('{battery.id}') names unknown site '{battery.site}'"
                    + unknown_id_hint(battery.site, site_ids)
                )
        located = {s.id for s in self.sites if s.latitude is not None and s.longitude is not None}
        for index, pv in enumerate(self.pv_systems):
            if pv.site not in site_ids:
                raise ValueError(
                    f"pv_systems[{index}] ('{pv.id}') names unknown site '{pv.site}'"
                    + unknown_id_hint(pv.site, site_ids)
                )
            if pv.site not in located:
                raise ValueError(
                    f"pv_systems[{index}] ('{pv.id}'): site '{pv.site}' needs latitude and "
                    "longitude for its PV profile"
                )
        for index, target in enumerate(self.targets):
            if target.year <= self.organisation.base_year:
                raise ValueError(
                    f"targets[{index}]: year {target.year} is not after the base year "
                    f"{self.organisation.base_year}"
                )
            if target.milestones and target.kind in (
                TargetKind.CARBON_NEUTRAL,
                TargetKind.NET_ZERO,
            ):
                raise ValueError(
                    f"targets[{index}]: milestones apply to absolute_reduction, "
                    f"intensity_reduction and green_electricity targets, not {target.kind}"
                )
            for milestone in target.milestones:
                if not self.organisation.base_year < milestone <= target.year:
                    raise ValueError(
                        f"targets[{index}]: milestone {milestone} is not between the base year "
                        f"{self.organisation.base_year} and the target year {target.year}"
                    )
            if target.denominator is not None:
                metric = self.output_metrics.get(target.denominator)
                if metric is None:
                    raise ValueError(
                        f"targets[{index}]: denominator '{target.denominator}' is not in "
                        f"[output_metrics] ({', '.join(self.output_metrics) or 'none given'})"
                    )
                if self.organisation.base_year not in metric.values:
                    raise ValueError(
                        f"output_metrics.{target.denominator}: no value for the base year "
                        f"{self.organisation.base_year} (intensity targets start from it)"
                    )
        problem = self.roadmap.excluded_site_problem(set(site_ids))
        if problem is not None:
            raise ValueError(problem)
        for name in self.roadmap.output_growth_share_per_year:
            if name not in self.output_metrics:
                raise ValueError(
                    f"roadmap.output_growth_share_per_year: '{name}' is not in [output_metrics]"
                )
        if self.organisation.base_year > min(self.organisation.reporting_years):
            raise ValueError("base_year is after the first reporting year")
        return self


@dataclass(frozen=True)
class Project:
    """A loaded project: its configuration, its sites and the data files it names.

    A project comes from a folder (:func:`load_project`) or from its configuration alone
    (:func:`project_from_config`), whose inputs are then given as tables
    (:func:`tanlu.ingest.check_input_tables`).

    Attributes
    ----------
    root
        The project folder; ``None`` for a project made in memory, which has no files.
    config
        The validated ``tanlu.toml``.
    sites
        One row per site: ``site, site_name, entity, kind, province, grid_region, ownership_share,
        operational_control, financial_control, latitude, longitude, leased, owned_from,
        owned_until``, with
        province and grid region in canonical English names.
    site_files, activity_files, factor_files, instrument_files, meter_files, delivery_files,
    grid_cfe_files, pv_files, price_files
        Files matched by the globs of ``[data]``, sorted (none for a project made in memory).
    config_file
        How messages name the configuration: the path of ``tanlu.toml`` in the folder, or the
        name given to :func:`project_from_config`.
    """

    root: Path | None
    config: ProjectConfig
    sites: pd.DataFrame
    site_files: tuple[Path, ...] = ()
    activity_files: tuple[Path, ...] = ()
    factor_files: tuple[Path, ...] = ()
    instrument_files: tuple[Path, ...] = ()
    meter_files: tuple[Path, ...] = ()
    delivery_files: tuple[Path, ...] = ()
    grid_cfe_files: tuple[Path, ...] = ()
    pv_files: tuple[Path, ...] = ()
    price_files: tuple[Path, ...] = ()
    config_file: str = CONFIG_FILE

    def display_path(self, path: Path) -> str:
        """A path as the user should see it in messages: relative to the folder above the
        project when inside it."""
        if self.root is None:
            return str(path)
        try:
            return str(path.relative_to(self.root.parent))
        except ValueError:
            return str(path)


_TOML_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"' ]+?)\s*=")
_LEADING_PATH = re.compile(r"^([A-Za-z_][\w.\[\]]*):")


def toml_key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """The line (1-based) where each table, array-of-tables entry and key of a TOML text is
    written, keyed by its path (``("targets", 0, "kind")``); the first line wins. Keys inside
    inline tables and multi-line values count at their parent's line."""
    lines: dict[tuple[str | int, ...], int] = {}
    counts: dict[tuple[str, ...], int] = {}
    table: tuple[str | int, ...] = ()
    depth = 0  # open brackets of a value that spans lines
    closing = ""  # the quotes that end a multi-line string the value is in
    for number, raw in enumerate(text.splitlines(), start=1):
        if closing:
            if closing in raw:
                closing = ""
            continue
        line = _without_strings(raw)
        if depth > 0:
            depth += line.count("[") + line.count("{") - line.count("]") - line.count("}")
            continue
        header = _TOML_HEADER.match(line)
        if header:
            names = tuple(part.strip().strip("\"'") for part in header.group(2).split("."))
            if header.group(1) == "[[":
                index = counts.get(names, 0)
                counts[names] = index + 1
                table = (*names, index)
            else:
                table = names
            lines.setdefault(table, number)
            continue
        key = _TOML_KEY.match(line)
        if key:
            names = tuple(part.strip().strip("\"'") for part in key.group(1).split("."))
            lines.setdefault((*table, *names), number)
            value = line[key.end() :].split("#", 1)[0]
            depth = value.count("[") + value.count("{") - value.count("]") - value.count("}")
            for quotes in ('"""', "'''"):
                if raw[key.end() :].count(quotes) % 2 == 1:
                    closing = quotes
    return lines


_STRING = re.compile(r'"""|\'\'\'|"(?:[^"\\]|\\.)*"|\'[^\']*\'')


def _without_strings(line: str) -> str:
    """The line with its one-line strings emptied, so brackets in them are not counted."""
    return _STRING.sub(
        lambda found: found.group(0) if found.group(0) in ('"""', "'''") else '""', line
    )


def _line_of(where: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> int | None:
    """The line of the longest prefix of ``where`` that the text writes."""
    for end in range(len(where), 0, -1):
        if where[:end] in lines:
            return lines[where[:end]]
    return None


def _path_of(text: str) -> tuple[str | int, ...]:
    """``targets[0].kind`` -> ``("targets", 0, "kind")``."""
    parts: list[str | int] = []
    for piece in text.split("."):
        name, *indices = piece.split("[")
        if name:
            parts.append(name)
        parts.extend(int(index.rstrip("]")) for index in indices if index.rstrip("]").isdigit())
    return tuple(parts)


def _format_validation_error(error: ValidationError, text: str = "") -> str:
    """Each problem as ``where (line N): message``; the line where the TOML text writes the
    field (or its table) when it can be found."""
    lines = toml_key_lines(text) if text else {}
    parts = []
    for item in error.errors():
        where = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in item["loc"])
        where = where.replace(".[", "[")
        message = item["msg"].removeprefix("Value error, ")
        path: tuple[str | int, ...] = tuple(item["loc"])
        if not where:
            # a check over the whole file names its field at the start of the message
            leading = _LEADING_PATH.match(message)
            if leading:
                where, message = leading.group(1), message[leading.end() :].lstrip()
                path = _path_of(where)
        line = _line_of(path, lines) if where else None
        at = f" (line {line})" if line is not None else ""
        parts.append(f"{where}{at}: {message}" if where else message)
    return "; ".join(parts)


# The lists of tanlu.toml whose entries define an id (checked by _id_collisions).
ID_TABLES = {
    "entities": "entity",
    "sites": "site",
    "pv_systems": "PV system",
    "batteries": "battery",
}


def _id_collisions(raw: dict[str, Any], text: str) -> list[str]:
    """Two entries of one list whose ids are the same id once normalised (tanlu.identifiers),
    each as ``table[i].id (line N): 'x ' is the same id as 'x' (...) in table[j].id (line M)``."""
    lines: dict[tuple[str | int, ...], int] | None = None  # found when a problem needs them
    problems = []
    for table, kind in ID_TABLES.items():
        entries = raw.get(table)
        if not isinstance(entries, list):
            continue
        written = [
            (index, entry["id"])
            for index, entry in enumerate(entries)
            if isinstance(entry, dict) and isinstance(entry.get("id"), str)
        ]
        for first, later in find_id_collisions([spelling for _, spelling in written]):
            (first_index, first_id), (index, spelling) = written[first], written[later]
            if lines is None:
                lines = toml_key_lines(text)

            where = [
                f"{table}[{i}].id" + (f" (line {line})" if line is not None else "")
                for i in (index, first_index)
                for line in [_line_of((table, i, "id"), lines)]
            ]
            problems.append(
                f"{where[0]}: duplicate {kind} id: {describe_collision(spelling, first_id)} "
                f"(first in {where[1]})"
            )
    return problems


def _glob(
    root: Path, patterns: list[str], where: str = "", confined: bool = False
) -> tuple[Path, ...]:
    """The files the patterns match under ``root``. A pattern is relative to the folder (an
    absolute one is a :class:`ProjectError` naming ``where``, the file and field); when
    ``confined``, it may not climb out of the folder with ``..`` either, and every match must
    lie inside it (the service, whose projects' files are uploaded by its users)."""
    found: set[Path] = set()
    for pattern in patterns:
        pure = PurePosixPath(pattern.replace("\\", "/"))
        if pure.is_absolute() or Path(pattern).is_absolute() or pattern.startswith("~"):
            raise ProjectError(
                f"{where}: '{pattern}' is not a pattern relative to the project folder"
            )
        if confined and ".." in pure.parts:
            raise ProjectError(f"{where}: '{pattern}' reaches outside the project folder")
        matches = [p for p in root.glob(pattern) if p.is_file()]
        if confined:
            matches = [p for p in matches if p.resolve().is_relative_to(root)]
        found.update(matches)
    return tuple(sorted(found))


def _site_table(config: ProjectConfig, config_path: str) -> pd.DataFrame:
    """One row per site (:attr:`Project.sites`), provinces and grids in canonical names.

    Column by column, each distinct province and grid resolved once: 100,000 sites take a
    fraction of a second."""
    sites = config.sites
    provinces = {name: resolve_province(name) for name in {s.province for s in sites}}
    grids = {
        name: resolve_grid_region(name)
        for name in {s.grid_region for s in sites if s.grid_region is not None}
    }
    for index, site in enumerate(sites):
        if provinces[site.province] is None:
            raise ProjectError(
                f"{config_path}: sites[{index}].province: unknown province '{site.province}' "
                f"(site '{site.id}')"
            )
        if site.grid_region is not None and grids[site.grid_region] is None:
            raise ProjectError(
                f"{config_path}: sites[{index}].grid_region: unknown regional grid "
                f"'{site.grid_region}' (site '{site.id}')"
            )
    entities = {e.id: e for e in config.entities}
    owners = [entities[s.entity] for s in sites]
    province = [str(provinces[s.province]) for s in sites]
    return pd.DataFrame(
        {
            "site": [s.id for s in sites],
            "site_name": [s.name for s in sites],
            "entity": [e.id for e in owners],
            "kind": [s.kind for s in sites],
            "province": province,
            "grid_region": [
                grids[s.grid_region] if s.grid_region is not None else grid_region_of_province(p)
                for s, p in zip(sites, province, strict=True)
            ],
            "ownership_share": [e.ownership_share for e in owners],
            "operational_control": [e.operational_control for e in owners],
            "financial_control": [e.financial_control for e in owners],
            "latitude": [s.latitude for s in sites],
            "longitude": [s.longitude for s in sites],
            "leased": [s.leased for s in sites],
            "owned_from": pd.to_datetime(pd.Series([s.owned_from for s in sites], dtype=object)),
            "owned_until": pd.to_datetime(pd.Series([s.owned_until for s in sites], dtype=object)),
        }
    )


def _parsed(config: Mapping[str, Any] | str, name: str) -> tuple[dict[str, Any], str]:
    """The configuration as the table TOML parses to, and its text (empty when given as a
    table)."""
    if not isinstance(config, str):
        return dict(config), ""
    try:
        return tomllib.loads(config), config
    except tomllib.TOMLDecodeError as error:
        raise ProjectError(f"{name}: {error}") from None


def _project(raw: dict[str, Any], text: str, name: str, register: Sequence[Site] = ()) -> Project:
    """The project of a parsed configuration, the sites of the site register after those of
    ``[[sites]]``."""
    collisions = _id_collisions(raw, text)
    if collisions:
        raise ProjectError(f"{name}: {'; '.join(collisions)}")
    if register:
        listed = raw.get("sites", [])
        raw = {**raw, "sites": [*listed, *register] if isinstance(listed, list) else listed}
    try:
        validated = ProjectConfig.model_validate(raw)
    except ValidationError as error:
        raise ProjectError(f"{name}: {_format_validation_error(error, text)}") from None
    return Project(
        root=None,
        config=validated,
        sites=_site_table(validated, name),
        config_file=name,
    )


def project_from_config(config: Mapping[str, Any] | str, name: str = CONFIG_FILE) -> Project:
    """A project from its configuration alone, without a folder.

    Its inputs are given as tables rather than read from files
    (:class:`tanlu.ingest.InputTables`, :func:`tanlu.ingest.check_input_tables`), so that a
    test or a service need not write a project to disk.

    Parameters
    ----------
    config
        The configuration as ``tanlu.toml`` would hold it: its TOML text, or the table it parses
        to (``tomllib.loads``), e.g. ``{"organisation": {...}, "entities": [...], "sites":
        [...]}``. ``[data]`` is accepted and ignored: there are no files to match.
    name
        How messages name the configuration (``tanlu.toml`` unless given).

    Raises
    ------
    ProjectError
        As :func:`load_project`: when the TOML text does not parse, two entries share an id,
        a field is invalid (with its line when TOML text is given) or a site names an unknown
        province or regional grid; the message starts with ``name``.
    """
    raw, text = _parsed(config, name)
    return _project(raw, text, name)


_SITE_LIST = TypeAdapter(list[Site])


def _register_reason(item: Mapping[str, Any], column: str | None) -> str:
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] == "missing":
        return f"{column} is empty"
    if column is None:
        return message
    return f"'{item['input']}': {message}"


def _register_sites(raw: Mapping[str, Any], read: SiteRecords, name: str) -> list[Site]:
    """The sites of the site register, checked as ``[[sites]]`` are; every problem named by
    file, line and column, in file and line order (an :class:`InputError`)."""
    if read.issues:
        raise InputError(read.issues)
    listed = raw.get("sites", [])
    spellings: list[str] = []
    places: list[str] = []
    if isinstance(listed, list):
        for index, entry in enumerate(listed):
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                spellings.append(entry["id"])
                places.append(f"{name} sites[{index}]")
    first_row = len(spellings)
    spellings.extend(str(record.get("id", "")) for record in read.records)

    def place(position: int) -> str:
        if position < first_row:
            return places[position]
        return read.row(position - first_row).issue(None, "").location()

    # (row index, issue): sorted by row at the end, each row's problems in the order found
    found: list[tuple[int, InputIssue]] = []
    for first, later in find_id_collisions(spellings):
        if later >= first_row and spellings[later].strip():  # an empty id is named below
            reason = (
                f"duplicate site id: {describe_collision(spellings[later], spellings[first])}"
                f" (first in {place(first)})"
            )
            found.append((later - first_row, read.row(later - first_row).issue("id", reason)))
    # every row checked: the rows that fail validation are named, the rest checked further
    try:
        sites = list(enumerate(_SITE_LIST.validate_python(read.records)))
    except ValidationError as error:
        failed: set[int] = set()
        for item in error.errors():
            where = item["loc"]
            index = int(where[0])
            column = str(where[1]) if len(where) > 1 else None
            found.append((index, read.row(index).issue(column, _register_reason(item, column))))
            failed.add(index)
        passed = [i for i in range(len(read.records)) if i not in failed]
        valid = _SITE_LIST.validate_python([read.records[i] for i in passed])
        sites = list(zip(passed, valid, strict=True))
    entities = raw.get("entities", [])
    entity_ids = [
        normalise_id(e["id"])
        for e in (entities if isinstance(entities, list) else [])
        if isinstance(e, dict) and isinstance(e.get("id"), str)
    ]
    known_entities = set(entity_ids)
    provinces = {p: resolve_province(p) for p in {s.province for _, s in sites}}
    grids = {g: resolve_grid_region(g) for g in {s.grid_region for _, s in sites} if g is not None}
    for index, site in sites:
        problems: list[tuple[str, str]] = []
        if site.entity not in known_entities:
            hint = unknown_id_hint(site.entity, entity_ids)
            problems.append(
                ("entity", f"unknown entity '{site.entity}' (not in [[entities]])" + hint)
            )
        if provinces[site.province] is None:
            problems.append(("province", f"unknown province '{site.province}'"))
        if site.grid_region is not None and grids[site.grid_region] is None:
            problems.append(("grid_region", f"unknown regional grid '{site.grid_region}'"))
        found.extend((index, read.row(index).issue(c, reason)) for c, reason in problems)
    if found:
        raise InputError([issue for _, issue in sorted(found, key=lambda f: f[0])])
    return [site for _, site in sites]


def _site_patterns(raw: Mapping[str, Any]) -> list[str]:
    """The globs of ``[data] sites`` (none when absent or malformed: validation says why)."""
    data = raw.get("data")
    patterns = data.get("sites") if isinstance(data, dict) else None
    if isinstance(patterns, list) and all(isinstance(p, str) for p in patterns):
        return patterns
    return []


def load_project(path: str | Path, confined: bool = False) -> Project:
    """Load and validate a project folder.

    The configuration is checked as :func:`project_from_config` checks it; the data files are
    those the globs of ``[data]`` match in the folder. The sites of the site register files
    (``[data] sites``, :mod:`tanlu.site_register`) follow those of ``[[sites]]``.

    Parameters
    ----------
    path
        The folder holding ``tanlu.toml``, or the file itself.
    confined
        Whether the ``[data]`` patterns must stay inside the folder (no ``..``), and
        ``[engine]`` is left to the caller (its settings are dropped: the folder a DuckDB
        spills to, its memory, a Spark master): the service reads projects uploaded by its
        users this way.

    Raises
    ------
    ProjectError
        When the folder or file is missing, the TOML does not parse, a field is invalid (the
        message names the file and the field) or ``[data] sites`` matches no file.
    InputError
        When a site register file cannot be read or has bad rows: every problem, by file,
        line and column.
    """
    root = Path(path)
    if root.is_file():
        root = root.parent
    config_path = root / CONFIG_FILE
    if not config_path.is_file():
        raise ProjectError(f"{root}: no {CONFIG_FILE} here (is this a tanlu project folder?)")
    try:
        text = config_path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ProjectError(f"{config_path}: not UTF-8 text") from None
    root = root.resolve()
    raw, text = _parsed(text, str(config_path))
    patterns = _site_patterns(raw)
    site_files = _glob(root, patterns, f"{config_path}: data.sites", confined)
    if patterns and not site_files:
        raise ProjectError(
            f"{config_path}: data.sites: no file matches {', '.join(map(repr, patterns))}"
        )
    register = read_site_files(site_files, [str(p.relative_to(root.parent)) for p in site_files])
    project = _project(
        raw, text, str(config_path), _register_sites(raw, register, str(config_path))
    )
    data = project.config.data
    if confined:
        project = replace(
            project, config=project.config.model_copy(update={"engine": EngineSettings()})
        )

    def files(field: str) -> tuple[Path, ...]:
        return _glob(root, getattr(data, field), f"{config_path}: data.{field}", confined)

    return replace(
        project,
        root=root,
        config_file=str(root / CONFIG_FILE),
        site_files=site_files,
        activity_files=files("activities"),
        factor_files=files("factors"),
        instrument_files=files("instruments"),
        meter_files=files("meter_hourly"),
        delivery_files=files("delivery_hourly"),
        grid_cfe_files=files("grid_cfe_hourly"),
        pv_files=files("pv_hourly"),
        price_files=files("prices"),
    )
