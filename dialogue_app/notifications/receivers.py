"""Who hears of what: the receivers of the signals other domains send (connected in init_app), and the
overdue check. Each receiver picks the people concerned and keeps only those scope lets open the object
(a person is only told of what they may open), then hands them to services.notify."""

from datetime import date, datetime

from sqlalchemy import delete, exists, select

from .. import officetime
from ..attendance.models import Attendee, Rsvp
from ..auth.models import Role, User
from ..db import utcnow
from ..exceptions import NotFound
from ..extensions import db
from ..issues.models import Issue, Topic
from ..issues.services import answering_unit, business_contacts, officers_for, overdue_condition
from ..mail.services import enqueue_template
from ..minutes.models import Minutes
from ..minutes.services import can_read, unit_managers
from ..org.models import Contact
from ..scheduling import services as scheduling
from ..scheduling.models import Meeting, MeetingInvitation, Series
from ..scope import HEADS, MANAGERS, OFFICERS, get_visible, in_group, is_staff, visible
from .models import Notification
from .services import absolute, already_told, mail_sentence, notify, path_for, refresh_unread, withdraw


def _when(value: datetime | date | None) -> str:
    """A moment as the office writes it (its zone, day/month/year), fixed when the notification is written."""
    if isinstance(value, datetime):
        return officetime.local(value).strftime("%H:%M %d/%m/%Y")
    return value.strftime("%d/%m/%Y") if value is not None else ""


def _may_open(users, model, ident: int) -> list[User]:
    return [user for user in users if get_visible(user, model, ident) is not None]


def _business_users(business_ids) -> list[User]:
    ids = sorted(set(business_ids))
    if not ids:
        return []
    return list(db.session.execute(
        select(User).where(User.role == Role.BUSINESS.value, User.active, User.business_id.in_(ids))
        .order_by(User.id)).scalars())


def _target(sender, occurrence: date | None = None) -> tuple[str, int, str, dict]:
    """(subject, id, url, params) for a series or a meeting."""
    if isinstance(sender, Meeting):
        return "meeting", sender.id, path_for("scheduling.meeting_page", meeting_id=sender.id), {
            "title": sender.title, "when": _when(sender.start)}
    if occurrence is not None:
        when = _when(occurrence)
    else:  # the series as a whole: its next meeting (first_start is a wall time of the series' zone, not UTC)
        following = scheduling.next_occurrence(sender)
        when = _when(following.start) if following is not None else sender.first_start.strftime("%H:%M %d/%m/%Y")
    # One occurrence: the series page at its year, on its line (the page shows one year).
    url = (path_for("scheduling.series_page", series_id=sender.id, year=occurrence.year) + f"#o-{occurrence}"
           if occurrence is not None else path_for("scheduling.series_page", series_id=sender.id))
    return "series", sender.id, url, {"title": sender.title, "when": when}


def _now_at(sender, occurrence: date | None) -> dict:
    """When and where one changed occurrence now is, for the sentence that tells of the change beside the day
    it was planned on. A meeting's or a whole series' former time is not known here: the plain sentence."""
    if not isinstance(sender, Series) or occurrence is None:
        return {}
    try:
        found = scheduling.occurrence_of(sender, occurrence)
    except NotFound:  # the rule no longer makes it (the series was edited since)
        return {}
    return {"now": _when(found.start), "place": found.location or sender.location}


def on_businesses_invited(sender, business_ids=(), actor=None, **_) -> None:
    if isinstance(sender, Meeting) and sender.start <= utcnow():
        return  # invited once it has begun, to record who came: there is nothing left to answer or to come to
    subject, ident, _url, params = _target(sender)
    people = _may_open(_business_users(business_ids), type(sender), ident)
    # To the portal, where the invitation is answered (the meeting's own page only shows it).
    notify(people, "invited", params=params, url=path_for("home.index"), subject=subject, subject_id=ident,
           actor=actor)


def _invited_business_ids(sender, occurrence: date | None = None) -> set[int]:
    """The series' or meeting's invited businesses; for one occurrence of a series, also those invited to its
    meeting alone."""
    series = sender if isinstance(sender, Series) else sender.series
    ids = {business.id for business in series.invitees} if series is not None else set()
    alone = MeetingInvitation.meeting_id == sender.id if isinstance(sender, Meeting) else None
    if isinstance(sender, Series) and occurrence is not None:
        alone = MeetingInvitation.meeting_id.in_(
            select(Meeting.id).where(Meeting.series_id == sender.id, Meeting.occurrence == occurrence))
    if alone is not None:
        ids |= set(db.session.execute(select(MeetingInvitation.business_id).where(alone)).scalars())
    return ids


def on_meeting_changed(sender, occurrence: date | None = None, cancelled: bool = False, actor=None, **_) -> None:
    subject, ident, url, params = _target(sender, occurrence)
    business_ids = _invited_business_ids(sender, occurrence)
    series_ids = _invited_business_ids(sender)
    people = _may_open(_business_users(series_ids), type(sender), ident)
    # Those invited to that occurrence's meeting alone cannot open the series: they are led to their portal.
    alone = [user for user in _business_users(business_ids - series_ids) if user not in people]
    # The invited contacts get the calendar's update by mail (calendar): an account that is one of them is not
    # mailed a second time.
    contacts = {email.lower() for email in db.session.execute(
        select(Contact.email).where(Contact.business_id.in_(business_ids), Contact.email.is_not(None))).scalars()}

    def mail(user: User, notification: Notification) -> None:
        if user.email.lower() not in contacts:
            mail_sentence(user, notification)

    params = {**params, "cancelled": bool(cancelled), **({} if cancelled else _now_at(sender, occurrence))}
    notify(people, "meeting_changed", params=params, url=url, subject=subject, subject_id=ident, actor=actor,
           mail=mail)
    notify(alone, "meeting_changed", params=params, url=path_for("home.index"), subject=subject, subject_id=ident,
           actor=actor, mail=mail)


def on_answer_recorded(sender: Rsvp, actor=None, answered_by: str = "", **_) -> None:
    meeting = db.session.get(Meeting, sender.meeting_id)
    organisers = _may_open(db.session.execute(
        select(User).where(User.role == Role.ORGANISER.value, User.active, User.unit_id == meeting.unit_id)
        .order_by(User.id)).scalars(), Meeting, meeting.id)
    contact = sender.contact
    # A business's account answers for the company: the sentence names who answered, not the contact recorded.
    params = {"contact": answered_by or contact.name, "business": contact.business.name, "answer": sender.answer,
              "title": meeting.title, "when": _when(meeting.start)}
    # A business's answers to one meeting not yet read are one line, kept current (its portal answers for
    # each of its contacts at once; it may change its mind).
    served = refresh_unread(organisers, "answer_received", "meeting", meeting.id,
                            lambda old: old.get("business") == params["business"], params)
    notify([user for user in organisers if user.id not in served], "answer_received", params=params,
           url=path_for("scheduling.meeting_page", meeting_id=meeting.id), subject="meeting",
           subject_id=meeting.id, actor=actor)


def on_invitations_withdrawn(sender, business_ids=(), actor=None, **_) -> None:
    """Businesses' invitations to a series or a meeting ended: their accounts lose what led to it, and are
    told (leading to their portal, since the meeting is no longer theirs to open)."""
    subject, ident, _url, params = _target(sender)
    people = _business_users(business_ids)
    withdraw(people, subject, ident, ("invited", "meeting_changed"))
    notify(people, "uninvited", params=params, url=path_for("home.index"), subject=subject, subject_id=ident,
           actor=actor)


def _officers_of(unit_id: int, group=OFFICERS) -> list[User]:
    return list(db.session.execute(
        select(User).where(in_group(group), User.active, User.unit_id == unit_id).order_by(User.id)).scalars())


def _heads_for(issue: Issue) -> list[User]:
    """Who answers for an issue's unit: its managers; for a complaint about an officer's conduct, which a branch
    with no manager would leave to nobody, the managers who handle it (its unit's and those above)."""
    return officers_for(issue) if issue.topic.sensitive else _officers_of(issue.unit_id, HEADS)


def on_issue_event(sender: Issue, event: str, actor=None, **_) -> None:
    issue = sender
    db.session.flush()  # a new issue needs its id, and scope reads what was just changed
    people: list[User] = []
    params = {"id": issue.id, "title": issue.title}
    mail = None
    if event == "raised":
        # Those who will handle it: the unit's officers; for a complaint about an officer's conduct, the managers
        # of the unit and of the units above (its organisers may not read it).
        people = officers_for(issue)
        params.update(business=issue.business.name, channel=issue.channel)
    elif event == "assigned":
        people = [issue.assignee]
        params["due"] = _when(issue.due_date)

        def mail(user: User, notification: Notification) -> None:
            enqueue_template("issue_assigned", to=[user.email], language=user.language, issue=issue,
                             url=absolute(notification.url))
    elif event == "escalated":
        people = _officers_of(issue.unit_id)
        params["unit"] = issue.unit.name
    elif event == "answered":
        people = _business_users([issue.business_id])
        params["unit"] = answering_unit(issue).name
        # An account that is also the contact mailed has the mail already.
        mailed = {email.lower() for email in business_contacts(issue)}

        def mail(user: User, notification: Notification) -> None:
            if user.email.lower() not in mailed:
                enqueue_template("issue_answered", to=[user.email], language=user.language, issue=issue,
                                 unit=answering_unit(issue), message=issue.events[-1].message,
                                 url=absolute(notification.url))
    elif event == "message":
        people = _business_users([issue.business_id])
        said, writer = issue.events[-1].message, (actor.unit if actor is not None else None) or issue.unit
        params.update(unit=writer.name, message=said if len(said) <= 300 else said[:299] + "…")
        mailed = {email.lower() for email in business_contacts(issue)}

        def mail(user: User, notification: Notification) -> None:
            if user.email.lower() not in mailed:
                enqueue_template("issue_message", to=[user.email], language=user.language, issue=issue,
                                 unit=writer, message=said, url=absolute(notification.url))
    elif event == "rated":
        officer = issue.answered_by or issue.assignee
        people = [officer] if officer is not None else _heads_for(issue)
        params["score"] = issue.rating.score if issue.rating else 0
    elif event == "overdue":
        people = [issue.assignee, *_heads_for(issue)]
        params["due"] = _when(issue.due_date)
    notify(_may_open([p for p in people if p is not None], Issue, issue.id), f"issue_{event}", params=params,
           url=path_for("issues.issue_page", issue_id=issue.id), subject="issue", subject_id=issue.id,
           actor=actor, mail=mail)


def on_minutes_sent(sender: Minutes, actor=None, **_) -> None:
    meeting = sender.meeting
    business_ids = db.session.execute(
        select(Attendee.business_id).where(Attendee.meeting_id == meeting.id, Attendee.attendance == "present",
                                           Attendee.business_id.is_not(None))).scalars()
    params = {"title": meeting.title, "when": _when(meeting.start)}
    readers = [user for user in _may_open(_business_users(business_ids), Meeting, meeting.id)
               if can_read(user, sender)]
    notify(readers, "minutes_sent", params=params, url=path_for("minutes.minutes_pdf", meeting_id=meeting.id),
           subject="minutes", subject_id=sender.id, actor=actor)
    notify(_may_open(unit_managers(meeting), Meeting, meeting.id), "minutes_sent", params=params,
           url=path_for("minutes.minutes_page", meeting_id=meeting.id), subject="minutes", subject_id=sender.id,
           actor=actor)


def notify_overdue(today: date | None = None) -> int:
    """Tell the assignee and the unit's heads of each issue past its due date, once per issue. Returns how many
    issues were told of."""
    issues = db.session.execute(select(Issue).where(overdue_condition(today)).order_by(Issue.id)).scalars().all()
    told = 0
    for issue in issues:
        if not already_told("issue", issue.id, "issue_overdue"):
            on_issue_event(issue, event="overdue", actor=None)
            told += 1
    return told


def on_rights_changed(sender: User, **extra) -> None:
    """An account's role, unit or company changed: what it was told of and may no longer open goes. Its title
    would still show in the list, telling of another unit's (or a sensitive topic's) business, and lead to "not
    found"."""
    final_only = () if is_staff(sender) else (Minutes.status == "final",)
    reachable = {
        "issue": select(Issue.id).where(Issue.id == Notification.subject_id, visible(sender, Issue)),
        "meeting": select(Meeting.id).where(Meeting.id == Notification.subject_id, visible(sender, Meeting)),
        "series": select(Series.id).where(Series.id == Notification.subject_id, visible(sender, Series)),
        "minutes": select(Minutes.id).join(Meeting, Meeting.id == Minutes.meeting_id)
        .where(Minutes.id == Notification.subject_id, visible(sender, Meeting), *final_only),
    }
    for subject, statement in reachable.items():
        db.session.execute(delete(Notification).where(
            Notification.user_id == sender.id, Notification.subject == subject, ~exists(statement)))


def on_topic_restricted(sender: Topic, **extra) -> None:
    """A topic became sensitive: staff who are not managers no longer open its issues, nor keep what told of
    them (the titles of complaints about an officer)."""
    db.session.execute(delete(Notification).where(
        Notification.subject == "issue",
        Notification.subject_id.in_(select(Issue.id).where(Issue.topic_id == sender.id)),
        Notification.user_id.in_(select(User.id).where(in_group(OFFICERS), ~in_group(MANAGERS)))))
