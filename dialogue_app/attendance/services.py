"""Invitations, answers (RSVP) and attendance at meetings. Plain data in, objects out."""

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..auth.models import User
from ..db import utcnow
from ..exceptions import InvalidData, NotFound
from ..extensions import db
from ..org.models import Business, Contact
from ..org.services import business_by_tax_code, clean_tax_code
from ..scheduling import services as scheduling
from ..scheduling.models import Meeting, MeetingInvitation, Series
from ..scope import get_visible
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
    return sorted(businesses.values(), key=lambda b: b.name)


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


def invite_to_meeting(meeting: Meeting, business: Business) -> MeetingInvitation | None:
    """Invite one more business to this meeting only; None when it is invited already."""
    if business in invited_businesses(meeting):
        return None
    invitation = MeetingInvitation(meeting_id=meeting.id, business=business)
    db.session.add(invitation)
    return invitation


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
        target = RsvpTarget(contact, None, None, meeting, title)
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
        target = RsvpTarget(contact, series, occurrence, None, title)
    if end <= utcnow():
        raise RsvpRefused(_l("This meeting is over: answers are closed."))
    return target


def record_rsvp(target: RsvpTarget, answer: str, comment: str = "", *, via: str = "link") -> Rsvp:
    """Keep the contact's answer (the last one counts, whatever its channel); the meeting is made if it did not
    exist yet. `via`: portal, link or calendar (CHANNELS)."""
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
    return rsvp


# -- Attendance ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExpectedPerson:
    contact: Contact
    answer: str | None
    attendee: Attendee | None


def expected(meeting: Meeting, businesses: list[Business] | None = None,
             attendees: list[Attendee] | None = None) -> list[ExpectedPerson]:
    """Every contact of the invited businesses, with their answer and their attendance so far. A page that
    already holds the meeting's invited businesses and attendees passes them (two queries fewer)."""
    businesses = invited_businesses(meeting) if businesses is None else businesses
    contacts = db.session.execute(
        select(Contact).where(Contact.business_id.in_([b.id for b in businesses]))
        .options(joinedload(Contact.business)).order_by(Contact.name)
    ).scalars().all() if businesses else []
    answers = dict(db.session.execute(
        select(Rsvp.contact_id, Rsvp.answer).where(Rsvp.meeting_id == meeting.id)).all())
    by_contact = {a.contact_id: a for a in (attendees_of(meeting) if attendees is None else attendees) if a.contact_id}
    return [ExpectedPerson(c, answers.get(c.id), by_contact.get(c.id)) for c in contacts]


def attendees_of(meeting: Meeting) -> list[Attendee]:
    return list(db.session.execute(
        select(Attendee).where(Attendee.meeting_id == meeting.id)
        .options(joinedload(Attendee.business), joinedload(Attendee.user)).order_by(Attendee.name)
    ).scalars())


def attendee_of(meeting: Meeting, attendee_id: int) -> Attendee | None:
    """The meeting's attendee with this id, else None (another meeting's attendee is not reached through this one)."""
    return db.session.execute(
        select(Attendee).where(Attendee.id == attendee_id, Attendee.meeting_id == meeting.id)
    ).scalar_one_or_none()


def check_in(meeting: Meeting, contact: Contact, attendance: str = "present") -> Attendee:
    """Mark an invited business's contact present (or absent, or excused)."""
    if attendance not in ATTENDANCE:
        raise InvalidData.on("attendance", _l("Choose present, absent or excused."))
    if contact.business not in invited_businesses(meeting):
        raise InvalidData.on("contact_id", _l("This person's business is not invited to the meeting."))
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
    attendee = Attendee(meeting_id=meeting.id, business=business, name=name.strip()[:255],
                        organisation=(organisation or (business.name if business else "")).strip()[:255],
                        phone=(phone or "").strip()[:32], role=(role or "").strip()[:255], attendance="present",
                        checked_in_at=utcnow())
    db.session.add(attendee)
    return attendee


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
