"""Answers from calendars: the iTIP REPLY that Outlook, Gmail or Apple Calendar mail to the ORGANIZER address
when an invited contact presses Accept, Decline or Maybe, read from the organiser mailbox and recorded like an
answer from the portal or a signed link (attendance.services.record_rsvp, via "calendar").

What becomes of each message not handled yet (mail/imap.py marks it, so a second run does nothing):
- recorded: the answer is kept; the message is marked read.
- ignored: nothing to do (not a calendar answer at all, a meeting since cancelled or over, an answer given
  later through another channel); one line in the log, the message stays where it is, unread if it was.
- set aside: it looks like an answer, but a person must judge it (a sender who is not the ATTENDEE or no
  contact of an invited business, a UID that names no meeting of ours, an unknown PARTSTAT, a calendar part too
  large or unreadable); one line in the log, the message moved to the folder "Dialogue/Set aside".
- retry: the database failed; nothing changed, the message is left for the next run.

The latest answer wins, whatever its channel: a calendar's answer counts from the moment it reached the mailbox
(its INTERNALDATE, kept as the answer's time), so a REPLY that arrived before the contact's current answer was given
(through the portal, a link, or a later REPLY) changes nothing, however late it is read.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..attendance.models import Rsvp
from ..attendance.services import RsvpTarget, invited_businesses, record_rsvp
from ..db import utcnow
from ..exceptions import NotFound
from ..extensions import db
from ..mail.imap import Incoming, Mailbox, MailboxUnreachable
from ..org.models import Contact
from ..scheduling import services as scheduling
from ..scheduling.models import Meeting, Series
from ..scheduling.recurrence import FIRST_YEAR, LAST_YEAR, Occurrence
from . import ical
from .services import uid_domain

ANSWERS = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}
UID = re.compile(r"^(series|meeting)-(\d{1,18})@(.+)$", re.IGNORECASE)
# A REPLY for a whole series answers for each of its occurrences to come within this time.
SERIES_REACH = timedelta(days=366)

RECORDED, IGNORED, SET_ASIDE, RETRY = "recorded", "ignored", "set aside", "retry"


@dataclass(frozen=True)
class Outcome:
    action: str
    why: str


@dataclass
class ReceiveReport:
    counts: dict = field(default_factory=lambda: dict.fromkeys((RECORDED, IGNORED, SET_ASIDE, RETRY), 0))

    def summary(self) -> str:
        return (f"{self.counts[RECORDED]} answer(s) recorded, {self.counts[SET_ASIDE]} set aside for a person, "
                f"{self.counts[IGNORED]} without an answer to record, {self.counts[RETRY]} left for the next run")


def _target_day(series: Series, moment) -> date | None:
    """The occurrence a RECURRENCE-ID names: its date in the series' zone (clients may write it in UTC); None
    for anything else a sender may write there (a duration, a period, a year no series reaches)."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(scheduling.series_zone(series)).date() if moment.tzinfo else moment.date()
    if not isinstance(moment, date) or not FIRST_YEAR <= moment.year <= LAST_YEAR:
        return None
    return moment


class Known:
    """What one run looks up again and again (a mailbox holds many answers to the same meetings): asked once per
    run. Invitations and occurrences do not change in the seconds a run lasts; ids only, the session's identity
    map keeps the objects."""

    def __init__(self):
        self._invited: dict[tuple[str, int], frozenset[int]] = {}
        self._contacts: dict[tuple[str, frozenset[int]], int | None] = {}
        self._occurrences: dict[tuple[int, date], Occurrence | None] = {}
        self._coming: dict[int, list[Occurrence]] = {}

    def invited(self, target: Series | Meeting) -> frozenset[int]:
        key = ("series" if isinstance(target, Series) else "meeting", target.id)
        if key not in self._invited:
            businesses = target.invitees if isinstance(target, Series) else invited_businesses(target)
            self._invited[key] = frozenset(b.id for b in businesses)
        return self._invited[key]

    def contact(self, sender: str, business_ids: frozenset[int]) -> Contact | None:
        if not business_ids or not sender:
            return None
        key = (sender, business_ids)
        if key not in self._contacts:
            self._contacts[key] = db.session.execute(
                select(Contact.id).where(func.lower(Contact.email) == sender, Contact.business_id.in_(business_ids))
                .order_by(Contact.id).limit(1)
            ).scalar_one_or_none()
        found = self._contacts[key]
        return db.session.get(Contact, found) if found is not None else None

    def occurrence(self, series: Series, day: date) -> Occurrence | None:
        key = (series.id, day)
        if key not in self._occurrences:
            try:
                self._occurrences[key] = scheduling.occurrence_of(series, day)
            except NotFound:
                self._occurrences[key] = None
        return self._occurrences[key]

    def coming(self, series: Series) -> list[Occurrence]:
        """The series' occurrences still to come within SERIES_REACH, cancelled ones left out."""
        if series.id not in self._coming:
            now = utcnow()
            self._coming[series.id] = [o for o in scheduling.expand_series(series, now, now + SERIES_REACH)
                                       if o.status.value != "cancelled"]
        now = utcnow()
        return [o for o in self._coming[series.id] if o.end > now]


def _answered_after(meeting_id: int | None, contact: Contact, moment: datetime) -> bool:
    if meeting_id is None:
        return False
    answered_at = db.session.execute(
        select(Rsvp.answered_at).where(Rsvp.meeting_id == meeting_id, Rsvp.contact_id == contact.id)
    ).scalar_one_or_none()
    return answered_at is not None and answered_at > moment


def _existing_meeting_id(series: Series, day: date) -> int | None:
    return db.session.execute(
        select(Meeting.id).where(Meeting.series_id == series.id, Meeting.occurrence == day)
    ).scalar_one_or_none()


def _record_for_series(series: Series, reply: ical.Reply, incoming: Incoming, answer: str,
                       known: Known) -> Outcome:
    businesses = known.invited(series)
    now = utcnow()
    if reply.recurrence_id is not None:
        day = _target_day(series, reply.recurrence_id)
        occurrence = known.occurrence(series, day) if day is not None else None
        if occurrence is None:
            return Outcome(SET_ASIDE, f"series {series.id} has no occurrence at {reply.recurrence_id}")
        occurrences = [occurrence]
        # A business invited to this occurrence alone answers it too (its invitation carries the series' UID).
        meeting_id = _existing_meeting_id(series, occurrence.occurrence)
        if meeting_id is not None:
            businesses = businesses | known.invited(db.session.get(Meeting, meeting_id))
    else:
        occurrences = known.coming(series)
    contact = known.contact(incoming.sender, businesses)
    if contact is None:
        return Outcome(SET_ASIDE, f"{incoming.sender} is not a contact of a business invited to series "
                                  f"{series.id}")
    if reply.recurrence_id is not None:
        if occurrences[0].status.value == "cancelled":
            return Outcome(IGNORED, f"occurrence {occurrences[0].occurrence} of series {series.id} is cancelled")
        if occurrences[0].end <= now:
            return Outcome(IGNORED, f"occurrence {occurrences[0].occurrence} of series {series.id} is over")
    elif not occurrences:
        return Outcome(IGNORED, f"series {series.id} has no occurrence to come")
    recorded = 0
    for occurrence in occurrences:
        if _answered_after(_existing_meeting_id(series, occurrence.occurrence), contact, incoming.arrived):
            continue
        # A whole series accepted is one answer for the organisers to read, not one per occurrence.
        rsvp = record_rsvp(RsvpTarget(contact, series, occurrence.occurrence, None, series.title), answer,
                           reply.comment, via="calendar", announce=not recorded)
        rsvp.answered_at = incoming.arrived
        recorded += 1
    if not recorded:
        return Outcome(IGNORED, f"contact {contact.id} answered series {series.id} later through another channel")
    return Outcome(RECORDED, f"{answer} from contact {contact.id} for series {series.id}"
                             + (f" on {occurrences[0].occurrence}" if reply.recurrence_id is not None
                                else f" ({recorded} occurrence(s) to come)"))


def _record_for_meeting(meeting: Meeting, reply: ical.Reply, incoming: Incoming, answer: str,
                        known: Known) -> Outcome:
    contact = known.contact(incoming.sender, known.invited(meeting))
    if contact is None:
        return Outcome(SET_ASIDE, f"{incoming.sender} is not a contact of a business invited to meeting "
                                  f"{meeting.id}")
    if meeting.status == "cancelled":
        return Outcome(IGNORED, f"meeting {meeting.id} is cancelled")
    if meeting.end <= utcnow():
        return Outcome(IGNORED, f"meeting {meeting.id} is over")
    if _answered_after(meeting.id, contact, incoming.arrived):
        return Outcome(IGNORED, f"contact {contact.id} answered meeting {meeting.id} later through another channel")
    rsvp = record_rsvp(RsvpTarget(contact, None, None, meeting, meeting.title), answer, reply.comment, via="calendar")
    rsvp.answered_at = incoming.arrived
    return Outcome(RECORDED, f"{answer} from contact {contact.id} for meeting {meeting.id}")


def apply_reply(reply: ical.Reply, incoming: Incoming, known: Known) -> Outcome:
    """Record one REPLY's answer, or say why not (nothing is changed then)."""
    found = UID.match(reply.uid)
    if found is None or found.group(3).lower() != uid_domain().lower():
        return Outcome(SET_ASIDE, f"UID {reply.uid[:120]!r} names no meeting of ours")
    kind, number = found.group(1).lower(), int(found.group(2))
    target = db.session.get(Series if kind == "series" else Meeting, number)
    if target is None:
        return Outcome(SET_ASIDE, f"UID {reply.uid[:120]!r} names no meeting of ours")
    if incoming.authenticated is False:
        return Outcome(SET_ASIDE, f"the mail server did not vouch for the sender {incoming.sender or '(none)'} "
                                  "(no DMARC, DKIM or SPF pass for its domain)")
    attendee = next((a for a in reply.attendees if incoming.sender and incoming.sender in a.addresses), None)
    if attendee is None:
        return Outcome(SET_ASIDE, f"the sender {incoming.sender or '(none)'} is not the ATTENDEE who answers")
    answer = ANSWERS.get(attendee.partstat)
    if answer is None:
        return Outcome(SET_ASIDE, f"PARTSTAT {attendee.partstat[:40] or '(none)'!r} is no answer we record")
    if kind == "series":
        return _record_for_series(target, reply, incoming, answer, known)
    return _record_for_meeting(target, reply, incoming, answer, known)


def judge(incoming: Incoming, known: Known | None = None) -> Outcome:
    """What to do with one message: the first REPLY among its calendar parts decides (Gmail sends the same
    file twice, inline and as invite.ics)."""
    if not incoming.parts:
        return Outcome(IGNORED, "not a calendar message")
    problems = []
    for part in incoming.parts:
        if part.text is None:
            problems.append(part.problem)
            continue
        replies = ical.read_reply(part.text, part.method)
        if replies is None:
            continue
        if len(replies) != 1:
            return Outcome(SET_ASIDE, f"a REPLY with {len(replies)} events (one expected)")
        return apply_reply(replies[0], incoming, known or Known())
    if problems:
        return Outcome(SET_ASIDE, f"{problems[0]}, not read")
    return Outcome(IGNORED, "a calendar message that is no REPLY")


def _judge_batch(batch: list[Incoming], known: Known) -> list[tuple[Incoming, Outcome]]:
    """Each message's outcome, the answers of the whole batch committed in one transaction. When the database
    fails, the batch is taken again one message per transaction, so that one bad message holds back only
    itself."""
    try:
        outcomes = [(incoming, _judged(incoming, known)) for incoming in batch]
        db.session.commit()
        return outcomes
    except SQLAlchemyError:
        db.session.rollback()
    outcomes = []
    for incoming in batch:
        try:
            outcome = _judged(incoming, known)
            db.session.commit()
        except SQLAlchemyError as error:
            db.session.rollback()
            outcome = Outcome(RETRY, f"the database failed ({type(error).__name__})")
        outcomes.append((incoming, outcome))
    return outcomes


def _judged(incoming: Incoming, known: Known) -> Outcome:
    """judge(), with whatever a hostile message makes it trip on turned into setting that message aside: one
    message must never stop the mailbox from being read (the database's own failures go up, to be retried)."""
    try:
        with db.session.begin_nested():
            return judge(incoming, known)
    except SQLAlchemyError:
        raise
    except Exception as error:  # noqa: BLE001 (any fault of one message's content)
        return Outcome(SET_ASIDE, f"the message could not be read as an answer ({type(error).__name__})")


def receive_mail(config) -> ReceiveReport:
    """Read the organiser mailbox once: every message not handled yet. A batch's answers are committed in one
    transaction, then its messages marked in the mailbox (a run stopped between the two records those answers
    again next time, the same). MailboxUnreachable when the mailbox cannot be read."""
    report = ReceiveReport()
    logger = current_app.logger
    known = Known()
    with Mailbox.open(config) as box:
        for batch in box.pending():
            outcomes = _judge_batch(batch, known)
            for incoming, outcome in outcomes:
                line = f"receive-mail: message {incoming.uid} from {incoming.sender or '(no sender)'}: " \
                       f"{outcome.action}: {outcome.why}"
                level = {RECORDED: logging.INFO, RETRY: logging.ERROR}.get(outcome.action, logging.WARNING)
                logger.log(level, line)
                report.counts[outcome.action] += 1
            uids = {action: [i.uid for i, o in outcomes if o.action == action] for action in report.counts}
            box.mark_done(uids[RECORDED], seen=True)
            box.mark_done(uids[IGNORED], seen=False)
            box.set_aside(uids[SET_ASIDE])
    return report


def receive_mail_task(app: Flask) -> None:
    """The worker's round (task "receive-mail"): nothing when no mailbox is set; a mailbox away is logged and
    tried again next round."""
    if not app.config.get("IMAP_SERVER"):
        return
    try:
        report = receive_mail(app.config)
    except MailboxUnreachable as error:
        app.logger.warning("receive-mail: %s", error)
        return
    if any(report.counts.values()):
        app.logger.info("receive-mail: %s", report.summary())
