"""Series, occurrences and meetings: plain data in, objects out."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from .. import tasks
from ..db import utcnow
from ..exceptions import InvalidData, NotFound
from ..extensions import db, has_rows
from ..officetime import holiday_calendar, today_in, zone_named
from ..officetime.days import AdjustmentKind, HolidayCalendar
from ..officetime.models import CalendarAdjustment
from ..org.models import Business, Unit
from ..scope import is_business, unit_ids_below, visible
from ..signals import businesses_invited, invitations_ended, meeting_changed, occurrence_changed, series_invitations_due
from .models import Meeting, OccurrenceOverride, PendingAnnouncement, Series
from .recurrence import (
    FIRST_YEAR,
    LAST_YEAR,
    SHIFT_MARGIN,
    HolidayPolicy,
    Occurrence,
    Override,
    Rule,
    RuleError,
    RuleProblem,
    Status,
    expand,
    normalize_rule,
    parse_rule,
    rule_for,
)

MIN_DURATION, MAX_DURATION = 5, 12 * 60
KINDS = ("dialogue", "thematic", "visit")

RULE_MESSAGES = {
    RuleProblem.EMPTY: _l("Enter a recurrence rule."),
    RuleProblem.LINE_BREAK: _l("A recurrence rule is a single line: remove the line breaks."),
    RuleProblem.NOT_A_RULE_PART: _l("The rule may only contain RRULE parts (FREQ, INTERVAL, BYDAY, …)."),
    RuleProblem.TOO_FREQUENT: _l("A meeting can repeat at most once a day."),
    RuleProblem.SYNTAX: _l("This recurrence rule cannot be read; check it against RFC 5545."),
    RuleProblem.NO_OCCURRENCE: _l("This rule never produces a meeting."),
    RuleProblem.OUT_OF_RANGE: _l("Meetings can be planned from the year 2000 to 2100."),
}


def checked_rule(rule: str, first_start: datetime, zone: ZoneInfo):
    """The parsed rule, or InvalidData on `rrule` saying why it is refused."""
    try:
        return parse_rule(rule, first_start, zone)
    except RuleError as error:
        raise InvalidData.on("rrule", RULE_MESSAGES[error.problem]) from None


def check_year(moment: datetime | date, field: str) -> None:
    """Refuse dates a meeting cannot be planned on (and that would overflow date arithmetic)."""
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise InvalidData.on(field, RULE_MESSAGES[RuleProblem.OUT_OF_RANGE])


def _check_duration(minutes: int) -> None:
    if not MIN_DURATION <= minutes <= MAX_DURATION:
        raise InvalidData.on("duration_minutes",
                             _l("A meeting lasts from 5 minutes to 12 hours."))


# -- Holidays ------------------------------------------------------------------------------------------------

def set_adjustment(day: date, kind: AdjustmentKind, name: str = "", notify: bool = True) -> CalendarAdjustment:
    """Record what the government announced for `day`, replacing what was recorded for it before.

    With `notify`, the invited hear of every coming meeting this moves, skips or brings back."""
    if kind is AdjustmentKind.WORKING_DAY and day.weekday() < 5:
        raise InvalidData.on("day", _l("Only a Saturday or Sunday can be made a working day."))
    if kind is AdjustmentKind.DAY_OFF and not name.strip():
        raise InvalidData.on("name", _l("Name the day off, e.g. “Nghỉ bù Quốc khánh”."))
    before = _schedule_around(day)
    adjustment = db.session.execute(
        select(CalendarAdjustment).where(CalendarAdjustment.day == day)
    ).scalar_one_or_none() or CalendarAdjustment(day=day)
    adjustment.kind, adjustment.name = kind.value, name.strip()
    db.session.add(adjustment)
    holidays_changed(day, before, notify)
    return adjustment


def remove_adjustment(adjustment: CalendarAdjustment, notify: bool = True) -> None:
    before = _schedule_around(adjustment.day)
    db.session.delete(adjustment)
    holidays_changed(adjustment.day, before, notify)


# A changed day moves only the occurrences whose rule date lies within a holiday shift of it (SHIFT_MARGIN);
# the schedules compared before and after reach further, so that no such occurrence falls outside them.
HOLIDAY_REACH = 2 * SHIFT_MARGIN

Schedule = tuple[list[Series], dict[tuple[int, date], Occurrence]]


def _schedule_around(day: date) -> Schedule:
    """Every series' occurrences near `day` under the holiday calendar as it stands, by (series id, rule date)."""
    series_list = list(db.session.execute(
        select(Series).options(selectinload(Series.overrides)).order_by(Series.id)).scalars())
    middle = datetime.combine(day, time(12), tzinfo=UTC)
    calendar = holiday_calendar(range(day.year - 1, day.year + 2))
    return series_list, {
        (series.id, o.occurrence): o
        for series in series_list
        for o in expand_series(series, middle - HOLIDAY_REACH, middle + HOLIDAY_REACH, calendar)
    }


def holidays_changed(day: date, before: Schedule, notify: bool = True) -> int:
    """Days off move meetings: every series' revision grows, so calendar feeds are rebuilt; the coming
    occurrences that now fall otherwise than `before` are brought to their meetings and, with `notify`, wait to
    be announced (announce_in_background, once the change is committed). Returns how many occurrences
    changed."""
    db.session.flush()
    db.session.execute(update(Series).values(revision=Series.revision + 1))
    series_list, old = before
    _, new = _schedule_around(day)
    now = utcnow()
    changed: dict[int, list[date]] = {}
    for series_id, day_of_rule in sorted(old.keys() | new.keys()):
        was, is_now = old.get((series_id, day_of_rule)), new.get((series_id, day_of_rule))
        if _as_announced(was) == _as_announced(is_now):
            continue
        if min(o.start for o in (was, is_now) if o is not None) <= now:
            # The past is not rewritten, in anyone's calendar nor in the meetings: neither a meeting held (or
            # begun) moved by a day off declared after it, nor one moved back into hours already gone.
            continue
        changed.setdefault(series_id, []).append(day_of_rule)
    by_id = {series.id: series for series in series_list}
    found = [(by_id[series_id], new.get((series_id, day_of_rule)) or occurrence_of(by_id[series_id], day_of_rule))
             for series_id, days in changed.items() for day_of_rule in days]
    for series_id in changed:
        by_id[series_id].sequence += 1  # every update sent for its occurrences outranks what calendars hold
    _sync_meetings(found)
    if notify:
        waiting = set(db.session.execute(select(PendingAnnouncement.series_id, PendingAnnouncement.occurrence)).all())
        db.session.add_all(PendingAnnouncement(series=series, occurrence=occurrence.occurrence)
                           for series, occurrence in found if (series.id, occurrence.occurrence) not in waiting)
    return len(found)


ANNOUNCE_TASK = "scheduling.announce"


def announce_in_background() -> None:
    """Hand what a day off changed to the worker, once the change is committed: writing the mail of a day off
    that moves hundreds of meetings takes longer than a request should."""
    tasks.enqueue(ANNOUNCE_TASK)


def announce_pending(batch: int = 50) -> int:
    """Announce the occurrences day-off changes left pending, `batch` per transaction (each deleted in the
    transaction that writes its mail: once each); how many there were."""
    done = 0
    while rows := db.session.execute(
            select(PendingAnnouncement).order_by(PendingAnnouncement.id).limit(batch)
            .with_for_update(skip_locked=True)).scalars().all():
        keys = list(dict.fromkeys((row.series, row.occurrence) for row in rows))
        # The mail is written in one flush at the end, not one flush per query.
        with db.session.no_autoflush:
            for series, day in keys:
                try:
                    occurrence = occurrence_of(series, day)
                except NotFound:
                    occurrence = None  # the series' rule changed since, and that edit was announced
                if occurrence is not None:
                    _announce_occurrence(series, occurrence)
                # With the rows two admins' changes at the same moment wrote for the same occurrence.
                db.session.execute(delete(PendingAnnouncement).where(
                    PendingAnnouncement.series_id == series.id, PendingAnnouncement.occurrence == day),
                    execution_options={"synchronize_session": False})
        db.session.commit()
        done += len(keys)
    return done


def announce_in_worker(app) -> None:
    announce_pending()


def _as_announced(occurrence: Occurrence | None):
    """What a calendar holds of an occurrence: when, where, and whether it takes place."""
    if occurrence is None:
        return None
    return occurrence.start, occurrence.location, occurrence.status is Status.CANCELLED


# -- Series ---------------------------------------------------------------------------------------------------

def create_series(*, title: str, unit: Unit, location: str, rule: str, first_start: datetime, duration_minutes: int,
                  timezone: str | None = None, holiday_policy: str = "keep", kind: str = "dialogue",
                  description: str = "", invitees: list[Business] = (), notify: bool = True) -> Series:
    """A new series; `first_start` is naive local wall time in `timezone`. Raises InvalidData.

    With `notify`, every invited contact with an email gets the invitation (through the outbox)."""
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
    if notify and series.invitees:
        db.session.flush()
        businesses_invited.send(series, business_ids=[b.id for b in series.invitees])
    return series


def series_zone(series: Series) -> ZoneInfo:
    return ZoneInfo(series.timezone)


def series_overrides(series: Series) -> dict[date, Override]:
    return {
        o.occurrence: Override(o.occurrence, o.start, o.location, o.cancelled) for o in series.overrides
    }


def occurrences(series: Series, window_start: datetime, window_end: datetime,
                calendar: HolidayCalendar | None = None) -> list[Occurrence]:
    """The series' occurrences starting in [window_start, window_end), holidays and overrides applied.

    A window longer than 5 years, or outside the years meetings are planned in, is refused (InvalidData).
    """
    if window_end > window_start + relativedelta(years=5):
        raise InvalidData.on("to", _l("Ask for at most 5 years at a time."))
    if window_end <= window_start:
        raise InvalidData.on("to", _l("The end of the period must come after its start."))
    check_year(window_start, "from")
    check_year(window_end - timedelta(microseconds=1), "to")
    return expand_series(series, window_start, window_end, calendar)


def expand_series(series: Series, window_start: datetime, window_end: datetime,
                  calendar: HolidayCalendar | None = None) -> list[Occurrence]:
    """occurrences() without its limits on the window: for callers that choose the window themselves
    (a feed's whole history, one occurrence wherever it was moved)."""
    zone = series_zone(series)
    rule = rule_for(series.rule, series.first_start, zone.key)
    if calendar is None:
        years = range(window_start.year - 1, window_end.year + 2)
        calendar = holiday_calendar(years)
    return expand(rule, zone, timedelta(minutes=series.duration_minutes), calendar,
                  HolidayPolicy(series.holiday_policy), series_overrides(series), window_start, window_end)


def has_occurrences_from(series: Series, year: int) -> bool:
    """Whether the rule still makes meetings in `year` or later (a series with a COUNT or an UNTIL ends)."""
    if year > LAST_YEAR:
        return False
    rule = rule_for(series.rule, series.first_start, series_zone(series).key)
    return rule.after(datetime(year, 1, 1), inc=True) is not None


def next_occurrence(series: Series) -> Occurrence | None:
    """The series' next occurrence still to be held (within 400 days), or None."""
    now = utcnow()
    return next((o for o in expand_series(series, now, now + timedelta(days=400)) if o.status != Status.CANCELLED),
                None)


def occurrence_of(series: Series, day: date) -> Occurrence:
    """The occurrence the rule produced on `day`, wherever it is now; NotFound if the rule has none then."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:  # no series reaches it; walking the rule there takes seconds
        raise NotFound(_l("This series has no occurrence on that date."))
    zone = series_zone(series)
    rule = rule_for(series.rule, series.first_start, zone.key)
    found = rule.between(datetime.combine(day, time.min), datetime.combine(day, time.max), inc=True)
    if not found:
        raise NotFound(_l("This series has no occurrence on that date."))
    override = next((o for o in series.overrides if o.occurrence == day), None)
    # Look where this occurrence may be now: near its rule date (perhaps shifted off a holiday), or
    # wherever a person moved it.
    around = [found[0].replace(tzinfo=zone)] + ([override.start] if override is not None and override.start else [])
    for point in around:
        for occurrence in expand_series(series, point - timedelta(days=31), point + timedelta(days=31)):
            if occurrence.occurrence == day:
                return occurrence
    raise NotFound(_l("This series has no occurrence on that date."))


def change_occurrence(series: Series, day: date, *, start: datetime | None = None, location: str | None = None,
                      status: str | None = None, notify: bool = True, past_allowed: bool = False) -> Occurrence:
    """Move, relocate, cancel or restore one occurrence without touching the others. A meeting that has begun
    is history (its attendance, minutes and issues hang on it), and nothing moves into the past: both refused
    unless `past_allowed` (the demo writing a past year)."""
    current = occurrence_of(series, day)  # NotFound for a date the rule never produced
    if start is None and location is None and status is None:
        return current
    if not past_allowed:
        now = utcnow()
        if current.start <= now:
            raise InvalidData(_l("This meeting has already taken place: it can no longer be moved or cancelled."))
        if start is not None and start.tzinfo is not None and start <= now:
            raise InvalidData.on("start", _l("A meeting cannot be moved into the past: choose a later time."))
    override = next((o for o in series.overrides if o.occurrence == day), None)
    if override is None:
        override = OccurrenceOverride(series=series, occurrence=day)
        db.session.add(override)
    if start is not None:
        if start.tzinfo is None:
            raise InvalidData.on("start", _l("Give the new start with its UTC offset."))
        check_year(start, "start")
        override.start = start
    if location is not None:
        if not location.strip():
            raise InvalidData.on("location", _l("Enter a place."))
        override.location = location.strip()
    if status is not None:
        if status not in ("cancelled", "scheduled"):
            raise InvalidData.on("status", _l("The status can be set to cancelled or scheduled."))
        if status == "cancelled":
            override.cancelled = True
        else:
            # Restoring a cancelled meeting gives it back to the rule and the holiday policy; restoring one
            # the policy itself skipped or shifted holds it on its date, holiday or not.
            override.cancelled = None if override.cancelled else False
    override.sequence = (override.sequence or 0) + 1
    db.session.flush()
    db.session.expire(series, ["overrides"])
    occurrence = occurrence_of(series, day)
    _sync_meeting(series, occurrence)
    if notify and _as_announced(occurrence) != _as_announced(current):
        _announce_occurrence(series, occurrence)
    return occurrence


def _announce_occurrence(series: Series, occurrence: Occurrence) -> None:
    """The invited learn of one occurrence's new state: calendar mails the update, notifications tell people."""
    occurrence_changed.send(series, occurrence=occurrence.occurrence)
    meeting_changed.send(series, occurrence=occurrence.occurrence, cancelled=occurrence.status is Status.CANCELLED)


def _sync_meeting(series: Series, occurrence: Occurrence) -> None:
    _sync_meetings([(series, occurrence)])


def _sync_meetings(found: list[tuple[Series, Occurrence]]) -> None:
    """The meetings these occurrences have become take their new time, place and status (one query). A
    meeting that has begun is history and keeps what it was (its attendance, minutes and issues hang on it),
    whatever a series edit or a day off later says of its date."""
    if not found:
        return
    wanted = {(series.id, occurrence.occurrence): (series, occurrence) for series, occurrence in found}
    for meeting in db.session.execute(select(Meeting).where(
            tuple_(Meeting.series_id, Meeting.occurrence).in_(list(wanted)), Meeting.start > utcnow())).scalars():
        series, occurrence = wanted[(meeting.series_id, meeting.occurrence)]
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
    try:
        with db.session.begin_nested():  # someone may make the same meeting at the same moment
            db.session.add(meeting)
    except IntegrityError:
        existing = db.session.execute(
            select(Meeting).where(Meeting.series_id == series.id, Meeting.occurrence == day)
        ).scalar_one()
        return existing, False
    return meeting, True


def create_meeting(*, title: str, unit: Unit, start: datetime, duration_minutes: int, location: str,
                   kind: str = "thematic", description: str = "") -> Meeting:
    """A one-off meeting (a thematic session, a visit to a company's premises)."""
    if start.tzinfo is None:
        raise InvalidData.on("start", _l("Give the start with its UTC offset."))
    check_year(start, "start")
    _check_duration(duration_minutes)
    if kind not in KINDS:
        raise InvalidData.on("kind", _l("Unknown kind of meeting."))
    if not title.strip():
        raise InvalidData.on("title", _l("Enter a title."))
    if not location.strip():
        raise InvalidData.on("location", _l("Enter a place."))
    meeting = Meeting(title=title.strip(), unit=unit, start=start, end=start + timedelta(minutes=duration_minutes),
                      location=location.strip(), kind=kind, status=Status.SCHEDULED.value,
                      description=(description or "").strip())
    db.session.add(meeting)
    return meeting


SERIES_FIELDS = ("title", "kind", "unit", "location", "description", "rule", "first_start", "duration_minutes",
                 "holiday_policy", "invitees")


def _checked_changes(series: Series, changes: dict) -> dict:
    zone = series_zone(series)
    first_start = changes.get("first_start", series.first_start)
    rule = changes.get("rule", series.rule)
    checked_rule(rule, first_start, zone)
    _check_duration(changes.get("duration_minutes", series.duration_minutes))
    for field, message in (("title", _l("Enter a title.")), ("location", _l("Enter a place."))):
        if field in changes and not str(changes[field]).strip():
            raise InvalidData.on(field, message)
    if "rule" in changes:
        changes["rule"] = normalize_rule(changes["rule"])
    if "holiday_policy" in changes:
        changes["holiday_policy"] = HolidayPolicy(changes["holiday_policy"]).value
    return changes


# Changes that move meetings in people's calendars: the invited are sent the updated invitation.
NOTICEABLE = ("title", "location", "rule", "first_start", "duration_minutes", "holiday_policy")


def update_series(series: Series, notify: bool = True, **changes) -> Series:
    """Change the whole series, past occurrences included; overrides of single dates stay.

    With `notify`, the invited get the updated invitation when time or place changed, and newly invited
    businesses get theirs."""
    unknown = set(changes) - set(SERIES_FIELDS)
    if unknown:
        raise ValueError(f"not series fields: {unknown}")
    changes = _checked_changes(series, changes)
    before_invitees = set(series.invitees)
    noticeable = any(field in changes and changes[field] != getattr(series, field) for field in NOTICEABLE)
    for field, value in changes.items():
        setattr(series, field, list(value) if field == "invitees" else value)
    if noticeable:
        series.sequence += 1
    resync_meetings(series)
    ended = [b.id for b in before_invitees - set(series.invitees)]
    if ended:
        invitations_ended.send(series, business_ids=ended)
    if notify:
        added = [b for b in series.invitees if b not in before_invitees]
        if noticeable:  # the newly invited get their first invitation below, not an update
            series_invitations_due.send(series, contacts=[c for b in series.invitees if b in before_invitees
                                                          for c in b.contacts])
            meeting_changed.send(series, occurrence=None, cancelled=False)
        if added:
            businesses_invited.send(series, business_ids=[b.id for b in added])
    return series


def invite_to_series(series: Series, business: Business, notify: bool = True) -> bool:
    """Invite one more business to every meeting of the series; False when it is invited already.
    With `notify`, its contacts get the invitation (and its users a notification)."""
    if business in series.invitees:
        return False
    series.invitees.append(business)
    db.session.flush()
    if notify:
        businesses_invited.send(series, business_ids=[business.id])
    return True


def uninvite_from_series(series: Series, business: Business) -> bool:
    """End a business's invitation to the series: its contacts are sent a CANCEL, its key to the series' feed
    closes. False when it was not invited."""
    if business not in series.invitees:
        return False
    series.invitees.remove(business)
    db.session.flush()
    invitations_ended.send(series, business_ids=[business.id])
    return True


def resync_meetings(series: Series) -> None:
    """Bring the series' meetings in line with its occurrences after the series changed.

    A meeting whose date the rule no longer produces keeps what it had (attendance and minutes hang on it)
    and is marked cancelled: it did not happen as part of the series.
    """
    db.session.flush()
    db.session.expire(series, ["overrides"])
    meetings = db.session.execute(select(Meeting).where(Meeting.series_id == series.id,
                                                        Meeting.start > utcnow())).scalars().all()
    for meeting in meetings:  # a meeting that has begun keeps what it was: history
        meeting.title, meeting.kind = series.title, series.kind
        try:
            _sync_meeting(series, occurrence_of(series, meeting.occurrence))
        except NotFound:
            meeting.status = Status.CANCELLED.value


def split_series(series: Series, day: date, notify: bool = True, **changes) -> Series:
    """"This and all following": the series ends before `day`, a new one carries the changes from `day`.

    The past keeps its rule, place and overrides; overrides and meetings from `day` on go to the new series,
    which starts on `day` at the series' time unless `changes` say otherwise. Returns the new series.

    With `notify`, the invited get the ended series (its rule cut, so calendars drop the dates that follow)
    and the new one's invitation."""
    rule = rule_for(series.rule, series.first_start, series.timezone)
    split_at = datetime.combine(day, time.min)
    held_before = len(rule.between(series.first_start, split_at, inc=True))
    if split_at <= series.first_start or held_before == 0:
        raise InvalidData.on("from_date", _l("Choose a date after the first meeting of the series."))
    if day < today_in(series_zone(series)):
        # What was held stays with the series it was held in.
        raise InvalidData.on("from_date", _l("Changes apply from today on: choose today or a later date."))
    following = rule.after(split_at, inc=True)
    if following is None:
        raise InvalidData.on("from_date", _l("The series has no meeting on or after this date."))
    # The successor starts at the first meeting on or after the date given, not at the date itself: a rule
    # such as "every three months" or "every other week" counts from its start, and must keep its rhythm.
    day, split_at = following.date(), datetime.combine(following.date(), time.min)

    stored_rule = Rule.parse(series.rule)
    total = stored_rule.count
    values = {
        "title": series.title, "kind": series.kind, "location": series.location, "description": series.description,
        "rule": series.rule, "first_start": following,
        "duration_minutes": series.duration_minutes, "holiday_policy": series.holiday_policy,
        "invitees": list(series.invitees),
    }
    values.update(changes)
    if "first_start" in changes:  # the time of day asked for, on the date the rhythm gives
        values["first_start"] = datetime.combine(day, changes["first_start"].time())
    if total is not None and values["rule"] == series.rule:
        # A series of N meetings keeps N in all: the successor holds the ones not yet held.
        values["rule"] = str(stored_rule.ending_after(total - held_before))
    invitees, unit = values.pop("invitees"), values.pop("unit", series.unit)
    checked = _checked_changes(series, values)  # every field is given: the series only lends its zone
    successor = Series(unit=unit, timezone=series.timezone, previous=series, invitees=list(invitees), **checked)
    db.session.add(successor)

    ended = stored_rule.ending_after(held_before) if total is not None else \
        stored_rule.ending_on(day - timedelta(days=1))
    series.rule = str(ended)
    series.sequence += 1
    db.session.flush()
    for override in [o for o in series.overrides if o.occurrence >= day]:
        override.series = successor
    for meeting in db.session.execute(
        select(Meeting).where(Meeting.series_id == series.id, Meeting.occurrence >= day)
    ).scalars():
        meeting.series = successor
    resync_meetings(successor)
    if notify:
        series_invitations_due.send(series, contacts=None)
        series_invitations_due.send(successor, contacts=None)
        meeting_changed.send(successor, occurrence=None, cancelled=False)
    return successor


def preview(rule: str, first_start: datetime, duration_minutes: int, holiday_policy: str,
            timezone: str | None = None, count: int = 12) -> list[Occurrence]:
    """The first `count` occurrences a series with these settings would have; raises InvalidData."""
    zone = zone_named(timezone)
    parsed = checked_rule(rule, first_start, zone)
    _check_duration(duration_minutes or 0)
    try:
        policy = HolidayPolicy(holiday_policy)
    except ValueError:
        raise InvalidData.on("holiday_policy", _l("Choose what happens on public holidays.")) from None
    # The next meetings: from today when the series started in the past (as on its edit page).
    start = max(first_start, datetime.now(zone).replace(tzinfo=None, second=0, microsecond=0))
    rule_dates = list(parsed.xafter(start, count=count, inc=True))
    if not rule_dates:
        return []
    window_start = rule_dates[0].replace(tzinfo=zone)
    window_end = rule_dates[-1].replace(tzinfo=zone) + timedelta(days=31)
    calendar = holiday_calendar(range(window_start.year - 1, window_end.year + 1))
    found = expand(parsed, zone, timedelta(minutes=duration_minutes), calendar, policy, {},
                   window_start - timedelta(days=31), window_end)
    return [o for o in found if o.occurrence >= rule_dates[0].date()][:count]


@dataclass(frozen=True)
class AgendaEntry:
    """One meeting on a calendar: an occurrence of a series, or a one-off meeting."""

    title: str
    unit: Unit
    start: datetime
    end: datetime
    status: str
    holiday: str | None
    location: str
    series_id: int | None
    occurrence: date | None
    meeting: Meeting | None


def agenda_holidays(window_start: datetime, window_end: datetime) -> HolidayCalendar:
    """The holiday calendar an agenda of the window reads (a page showing the window's days off too passes it
    to agenda rather than reading the adjustments twice)."""
    return holiday_calendar(range(window_start.year - 1, window_end.year + 2))


def agenda(user, window_start: datetime, window_end: datetime,
           holidays: HolidayCalendar | None = None) -> list[AgendaEntry]:
    """Every meeting `user` may see starting in the window, series occurrences and one-offs, by start.

    A fixed number of queries whatever the number of series: series with their overrides, the holiday
    adjustments (none when `holidays`, from agenda_holidays, is given), and the meetings.
    """
    return _agenda(visible(user, Series), visible(user, Meeting), window_start, window_end, holidays)


def unit_agenda(unit: Unit, window_start: datetime, window_end: datetime) -> list[AgendaEntry]:
    """Every meeting of `unit` and the units below it starting in the window (a waiting-room screen's)."""
    below = unit_ids_below(unit.id)
    return _agenda(Series.unit_id.in_(below), Meeting.unit_id.in_(below), window_start, window_end)


def clashes(unit: Unit, start: datetime, end: datetime, *, series_id: int | None = None,
            occurrence: date | None = None, meeting_id: int | None = None) -> list[AgendaEntry]:
    """The unit's other meetings that take place during [start, end): what a meeting moved there would meet
    (itself, named by its series and date or by its id, left out). Said to the organiser, not refused: two
    meetings in two rooms at once can be meant."""
    def itself(entry: AgendaEntry) -> bool:
        return (series_id is not None and entry.series_id == series_id and entry.occurrence == occurrence) or \
            (meeting_id is not None and entry.meeting is not None and entry.meeting.id == meeting_id)

    return [entry for entry in _agenda(Series.unit_id == unit.id, Meeting.unit_id == unit.id,
                                       start - timedelta(days=1), end)
            if entry.status != "cancelled" and entry.start < end and entry.end > start and not itself(entry)]


def _agenda(series_where, meetings_where, window_start: datetime, window_end: datetime,
            holidays: HolidayCalendar | None = None) -> list[AgendaEntry]:
    series_list = db.session.execute(
        select(Series).where(series_where)
        .options(joinedload(Series.unit), selectinload(Series.overrides))
    ).scalars().all()
    calendar = holidays or agenda_holidays(window_start, window_end)
    meetings = db.session.execute(
        select(Meeting).where(meetings_where, Meeting.start >= window_start - timedelta(days=40),
                              Meeting.start < window_end + timedelta(days=40))
        .options(joinedload(Meeting.unit))
    ).scalars().all()
    by_occurrence = {(m.series_id, m.occurrence): m for m in meetings if m.series_id}
    entries = [
        AgendaEntry(series.title, series.unit, o.start, o.end, o.status.value, o.holiday, o.location or series.location,
                    series.id, o.occurrence, by_occurrence.get((series.id, o.occurrence)))
        for series in series_list
        for o in occurrences(series, window_start, window_end, calendar)
    ]
    entries += [
        AgendaEntry(m.title, m.unit, m.start, m.end, m.status, None, m.location, None, None, m)
        for m in meetings if m.series_id is None and window_start <= m.start < window_end
    ]
    entries.sort(key=lambda e: e.start)
    return entries


def invitees_for(user, series: Series) -> list[Business]:
    """The series' invited businesses as `user` may know them: a business learns of no other business."""
    if is_business(user):
        return [b for b in series.invitees if b.id == user.business_id]
    return list(series.invitees)


def series_statement(user, *, by_title: bool = False):
    """The series `user` may see, with their unit and invitees (the API's list, by id), or by title with their
    overrides too (the page's, which shows each series' next meeting)."""
    stmt = select(Series).where(visible(user, Series)).options(joinedload(Series.unit))
    if by_title:
        return stmt.order_by(Series.title, Series.id).options(selectinload(Series.overrides))
    return stmt.order_by(Series.id).options(selectinload(Series.invitees))


def series_list(user) -> list[Series]:
    return list(db.session.execute(series_statement(user, by_title=True)).scalars())


def series_inviting(user, business: Business) -> list[Series]:
    """The series `user` may see that invite `business`, by title."""
    return list(db.session.execute(
        select(Series).where(Series.invitees.contains(business), visible(user, Series)).order_by(Series.title)
    ).scalars())


def meeting_ids(series: Series, days: list[date] | None = None) -> dict[date, int]:
    """The meetings the series' occurrences have become, by occurrence day (all of them, or those of `days`)."""
    if days is not None and not days:
        return {}
    stmt = select(Meeting.occurrence, Meeting.id).where(Meeting.series_id == series.id)
    if days is not None:
        stmt = stmt.where(Meeting.occurrence.in_(days))
    return dict(db.session.execute(stmt).all())


def adjustments_of(year: int) -> list[CalendarAdjustment]:
    """The holidays and make-up working days set by hand in `year`, by day."""
    return list(db.session.execute(
        select(CalendarAdjustment).where(CalendarAdjustment.day >= date(year, 1, 1),
                                         CalendarAdjustment.day <= date(year, 12, 31))
        .order_by(CalendarAdjustment.day)
    ).scalars())


def get_adjustment(adjustment_id: int) -> CalendarAdjustment | None:
    return db.session.get(CalendarAdjustment, adjustment_id)


def meetings_under(unit: Unit) -> str | None:
    """A unit cannot be deleted while it holds series or meetings (receiver of signals.unit_deleting)."""
    if has_rows(select(Series.id).where(Series.unit_id == unit.id)) or \
            has_rows(select(Meeting.id).where(Meeting.unit_id == unit.id)):
        return _l("meetings")
    return None
