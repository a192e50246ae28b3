"""iCalendar objects from series, occurrences and meetings. Pure functions: no Flask, no database.

What real clients trip on, and how each is met here:
- every TZID has its VTIMEZONE in the same file (Calendar.add_missing_timezones);
- EXDATE and RECURRENCE-ID are written like DTSTART: local wall time with the same TZID;
- a cancelled occurrence is an EXDATE, a moved one a second VEVENT with the same UID whose RECURRENCE-ID is
  the rule's original start;
- UNTIL is written in UTC, as RFC 5545 requires when DTSTART carries a TZID;
- UID and DTSTAMP are given, never generated, so an unchanged feed keeps its bytes;
- lines are folded by the library; text is NFC-normalised;
- the METHOD follows RFC 5546: a REQUEST names its attendees, a file with nobody to answer is a PUBLISH (which
  names none), and the Content-Type says the same METHOD in its method= parameter;
- durations are written as durations (PT1H), X- properties included: icalendar writes an unknown property's
  timedelta as "1:00:00";
- a feed always carries the VTIMEZONE of the zone X-WR-TIMEZONE names, so an empty feed still has the one
  component RFC 5545 asks of every VCALENDAR (icalendar, libical and ical.js all read such a file as empty).
"""

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress, vDuration, vRecur, vText

from ..scheduling.recurrence import Occurrence, Rule, Status, rule_for
from ..text import clean_text

PRODID = "-//Dialogue//Partnership dialogues//VI"
# The alarm rings the evening before, at this hour (local time of the meeting).
ALARM_HOUR = 18


def nfc(text: str | None) -> str:
    """Text as a calendar gets it: composed, and without control characters (whatever is stored)."""
    return clean_text(unicodedata.normalize("NFC", text or ""))


class Text(vText):
    """A TEXT value escaped by RFC 5545 (3.3.11) alone. icalendar's own escaping first reads a backslash
    followed by N as a line break, its shorthand in Python strings: a path typed as "D:\\Nghị định" would
    reach calendars in two lines."""

    def to_ical(self) -> bytes:
        text = clean_text(str(self)).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        return text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n").encode(self.encoding)


@dataclass(frozen=True)
class Person:
    email: str
    name: str


@dataclass(frozen=True)
class SeriesEntry:
    """A recurring meeting with everything its VEVENTs need. `occurrences` come from the occurrence function
    and cover at least up to `publish_until`; `first_start` is local wall time in `zone`."""

    uid: str
    title: str
    description: str
    location: str
    rule: str
    first_start: datetime
    zone: ZoneInfo
    duration: timedelta
    sequence: int
    last_modified: datetime
    url: str
    organizer: Person
    occurrences: tuple[Occurrence, ...]
    publish_until: datetime | None = None  # an instant: the RRULE is cut there (a feed's horizon)
    attendees: tuple[Person, ...] = ()
    sequences: dict = field(default_factory=dict)  # occurrence date -> SEQUENCE of its own changes


@dataclass(frozen=True)
class MeetingEntry:
    """A one-off meeting, or one occurrence of a series (then `recurrence_id` is its original start)."""

    uid: str
    title: str
    description: str
    location: str
    start: datetime
    end: datetime
    sequence: int
    last_modified: datetime
    url: str
    organizer: Person
    cancelled: bool = False
    recurrence_id: datetime | None = None
    attendees: tuple[Person, ...] = ()


def _organizer(person: Person) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["CN"] = vText(nfc(person.name))
    return address


def _attendee(person: Person) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params.update({"CN": vText(nfc(person.name)), "CUTYPE": "INDIVIDUAL", "ROLE": "REQ-PARTICIPANT",
                           "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"})
    return address


def _alarm(start: datetime) -> Alarm:
    """A reminder at 18:00 the evening before, expressed relative to the start so it fits every occurrence."""
    local = start.time()
    minutes = local.hour * 60 + local.minute + (24 - ALARM_HOUR) * 60
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", "Nhắc lịch: cuộc họp vào ngày mai")
    alarm.add("trigger", timedelta(minutes=-minutes))
    return alarm


def _common(event: Event, *, uid: str, title: str, description: str, location: str, sequence: int,
            stamp: datetime, url: str, organizer: Person, attendees: Iterable[Person], alarm_for: datetime | None,
            status: str) -> None:
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("last-modified", stamp.astimezone(UTC))
    event.add("sequence", sequence)
    event.add("summary", Text(nfc(title)))
    if description:
        event.add("description", Text(nfc(description)))
    event.add("location", Text(nfc(location)))
    event.add("status", status)
    event.add("url", url)
    event.add("organizer", _organizer(organizer))
    for person in attendees:
        event.add("attendee", _attendee(person), encode=0)
    if alarm_for is not None:
        event.add_component(_alarm(alarm_for))


def _published_rule(entry: SeriesEntry) -> vRecur:
    """The series' rule as a calendar reads it, cut at `publish_until` when it runs on past it."""
    cut_at = None
    if entry.publish_until is not None:
        horizon = entry.publish_until.astimezone(entry.zone).replace(tzinfo=None)
        if rule_for(entry.rule, entry.first_start, entry.zone.key).after(horizon, inc=True) is not None:
            cut_at = entry.publish_until
    return Rule.parse(entry.rule).to_vrecur(entry.zone, cut_at)


def series_events(entry: SeriesEntry, stamp: datetime | None = None) -> list[Event]:
    """The master VEVENT (RRULE, EXDATEs) and one VEVENT per moved occurrence (RECURRENCE-ID)."""
    stamp = stamp or entry.last_modified
    start = entry.first_start.replace(tzinfo=entry.zone)
    master = Event()
    _common(master, uid=entry.uid, title=entry.title, description=entry.description, location=entry.location,
            sequence=entry.sequence, stamp=stamp, url=entry.url, organizer=entry.organizer,
            attendees=entry.attendees, alarm_for=start, status="CONFIRMED")
    master.add("dtstart", start)
    master.add("dtend", start + entry.duration)
    master.add("rrule", _published_rule(entry))
    horizon = entry.publish_until
    cancelled = [o.rule_start for o in entry.occurrences
                 if o.status is Status.CANCELLED and (horizon is None or o.rule_start < horizon)]
    for moment in cancelled:
        master.add("exdate", moment.astimezone(entry.zone))
    events = [master]
    for occurrence in entry.occurrences:
        moved = occurrence.start != occurrence.rule_start or occurrence.location
        if occurrence.status is Status.CANCELLED or not moved:
            continue
        if horizon is not None and occurrence.rule_start >= horizon:
            continue
        override = Event()
        _common(override, uid=entry.uid, title=entry.title, description=entry.description,
                location=occurrence.location or entry.location,
                sequence=entry.sequence + entry.sequences.get(occurrence.occurrence, 0), stamp=stamp, url=entry.url,
                organizer=entry.organizer, attendees=entry.attendees, alarm_for=occurrence.start,
                status="CONFIRMED")
        override.add("recurrence-id", occurrence.rule_start.astimezone(entry.zone))
        override.add("dtstart", occurrence.start.astimezone(entry.zone))
        override.add("dtend", occurrence.end.astimezone(entry.zone))
        events.append(override)
    return events


def meeting_event(entry: MeetingEntry, zone: ZoneInfo, stamp: datetime | None = None,
                  with_alarm: bool = True) -> Event:
    """One meeting as a VEVENT, in local time of `zone`."""
    stamp = stamp or entry.last_modified
    event = Event()
    _common(event, uid=entry.uid, title=entry.title, description=entry.description, location=entry.location,
            sequence=entry.sequence, stamp=stamp, url=entry.url, organizer=entry.organizer,
            attendees=entry.attendees, alarm_for=entry.start.astimezone(zone) if with_alarm else None,
            status="CANCELLED" if entry.cancelled else "CONFIRMED")
    if entry.recurrence_id is not None:
        event.add("recurrence-id", entry.recurrence_id.astimezone(zone))
    event.add("dtstart", entry.start.astimezone(zone))
    event.add("dtend", entry.end.astimezone(zone))
    return event


def calendar(events: Iterable[Event], *, method: str, name: str | None = None, zone: ZoneInfo | None = None,
             refresh: timedelta | None = None) -> Calendar:
    """A VCALENDAR around `events` with every VTIMEZONE they use. A feed (PUBLISH) names itself, its zone
    and how often clients should refresh it."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method.upper())
    if name:
        one_line = " ".join(nfc(name).split())  # a calendar's name is a single line in every client
        cal.add("x-wr-calname", Text(one_line))
        cal.add("name", Text(one_line))
    if zone is not None:
        cal.add("x-wr-timezone", zone.key)
    if refresh is not None:
        cal.add("refresh-interval", vDuration(refresh), parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", vDuration(refresh))
    for event in events:
        cal.add_component(event)
    for count, tzid in enumerate(sorted(cal.get_missing_tzids())):
        cal.subcomponents.insert(count, Timezone.from_ical(_vtimezone(tzid)))
    if zone is not None and zone.key not in {str(tz.get("TZID")) for tz in cal.timezones}:
        cal.subcomponents.insert(0, Timezone.from_ical(_vtimezone(zone.key)))
    return cal


def invitation(entry: MeetingEntry, zone: ZoneInfo) -> Calendar:
    """invite.ics: one meeting for the reader's calendar. With attendees it is what they can answer, a REQUEST
    (a CANCEL once the meeting is cancelled); with nobody to answer it is a PUBLISH, since RFC 5546 wants at least
    one ATTENDEE in a REQUEST and none in a PUBLISH."""
    if not entry.attendees:
        return calendar([meeting_event(entry, zone)], method="PUBLISH")
    if entry.cancelled:
        return cancel_calendar(meeting_event(entry, zone, with_alarm=False))
    return calendar([meeting_event(entry, zone)], method="REQUEST")


def method_of(cal: Calendar) -> str:
    return str(cal["METHOD"])


def content_type(method: str) -> str:
    """The Content-Type of a calendar with this METHOD: RFC 5545 (8.1) asks for the method= parameter, equal to
    the METHOD inside, whenever the object has one; Outlook goes by it to show an invitation or a plain file."""
    return f"text/calendar; charset=utf-8; method={method.upper()}"


@lru_cache(maxsize=16)
def _vtimezone(tzid: str) -> bytes:
    """The zone's VTIMEZONE, built once per process: icalendar walks the zone's whole history to build it (a
    tenth of a second), which a day off announced to hundreds of contacts would pay for each mail. Without the
    COMMENT icalendar puts on the VTIMEZONE itself (on the years it covers), where RFC 5545 allows none."""
    timezone = Timezone.from_tzid(tzid)
    timezone.pop("COMMENT", None)
    return timezone.to_ical()


def cancel_calendar(event: Event, whole: bool = True) -> Calendar:
    """METHOD:CANCEL for a meeting or an occurrence: same UID, the new SEQUENCE, no alarm. STATUS:CANCELLED
    when the meeting itself is cancelled (`whole`); none when only the attendees named are uninvited, as
    RFC 5546 (3.2.5) orders: the meeting goes on for everyone else."""
    event.subcomponents = [c for c in event.subcomponents if c.name != "VALARM"]
    if whole:
        event["status"] = "CANCELLED"
    else:
        event.pop("STATUS", None)
    return calendar([event], method="CANCEL")


# -- Reading what calendars send back (iTIP REPLY, RFC 5546 3.2.3) -------------------------------------------------

@dataclass(frozen=True)
class ReplyAttendee:
    addresses: frozenset[str]  # the mailto: address and the EMAIL parameter (Apple), lower case
    partstat: str  # upper case, "" when absent


@dataclass(frozen=True)
class Reply:
    uid: str
    recurrence_id: datetime | date | None  # aware, naive (a zone the file does not define) or a date
    attendees: tuple[ReplyAttendee, ...]
    comment: str


def _addresses(value) -> frozenset[str]:
    found = set()
    text = str(value or "").strip()
    if text.lower().startswith("mailto:"):
        found.add(text[7:].strip().lower())
    email = getattr(value, "params", {}).get("EMAIL")
    if email:
        found.add(str(email).strip().lower().removeprefix("mailto:"))
    return frozenset(a for a in found if "@" in a)


def read_reply(text: str, content_method: str = "") -> list[Reply] | None:
    """The answers an iTIP REPLY carries, one per VEVENT; None when `text` is no REPLY (another METHOD, or
    not iCalendar at all). The METHOD of the VCALENDAR counts; the Content-Type's `method` parameter stands in
    when the file has none."""
    try:
        cal = Calendar.from_ical(text)
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if not isinstance(cal, Calendar) or cal.name != "VCALENDAR":
        return None
    method = str(cal.get("method") or content_method or "").strip().upper()
    if method != "REPLY":
        return None
    replies = []
    for event in cal.walk("VEVENT"):
        uid = str(event.get("uid") or "").strip()
        recurrence = event.get("recurrence-id")
        attendees = event.get("attendee") or []
        if not isinstance(attendees, list):
            attendees = [attendees]
        comments = event.get("comment") or []
        if not isinstance(comments, list):
            comments = [comments]
        replies.append(Reply(
            uid=uid, recurrence_id=getattr(recurrence, "dt", None),
            attendees=tuple(ReplyAttendee(_addresses(a), str(getattr(a, "params", {}).get("PARTSTAT", "")).upper())
                            for a in attendees),
            comment=nfc(" ".join(str(c) for c in comments)).strip(),
        ))
    return replies
