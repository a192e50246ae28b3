"""Calendar feeds and invitations: from the database to iCalendar bytes and outbox mail."""

import hashlib
import hmac
from base64 import urlsafe_b64encode
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from threading import Lock

from flask import current_app, g, has_app_context, render_template
from flask_babel import force_locale
from sqlalchemy import and_, bindparam, delete, exists, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from .. import officetime
from ..attendance.services import invited_businesses, rsvp_token
from ..auth.models import User
from ..db import utcnow
from ..extensions import db
from ..mail.services import enqueue
from ..org.models import Business, Contact, Unit
from ..scheduling import services as scheduling
from ..scheduling.models import Meeting, MeetingInvitation, Series, invited_series, series_invitations
from ..scope import is_business, may_hold_feed, unit_ids_below
from ..web import external_url
from . import ical
from .models import FEED_KINDS, FeedToken

REFRESH = timedelta(hours=1)
FEED_METHOD = "PUBLISH"  # a feed is published: nobody answers it
FEED_CONTENT_TYPE = ical.content_type(FEED_METHOD)
HISTORY = timedelta(days=366)  # how far back a feed goes


# -- Tokens -------------------------------------------------------------------------------------------------------

def _derive(kind: str, target_id: int, generation: int, subscriber: int = 0) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    name = f"feed:{kind}:{target_id}:{generation}" if not subscriber else \
        f"feed:{kind}:{target_id}:{subscriber}:{generation}"
    digest = hmac.new(key, name.encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(digest[:24]).decode().rstrip("=")  # 192 bits


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def prefetch_tokens(kind: str, target_ids) -> None:
    """Load the feed keys of a whole page of objects in one query (a list must not ask once per row)."""
    rows = db.session.execute(
        select(FeedToken).where(FeedToken.kind == kind, FeedToken.target_id.in_(list(target_ids)),
                                FeedToken.subscriber_id == 0)).scalars()
    g.setdefault("feed_tokens", {}).update({(row.kind, row.target_id): row for row in rows})


def feed_token(kind: str, target_id: int) -> str | None:
    """The feed's current token (made on first use), or None when the feed has been revoked."""
    row = g.get("feed_tokens", {}).get((kind, target_id)) if has_app_context() else None
    if row is None:
        row = _row(kind, target_id)
    if row is None:
        token = _derive(kind, target_id, 1)
        row = FeedToken(kind=kind, target_id=target_id, generation=1, token_hash=_hash(token))
        db.session.add(row)
        db.session.flush()
        _keys_handed_out()
        return token
    return None if row.revoked else _derive(kind, target_id, row.generation)


def _row(kind: str, target_id: int, subscriber: int = 0) -> FeedToken | None:
    return db.session.execute(
        select(FeedToken).where(FeedToken.kind == kind, FeedToken.target_id == target_id,
                                FeedToken.subscriber_id == subscriber)
    ).scalar_one_or_none()


def feed_url(kind: str, target_id: int) -> str | None:
    token = feed_token(kind, target_id)
    return external_url("calendar.feed", token=token) if token else None


def feed_url_for(user: User, kind: str, target_id: int) -> str | None:
    """The feed address `user` may be given for the object (kind, target_id) they can see, or None.

    Pages and API payloads both ask here (scope.FEED_HOLDERS): a business gets its own key to a series it is
    invited to, never the series' shared key nor a unit's feed."""
    if kind == "series" and is_business(user):
        return invitation_feed_url(target_id, user.business_id) if user.business_id else None
    if not may_hold_feed(user, kind):
        return None
    if kind == "business" and is_business(user) and target_id != user.business_id:
        return None
    return feed_url(kind, target_id)


def _invited(series_id: int, business_id: int) -> bool:
    return db.session.execute(
        select(series_invitations.c.series_id).where(series_invitations.c.series_id == series_id,
                                                     series_invitations.c.business_id == business_id)
    ).first() is not None


def invitation_feed_url(series_id: int, business_id: int) -> str | None:
    """The invited business's own key to the series' feed, or None when it is not invited. A key ended with an
    earlier invitation never comes back: a new invitation gets a new generation."""
    if not _invited(series_id, business_id):
        return None
    row = _row("invitation", series_id, business_id)
    if row is None:
        row = FeedToken(kind="invitation", target_id=series_id, subscriber_id=business_id, generation=1)
        db.session.add(row)
    elif row.revoked:
        row.generation += 1
        row.revoked, row.rotated_at = False, utcnow()
    token = _derive("invitation", series_id, row.generation, business_id)
    if row.token_hash != _hash(token):
        row.token_hash = _hash(token)
        db.session.flush()
        _keys_handed_out()
    return external_url("calendar.feed", token=token)


def _keys_handed_out() -> None:
    """A key was made while answering a request (a page or an API payload showing a feed's address): it must be
    kept even where the request changes nothing else and commits nothing (keep_feed_keys)."""
    if has_app_context():
        g.feed_keys_made = True


def keep_feed_keys(response):
    """After a request that handed out a feed key it made: commit it, or the address given answers 404 (an
    API client reading GET /api/v1/series/{id} subscribes at once). Not after a refusal (rolled back)."""
    if g.pop("feed_keys_made", False) and response.status_code < 400:
        try:
            db.session.commit()
        except IntegrityError:  # another request made the same key at the same instant: theirs is the one kept
            db.session.rollback()
    return response


def end_invitation_feeds(series_id: int, business_ids) -> None:
    """The invitations of these businesses to the series ended: their keys to its feed stop at once."""
    for row in db.session.execute(
        select(FeedToken).where(FeedToken.kind == "invitation", FeedToken.target_id == series_id,
                                FeedToken.subscriber_id.in_(list(business_ids)))
    ).scalars():
        row.revoked = True


def on_invitations_ended(series, business_ids=(), **_) -> None:
    end_invitation_feeds(series.id, business_ids)
    send_series_cancels(series, business_ids)


def rotate(kind: str, target_id: int) -> str:
    """A new token for the feed; the old address stops working at once."""
    feed_token(kind, target_id)
    row = _row(kind, target_id)
    row.generation += 1
    row.revoked, row.rotated_at = False, utcnow()
    token = _derive(kind, target_id, row.generation)
    row.token_hash = _hash(token)
    return token


def revoke(kind: str, target_id: int) -> None:
    feed_token(kind, target_id)
    _row(kind, target_id).revoked = True


def token_target(token: str) -> FeedToken | None:
    if not token or len(token) > 100:
        return None
    row = db.session.execute(select(FeedToken).where(FeedToken.token_hash == _hash(token))).scalar_one_or_none()
    if row is None or row.revoked:
        return None
    target = db.session.get(FEED_MODELS[row.kind], row.target_id)
    if target is None or (row.kind == "user" and not target.active):
        return None
    if row.kind == "invitation" and not _invited(row.target_id, row.subscriber_id):
        return None
    return row


# -- What a feed holds -----------------------------------------------------------------------------------------

def _horizon(today: date) -> datetime:
    """The end of the published period: 1 January of the year after next. It moves once a year, so a feed's
    bytes do not change from one day to the next."""
    return datetime(today.year + 2, 1, 1, tzinfo=UTC)


def series_condition(kind: str, target_id: int):
    """Condition on Series: the series the feed of (kind, target_id) shows. Subqueries only, so that it runs
    on a plain connection too (see calendar/fastpath.py)."""
    if kind in ("series", "invitation"):
        return Series.id == target_id
    if kind == "business":
        return Series.id.in_(invited_series(target_id))
    if kind == "unit":
        return Series.unit_id.in_(unit_ids_below(target_id))
    return Series.unit_id == select(User.unit_id).where(User.id == target_id).scalar_subquery()


def meetings_condition(kind: str, target_id: int):
    """Condition on Meeting: the meetings the feed shows besides its series (one-off meetings in the feeds of
    units and people; in a business's, the meetings it is invited to alone), or None."""
    if kind == "business":
        return and_(Meeting.id.in_(select(MeetingInvitation.meeting_id)
                                   .where(MeetingInvitation.business_id == target_id)),
                    or_(Meeting.series_id.is_(None), Meeting.series_id.not_in(invited_series(target_id))))
    if kind == "unit":
        return and_(Meeting.series_id.is_(None), Meeting.unit_id.in_(unit_ids_below(target_id)))
    if kind == "user":
        return and_(Meeting.series_id.is_(None),
                    Meeting.unit_id == select(User.unit_id).where(User.id == target_id).scalar_subquery())
    return None


@lru_cache(maxsize=1)
def _statements() -> tuple:
    """The fast path's statements, built once with bound parameters: building them costs more than running them."""
    target = bindparam("target")
    # A personal feed closes with its person's account.
    user_active = select(User.active).where(User.id == FeedToken.target_id).scalar_subquery().label("user_active")
    # A subscriber's key opens the series only while its invitation stands.
    invited = exists().where(series_invitations.c.series_id == FeedToken.target_id,
                             series_invitations.c.business_id == FeedToken.subscriber_id).label("invited")
    token = select(FeedToken.id, FeedToken.kind, FeedToken.target_id, FeedToken.generation, FeedToken.revoked,
                   user_active, invited).where(FeedToken.token_hash == bindparam("hash"))
    series = {kind: select(Series.id, Series.revision, Series.updated_at).where(series_condition(kind, target))
              .order_by(Series.id) for kind in FEED_KINDS}
    meetings = {kind: select(Meeting.id, Meeting.updated_at).where(meetings_condition(kind, target))
                .order_by(Meeting.id) for kind in FEED_KINDS if meetings_condition(kind, target) is not None}
    return token, series, meetings


def version_of(conn, kind: str, target_id: int, generation: int, today: date) -> tuple[str, datetime | None]:
    """The feed's ETag and Last-Modified on `conn`: what it shows and each part's revision (bumped in the
    transaction of every change), plus the published period. Two small queries."""
    _, series_statements, meeting_statements = _statements()
    series = conn.execute(series_statements[kind], {"target": target_id}).all()
    meetings = conn.execute(meeting_statements[kind], {"target": target_id}).all() \
        if kind in meeting_statements else []
    parts = [f"{kind}:{target_id}:{generation}:{_horizon(today).year}"]
    parts += [f"s{s.id}.{s.revision}.{s.updated_at.isoformat()}" for s in series]
    parts += [f"m{m.id}.{m.updated_at.isoformat()}" for m in meetings]
    last = max([s.updated_at for s in series] + [m.updated_at for m in meetings], default=None)
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:32], last


def feed_version(row: FeedToken, today: date) -> tuple[str, datetime | None]:
    return version_of(db.session.connection(), row.kind, row.target_id, row.generation, today)


def feed_state(conn, token: str, today: date) -> tuple[int, str, datetime | None] | None:
    """(feed id, ETag, Last-Modified) for a token on a plain connection, or None for an unknown or closed
    feed: what the fast path needs to answer 304 or from cache without the ORM session."""
    if not token or len(token) > 100:
        return None
    row = conn.execute(_statements()[0], {"hash": _hash(token)}).first()
    if row is None or row.revoked or (row.kind == "user" and not row.user_active) \
            or (row.kind == "invitation" and not row.invited):
        return None
    return (row.id, *version_of(conn, row.kind, row.target_id, row.generation, today))


def _organizer(unit: Unit) -> ical.Person:
    return ical.Person(current_app.config["MAIL_DEFAULT_SENDER"], unit.name)


def uid_domain() -> str:
    return current_app.config["BASE_URL"].split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "dialogue"


def series_uid(series: Series) -> str:
    return f"series-{series.id}@{uid_domain()}"


def meeting_uid(meeting: Meeting) -> str:
    return f"meeting-{meeting.id}@{uid_domain()}"


def describe(series_or_meeting, unit: Unit) -> str:
    with force_locale("vi"):
        return render_template("calendar/description.txt", item=series_or_meeting, unit=unit).strip()


def series_entry(series: Series, horizon: datetime | None, attendees=(), calendar=None) -> ical.SeriesEntry:
    zone = scheduling.series_zone(series)
    start = series.first_start.replace(tzinfo=zone)
    end = horizon or max(start, utcnow()) + timedelta(days=366 * 2)
    occurrences: list = []
    window_start = start
    while window_start < end:  # occurrences() takes at most five years at a time
        window_end = min(end, window_start + timedelta(days=365 * 5))
        occurrences += scheduling.expand_series(series, window_start, window_end, calendar)
        window_start = window_end
    last = max([series.updated_at, *(o.updated_at for o in series.overrides)])
    return ical.SeriesEntry(
        uid=series_uid(series), title=series.title, description=describe(series, series.unit),
        location=series.location, rule=series.rule, first_start=series.first_start, zone=zone,
        duration=timedelta(minutes=series.duration_minutes), sequence=series.sequence, last_modified=last,
        url=external_url("scheduling.series_page", series_id=series.id), organizer=_organizer(series.unit),
        occurrences=tuple(occurrences), publish_until=horizon, attendees=tuple(attendees),
        sequences={o.occurrence: o.sequence for o in series.overrides},
    )


def meeting_entry(meeting: Meeting, attendees=(), standalone: bool = False) -> ical.MeetingEntry:
    """The meeting as a calendar entry: an occurrence of a series under the series' UID, unless `standalone`
    (for a business invited to this one meeting only, whose calendar holds no series to attach it to)."""
    if standalone:
        return replace(meeting_entry(meeting, attendees), uid=meeting_uid(meeting), recurrence_id=None,
                       sequence=_series_sequence(meeting) + (meeting.sequence or 0))
    recurrence_id = None
    if meeting.series is not None:
        occurrence = scheduling.occurrence_of(meeting.series, meeting.occurrence)
        recurrence_id = occurrence.rule_start
    return ical.MeetingEntry(
        uid=series_uid(meeting.series) if meeting.series else meeting_uid(meeting), title=meeting.title,
        description=describe(meeting, meeting.unit), location=meeting.location, start=meeting.start,
        # Under the series' UID, the series' sequence and the occurrence's; under its own, the meeting's.
        end=meeting.end, sequence=_series_sequence(meeting) if meeting.series else meeting.sequence or 0,
        last_modified=meeting.updated_at, url=external_url("scheduling.meeting_page", meeting_id=meeting.id),
        organizer=_organizer(meeting.unit), cancelled=meeting.status == "cancelled", recurrence_id=recurrence_id,
        attendees=tuple(attendees),
    )


def _series_sequence(meeting: Meeting) -> int:
    """The SEQUENCE the meeting's occurrence has under its series' UID: the series' own plus the occurrence's
    (each change to that one meeting raises it); 0 for a meeting of no series."""
    if meeting.series is None:
        return 0
    override = next((o for o in meeting.series.overrides if o.occurrence == meeting.occurrence), None)
    return meeting.series.sequence + (override.sequence if override else 0)


def feed_name(row: FeedToken) -> str:
    if row.kind in ("series", "invitation"):
        return db.session.get(Series, row.target_id).title
    if row.kind == "business":
        return f"Đối thoại – {db.session.get(Business, row.target_id).name}"
    if row.kind == "unit":
        return f"Đối thoại – {db.session.get(Unit, row.target_id).name}"
    return f"Đối thoại – {db.session.get(User, row.target_id).name}"


def feed_bytes(row: FeedToken, today: date) -> bytes:
    """The feed as iCalendar bytes: each series with its rule, moves and cancellations, and one-off meetings."""
    horizon = _horizon(today)
    series_list = db.session.execute(
        select(Series).where(series_condition(row.kind, row.target_id))
        .options(joinedload(Series.unit), selectinload(Series.overrides)).order_by(Series.id)
    ).scalars().all()
    holiday_years = range(min([s.first_start.year for s in series_list] or [today.year]) - 1, horizon.year + 1)
    holidays = officetime.holiday_calendar(holiday_years)
    events = []
    for series in series_list:
        events += ical.series_events(series_entry(series, horizon, calendar=holidays))
    condition = meetings_condition(row.kind, row.target_id)
    if condition is not None:
        since = datetime.combine(today, datetime.min.time(), tzinfo=UTC) - HISTORY
        for meeting in db.session.execute(
            select(Meeting).where(condition, Meeting.start >= since).options(joinedload(Meeting.unit))
            .order_by(Meeting.id)
        ).scalars():
            events.append(ical.meeting_event(meeting_entry(meeting, standalone=row.kind == "business"),
                                             officetime.office_zone()))
    cal = ical.calendar(events, method=FEED_METHOD, name=feed_name(row), zone=officetime.office_zone(),
                        refresh=REFRESH)
    return cal.to_ical()


class FeedCache:
    """Feed bytes kept per (feed, version): rebuilt only when something in the feed changed."""

    def __init__(self, size: int = 512):
        self._items: dict[tuple[int, str], bytes] = {}
        self._size = size
        self._lock = Lock()

    def get(self, key):
        return self._items.get(key)

    def put(self, key, value: bytes) -> None:
        with self._lock:
            if len(self._items) >= self._size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = value


cache = FeedCache()


# -- Invitations by mail ----------------------------------------------------------------------------------------

def invitees_with_email(series: Series) -> list[Contact]:
    return [c for b in series.invitees for c in b.contacts if c.email]


def _send(contact: Contact, subject_template: str, cal, method: str, **context) -> None:
    with force_locale("vi"):
        text = render_template(f"mail/{subject_template}.txt", contact=contact, **context)
        html = render_template(f"mail/{subject_template}.html", contact=contact, **context)
    subject, _, body = text.partition("\n")
    enqueue(to=[contact.email], subject=subject.removeprefix("Subject:").strip(), text=body.lstrip("\n"),
            html=html, calendar=cal.to_ical().decode(), calendar_method=method)


def send_series_invites(series: Series, contacts: list[Contact] | None = None) -> int:
    """METHOD:REQUEST for the whole series to each invited contact (each sees only themself as attendee)."""
    contacts = invitees_with_email(series) if contacts is None else [c for c in contacts if c.email]
    following = scheduling.next_occurrence(series)
    for contact in contacts:
        person = ical.Person(contact.email, contact.name)
        entry = series_entry(series, horizon=None, attendees=[person])
        cal = ical.calendar(ical.series_events(entry, stamp=utcnow()), method="REQUEST")
        rsvp = external_url("attendance.rsvp", token=rsvp_token(contact, series=series,
                                                                 occurrence=following.occurrence)) \
            if following else None
        _send(contact, "invite_series", cal, "REQUEST", series=series, following=following, rsvp_url=rsvp)
    return len(contacts)


def send_occurrence_update(series: Series, day: date) -> int:
    """One occurrence moved or cancelled: REQUEST (RECURRENCE-ID) or CANCEL to every invited contact; the
    businesses invited to that occurrence's meeting alone hear of it under the meeting's own UID."""
    occurrence = scheduling.occurrence_of(series, day)
    override = next((o for o in series.overrides if o.occurrence == day), None)
    sequence = series.sequence + (override.sequence if override else 0)
    contacts = invitees_with_email(series)
    for contact in contacts:
        person = ical.Person(contact.email, contact.name)
        entry = ical.MeetingEntry(
            uid=series_uid(series), title=series.title, description=describe(series, series.unit),
            location=occurrence.location or series.location, start=occurrence.start, end=occurrence.end,
            sequence=sequence, last_modified=utcnow(), url=external_url("scheduling.series_page", series_id=series.id),
            organizer=_organizer(series.unit), cancelled=occurrence.status == "cancelled",
            recurrence_id=occurrence.rule_start, attendees=(person,),
        )
        _send_occurrence_change(contact, ical.meeting_event(entry, scheduling.series_zone(series), stamp=utcnow()),
                                series, occurrence)
    meeting = db.session.execute(
        select(Meeting).where(Meeting.series_id == series.id, Meeting.occurrence == day)).scalar_one_or_none()
    alone = contacts_with_email(db.session.execute(
        select(MeetingInvitation.business_id).where(MeetingInvitation.meeting_id == meeting.id)).scalars().all()
    ) if meeting is not None else []
    for contact in alone:
        _send_occurrence_change(contact, _invitation_event(meeting, contact), series, occurrence)
    return len(contacts) + len(alone)


def _send_occurrence_change(contact: Contact, event, series: Series, occurrence) -> None:
    if occurrence.status == "cancelled":
        _send(contact, "invite_cancelled", ical.cancel_calendar(event), "CANCEL", series=series,
              occurrence=occurrence)
    else:
        # A new time may change who can come: the link to answer again, for that meeting.
        rsvp = external_url("attendance.rsvp", token=rsvp_token(contact, series=series,
                                                                 occurrence=occurrence.occurrence))
        _send(contact, "invite_moved", ical.calendar([event], method="REQUEST"), "REQUEST", series=series,
              occurrence=occurrence, rsvp_url=rsvp)


def contacts_with_email(business_ids) -> list[Contact]:
    """The contacts of these businesses who have an e-mail address, by business and name."""
    return list(db.session.execute(
        select(Contact).where(Contact.business_id.in_(list(business_ids)), Contact.email.is_not(None),
                              Contact.email != "")
        .options(joinedload(Contact.business)).order_by(Contact.business_id, Contact.name, Contact.id)
    ).scalars())


def _invitation_event(meeting: Meeting, contact: Contact):
    entry = meeting_entry(meeting, [ical.Person(contact.email, contact.name)], standalone=True)
    return ical.meeting_event(entry, officetime.office_zone(), stamp=utcnow())


def send_meeting_invites(meeting: Meeting, business_ids) -> int:
    """METHOD:REQUEST for one meeting to each contact of these businesses, invited to it alone (each named as
    the attendee, with the signed link to answer without an account). None for a meeting already begun
    (invited afterwards to record who came): answers close when it starts, so a link would answer nothing.
    After a CANCEL to someone (meeting.sequence raised), the meeting's sequence is raised again: an invitation
    that follows a cancellation outranks it."""
    if meeting.start <= utcnow():
        return 0
    contacts = contacts_with_email(business_ids)
    if contacts and meeting.sequence:
        meeting.sequence += 1
    for contact in contacts:
        cal = ical.calendar([_invitation_event(meeting, contact)], method="REQUEST")
        rsvp = external_url("attendance.rsvp", token=rsvp_token(contact, meeting=meeting))
        _send(contact, "invite_meeting", cal, "REQUEST", meeting=meeting, rsvp_url=rsvp)
    return len(contacts)


def send_meeting_cancels(meeting: Meeting, business_ids) -> int:
    """These businesses' invitations to the meeting ended: METHOD:CANCEL to each of their contacts, under the
    meeting's own UID with a SEQUENCE above the invitation's (RFC 5546 3.2.5: a cancellation increments it) and
    no STATUS (the meeting goes on for the others: only they are uninvited); none for a meeting over."""
    if meeting.end <= utcnow():
        return 0
    contacts = contacts_with_email(business_ids)
    if contacts:
        meeting.sequence = (meeting.sequence or 0) + 1
    for contact in contacts:
        _send(contact, "invite_withdrawn", ical.cancel_calendar(_invitation_event(meeting, contact), whole=False),
              "CANCEL", title=meeting.title, unit=meeting.unit, meeting=meeting)
    return len(contacts)


def send_series_cancels(series: Series, business_ids) -> int:
    """These businesses' invitations to the series ended: METHOD:CANCEL of the whole series (the master
    VEVENT, no RECURRENCE-ID, no STATUS: the series goes on for the others) to each of their contacts. Its
    SEQUENCE outranks everything their calendars hold, the occurrences moved since included (each at the
    series' sequence plus its own): the series' sequence goes past the highest of them."""
    contacts = contacts_with_email(business_ids)
    if not contacts:
        return 0
    series.sequence = (series.sequence or 0) + max((o.sequence or 0 for o in series.overrides), default=0) + 1
    for contact in contacts:
        entry = series_entry(series, horizon=None, attendees=[ical.Person(contact.email, contact.name)])
        master = ical.series_events(entry, stamp=utcnow())[0]
        _send(contact, "invite_withdrawn", ical.cancel_calendar(master, whole=False), "CANCEL", title=series.title,
              unit=series.unit, series=series)
    return len(contacts)


def invite_attendees(meeting: Meeting, reader: User | None) -> list[ical.Person]:
    """Whom invite.ics names as attendees. A business reading it is asked to answer: its contacts with an
    address (itself when it has none), so that the calendar it is opened in offers Accept and Decline. Staff
    see every invited contact; with nobody invited the file names nobody (and is a PUBLISH)."""
    if reader is not None and is_business(reader):
        people = [ical.Person(c.email, c.name) for c in reader.business.contacts if c.email]
        people = people or [ical.Person(reader.email, reader.name)]
    else:
        people = [ical.Person(c.email, c.name) for b in invited_businesses(meeting) for c in b.contacts if c.email]
    return list({person.email.lower(): person for person in people}.values())


def meeting_invite(meeting: Meeting, reader: User | None = None) -> tuple[bytes, str]:
    """`GET /meetings/{id}/invite.ics` for `reader`: (the bytes, their METHOD)."""
    entry = meeting_entry(meeting, invite_attendees(meeting, reader))
    cal = ical.invitation(entry, officetime.office_zone())
    return cal.to_ical(), ical.method_of(cal)


FEED_OWNERS = {Series: "series", Business: "business", Unit: "unit", User: "user"}
FEED_MODELS = {**{kind: model for model, kind in FEED_OWNERS.items()}, "invitation": Series}


def first_feed_key(kind: str, target_id: int, created_at: datetime | None = None) -> dict:
    """The FeedToken row of the first key of a new series, business, unit or staff account (also written in
    bulk by the national demo)."""
    return {"kind": kind, "target_id": target_id, "generation": 1, "token_hash": _hash(_derive(kind, target_id, 1)),
            "revoked": False, "created_at": created_at or utcnow(), "rotated_at": None}


def give_new_objects_a_feed(session: Session, flush_context) -> None:
    """Every new series, business, unit and staff account gets its feed key in the same transaction, so an
    address shown once keeps working without anyone having to save anything."""
    rows = []
    for obj in session.new:
        kind = FEED_OWNERS.get(type(obj))
        if kind is None or (kind == "user" and is_business(obj)):
            continue
        rows.append(first_feed_key(kind, obj.id))
    if rows:
        session.connection().execute(insert(FeedToken), rows)


# -- Receivers (connected in calendar.init_app) -------------------------------------------------------------

def on_series_invitations_due(series: Series, contacts: list[Contact] | None = None) -> None:
    send_series_invites(series, contacts)


def on_businesses_invited(sender: Series | Meeting, business_ids=(), **_) -> None:
    if isinstance(sender, Series):
        send_series_invites(sender, contacts_with_email(business_ids))
    else:
        send_meeting_invites(sender, business_ids)


def on_businesses_uninvited(meeting: Meeting, business_ids=(), **_) -> None:
    send_meeting_cancels(meeting, business_ids)


def on_occurrence_changed(series: Series, occurrence: date) -> None:
    send_occurrence_update(series, occurrence)


def on_unit_deleted(unit_id: int) -> None:
    # Its feed closes with it (ids can be given again to a new unit, which must not inherit the address).
    db.session.execute(delete(FeedToken).where(FeedToken.kind == "unit", FeedToken.target_id == unit_id))
