"""Invitations, answers (RSVP) and attendance at meetings. Plain data in, objects out."""

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..auth.models import User
from ..db import utcnow
from ..exceptions import Conflict, InvalidData, NotFound
from ..extensions import db
from ..org.models import Business, Contact
from ..org.services import business_by_tax_code, clean_tax_code
from ..scheduling import services as scheduling
from ..scheduling.models import Meeting, MeetingInvitation, Series, invited_series
from ..scope import get_visible
from ..signals import answer_recorded, businesses_invited, businesses_uninvited
from ..text import fold
from .models import ANSWERS, ATTENDANCE, CHANNELS, Attendee, Rsvp

RSVP_SALT = "rsvp"


def invited_businesses(meeting: Meeting) -> list[Business]:
    """The businesses invited to this meeting: its series' invitees and those invited to it alone."""
    extra = db.session.execute(
        select(Business).join(MeetingInvitation, MeetingInvitation.business_id == Business.id)
        .where(MeetingInvitation.meeting_id == meeting.id)
    ).scalars().all()
    businesses = {b.id: b for b in (meeting.series.invitees if meeting.series else [])}
    businesses.update({b.id: b for b in extra})
    return sorted(businesses.values(), key=lambda b: b.search_text)


def invitations(meeting: Meeting) -> tuple[list[Business], list[Business]]:
    """What the meeting page shows in one query: every business invited (as invited_businesses) and those
    invited to this meeting alone (as invited_alone), each by name."""
    alone = list(db.session.execute(
        select(Business).join(MeetingInvitation, MeetingInvitation.business_id == Business.id)
        .where(MeetingInvitation.meeting_id == meeting.id).order_by(Business.search_text)
    ).scalars())
    businesses = {b.id: b for b in (meeting.series.invitees if meeting.series else [])}
    businesses.update({b.id: b for b in alone})
    return sorted(businesses.values(), key=lambda b: b.search_text), alone


def business_to_invite(user: User, tax_code: str) -> Business:
    """The business with this tax code among those `user` sees; InvalidData saying whether the code was left
    empty, is not a tax code, or belongs to no business of theirs."""
    if not tax_code.strip():
        raise InvalidData.on("tax_code", _l("Type the business's tax code."))
    code = clean_tax_code(tax_code)
    business = business_by_tax_code(code)
    if business is None or get_visible(user, Business, business.id) is None:
        raise InvalidData.on("tax_code", _l("No business with the tax code %(code)s is registered in your units.",
                                            code=code))
    return business


def invite_to_meeting(meeting: Meeting, business: Business, notify: bool = True) -> MeetingInvitation | None:
    """Invite one more business to this meeting only; None when it is invited already. With `notify`, its
    contacts get the invitation (and its users a notification)."""
    if business in invited_businesses(meeting):
        return None
    invitation = MeetingInvitation(meeting_id=meeting.id, business=business)
    try:
        with db.session.begin_nested():  # a savepoint: another request inviting it at the same instant wins
            db.session.add(invitation)
    except IntegrityError:
        return None  # invited already, by that other request (API.md: 200 when already invited)
    if notify:
        businesses_invited.send(meeting, business_ids=[business.id])
    return invitation


def uninvite_from_meeting(meeting: Meeting, business: Business) -> bool:
    """End a business's invitation to this meeting: its contacts are sent a CANCEL, the meeting leaves its
    portal and feed. False when it was not invited; InvalidData when it is invited through the series (that
    invitation ends on the series)."""
    invitation = db.session.execute(
        select(MeetingInvitation).where(MeetingInvitation.meeting_id == meeting.id,
                                        MeetingInvitation.business_id == business.id)
    ).scalar_one_or_none()
    if invitation is None:
        if meeting.series is not None and business in meeting.series.invitees:
            raise InvalidData.on("business_id", _l(
                "%(name)s is invited to the whole series: end its invitation on the series.", name=business.name))
        return False
    db.session.delete(invitation)
    db.session.flush()
    businesses_uninvited.send(meeting, business_ids=[business.id])
    return True


# -- Answers through signed links, without an account -------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RSVP_SALT)


def rsvp_token(contact: Contact, *, series: Series | None = None, occurrence: date | None = None,
               meeting: Meeting | None = None) -> str:
    """A signed token letting `contact` answer for one occurrence of a series (or one meeting)."""
    if meeting is not None:
        payload = {"m": meeting.id, "c": contact.id}
    else:
        payload = {"s": series.id, "o": occurrence.isoformat(), "c": contact.id}
    return _serializer().dumps(payload)


@dataclass(frozen=True)
class RsvpTarget:
    contact: Contact
    series: Series | None
    occurrence: date | None
    meeting: Meeting | None
    title: str
    start: datetime | None = None
    location: str = ""


class RsvpRefused(InvalidData):
    """A link that is forged, expired, or no longer for this person: it changes nothing."""


RSVP_MAX_AGE = timedelta(days=400)


def read_rsvp_token(token: str) -> RsvpTarget:
    """What a link answers for; RsvpRefused says why a link does nothing."""
    try:
        payload = _serializer().loads(token, max_age=int(RSVP_MAX_AGE.total_seconds()))
    except BadSignature:
        raise RsvpRefused(_l("This link is not valid. Use the link in the invitation you received.")) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("c"), int):
        raise RsvpRefused(_l("This link is not valid. Use the link in the invitation you received."))
    contact = db.session.get(Contact, payload["c"])
    if contact is None:
        raise RsvpRefused(_l("This invitation is no longer valid."))
    if "m" in payload:
        meeting = db.session.get(Meeting, payload["m"])
        if meeting is None or contact.business not in invited_businesses(meeting):
            raise RsvpRefused(_l("This invitation is no longer valid."))
        end, title = meeting.end, meeting.title
        target = RsvpTarget(contact, None, None, meeting, title, meeting.start, meeting.location)
    else:
        series = db.session.get(Series, payload.get("s"))
        try:
            occurrence = date.fromisoformat(payload.get("o", ""))
        except (TypeError, ValueError):
            raise RsvpRefused(_l("This link is not valid. Use the link in the invitation you received.")) from None
        if series is None or contact.business not in series.invitees:
            raise RsvpRefused(_l("This invitation is no longer valid."))
        try:
            found = scheduling.occurrence_of(series, occurrence)
        except NotFound:
            raise RsvpRefused(_l("This invitation is no longer valid.")) from None
        if found.status == "cancelled":
            raise RsvpRefused(_l("This meeting is cancelled: there is nothing to answer."))
        end, title = found.end, series.title
        target = RsvpTarget(contact, series, occurrence, None, title, found.start, found.location or series.location)
    if end <= utcnow():
        raise RsvpRefused(_l("This meeting is over: answers are closed."))
    return target


def record_rsvp(target: RsvpTarget, answer: str, comment: str = "", *, via: str = "link",
                announce: bool = True, answered_by: str = "") -> Rsvp:
    """Keep the contact's answer (the last one counts, whatever its channel); the meeting is made if it did not
    exist yet. `via`: portal, link or calendar (CHANNELS). Every channel comes through here, so answer_recorded
    is sent here, once per answer kept; `announce=False` for all but one of many answers given at once (a
    calendar accepting a whole series). `answered_by`: who answered, when not the contact (a business's account
    answering for the company)."""
    if via not in CHANNELS:
        raise ValueError(f"unknown channel {via!r}")
    if answer not in ANSWERS:
        raise InvalidData.on("answer", _l("Choose: I will attend, I will not attend, or maybe."))
    meeting = target.meeting or scheduling.meeting_for(target.series, target.occurrence)[0]
    db.session.flush()
    rsvp = db.session.execute(
        select(Rsvp).where(Rsvp.meeting_id == meeting.id, Rsvp.contact_id == target.contact.id)
    ).scalar_one_or_none() or Rsvp(meeting_id=meeting.id, contact=target.contact)
    rsvp.answer, rsvp.comment, rsvp.via = answer, (comment or "").strip()[:2000], via
    db.session.add(rsvp)
    db.session.flush()  # the receivers get an Rsvp with its id
    if announce:
        answer_recorded.send(rsvp, answered_by=answered_by)
    return rsvp


def answers_to(meeting: Meeting, business_id: int | None = None) -> list[Rsvp]:
    """The answers given to the meeting by the businesses invited to it now (of one business's contacts only,
    with `business_id`), with their contact and channel, by business and contact. A business whose invitation
    ended is no longer expected: its earlier answers are kept, not listed."""
    invited = [b.id for b in invited_businesses(meeting)]
    stmt = select(Rsvp).join(Contact, Contact.id == Rsvp.contact_id) \
        .where(Rsvp.meeting_id == meeting.id, Contact.business_id.in_(invited)) \
        .options(joinedload(Rsvp.contact)).order_by(Contact.business_id, Contact.name, Contact.id)
    if business_id is not None:
        stmt = stmt.where(Contact.business_id == business_id)
    return list(db.session.execute(stmt).scalars())


def answer_of(target: RsvpTarget) -> Rsvp | None:
    """The answer the link's contact gave so far for its meeting, or None."""
    if target.meeting is not None:
        meeting_id = target.meeting.id
    else:
        meeting_id = scheduling.meeting_ids(target.series, [target.occurrence]).get(target.occurrence)
    if meeting_id is None:
        return None
    return db.session.execute(
        select(Rsvp).where(Rsvp.meeting_id == meeting_id, Rsvp.contact_id == target.contact.id)
    ).scalar_one_or_none()


# -- Attendance ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExpectedPerson:
    contact: Contact
    answer: str | None
    attendee: Attendee | None
    via: str | None = None  # where the answer came from: portal, link or calendar
    comment: str = ""


def expected(meeting: Meeting, businesses: list[Business] | None = None,
             attendees: list[Attendee] | None = None) -> list[ExpectedPerson]:
    """Every contact of the invited businesses, with their answer and their attendance so far. A page that
    already holds the meeting's invited businesses and attendees passes them (two queries fewer)."""
    businesses = invited_businesses(meeting) if businesses is None else businesses
    # By name as Vietnamese read them: Đ among the D's (fold), not after Z.
    contacts = sorted(db.session.execute(
        select(Contact).where(Contact.business_id.in_([b.id for b in businesses]))
        .options(joinedload(Contact.business))
    ).scalars().all(), key=lambda c: (fold(c.name), c.id)) if businesses else []
    answers = {row.contact_id: row for row in db.session.execute(
        select(Rsvp.contact_id, Rsvp.answer, Rsvp.via, Rsvp.comment).where(Rsvp.meeting_id == meeting.id)).all()}
    by_contact = {a.contact_id: a for a in (attendees_of(meeting) if attendees is None else attendees) if a.contact_id}
    return [ExpectedPerson(c, answers[c.id].answer if c.id in answers else None, by_contact.get(c.id),
                           answers[c.id].via if c.id in answers else None,
                           answers[c.id].comment if c.id in answers else "") for c in contacts]


def attendees_of(meeting: Meeting) -> list[Attendee]:
    return sorted(db.session.execute(
        select(Attendee).where(Attendee.meeting_id == meeting.id)
        .options(joinedload(Attendee.business), joinedload(Attendee.user))
    ).scalars(), key=lambda a: (fold(a.name), a.id))


def attendee_of(meeting: Meeting, attendee_id: int) -> Attendee | None:
    """The meeting's attendee with this id, else None (another meeting's attendee is not reached through this one)."""
    return db.session.execute(
        select(Attendee).where(Attendee.id == attendee_id, Attendee.meeting_id == meeting.id)
    ).scalar_one_or_none()


def check_in(meeting: Meeting, contact: Contact, attendance: str = "present") -> Attendee:
    """Mark a business's contact present (or absent, or excused): an invited one, or one who came although
    their business was not invited (recorded as that contact, linked to the business)."""
    if attendance not in ATTENDANCE:
        raise InvalidData.on("attendance", _l("Choose present, absent or excused."))
    attendee = db.session.execute(
        select(Attendee).where(Attendee.meeting_id == meeting.id, Attendee.contact_id == contact.id)
    ).scalar_one_or_none() or Attendee(meeting_id=meeting.id, contact=contact, business=contact.business,
                                        name=contact.name, organisation=contact.business.name,
                                        phone=contact.phone or "", role=contact.position or "")
    attendee.attendance = attendance
    attendee.checked_in_at = utcnow() if attendance == "present" else None
    db.session.add(attendee)
    return attendee


def add_walk_in(meeting: Meeting, *, name: str, organisation: str = "", phone: str = "", role: str = "",
                business: Business | None = None) -> Attendee:
    """Someone who came without being on the list: recorded with what they tell at the door."""
    if not name.strip():
        raise InvalidData.on("name", _l("Enter the person's name."))
    known = [c for c in (business.contacts if business else []) if _same_name(c.name, name)]
    if len(known) == 1:  # a known person of a known business: recorded as that contact, not as a stranger
        return check_in(meeting, known[0])
    # The same walk-in recorded twice (a second tap, a colleague at the other door) stays one line of the minutes:
    # the same name of the same business, or of the same organisation with no other phone (two people may share
    # a name).
    organisation = (organisation or (business.name if business else "")).strip()
    phone = (phone or "").strip()
    already = next((a for a in db.session.execute(select(Attendee).where(
        Attendee.meeting_id == meeting.id, Attendee.contact_id.is_(None), Attendee.user_id.is_(None),
        Attendee.business_id == business.id if business else Attendee.business_id.is_(None))).scalars()
        if _same_name(a.name, name) and (business is not None or _same_name(a.organisation, organisation))
        and not (phone and a.phone and phone != a.phone)), None)
    if already is not None:
        already.attendance = "present"
        already.checked_in_at = already.checked_in_at or utcnow()
        return already
    attendee = Attendee(meeting_id=meeting.id, business=business, name=name.strip()[:255],
                        organisation=(organisation or (business.name if business else "")).strip()[:255],
                        phone=(phone or "").strip()[:32], role=(role or "").strip()[:255], attendance="present",
                        checked_in_at=utcnow())
    db.session.add(attendee)
    return attendee


def _same_name(a: str, b: str) -> bool:
    """The same name however it was typed (case, spaces, composed or not), accents kept: Lê is not Lệ."""
    def plain(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).casefold().split())
    return plain(a) == plain(b)


def add_official(meeting: Meeting, user: User, role: str = "") -> Attendee:
    """An officer of the office at the meeting (chair, secretary, the officers who answer)."""
    existing = db.session.execute(
        select(Attendee).where(Attendee.meeting_id == meeting.id, Attendee.user_id == user.id)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    attendee = Attendee(meeting_id=meeting.id, user=user, name=user.name,
                        organisation=user.unit.name if user.unit else "", role=role.strip()[:255],
                        attendance="present", checked_in_at=utcnow())
    db.session.add(attendee)
    return attendee


def set_attendance(attendee: Attendee, attendance: str) -> Attendee:
    if attendance not in ATTENDANCE:
        raise InvalidData.on("attendance", _l("Choose present, absent or excused."))
    attendee.attendance = attendance
    attendee.checked_in_at = utcnow() if attendance == "present" else None
    return attendee


def counts_by_business(meeting: Meeting) -> list[tuple[str, int]]:
    """How many people each business had present, most first."""
    return db.session.execute(
        select(Business.name, func.count(Attendee.id)).join(Attendee, Attendee.business_id == Business.id)
        .where(Attendee.meeting_id == meeting.id, Attendee.attendance == "present")
        .group_by(Business.id, Business.name).order_by(func.count(Attendee.id).desc(), Business.name)
    ).all()


# -- The business portal: a business user's invitations and answers ---------------------------------------------
# A business user is not a Contact. A portal answer is recorded for the contacts of the business whose e-mail is
# the user's own (the person answering for themself); when none is, for every contact of the business (the user
# answers for the company, as the office invited the company). The latest answer of those contacts is shown back.
# Accepting (or "maybe"), the user may name who of the company's contacts will come: those get the answer and the
# others "will not attend", so that the organisers count the people who come, not the company's address book.
# Declining is the company's: every contact "will not attend". The answer shown back is the company's: "will
# attend" when one of its contacts will, else "maybe" when one may, else "will not attend".


@dataclass(frozen=True)
class Invitation:
    """One meeting a business is invited to, as its portal and `GET /api/v1/invitations` show it. `meeting_id` is
    None for an occurrence of a series not yet made a meeting: answering makes it one."""

    meeting_id: int | None
    series_id: int | None
    occurrence: date | None
    title: str
    start: datetime
    end: datetime
    location: str
    status: str
    description: str
    answer: str | None
    comment: str
    open: bool  # answers are taken until the meeting starts, and not for a cancelled one
    attending: tuple[int, ...] = ()  # the business's contacts whose latest answer is "will attend" or "maybe"


def business_contacts_of(user: User) -> list[Contact]:
    """Every contact person of a business user's company, in the order they were added."""
    return list(db.session.execute(
        select(Contact).where(Contact.business_id == user.business_id).order_by(Contact.id)).scalars()) \
        if user.business_id else []


def answering_contacts(user: User, contacts: list[Contact] | None = None) -> list[Contact]:
    """The contacts a business user's portal answer is recorded for (see above)."""
    contacts = business_contacts_of(user) if contacts is None else contacts
    own = [c for c in contacts if c.email and c.email.casefold() == (user.email or "").casefold()]
    return own or contacts


def _extra_meetings(user: User, window_start: datetime, window_end: datetime) -> list[Meeting]:
    """Occurrences of series the business is not invited to, to which it was invited alone (agenda() shows
    a series' meetings through the series only)."""
    if not user.business_id:
        return []
    return list(db.session.execute(
        select(Meeting).join(MeetingInvitation, MeetingInvitation.meeting_id == Meeting.id)
        .where(MeetingInvitation.business_id == user.business_id, Meeting.series_id.is_not(None),
               Meeting.series_id.not_in(invited_series(user.business_id)),
               Meeting.start >= window_start, Meeting.start < window_end)
    ).scalars())


def checked_window(window_start: datetime, window_end: datetime) -> tuple[datetime, datetime]:
    """The window asked for, or InvalidData saying what is wrong with it."""
    if window_end <= window_start:
        raise InvalidData.on("to", _l("The end of the period must come after its start."))
    if window_end > window_start + timedelta(days=366 * 5):
        raise InvalidData.on("to", _l("Ask for at most 5 years at a time."))
    scheduling.check_year(window_start, "from")
    scheduling.check_year(window_end - timedelta(microseconds=1), "to")
    return window_start, window_end


def invitations_of(user: User, window_start: datetime, window_end: datetime) -> list[Invitation]:
    """What a business user is invited to, starting in the window: one-off meetings and series occurrences
    alike, by start, each with the answer given so far. Four queries whatever the number of meetings."""
    entries = [(e.title, e.start, e.end, e.location, e.status, e.series_id, e.occurrence, e.meeting)
               for e in scheduling.agenda(user, window_start, window_end)]
    entries += [(m.title, m.start, m.end, m.location, m.status, m.series_id, m.occurrence, m)
                for m in _extra_meetings(user, window_start, window_end)]
    series_ids = {e[5] for e in entries if e[5]}
    descriptions = dict(db.session.execute(
        select(Series.id, Series.description).where(Series.id.in_(series_ids))).all()) if series_ids else {}
    meeting_ids = [e[7].id for e in entries if e[7] is not None]
    latest: dict[tuple[int, int], Rsvp] = {}
    everyone = business_contacts_of(user)
    if meeting_ids and everyone:
        for rsvp in db.session.execute(
            select(Rsvp).where(Rsvp.meeting_id.in_(meeting_ids), Rsvp.contact_id.in_([c.id for c in everyone]))
            .order_by(Rsvp.answered_at, Rsvp.id)
        ).scalars():
            latest[(rsvp.meeting_id, rsvp.contact_id)] = rsvp  # each contact's latest wins
    now = utcnow()
    items = []
    for title, start, end, location, status, series_id, occurrence, meeting in entries:
        given = [latest[(meeting.id, c.id)] for c in everyone if meeting is not None and (meeting.id, c.id) in latest]
        rsvp = _company_answer(given)
        agenda = descriptions.get(series_id, "") if series_id else meeting.description
        attending = tuple(r.contact_id for r in given if r.answer in ("accepted", "tentative"))
        items.append(Invitation(
            meeting.id if meeting else None, series_id, occurrence, title, start, end, location, status, agenda,
            rsvp.answer if rsvp else None, rsvp.comment if rsvp else "", status != "cancelled" and start > now,
            attending))
    items.sort(key=lambda i: (i.start, i.meeting_id or 0))
    return items


def _company_answer(given: list[Rsvp]) -> Rsvp | None:
    """Of the latest answers of a company's contacts, the one that says the company's: the latest "will
    attend", else the latest "maybe", else the latest of all."""
    for wanted in ("accepted", "tentative", None):
        found = [r for r in given if wanted is None or r.answer == wanted]
        if found:
            return max(found, key=lambda r: (r.answered_at, r.id))
    return None


def answer_invitation(user: User, answer: str, comment: str = "", *, meeting_id: int | None = None,
                      series_id: int | None = None, occurrence: date | None = None,
                      attendees: list[int] | None = None) -> Invitation:
    """A business user answers from the portal (or the API) for one meeting, or one occurrence of a series
    known by its date; `attendees`, when accepting (or "maybe"), the ids of the contacts who will come (the
    company's other contacts then will not). NotFound for what the business is not invited to, Conflict once the
    meeting started or when it is cancelled, InvalidData for an unknown answer or attendee: in each case nothing
    is recorded."""
    not_invited = _l("Your business is not invited to this meeting.")
    if meeting_id is not None:
        meeting = get_visible(user, Meeting, meeting_id)
        if meeting is None:
            raise NotFound(not_invited)
        start, status, series = meeting.start, meeting.status, None
    else:
        series = get_visible(user, Series, series_id) if series_id is not None else None
        if series is None or occurrence is None:
            raise NotFound(not_invited)
        found = scheduling.occurrence_of(series, occurrence)  # NotFound: the series has no meeting that day
        meeting, start, status = None, found.start, found.status.value
    if answer not in ANSWERS:
        raise InvalidData.on("answer", _l("Choose: I will attend, I will not attend, or maybe."))
    if status == "cancelled":
        raise Conflict.on("answer", _l("This meeting is cancelled: there is nothing to answer."))
    if start <= utcnow():
        raise Conflict.on("answer", _l("This meeting has started: answers are closed."))
    everyone = business_contacts_of(user)
    if not everyone:
        raise InvalidData.on("answer", _l("Your business has no contact person recorded: ask the office to add "
                                          "one, then answer."))
    if answer == "declined":
        answers = [(contact, answer, comment) for contact in everyone]
    elif attendees:
        chosen = set(attendees)
        if not chosen <= {c.id for c in everyone}:
            raise InvalidData.on("attendees", _l("Choose who will come among your business's contact people."))
        answers = [(c, "declined", "") for c in everyone if c.id not in chosen] + \
                  [(c, answer, comment) for c in everyone if c.id in chosen]
    else:
        answers = [(contact, answer, comment) for contact in answering_contacts(user, everyone)]
    title = meeting.title if meeting is not None else series.title
    # One answer heard by the organisers (the last, of someone who comes when anyone does): the others are given
    # with it.
    for number, (contact, given, said) in enumerate(answers, start=1):
        rsvp = record_rsvp(RsvpTarget(contact, series, occurrence, meeting, title), given, said, via="portal",
                           announce=number == len(answers), answered_by=user.name)
    meeting = db.session.get(Meeting, rsvp.meeting_id)
    return next(i for i in invitations_of(user, meeting.start, meeting.start + timedelta(seconds=1))
                if i.meeting_id == meeting.id)
