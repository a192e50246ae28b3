"""Series, occurrences and meetings: plain data in, objects out."""

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..exceptions import InvalidData, NotFound
from ..extensions import db
from ..org.models import Business, Unit
from .calendar_days import Adjustment, AdjustmentKind, HolidayCalendar, apply_adjustments, library_days_off
from .models import DEFAULT_ZONE, CalendarAdjustment, Meeting, OccurrenceOverride, Series
from .recurrence import (
    HolidayPolicy,
    Occurrence,
    Override,
    RuleError,
    RuleProblem,
    Status,
    expand,
    normalize_rule,
    parse_rule,
)

MIN_DURATION, MAX_DURATION = 5, 12 * 60
MAX_WINDOW = timedelta(days=366 * 5)
KINDS = ("dialogue", "thematic", "visit")

RULE_MESSAGES = {
    RuleProblem.EMPTY: _l("Enter a recurrence rule."),
    RuleProblem.LINE_BREAK: _l("A recurrence rule is a single line: remove the line breaks."),
    RuleProblem.NOT_A_RULE_PART: _l("The rule may only contain RRULE parts (FREQ, INTERVAL, BYDAY, …)."),
    RuleProblem.TOO_FREQUENT: _l("A meeting can repeat at most once a day."),
    RuleProblem.SYNTAX: _l("This recurrence rule cannot be read; check it against RFC 5545."),
    RuleProblem.NO_OCCURRENCE: _l("This rule never produces a meeting."),
}


def today_in(zone: ZoneInfo) -> date:
    return datetime.now(zone).date()


def zone_named(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidData.on("timezone", _l("Unknown time zone.")) from None


def checked_rule(rule: str, first_start: datetime, zone: ZoneInfo):
    """The parsed rule, or InvalidData on `rrule` saying why it is refused."""
    try:
        return parse_rule(rule, first_start, zone)
    except RuleError as error:
        raise InvalidData.on("rrule", RULE_MESSAGES[error.problem]) from None


def _check_duration(minutes: int) -> None:
    if not MIN_DURATION <= minutes <= MAX_DURATION:
        raise InvalidData.on("duration_minutes",
                             _l("A meeting lasts from 5 minutes to 12 hours."))


# -- Holidays ------------------------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _library_year(year: int) -> tuple[tuple[tuple[date, str], ...], frozenset[date]]:
    days_off, working = library_days_off([year])
    return tuple(sorted(days_off.items())), frozenset(working)


def holiday_calendar(years) -> HolidayCalendar:
    """The calendar for `years`: the library's days (cached per year) with the admin's adjustments."""
    years = sorted(set(years))
    adjustments = db.session.execute(
        select(CalendarAdjustment).where(
            CalendarAdjustment.day >= date(years[0], 1, 1), CalendarAdjustment.day <= date(years[-1], 12, 31)
        )
    ).scalars()
    days_off: dict[date, str] = {}
    working: set[date] = set()
    for year in years:
        year_days, year_working = _library_year(year)
        days_off.update(year_days)
        working |= year_working
    return apply_adjustments(HolidayCalendar(days_off, frozenset(working)),
                             [Adjustment(a.day, AdjustmentKind(a.kind), a.name) for a in adjustments])


# -- Series ---------------------------------------------------------------------------------------------------

def create_series(*, title: str, unit: Unit, location: str, rule: str, first_start: datetime, duration_minutes: int,
                  timezone: str | None = None, holiday_policy: str = "keep", kind: str = "dialogue",
                  description: str = "", invitees: list[Business] = ()) -> Series:
    """A new series; `first_start` is naive local wall time in `timezone`. Raises InvalidData."""
    zone = zone_named(timezone)
    if first_start.tzinfo is not None:
        first_start = first_start.astimezone(zone).replace(tzinfo=None)
    first_start = first_start.replace(second=0, microsecond=0)
    checked_rule(rule, first_start, zone)
    _check_duration(duration_minutes)
    if not title.strip():
        raise InvalidData.on("title", _l("Enter a title."))
    if not location.strip():
        raise InvalidData.on("location", _l("Enter a place."))
    series = Series(
        title=title.strip(), unit=unit, location=location.strip(), rule=normalize_rule(rule),
        first_start=first_start, timezone=zone.key, duration_minutes=duration_minutes,
        holiday_policy=HolidayPolicy(holiday_policy).value, kind=kind, description=description.strip(),
        invitees=list(invitees),
    )
    db.session.add(series)
    return series


def series_zone(series: Series) -> ZoneInfo:
    return ZoneInfo(series.timezone)


def series_overrides(series: Series) -> dict[date, Override]:
    return {
        o.occurrence: Override(o.occurrence, o.start, o.location, o.cancelled) for o in series.overrides
    }


def occurrences(series: Series, window_start: datetime, window_end: datetime,
                calendar: HolidayCalendar | None = None) -> list[Occurrence]:
    """The series' occurrences starting in [window_start, window_end), holidays and overrides applied."""
    if window_end - window_start > MAX_WINDOW:
        raise InvalidData.on("to", _l("Ask for at most 5 years at a time."))
    if window_end <= window_start:
        raise InvalidData.on("to", _l("The end of the period must come after its start."))
    zone = series_zone(series)
    rule = parse_rule(series.rule, series.first_start, zone)
    if calendar is None:
        years = range(window_start.year - 1, window_end.year + 2)
        calendar = holiday_calendar(years)
    return expand(rule, zone, timedelta(minutes=series.duration_minutes), calendar,
                  HolidayPolicy(series.holiday_policy), series_overrides(series), window_start, window_end)


def occurrence_of(series: Series, day: date) -> Occurrence:
    """The occurrence the rule produced on `day`, wherever it is now; NotFound if the rule has none then."""
    zone = series_zone(series)
    rule = parse_rule(series.rule, series.first_start, zone)
    found = rule.between(datetime.combine(day, time.min), datetime.combine(day, time.max), inc=True)
    if not found:
        raise NotFound(_l("This series has no occurrence on that date."))
    override = next((o for o in series.overrides if o.occurrence == day), None)
    # Widen the window to wherever this occurrence may be now: shifted off a holiday, or moved.
    anchor = found[0].replace(tzinfo=zone)
    points = [anchor] + ([override.start] if override is not None and override.start else [])
    window_start = min(points) - timedelta(days=31)
    window_end = max(points) + timedelta(days=31)
    for occurrence in occurrences(series, window_start, window_end):
        if occurrence.occurrence == day:
            return occurrence
    raise NotFound(_l("This series has no occurrence on that date."))


def change_occurrence(series: Series, day: date, *, start: datetime | None = None, location: str | None = None,
                      status: str | None = None) -> Occurrence:
    """Move, relocate, cancel or restore one occurrence without touching the others."""
    occurrence_of(series, day)  # NotFound for a date the rule never produced
    override = next((o for o in series.overrides if o.occurrence == day), None)
    if override is None:
        override = OccurrenceOverride(series=series, occurrence=day)
        db.session.add(override)
    if start is not None:
        if start.tzinfo is None:
            raise InvalidData.on("start", _l("Give the new start with its UTC offset."))
        override.start = start
    if location is not None:
        if not location.strip():
            raise InvalidData.on("location", _l("Enter a place."))
        override.location = location.strip()
    if status is not None:
        if status not in ("cancelled", "scheduled"):
            raise InvalidData.on("status", _l("The status can be set to cancelled or scheduled."))
        # "scheduled" restores: it undoes a cancellation, or holds a date the holiday policy would skip.
        override.cancelled = status == "cancelled"
    override.sequence = (override.sequence or 0) + 1
    db.session.flush()
    db.session.expire(series, ["overrides"])
    occurrence = occurrence_of(series, day)
    _sync_meeting(series, occurrence)
    return occurrence


def _sync_meeting(series: Series, occurrence: Occurrence) -> None:
    meeting = db.session.execute(
        select(Meeting).where(Meeting.series_id == series.id, Meeting.occurrence == occurrence.occurrence)
    ).scalar_one_or_none()
    if meeting is not None:
        meeting.start, meeting.end = occurrence.start, occurrence.end
        meeting.location = occurrence.location or series.location
        meeting.status = occurrence.status.value


def meeting_for(series: Series, day: date) -> tuple[Meeting, bool]:
    """The meeting of this occurrence, made the first time it is needed; (meeting, created)."""
    existing = db.session.execute(
        select(Meeting).where(Meeting.series_id == series.id, Meeting.occurrence == day)
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    occurrence = occurrence_of(series, day)
    meeting = Meeting(
        series=series, occurrence=day, title=series.title, kind=series.kind, unit=series.unit,
        start=occurrence.start, end=occurrence.end, location=occurrence.location or series.location,
        status=occurrence.status.value,
    )
    db.session.add(meeting)
    return meeting, True


def create_meeting(*, title: str, unit: Unit, start: datetime, duration_minutes: int, location: str,
                   kind: str = "thematic") -> Meeting:
    """A one-off meeting (a thematic session, a visit to a company's premises)."""
    if start.tzinfo is None:
        raise InvalidData.on("start", _l("Give the start with its UTC offset."))
    _check_duration(duration_minutes)
    if kind not in KINDS:
        raise InvalidData.on("kind", _l("Unknown kind of meeting."))
    if not title.strip():
        raise InvalidData.on("title", _l("Enter a title."))
    if not location.strip():
        raise InvalidData.on("location", _l("Enter a place."))
    meeting = Meeting(title=title.strip(), unit=unit, start=start, end=start + timedelta(minutes=duration_minutes),
                      location=location.strip(), kind=kind, status=Status.SCHEDULED.value)
    db.session.add(meeting)
    return meeting
