"""The rules that judge a batch of action events, as Ibis expressions for any engine.

:func:`judge_events` takes the batch's checked events, the entries already in the ledger, the
methodologies and the consent table, all as tables on one engine connection, and gives one
ledger entry per new event: its methodology (id and version), its status (``accepted``,
``held`` or ``rejected``) with a reason code and a sentence, and the gCO2e it is credited,
counted in whole milligrams (``credited_mgco2e``) so that sums are exact on every engine.

The rules, in the order a reason is given (the first that applies; docs/ledger.md, "Rules"):

1. ``no_methodology``: no methodology credits the action in the event's city or province on
   its day (rejected).
2. ``no_consent``: the user has not consented to the methodology's scenario at the event's
   start, or had withdrawn it (rejected).
3. ``late``: the event ended more than ``claim_window_days`` before the batch was received;
   ``future``: it starts after the batch was received (rejected).
4. ``no_quantity``: the methodology counts in km but the event has no ``distance_km``, or in
   steps or kWh but it has no ``quantity`` (rejected).
5. ``impossible_speed``: a trip whose distance over its duration is above the action's speed
   limit (rejected).
6. ``duplicate``: the same trip (same user and action, start and end within
   ``duplicate_tolerance_s``, overlapping in time) arrived already, through another channel,
   operator or event id; the one kept is the one already in the ledger, else the first in
   time (rejected).
7. ``overlap``: a trip that overlaps another trip of the same user (held).
8. ``teleport``: a trip that starts farther from where the user's previous trip ended than
   ``max_transfer_speed_kmh`` allows in the time between, beyond ``teleport_slack_km`` (held;
   also a new trip that ends too far from where a later trip already in the ledger starts).
9. ``repeated_trip``: the same trip (same user, action, start and end place) more than
   ``max_identical_trips_per_day`` times in a day (the later ones held).
10. ``burst``: more than ``burst_max_events`` trips of one user starting within
    ``burst_window_s`` (the later ones held).

Accepted events are credited ``round(units x reduction_gco2e_per_unit x 1000)`` mgCO2e, then
capped per user and methodology by the methodology's daily cap and then its monthly cap,
counting what the ledger already credited that day and month (reason ``daily_cap`` or
``monthly_cap`` when a cap cut the credit). Every ordering is total (time, then operator and
event id), so a batch's row order never changes the result.

Rules 6 to 10 look at the user's other events: the batch's own and the entries already in the
ledger (not rejected), so that a trip cannot be credited twice by arriving in two batches.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import ibis
import ibis.expr.types as ir

from tanlu.errors import TanluError
from tanlu.ledger.methodologies import DISTANCE_UNITS, TRIP_UNITS

ACCEPTED, HELD, REJECTED = "accepted", "held", "rejected"
STATUSES: tuple[str, ...] = (ACCEPTED, HELD, REJECTED)
REASONS: dict[str, str] = {
    "no_methodology": REJECTED,
    "no_consent": REJECTED,
    "late": REJECTED,
    "future": REJECTED,
    "no_quantity": REJECTED,
    "impossible_speed": REJECTED,
    "duplicate": REJECTED,
    "overlap": HELD,
    "teleport": HELD,
    "repeated_trip": HELD,
    "burst": HELD,
    "daily_cap": ACCEPTED,
    "monthly_cap": ACCEPTED,
}
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG), for great-circle distances


def _default_speeds() -> dict[str, float]:
    return {"walking": 20.0, "cycling": 45.0, "bus": 100.0, "metro": 160.0}


@dataclass(frozen=True)
class LedgerRules:
    """The parameters of the rules (no source gives them; each default's reason is in
    docs/ledger.md, "Rules"). A ledger's ``ledger.toml`` may set any of them under ``[rules]``.

    Attributes
    ----------
    claim_window_days
        An event that ended more than this many days before its batch was received is late
        [days].
    duplicate_tolerance_s
        Two events of one user and action whose starts and ends are each this close are one
        trip [s].
    max_speed_kmh
        The highest mean speed of a trip, per action [km/h].
    default_max_speed_kmh
        The limit for an action not in ``max_speed_kmh`` [km/h].
    max_transfer_speed_kmh
        The fastest a user can get from one trip's end to the next trip's start [km/h].
    teleport_slack_km
        A gap between one trip's end and the next one's start this short is always possible
        (stations and stops of two operators are apart; coordinates are rounded) [km].
    max_identical_trips_per_day
        Trips of one user with the same action, start and end place in a day beyond this
        number are held.
    burst_max_events
        Trips of one user starting within ``burst_window_s`` beyond this number are held.
    burst_window_s
        The window of the burst check [s].
    """

    claim_window_days: int = 30
    duplicate_tolerance_s: int = 120
    max_speed_kmh: dict[str, float] = field(default_factory=_default_speeds)
    default_max_speed_kmh: float = 350.0
    max_transfer_speed_kmh: float = 350.0
    teleport_slack_km: float = 1.0
    max_identical_trips_per_day: int = 3
    burst_max_events: int = 5
    burst_window_s: int = 600

    def to_dict(self) -> dict[str, Any]:
        """The parameters as plain values (stored with each batch, for reproduction)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class RulesError(TanluError):
    """A rule parameter in ``ledger.toml`` is unknown or out of range."""


def rules_from_dict(values: dict[str, Any], where: str = "ledger.toml [rules]") -> LedgerRules:
    """:class:`LedgerRules` from a mapping (``ledger.toml``'s ``[rules]``), defaults for the
    rest.

    Raises
    ------
    RulesError
        Naming the parameter that is unknown, of the wrong type or not positive.
    """
    defaults = LedgerRules()
    known = {f.name for f in fields(LedgerRules)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise RulesError(
            f"{where}: unknown parameter(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(known))})"
        )
    chosen: dict[str, Any] = {}
    for name, value in values.items():
        default = getattr(defaults, name)
        if isinstance(default, dict):
            if not isinstance(value, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and v > 0
                for v in value.values()
            ):
                raise RulesError(f"{where}: {name} must map actions to positive km/h")
            chosen[name] = {**default, **{str(k): float(v) for k, v in value.items()}}
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise RulesError(f"{where}: {name} must be a positive number, not {value!r}")
        if isinstance(default, int) and not float(value).is_integer():
            raise RulesError(f"{where}: {name} must be a whole number, not {value!r}")
        chosen[name] = type(default)(value)
    return LedgerRules(**chosen)


# The columns of a ledger entry, in order (tanlu.ledger.store writes them with these types).
ENTRY_COLUMNS: tuple[str, ...] = (
    "batch",
    "received_at",
    "entry_kind",
    "operator",
    "event_id",
    "user",
    "action",
    "channel",
    "city",
    "province",
    "start_time",
    "end_time",
    "start_place",
    "end_place",
    "distance_km",
    "quantity",
    "start_lat",
    "start_lon",
    "end_lat",
    "end_lon",
    "content_hash",
    "batch_file",
    "batch_line",
    "methodology_id",
    "methodology_version",
    "scenario",
    "unit",
    "units",
    "reduction_gco2e_per_unit",
    "raw_mgco2e",
    "daily_mgco2e",
    "credited_mgco2e",
    "status",
    "reason",
    "detail",
    "refers_to",
)


Keep = Callable[[ir.Table, str], ir.Table]


def _text(value: ir.Value) -> ir.StringValue:
    return value.cast("string")


def _haversine_km(
    lat1: ir.NumericValue, lon1: ir.NumericValue, lat2: ir.NumericValue, lon2: ir.NumericValue
) -> ir.NumericValue:
    """Great-circle distance [km] between two points given in degrees."""
    to_rad = math.pi / 180
    dlat = (lat2 - lat1) * to_rad
    dlon = (lon2 - lon1) * to_rad
    a = (dlat / 2).sin() ** 2 + (lat1 * to_rad).cos() * (lat2 * to_rad).cos() * (
        dlon / 2
    ).sin() ** 2
    return 2 * EARTH_RADIUS_KM * a.sqrt().clip(upper=1.0).asin()


def _capped(
    before: ir.IntegerValue, amount: ir.IntegerValue, cap: ir.IntegerValue
) -> ir.IntegerValue:
    """What of ``amount`` fits under ``cap`` when ``before`` was counted already (no cap:
    all of it): ``min(before + amount, cap) - min(before, cap)``."""
    after = before + amount
    fitted = ibis.least(after, cap) - ibis.least(before, cap)
    return ibis.ifelse(cap.isnull(), amount, ibis.greatest(fitted, 0))


def _speed_limit(action: ir.StringValue, rules: LedgerRules) -> ir.FloatingValue:
    cases = [(action == name, float(limit)) for name, limit in sorted(rules.max_speed_kmh.items())]
    if not cases:
        return ibis.literal(float(rules.default_max_speed_kmh))
    return ibis.cases(*cases, else_=float(rules.default_max_speed_kmh))


def context_horizon_s(rules: LedgerRules) -> int:
    """How far before a batch's earliest new event the ledger's events can still change a
    verdict [s]: no two points on Earth are farther apart than half its circumference
    (``pi x EARTH_RADIUS_KM``), so a gap of that over ``max_transfer_speed_kmh`` is never a
    teleport; repeated trips count within a day; bursts and duplicates within their windows."""
    reach_s = math.ceil(math.pi * EARTH_RADIUS_KM / rules.max_transfer_speed_kmh * 3600)
    return max(reach_s, 86_400, rules.burst_window_s, 2 * rules.duplicate_tolerance_s)


def judge_events(
    events: ir.Table,
    prior: ir.Table,
    methodologies: ir.Table,
    consent: ir.Table,
    rules: LedgerRules,
    received_at: dt.datetime,
    batch: int,
    replays_removed: bool = False,
    keep: Keep | None = None,
) -> ir.Table:
    """One ledger entry per event of ``events`` not already in the ledger.

    Parameters
    ----------
    events
        The batch (:data:`tanlu.ledger.events.EVENT_SCHEMA`), one row per (operator,
        event_id).
    prior
        The ledger's entries (:data:`ENTRY_COLUMNS`), all batches so far.
    methodologies
        :meth:`tanlu.ledger.methodologies.MethodologyRegistry.engine_frame`.
    consent
        :data:`tanlu.ledger.events.CONSENT_SCHEMA`, one row per (user, scenario).
    rules
        The rules' parameters.
    received_at
        When the batch was received (China time): the claim window counts back from it.
    batch
        The batch's number in the ledger.
    replays_removed
        Whether ``events`` holds only events not in ``prior`` already (the caller removed the
        replays), so that the rules need not look again.
    keep
        Computes an intermediate table once and keeps it (:func:`tanlu.engine.keep`), for the
        tables several later steps read; without it the engine plans the whole at once.

    Returns
    -------
    ir.Table
        :data:`ENTRY_COLUMNS`, ``entry_kind`` ``credit``; events whose (operator, event_id) is
        in ``prior`` already give no entry (a replay changes nothing).
    """
    credits = prior.filter(prior.entry_kind == "credit")
    if replays_removed:
        new = events
    else:
        known = credits.select(k_operator=credits.operator, k_event_id=credits.event_id)
        new = events.anti_join(
            known, (events.operator == known.k_operator) & (events.event_id == known.k_event_id)
        )
    new = new.mutate(start_day=new.start_time.date())

    # 1. the methodology: most specific region, then latest start of validity, then version;
    # chosen once per (action, city, province, day), of which a batch has few
    m = methodologies
    keys = new.select(
        k_action=new.action, k_city=new.city, k_province=new.province, k_day=new.start_day
    ).distinct()
    region_ok = (
        ((m.m_level == 2) & (m.m_region == keys.k_city))
        | ((m.m_level == 1) & (m.m_region == keys.k_province))
        | (m.m_level == 0)
    )
    day_ok = (m.m_valid_from.isnull() | (m.m_valid_from <= keys.k_day)) & (
        m.m_valid_until.isnull() | (m.m_valid_until >= keys.k_day)
    )
    matched = keys.left_join(m, (keys.k_action == m.m_action) & region_ok & day_ok)
    best = ibis.row_number().over(
        group_by=["k_action", "k_city", "k_province", "k_day"],
        order_by=[
            ibis.desc(matched.m_level.fill_null(-1)),
            ibis.desc(matched.m_valid_from.fill_null(dt.date(1900, 1, 1))),
            ibis.desc(matched.m_version.fill_null(0)),
            matched.m_methodology_id,
        ],
    )
    picked = matched.mutate(pick=best).filter(lambda t: t.pick == 0).drop("pick")
    chosen = new.left_join(
        picked,
        (new.action == picked.k_action)
        & (new.city == picked.k_city)
        & new.province.identical_to(picked.k_province)
        & (new.start_day == picked.k_day),
    ).drop("k_action", "k_city", "k_province", "k_day")

    # 2. consent at the event's start
    c = consent.select(
        c_user=consent.user,
        c_scenario=consent.scenario,
        c_granted_at=consent.granted_at,
        c_withdrawn_at=consent.withdrawn_at,
    )
    joined = chosen.left_join(c, (chosen.user == c.c_user) & (chosen.m_scenario == c.c_scenario))
    consented = (
        joined.c_granted_at.notnull()
        & (joined.c_granted_at <= joined.start_time)
        & (joined.c_withdrawn_at.isnull() | (joined.c_withdrawn_at > joined.start_time))
    )
    units = ibis.cases(
        (joined.m_unit.isin(list(DISTANCE_UNITS)), joined.distance_km),
        (joined.m_unit == "trip", ibis.literal(1.0)),
        else_=joined.quantity,
    )
    staged = joined.mutate(
        consented=consented,
        units=units,
        is_trip=joined.m_unit.isin(list(TRIP_UNITS)).fill_null(False),
        start_s=joined.start_time.epoch_seconds().cast("int64"),
        end_s=joined.end_time.epoch_seconds().cast("int64"),
    )
    duration_s = staged.end_s - staged.start_s
    speed_kmh = ibis.ifelse(
        duration_s > 0,
        staged.distance_km * 3600.0 / duration_s.cast("float64"),
        ibis.null("float64"),
    )
    limit = _speed_limit(staged.action, rules)
    too_fast = (
        staged.is_trip
        & staged.distance_km.notnull()
        & (staged.distance_km > 0)
        & (speed_kmh.isnull() | (speed_kmh > limit))
    )
    earliest_end = received_at - dt.timedelta(days=rules.claim_window_days)
    first = ibis.cases(
        (staged.m_methodology_id.isnull(), "no_methodology"),
        (~staged.consented, "no_consent"),
        (staged.end_time < ibis.literal(earliest_end), "late"),
        (staged.start_time > ibis.literal(received_at), "future"),
        (staged.units.isnull(), "no_quantity"),
        (too_fast, "impossible_speed"),
        else_=ibis.null("string"),
    )
    staged = staged.mutate(first_reason=first, speed_kmh=speed_kmh, limit_kmh=limit)
    first_detail = ibis.cases(
        (
            staged.first_reason == "no_methodology",
            "no methodology credits '"
            + staged.action
            + "' in "
            + staged.city
            + ibis.ifelse(staged.province.notnull(), " (" + staged.province.fill_null("") + ")", "")
            + " on "
            + _text(staged.start_day),
        ),
        (
            staged.first_reason == "no_consent",
            "user '"
            + staged.user
            + "' has no consent for scenario '"
            + staged.m_scenario.fill_null("")
            + "' at "
            + _text(staged.start_time),
        ),
        (
            staged.first_reason == "late",
            "ended "
            + _text(staged.end_time)
            + ", more than "
            + str(rules.claim_window_days)
            + " days before the batch was received ("
            + received_at.isoformat(sep=" ")
            + ")",
        ),
        (
            staged.first_reason == "future",
            "starts "
            + _text(staged.start_time)
            + ", after the batch was received ("
            + received_at.isoformat(sep=" ")
            + ")",
        ),
        (
            staged.first_reason == "no_quantity",
            "methodology '"
            + staged.m_methodology_id.fill_null("")
            + "' counts in "
            + staged.m_unit.fill_null("")
            + ": the event needs "
            + ibis.ifelse(staged.m_unit.isin(list(DISTANCE_UNITS)), "distance_km", "quantity"),
        ),
        (
            staged.first_reason == "impossible_speed",
            _text(staged.distance_km)
            + " km in "
            + _text(duration_s)
            + " s is "
            + ibis.ifelse(
                staged.speed_kmh.isnull(),
                "instantaneous",
                _text(staged.speed_kmh.round(0).cast("int64")) + " km/h",
            )
            + ", above the limit of "
            + _text(staged.limit_kmh.round(0).cast("int64"))
            + " km/h for "
            + staged.action,
        ),
        else_=ibis.null("string"),
    )
    staged = staged.mutate(first_detail=first_detail)
    if keep is not None:
        staged = keep(staged, "ledger_staged")

    # the user's other events: this batch's that passed rules 1-5, and the ledger's not
    # rejected, back to the horizon before the batch's earliest candidate (older ones cannot
    # change a verdict, context_horizon_s), plus each user's latest one before it (the trip
    # before the user's first new one, for the teleport rule)
    users = staged.select(u_user=staged.user).distinct()
    # (a reviewer's release of a held event is a second credit entry of it: the event counts
    # once, by its own entry)
    earlier = credits.filter((credits.status != REJECTED) & credits.refers_to.isnull())
    earlier = earlier.semi_join(users, earlier.user == users.u_user)
    context_columns = (
        "operator",
        "event_id",
        "user",
        "action",
        "channel",
        "start_place",
        "end_place",
        "start_lat",
        "start_lon",
        "end_lat",
        "end_lon",
    )
    candidates = staged.filter(staged.first_reason.isnull()).select(
        *context_columns,
        start_s=staged.start_s,
        end_s=staged.end_s,
        is_trip=staged.is_trip,
        is_new=ibis.literal(1),
    )
    old = earlier.select(
        *context_columns,
        start_s=earlier.start_time.epoch_seconds().cast("int64"),
        end_s=earlier.end_time.epoch_seconds().cast("int64"),
        is_trip=earlier.unit.isin(list(TRIP_UNITS)).fill_null(False),
        is_new=ibis.literal(0),
    )
    horizon = candidates.start_s.min() - context_horizon_s(rules)
    before = old.filter(old.start_s < horizon)
    latest = before.group_by(a_user=before.user).aggregate(a_start_s=before.start_s.max())
    old = old.left_join(latest, old.user == latest.a_user)
    old = old.filter((old.end_s >= horizon) | (old.start_s == old.a_start_s)).drop(
        "a_user", "a_start_s"
    )
    pool = candidates.union(old)

    # 6. duplicates: runs of events of one user and action whose starts and ends are within
    # the tolerance of the one before; in each run the ledger's entry, else the first, is kept.
    # One pass finds the events linked to the one before or after; only those (few) are
    # numbered into runs.
    tol = rules.duplicate_tolerance_s
    by_time = ibis.window(
        group_by=["user", "action"],
        order_by=["start_s", "end_s", "is_new", "operator", "event_id"],
    )

    def linked(
        start_s: ir.IntegerValue,
        end_s: ir.IntegerValue,
        prev_start: ir.IntegerValue,
        prev_end: ir.IntegerValue,
    ) -> ir.BooleanValue:
        # one trip: starts and ends within the tolerance, and the two overlap in time (or
        # are the same instant), so that two short rides a minute apart stay two rides
        return (
            prev_start.notnull()
            & (start_s - prev_start <= tol)
            & ((end_s - prev_end).abs() <= tol)
            & ((start_s < prev_end) | (start_s == prev_start))
        )

    if keep is not None:
        pool = keep(pool, "ledger_pool")
    # the links are found over the columns they need only: a window sorts its whole rows
    keys = pool.select(
        "user", "action", "start_s", "end_s", "is_new", "operator", "event_id", "channel"
    )
    next_start = keys.start_s.lead().over(by_time)
    next_end = keys.end_s.lead().over(by_time)
    keys = keys.mutate(
        linked_prev=linked(
            keys.start_s,
            keys.end_s,
            keys.start_s.lag().over(by_time),
            keys.end_s.lag().over(by_time),
        ).fill_null(False),
        linked_next=linked(next_start, next_end, keys.start_s, keys.end_s).fill_null(False),
    )
    runs = keys.filter(keys.linked_prev | keys.linked_next)
    runs = runs.mutate(
        run=ibis.ifelse(runs.linked_prev, 0, 1)
        .sum()
        .over(
            ibis.window(
                group_by=["user", "action"],
                order_by=["start_s", "end_s", "is_new", "operator", "event_id"],
                rows=(None, 0),
            )
        )
    )
    in_run = ibis.window(
        group_by=["user", "action", "run"], order_by=["is_new", "start_s", "operator", "event_id"]
    )
    runs = runs.mutate(
        run_rank=ibis.row_number().over(in_run),
        kept_operator=runs.operator.first().over(in_run),
        kept_event_id=runs.event_id.first().over(in_run),
        kept_channel=runs.channel.first().over(in_run),
    )
    duplicates = runs.filter((runs.is_new == 1) & (runs.run_rank > 0))

    # 7-10 over the trips that are not duplicates
    trips = pool.filter(pool.is_trip)
    trips = trips.anti_join(
        duplicates,
        (trips.operator == duplicates.operator) & (trips.event_id == duplicates.event_id),
    )
    user_order = ["start_s", "end_s", "is_new", "operator", "event_id"]
    before = ibis.window(group_by="user", order_by=user_order, rows=(None, -1))
    along = ibis.window(group_by="user", order_by=user_order)
    trips = trips.mutate(
        prev_max_end=trips.end_s.max().over(before),
        next_start=trips.start_s.lead().over(along),
        prev_operator=trips.operator.lag().over(along),
        prev_event_id=trips.event_id.lag().over(along),
        prev_end_s=trips.end_s.lag().over(along),
        prev_end_lat=trips.end_lat.lag().over(along),
        prev_end_lon=trips.end_lon.lag().over(along),
        next_operator=trips.operator.lead().over(along),
        next_event_id=trips.event_id.lead().over(along),
        next_is_new=trips.is_new.lead().over(along),
        next_start_lat=trips.start_lat.lead().over(along),
        next_start_lon=trips.start_lon.lead().over(along),
        burst_start=trips.start_s.lag(rules.burst_max_events).over(along),
    )
    overlap_prev = trips.prev_max_end.notnull() & (trips.start_s < trips.prev_max_end)
    overlap_next = trips.next_start.notnull() & (trips.next_start < trips.end_s)
    leg_in = _haversine_km(trips.prev_end_lat, trips.prev_end_lon, trips.start_lat, trips.start_lon)
    leg_out = _haversine_km(
        trips.end_lat, trips.end_lon, trips.next_start_lat, trips.next_start_lon
    )
    reach_per_s = rules.max_transfer_speed_kmh / 3600.0
    gap_in = ibis.greatest(trips.start_s - trips.prev_end_s, 0).cast("float64")
    gap_out = ibis.greatest(trips.next_start - trips.end_s, 0).cast("float64")
    slack = rules.teleport_slack_km
    teleport_in = leg_in.notnull() & (leg_in > slack + reach_per_s * gap_in)
    # of two new trips too far apart the later is held (the earlier places the user); a new
    # trip too far from a later one already in the ledger is held itself
    teleport_out = (
        leg_out.notnull() & (trips.next_is_new == 0) & (leg_out > slack + reach_per_s * gap_out)
    )
    trips = trips.mutate(
        overlap_prev=overlap_prev.fill_null(False),
        overlap_next=overlap_next.fill_null(False),
        teleport_in=teleport_in.fill_null(False),
        teleport_out=teleport_out.fill_null(False),
        leg_in_km=leg_in,
        leg_out_km=leg_out,
        burst=(
            trips.burst_start.notnull() & (trips.start_s - trips.burst_start < rules.burst_window_s)
        ).fill_null(False),
        # start_s counts China time as if it were UTC, so whole days of it are China's days
        day=trips.start_s // 86400,
    )
    same_trip = ibis.window(
        group_by=["user", "action", "start_place", "end_place", "day"],
        order_by=["is_new", "start_s", "operator", "event_id"],
    )
    # ranked among the trips with both places only (the others cannot repeat), and only in
    # the groups with more trips than the rule allows (one hash aggregation finds those few
    # groups; ranking every trip would sort them all)
    placed = trips.filter(trips.start_place.notnull() & trips.end_place.notnull())
    same_keys = ["user", "action", "start_place", "end_place", "day"]
    crowded = (
        placed.group_by(same_keys)
        .aggregate(trips_that_day=ibis._.count())
        .filter(ibis._.trips_that_day > rules.max_identical_trips_per_day)
        .drop("trips_that_day")
    )
    placed = placed.semi_join(crowded, same_keys)
    placed = placed.mutate(identical_rank=ibis.row_number().over(same_trip))
    placed = placed.filter(
        (placed.is_new == 1) & (placed.identical_rank >= rules.max_identical_trips_per_day)
    ).select(
        r_operator=placed.operator, r_event_id=placed.event_id, identical_rank=placed.identical_rank
    )
    trips = trips.filter(trips.is_new == 1)
    trips = trips.left_join(
        placed, (trips.operator == placed.r_operator) & (trips.event_id == placed.r_event_id)
    ).drop("r_operator", "r_event_id")
    trips = trips.mutate(repeated=trips.identical_rank.notnull())
    held_reason = ibis.cases(
        (trips.overlap_prev | trips.overlap_next, "overlap"),
        (trips.teleport_in | trips.teleport_out, "teleport"),
        (trips.repeated, "repeated_trip"),
        (trips.burst, "burst"),
        else_=ibis.null("string"),
    )
    trips = trips.mutate(held_reason=held_reason)
    held_detail = ibis.cases(
        (
            trips.held_reason == "overlap",
            ibis.ifelse(
                trips.overlap_next & ~trips.overlap_prev,
                "overlaps trip "
                + trips.next_operator
                + "/"
                + trips.next_event_id
                + " of the same user",
                ibis.ifelse(
                    trips.prev_end_s > trips.start_s,
                    "overlaps trip "
                    + trips.prev_operator
                    + "/"
                    + trips.prev_event_id
                    + " of the same user",
                    "overlaps an earlier trip of the same user",
                ),
            ),
        ),
        (
            trips.held_reason == "teleport",
            ibis.ifelse(
                trips.teleport_in,
                "starts "
                + _text(trips.leg_in_km.round(0).cast("int64"))
                + " km from where trip "
                + trips.prev_operator
                + "/"
                + trips.prev_event_id
                + " ended "
                + _text(trips.start_s - trips.prev_end_s)
                + " s before",
                "ends "
                + _text(trips.leg_out_km.round(0).cast("int64"))
                + " km from where trip "
                + trips.next_operator
                + "/"
                + trips.next_event_id
                + " starts "
                + _text(trips.next_start - trips.end_s)
                + " s later",
            )
            + " (faster than "
            + str(int(rules.max_transfer_speed_kmh))
            + " km/h)",
        ),
        (
            trips.held_reason == "repeated_trip",
            "trip "
            + _text(trips.identical_rank + 1)
            + " from '"
            + trips.start_place
            + "' to '"
            + trips.end_place
            + "' by "
            + trips.action
            + " that day (at most "
            + str(rules.max_identical_trips_per_day)
            + ")",
        ),
        (
            trips.held_reason == "burst",
            "more than "
            + str(rules.burst_max_events)
            + " trips of this user started within "
            + str(rules.burst_window_s)
            + " s",
        ),
        else_=ibis.null("string"),
    )
    trips = trips.mutate(held_detail=held_detail)
    verdict_dup = duplicates.select(
        v_operator=duplicates.operator,
        v_event_id=duplicates.event_id,
        v_reason=ibis.literal("duplicate"),
        v_detail="the same trip as "
        + duplicates.kept_operator
        + "/"
        + duplicates.kept_event_id
        + " (channel "
        + duplicates.kept_channel
        + "), within "
        + str(tol)
        + " s",
    )
    verdict_held = trips.filter((trips.is_new == 1) & trips.held_reason.notnull()).select(
        v_operator=trips.operator,
        v_event_id=trips.event_id,
        v_reason=trips.held_reason,
        v_detail=trips.held_detail,
    )
    verdicts = verdict_dup.union(verdict_held)
    if keep is not None:
        verdicts = keep(verdicts, "ledger_verdicts")
    judged = staged.left_join(
        verdicts,
        (staged.operator == verdicts.v_operator) & (staged.event_id == verdicts.v_event_id),
    )
    reason = judged.first_reason.coalesce(judged.v_reason)
    judged = judged.mutate(
        reason=reason,
        detail=judged.first_detail.coalesce(judged.v_detail),
        status=ibis.cases(
            (reason.isnull(), ACCEPTED),
            (reason.isin([r for r, s in REASONS.items() if s == HELD]), HELD),
            else_=REJECTED,
        ),
    )
    raw_mg = (judged.units * judged.m_reduction_gco2e_per_unit * 1000.0).round(0).cast("int64")
    judged = judged.mutate(
        raw_mgco2e=ibis.ifelse(
            judged.m_methodology_id.notnull() & judged.units.notnull(), raw_mg, 0
        ),
        month=judged.start_time.year() * 100 + judged.start_time.month(),
    )

    # caps: per user and methodology, by day, then by month, counting the ledger's credits;
    # worked out for the events of a capped methodology only (the others keep their credit)
    judged = judged.mutate(countable=ibis.ifelse(judged.status == ACCEPTED, judged.raw_mgco2e, 0))
    capped = judged.filter(
        judged.m_daily_cap_mgco2e.notnull() | judged.m_monthly_cap_mgco2e.notnull()
    ).select(
        "operator",
        "event_id",
        "user",
        "m_methodology_id",
        "start_time",
        "start_day",
        "month",
        "countable",
        "m_daily_cap_mgco2e",
        "m_monthly_cap_mgco2e",
    )
    capped_users = capped.select(u_user=capped.user).distinct()
    accepted_before = credits.filter(
        (credits.status == ACCEPTED) & (credits.start_time >= capped.start_time.min().truncate("M"))
    )
    accepted_before = accepted_before.semi_join(
        capped_users, accepted_before.user == capped_users.u_user
    )
    day_before = accepted_before.group_by(
        d_user=accepted_before.user,
        d_methodology_id=accepted_before.methodology_id,
        d_day=accepted_before.start_time.date(),
    ).aggregate(d_mgco2e=accepted_before.daily_mgco2e.sum())
    month_before = accepted_before.group_by(
        mo_user=accepted_before.user,
        mo_methodology_id=accepted_before.methodology_id,
        mo_month=accepted_before.start_time.year() * 100 + accepted_before.start_time.month(),
    ).aggregate(mo_mgco2e=accepted_before.credited_mgco2e.sum())
    capped = capped.left_join(
        day_before,
        (capped.user == day_before.d_user)
        & (capped.m_methodology_id == day_before.d_methodology_id)
        & (capped.start_day == day_before.d_day),
    )
    capped = capped.left_join(
        month_before,
        (capped.user == month_before.mo_user)
        & (capped.m_methodology_id == month_before.mo_methodology_id)
        & (capped.month == month_before.mo_month),
    )
    day_window = ibis.window(
        group_by=["user", "m_methodology_id", "start_day"],
        order_by=["start_time", "operator", "event_id"],
        rows=(None, 0),
    )
    running_day = capped.countable.sum().over(day_window).cast("int64")
    before_day = capped.d_mgco2e.fill_null(0).cast("int64") + running_day - capped.countable
    capped = capped.mutate(
        daily_mgco2e=_capped(before_day, capped.countable, capped.m_daily_cap_mgco2e).cast("int64")
    )
    month_window = ibis.window(
        group_by=["user", "m_methodology_id", "month"],
        order_by=["start_time", "operator", "event_id"],
        rows=(None, 0),
    )
    running_month = capped.daily_mgco2e.sum().over(month_window).cast("int64")
    before_month = capped.mo_mgco2e.fill_null(0).cast("int64") + running_month - capped.daily_mgco2e
    capped = capped.select(
        c_operator=capped.operator,
        c_event_id=capped.event_id,
        c_daily_mgco2e=capped.daily_mgco2e,
        c_credited_mgco2e=_capped(
            before_month, capped.daily_mgco2e, capped.m_monthly_cap_mgco2e
        ).cast("int64"),
    )
    judged = judged.left_join(
        capped, (judged.operator == capped.c_operator) & (judged.event_id == capped.c_event_id)
    )
    judged = judged.mutate(
        daily_mgco2e=judged.c_daily_mgco2e.fill_null(judged.countable).cast("int64"),
        credited_mgco2e=judged.c_credited_mgco2e.fill_null(judged.countable).cast("int64"),
    )
    capped_reason = ibis.cases(
        (judged.status != ACCEPTED, judged.reason),
        (judged.daily_mgco2e < judged.raw_mgco2e, "daily_cap"),
        (judged.credited_mgco2e < judged.daily_mgco2e, "monthly_cap"),
        else_=ibis.null("string"),
    )
    capped_detail = ibis.cases(
        (judged.status != ACCEPTED, judged.detail),
        (
            judged.daily_mgco2e < judged.raw_mgco2e,
            "the daily cap of "
            + _text(judged.m_daily_cap_mgco2e)
            + " mgCO2e of '"
            + judged.m_methodology_id
            + "' left "
            + _text(judged.daily_mgco2e)
            + " of "
            + _text(judged.raw_mgco2e)
            + " mgCO2e",
        ),
        (
            judged.credited_mgco2e < judged.daily_mgco2e,
            "the monthly cap of "
            + _text(judged.m_monthly_cap_mgco2e)
            + " mgCO2e of '"
            + judged.m_methodology_id
            + "' left "
            + _text(judged.credited_mgco2e)
            + " of "
            + _text(judged.daily_mgco2e)
            + " mgCO2e",
        ),
        else_=ibis.null("string"),
    )
    judged = judged.mutate(reason=capped_reason, detail=capped_detail)
    return judged.select(
        batch=ibis.literal(batch, "int64"),
        received_at=ibis.literal(received_at, "timestamp"),
        entry_kind=ibis.literal("credit"),
        operator=judged.operator,
        event_id=judged.event_id,
        user=judged.user,
        action=judged.action,
        channel=judged.channel,
        city=judged.city,
        province=judged.province,
        start_time=judged.start_time,
        end_time=judged.end_time,
        start_place=judged.start_place,
        end_place=judged.end_place,
        distance_km=judged.distance_km,
        quantity=judged.quantity,
        start_lat=judged.start_lat,
        start_lon=judged.start_lon,
        end_lat=judged.end_lat,
        end_lon=judged.end_lon,
        content_hash=judged.content_hash,
        batch_file=judged.batch_file,
        batch_line=judged.batch_line,
        methodology_id=judged.m_methodology_id,
        methodology_version=judged.m_version,
        scenario=judged.m_scenario,
        unit=judged.m_unit,
        units=ibis.ifelse(judged.m_methodology_id.notnull(), judged.units, ibis.null("float64")),
        reduction_gco2e_per_unit=judged.m_reduction_gco2e_per_unit,
        raw_mgco2e=judged.raw_mgco2e.cast("int64"),
        daily_mgco2e=ibis.ifelse(judged.status == ACCEPTED, judged.daily_mgco2e, 0).cast("int64"),
        credited_mgco2e=ibis.ifelse(judged.status == ACCEPTED, judged.credited_mgco2e, 0).cast(
            "int64"
        ),
        status=judged.status,
        reason=judged.reason,
        detail=judged.detail,
        refers_to=ibis.null("string"),
    )
