"""Issues: raise, move through the workflow, answer, rate, publish. Plain data in, objects out."""

from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from .. import officetime
from ..auth.models import User
from ..db import utcnow
from ..exceptions import Conflict, Forbidden, InvalidData, ServiceError
from ..extensions import db, has_rows
from ..mail.services import enqueue_template
from ..officetime import holiday_calendar, office_zone
from ..org.models import Business, Contact, Interaction, Unit
from ..scheduling.models import Meeting
from ..scope import (
    HEADS,
    OFFICERS,
    in_group,
    is_below,
    is_business,
    is_staff,
    may_handle_issue,
    reads_restricted_records,
    unit_ids_below,
    unit_ids_up_to,
    unit_scoped,
    visible,
)
from ..signals import issue_event, topic_restricted
from ..text import person_label
from ..web import external_url
from .labels import STATUS_NAMES, TRANSITION_NAMES
from .models import CHANNELS, Attachment, Issue, IssueEvent, Rating, Topic
from .workflow import DONE_STATUSES, OPEN_STATUSES, IssueStatus, allowed_targets, find_transition, missing_fields

STATUS_GROUPS = {"open": [s.value for s in OPEN_STATUSES], "done": [s.value for s in DONE_STATUSES]}


class TransitionRefused(ServiceError):
    """The workflow does not allow this move: 409, with the moves it does allow."""

    code = "conflict"
    status = 409


def default_due_date(topic: Topic, start: date | None = None) -> date:
    """The topic's time to answer, counted in working days (weekends and public holidays skipped)."""
    start = start or officetime.today()
    return officetime.add_working_days(start, topic.answer_days)


def overdue_condition(today: date | None = None) -> ColumnElement[bool]:
    """Condition on Issue: not answered or closed, and its due date has passed."""
    today = today or officetime.today()
    return and_(Issue.status.in_([s.value for s in OPEN_STATUSES]), Issue.due_date < today)


def not_overdue_condition(today: date | None = None) -> ColumnElement[bool]:
    """The complement of overdue_condition, spelled out: SQL's NOT of a NULL due date is not true."""
    today = today or officetime.today()
    return or_(Issue.status.not_in([s.value for s in OPEN_STATUSES]), Issue.due_date.is_(None),
               Issue.due_date >= today)


def is_overdue(issue: Issue, today: date | None = None) -> bool:
    today = today or officetime.today()
    return issue.status in OPEN_STATUSES and issue.due_date is not None and issue.due_date < today


def get_issue_to_change(user: User, issue_id: int) -> Issue | None:
    """The issue if `user` may act on it: they see it and the table of unit rights (scope.UNIT_RIGHTS) lets them
    change what is at the unit where it is now: their own unit (a complaint about an officer's conduct: also as a
    manager above it, scope.may_handle_issue). A branch follows what it escalated but no longer handles it; the
    unit above handles what was escalated to it, and only reads what waits below."""
    issue = get_issue(user, issue_id)
    if issue is None or (not is_business(user) and not may_handle(user, issue)):
        return None
    return issue


def may_handle(user: User, issue: Issue) -> bool:
    """Whether staff `user` may act on `issue` where it stands (scope.may_handle_issue)."""
    return may_handle_issue(user, issue.unit, issue.topic.sensitive)


def return_target(issue: Issue) -> Unit | None:
    """The unit below that "Trả lại cấp dưới" would send `issue` to, or None where it cannot work (the issue was
    raised here, not escalated from below)."""
    return _child_towards(issue.unit, issue.origin_unit)


def get_issue(user: User, issue_id: int) -> Issue | None:
    return db.session.execute(
        select(Issue).where(Issue.id == issue_id, visible(user, Issue))
    ).scalar_one_or_none()


def actor_label(user: User | None) -> str:
    return person_label(user.name, user.email) if user else "system"


def _event(issue: Issue, actor: User | None, source: str | None, target: str, note: str = "", message: str = "",
           **details) -> None:
    issue.events.append(IssueEvent(by_id=actor.id if actor else None, by_label=actor_label(actor),
                                   from_status=source, to_status=target, note=note or "",
                                   message=(message or "").strip(),
                                   details={k: v for k, v in details.items() if v is not None}))


def create_issue(*, title: str, business: Business, channel: str, topic: Topic, unit: Unit, actor: User | None,
                 description: str = "", meeting: Meeting | None = None, raised_by_contact: Contact | None = None,
                 raised_by_name: str = "", interaction: Interaction | None = None) -> Issue:
    """Record an issue raised by `business` through `channel`, waiting as "new" at `unit`; it may come from a
    meeting or from a contact outside meetings (an interaction)."""
    if not title.strip():
        raise InvalidData.on("title", _l("Enter a title."))
    if channel not in CHANNELS:
        raise InvalidData.on("channel", _l("Choose how the issue was received."))
    if not topic.active:
        raise InvalidData.on("topic", _l("This topic is no longer in use."))
    if actor is not None and is_business(actor) and topic.sensitive:
        raise InvalidData.on("topic", _l("Choose one of the topics listed."))
    if interaction is not None and interaction.business_id != business.id:
        raise InvalidData.on("interaction", _l("This contact was with another business."))
    if raised_by_contact is not None and raised_by_contact.business_id != business.id:
        raise InvalidData.on("raised_by_contact", _l("This person does not belong to the business."))
    issue = Issue(
        title=title.strip(), description=(description or "").strip(), business=business, channel=channel,
        topic=topic, unit=unit, origin_unit=unit, meeting=meeting, raised_by_contact=raised_by_contact,
        interaction=interaction,
        raised_by_name=(raised_by_name or (raised_by_contact.name if raised_by_contact else "")).strip(),
        status=IssueStatus.NEW.value, created_by=actor,
    )
    db.session.add(issue)
    _event(issue, actor, None, IssueStatus.NEW.value, channel=channel)
    if actor is not None and (is_business(actor) or topic.sensitive):
        # Staff who record an issue know of it; one a business sends itself must reach the unit's officers, and
        # a complaint about an officer's conduct the managers who handle it (its filer may not even read it).
        issue_event.send(issue, event="raised", actor=actor)
    return issue


def _child_towards(unit: Unit, origin: Unit) -> Unit | None:
    """The unit directly below `unit` on the way down to `origin` (where a returned issue goes)."""
    if origin.id == unit.id or not is_below(origin, unit):
        return None
    child_id = int(origin.path[len(unit.path):].strip("/").split("/")[0])
    return db.session.get(Unit, child_id)


def _check_version(issue: Issue, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != issue.version:
        raise Conflict(_l("This issue was changed by someone else in the meantime. Reload it and try again."),
                       {"version": [str(_l("The issue is now at version %(v)d.", v=issue.version))]})


def transition(issue: Issue, *, to: str, actor: User, note: str = "", message: str = "",
               assignee: User | None = None,
               due_date: date | None = None, resolution: str | None = None, legal_basis: str | None = None,
               expected_version: int | None = None) -> Issue:
    """Move `issue` as the workflow table allows; raises Conflict, TransitionRefused or InvalidData.

    `note` is internal, for staff; `message` is said to the business (it reads it on the issue).

    `expected_version`: the version the caller's change was based on; when the issue has changed since,
    nothing happens and Conflict says so.
    """
    _check_version(issue, expected_version)
    if not is_business(actor) and not may_handle(actor, issue):
        raise TransitionRefused(
            _l("This issue is now at %(unit)s, which handles it; your unit follows it and reads it.",
               unit=issue.unit.name), {"to": []})
    step = find_transition(issue.status, to)
    if step is None:
        allowed = possible_targets(issue)
        raise TransitionRefused(
            _l("An issue that is “%(status)s” cannot be moved that way. Possible next steps: %(allowed)s.",
               status=STATUS_NAMES.get(issue.status, issue.status),
               allowed=", ".join(str(TRANSITION_NAMES[t]) for t in allowed) or "—"),
            {"to": allowed},
        )
    given = {"assignee": assignee, "due_date": due_date, "resolution": (resolution or "").strip(),
             "note": (note or "").strip()}
    missing = missing_fields(step, given)
    if missing:
        raise InvalidData(_l("Some of the data is not valid"),
                          {name: [str(_l("Required for this step."))] for name in missing})
    source = issue.status
    details: dict = {}
    target = step.target
    if target is IssueStatus.ASSIGNED:
        # Someone who will see it in their list and may act on it (may_handle implies they may open it): an
        # officer of the unit handling it (for a complaint about an officer's conduct, a manager who reads it),
        # not one who only follows it from above.
        if not is_staff(assignee) or not assignee.active or assignee.unit is None \
                or not may_handle(assignee, issue):
            raise InvalidData.on("assignee", _l("Assign the issue to an officer of the unit handling it."))
        if due_date < officetime.today():
            raise InvalidData.on("due_date", _l("The due date cannot be in the past."))
        issue.assignee, issue.due_date = assignee, due_date
        details = {"assignee": assignee.email, "assignee_name": assignee.name, "due_date": due_date.isoformat()}
    elif target is IssueStatus.ANSWERED:
        issue.resolution, issue.legal_basis = resolution.strip(), (legal_basis or "").strip()
        issue.answered_by = actor
        record_answer_time(issue, utcnow())
        # The business's people without an account are mailed here; its accounts hear of it as notifications,
        # by mail or not as each chose.
        enqueue_template("issue_answered", to=business_contacts(issue), issue=issue, unit=answering_unit(issue),
                         message=(message or "").strip(), url=external_url("issues.issue_page", issue_id=issue.id))
    elif target is IssueStatus.ESCALATED:
        if issue.unit.parent is None:  # a step the workflow cannot take here: 409, as API.md has it
            raise TransitionRefused(_l("The General Department has no unit above it."),
                                    {"to": possible_targets(issue)})
        details = {"from_unit": issue.unit.code, "to_unit": issue.unit.parent.code}
        issue.unit, issue.assignee, issue.due_date = issue.unit.parent, None, None
    elif target is IssueStatus.RETURNED:
        below = _child_towards(issue.unit, issue.origin_unit)
        if below is None:
            raise TransitionRefused(_l("Only an issue escalated from a unit below can be sent back."),
                                    {"to": possible_targets(issue)})
        details = {"from_unit": issue.unit.code, "to_unit": below.code}
        issue.unit, issue.assignee, issue.due_date = below, None, None
    issue.status = (step.lands_in or target).value
    _event(issue, actor, source, target.value, note, message, **details)
    if target.value in _ANNOUNCED:
        issue_event.send(issue, event=target.value, actor=actor)
    if (message or "").strip() and target is not IssueStatus.ANSWERED:
        # What staff say to the business on the way (a document to send, a delay) reaches it as the answer does:
        # its people without an account by mail here, its accounts as a notification.
        enqueue_template("issue_message", to=business_contacts(issue), issue=issue, unit=actor.unit or issue.unit,
                         message=message.strip(), url=external_url("issues.issue_page", issue_id=issue.id))
        issue_event.send(issue, event="message", actor=actor)
    return issue


# The steps people other than the one who took them must hear of (notifications).
_ANNOUNCED = ("assigned", "escalated", "answered")


def possible_targets(issue: Issue) -> list[str]:
    """The steps the workflow allows from where the issue is; "Trả lại cấp dưới" only where it can work (an
    issue escalated here from a unit below), and escalating only below the top of the hierarchy."""
    return [step for step in allowed_targets(issue.status)
            if (step != "returned" or return_target(issue) is not None)
            and (step != "escalated" or issue.unit.parent_id is not None)]


def offered_steps(issue: Issue) -> list[str]:
    """The steps the issue page offers, by target name: "answered" first while the issue is open (answer()
    takes the steps before it), then the other moves the workflow allows."""
    steps = possible_targets(issue)
    if issue.status in OPEN_STATUSES:
        steps = ["answered", *(step for step in steps if step != "answered")]
    return steps


def answer(issue: Issue, *, actor: User, resolution: str, legal_basis: str | None = None, note: str = "",
           message: str = "", expected_version: int | None = None) -> list[str]:
    """Answer an open issue in one action, taking the workflow's steps one by one, each recorded as its own
    event: a new issue is first assigned to `actor` (due on its due date, else the topic's), an assigned one
    started, then answered. Returns the steps taken, in order (e.g. ["assigned", "in_progress", "answered"]).

    Nothing is changed when a step is refused (the caller rolls back): Conflict, TransitionRefused, InvalidData.
    """
    _check_version(issue, expected_version)
    if not (resolution or "").strip():
        raise InvalidData.on("resolution", _l("Write the answer."))
    taken = []
    if issue.status == IssueStatus.NEW:
        if not is_staff(actor) or actor.unit is None or not may_handle(actor, issue):
            raise InvalidData(_l("Only an officer of the unit handling the issue can take it: assign it to one "
                                 "first."))
        transition(issue, to="assigned", actor=actor, assignee=actor,
                   due_date=max(issue.due_date or default_due_date(issue.topic), officetime.today()))
        taken.append("assigned")
    if issue.status == IssueStatus.ASSIGNED:
        transition(issue, to="in_progress", actor=actor)
        taken.append("in_progress")
    transition(issue, to="answered", actor=actor, note=note, message=message, resolution=resolution,
               legal_basis=legal_basis)
    return [*taken, "answered"]


# What happened, said after each step (the status alone says "New" after an escalation).
_DONE = {
    "assigned": _l("Issue #%(id)d is assigned to %(person)s, due %(due)s."),
    "in_progress": _l("Work on issue #%(id)d has started."),
    "answered": _l("Issue #%(id)d is answered; the business is told by email."),
    "closed": _l("Issue #%(id)d is closed."),
    "reopened": _l("Issue #%(id)d is reopened: it is in progress again."),
    "escalated": _l("Issue #%(id)d is escalated to %(unit)s, where it waits to be handled."),
    "returned": _l("Issue #%(id)d is sent back to %(unit)s, where it waits to be handled."),
}


def what_happened(issue: Issue, steps: list[str], source: str) -> str:
    """One sentence for the person who moved `issue` from status `source` through `steps`."""
    last = steps[-1]
    key = "reopened" if last == "in_progress" and source == IssueStatus.ANSWERED else last
    message = str(_DONE[key]) % {
        "id": issue.id, "unit": issue.unit.name, "person": issue.assignee.name if issue.assignee else "",
        "due": issue.due_date.strftime("%d/%m/%Y") if issue.due_date else "",
    }
    if last == "answered" and len(steps) > 1:
        message += " " + str(_l("Before the answer, it was recorded as: %(steps)s.",
                                steps=", ".join(str(STATUS_NAMES[step]) for step in steps[:-1])))
    return message


def answering_unit(issue: Issue) -> Unit:
    """The unit the business is told answered: that of the officer who answered (a higher unit, when the issue
    was escalated to it), else the unit holding the issue (an admin belongs to none)."""
    officer = issue.answered_by
    return officer.unit if officer is not None and officer.unit is not None else issue.unit


def business_contacts(issue: Issue) -> list[str]:
    """Who at the business is mailed about an issue: the person who raised it, else every contact."""
    contact = issue.raised_by_contact
    return [contact.email] if contact is not None and contact.email else \
        [c.email for c in issue.business.contacts if c.email]


def rate(issue: Issue, *, user: User, score: int, comment: str = "") -> Rating:
    """The business that raised the issue rates the answer, once, after it is answered."""
    if not is_business(user) or user.business_id != issue.business_id:
        raise Forbidden(_l("Only the business that raised the issue can rate its answer."))
    if issue.status not in DONE_STATUSES:
        raise Conflict(_l("The issue can be rated once it has been answered."))
    if issue.rating is not None:
        raise Conflict(_l("This answer has already been rated."))
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidData.on("score", _l("Choose a score from 1 to 5."))
    rating = Rating(issue=issue, score=score, comment=(comment or "").strip(), by_id=user.id,
                    officer_id=issue.answered_by_id or issue.assignee_id, unit_id=issue.unit_id)
    db.session.add(rating)
    _event(issue, user, issue.status, issue.status, comment, rating=score)
    issue_event.send(issue, event="rated", actor=user)
    return rating


def publish(issue: Issue, *, actor: User, question: str, answer: str) -> Issue:
    """Publish an answered issue as an anonymous question-and-answer, in the words given."""
    if issue.status not in DONE_STATUSES:
        raise Conflict(_l("Only an answered issue can be published."))
    if not question.strip() or not answer.strip():
        raise InvalidData.on("public_question", _l("Write the question and the answer as the public will read them."))
    if issue.business.name.strip().lower() in f"{question} {answer}".lower() or issue.business.tax_code in \
            f"{question} {answer}":
        raise InvalidData.on("public_question", _l("The published text must not name the business."))
    issue.published, issue.public_question, issue.public_answer = True, question.strip(), answer.strip()
    _event(issue, actor, issue.status, issue.status, "", published=True)
    return issue


def unpublish(issue: Issue, *, actor: User) -> Issue:
    issue.published = False
    _event(issue, actor, issue.status, issue.status, "", published=False)
    return issue


def active_topics(user: User) -> list[Topic]:
    """The topics `user` may file an issue under: those in use, and for a business not the sensitive ones."""
    return list(db.session.execute(topics_statement(user).where(Topic.active)).scalars())


def topics_statement(user: User):
    """The topics `user` may choose from or read, in the order of the lists: staff see every topic, in use or
    not; a business the ones it may raise an issue under, in use and not sensitive (API.md). A complaint about
    an officer's conduct reaches the managers through staff (the hotline, the counter), who file it."""
    stmt = select(Topic).order_by(Topic.position, Topic.name)
    return stmt.where(Topic.active, Topic.sensitive.is_(False)) if is_business(user) else stmt


def all_topics() -> list[Topic]:
    return list(db.session.execute(select(Topic).order_by(Topic.position, Topic.name)).scalars())


def topic_by_code(code: str, *, active: bool = True) -> Topic | None:
    """The topic with this code (by default only one still in use), else None."""
    stmt = select(Topic).where(Topic.code == code)
    if active:
        stmt = stmt.where(Topic.active)
    return db.session.execute(stmt).scalar_one_or_none()


def save_topic(*, code: str, name: str, answer_days: int, sensitive: bool, active: bool) -> Topic:
    """Create the topic with this code, or change the one there is."""
    code = code.strip().lower()
    topic = topic_by_code(code, active=False) or Topic(code=code)
    restricted = sensitive and topic.id is not None and not topic.sensitive
    topic.name, topic.answer_days, topic.sensitive, topic.active = name.strip(), answer_days, sensitive, active
    db.session.add(topic)
    if restricted:
        db.session.flush()
        topic_restricted.send(topic)
    return topic


def officers_for(issue: Issue) -> list[User]:
    """Officers an issue can be assigned to, those who will see it and may act on it (`may_handle`): the active
    organisers and managers of the unit handling it; for a complaint about an officer's conduct, its managers
    and those of the units above it."""
    candidates = db.session.execute(select(User).where(
        User.active, in_group(OFFICERS), User.unit_id.in_(unit_ids_up_to(issue.unit))).order_by(User.name)).scalars()
    return [user for user in candidates if may_handle(user, issue)]


def get_attachment(issue: Issue, attachment_id: int) -> Attachment | None:
    """The issue's attachment with this id, else None (another issue's file is not reached through this one)."""
    return db.session.execute(
        select(Attachment).where(Attachment.id == attachment_id, Attachment.issue_id == issue.id)
    ).scalar_one_or_none()


def get_interaction(user: User, interaction_id: int) -> Interaction | None:
    """A contact outside meetings, if `user` may see its business."""
    return db.session.execute(
        select(Interaction).join(Business, Business.id == Interaction.business_id)
        .where(Interaction.id == interaction_id, visible(user, Business))
    ).scalar_one_or_none()


def published_statement():
    """Answers published for the public, newest first, with what the page prints of each."""
    return (select(Issue).where(Issue.published).order_by(Issue.answered_at.desc())
            .options(joinedload(Issue.topic), joinedload(Issue.unit)))


def issues_in_order(ids: list[int]) -> list[Issue]:
    """The issues with these ids, in this order, with what a list shows, by one statement: its joins run over
    these rows only (a page's ids, chosen by `issue_query(..., ids_only=True)`)."""
    if not ids:
        return []
    found = {issue.id: issue for issue in db.session.execute(
        select(Issue).where(Issue.id.in_(ids))
        .options(*(joinedload(getattr(Issue, name)) for name in SHOWN_IN_LISTS))).unique().scalars()}
    return [found[ident] for ident in ids if ident in found]


def issue_list(user: User, limit: int | None = None, **filters) -> list[Issue]:
    """The issues `user` may see with these filters (those of issue_query), newest first."""
    stmt = issue_query(user, **filters)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.execute(stmt).unique().scalars())


def issues_raised_at(user: User, meeting: Meeting) -> list[Issue]:
    """The issues raised at the meeting that `user` may see, newest first."""
    return list(db.session.execute(issue_query(user).where(Issue.meeting_id == meeting.id)).unique().scalars())


def meeting_issues(user: User, meeting: Meeting) -> tuple[list[Issue], list[Issue]]:
    """What a meeting's page lists: the issues raised at it (newest first), and those still open from earlier
    meetings of its series (oldest first). One query for both, so that what their rows show is loaded once."""
    if not meeting.series_id:
        return issues_raised_at(user, meeting), []
    # The series' meetings up to this one first, so that PostgreSQL reads issues by meeting (an OR of the two
    # lists' conditions scanned every issue in scope).
    so_far = select(Meeting.id).where(Meeting.series_id == meeting.series_id,
                                      or_(Meeting.id == meeting.id, Meeting.start < meeting.start))
    both = list(db.session.execute(issue_query(user).where(
        Issue.meeting_id.in_(so_far),
        or_(Issue.meeting_id == meeting.id, Issue.status.in_([s.value for s in OPEN_STATUSES])))).unique().scalars())
    raised = [i for i in both if i.meeting_id == meeting.id]
    carried = sorted((i for i in both if i.meeting_id != meeting.id), key=lambda i: (i.created_at, i.id))
    return raised, carried


def record_answer_time(issue: Issue, answered_at: datetime) -> None:
    """When the issue was answered, and what the reports read of it: working days taken, and on time or not."""
    issue.answered_at = answered_at
    issue.answer_workdays = working_days_taken(issue)
    answered_on = answered_at.astimezone(office_zone()).date()
    issue.answered_on_time = issue.due_date is None or answered_on <= issue.due_date


def working_days_taken(issue: Issue) -> int | None:
    if issue.answered_at is None:
        return None
    zone = office_zone()
    raised_at = issue.created_at or issue.answered_at  # raised and answered before the first flush
    start, end = raised_at.astimezone(zone).date(), issue.answered_at.astimezone(zone).date()
    return holiday_calendar(range(start.year, end.year + 1)).workdays_between(start, end)


def queue_digests(today: date | None = None, soon_workdays: int = 3) -> int:
    """Queue one mail per person with open issues overdue or due within `soon_workdays` working days.

    Each assignee hears of their own issues; the managers of a unit hear of every such issue waiting at
    their unit. Returns the number of mails queued.
    """
    today = today or officetime.today()
    horizon = holiday_calendar(range(today.year, today.year + 2)).add_workdays(today, soon_workdays)
    issues = db.session.execute(
        select(Issue).where(Issue.status.in_([s.value for s in OPEN_STATUSES]), Issue.due_date.is_not(None),
                            Issue.due_date <= horizon)
        .options(joinedload(Issue.assignee), joinedload(Issue.business)).order_by(Issue.due_date, Issue.id)
    ).scalars().all()
    heads = db.session.execute(
        select(User).where(in_group(HEADS), User.active,
                           User.unit_id.in_({issue.unit_id for issue in issues}))
    ).scalars().all() if issues else []
    heads_by_unit: dict[int, list[User]] = {}
    for head in heads:
        heads_by_unit.setdefault(head.unit_id, []).append(head)
    per_person: dict[int, tuple[User, list[Issue], list[Issue]]] = {}
    for issue in issues:
        people = [issue.assignee] if issue.assignee and issue.assignee.active else []
        for person in people + heads_by_unit.get(issue.unit_id, []):
            _, overdue, soon = per_person.setdefault(person.id, (person, [], []))
            bucket = overdue if issue.due_date < today else soon
            if issue not in bucket:
                bucket.append(issue)
    for person, overdue, soon in per_person.values():
        enqueue_template("digest", to=[person.email], language=person.language, user=person, overdue=overdue,
                         soon=soon, url=external_url("issues.issue_list", overdue="true"))
    return len(per_person)


# What a row of a list of issues shows.
SHOWN_IN_LISTS = ("topic", "unit", "origin_unit", "business", "assignee", "rating")


def issue_query(user: User, *, status: str | None = None, unit: Unit | None = None, business_id: int | None = None,
                topic: str | None = None, channel: str | None = None, assignee_id: int | None = None,
                overdue: bool | None = None, created_from: date | None = None, created_to: date | None = None,
                matching: ColumnElement[bool] | None = None, raised_in: Unit | None = None, ids_only: bool = False):
    """The statement for a filtered list of the issues `user` may see, newest first, with what lists show
    loaded (`ids_only`: their ids alone, for `issues_in_order`). `unit` (where the issue is now) and
    `raised_in` (where it was raised) include the units below; `status` may also be a group ("open", "done");
    dates are office-local days; `matching` a condition on Issue from above (the words typed, as the search
    index reads them)."""
    # What a row shows is loaded by queries of their own over the rows (only what the session lacks): joined,
    # PostgreSQL looked it up for every issue in scope before sorting and keeping 50 (200 ms for a branch of
    # 6,500 issues on the national demo).
    stmt = (select(Issue.id if ids_only else Issue).where(visible(user, Issue))
            .order_by(Issue.created_at.desc(), Issue.id.desc()))
    if not ids_only:
        stmt = stmt.options(*(selectinload(getattr(Issue, name)) for name in SHOWN_IN_LISTS))
    if status in STATUS_GROUPS:
        stmt = stmt.where(Issue.status.in_(STATUS_GROUPS[status]))
    elif status:
        stmt = stmt.where(Issue.status == status)
    if unit is not None:
        stmt = stmt.where(Issue.unit_id.in_(unit_ids_below(unit.id)))
    if raised_in is not None:
        stmt = stmt.where(Issue.origin_unit_id.in_(unit_ids_below(raised_in.id)))
    if business_id is not None:
        stmt = stmt.where(Issue.business_id == business_id)
    if topic:
        stmt = stmt.where(Issue.topic_id.in_(select(Topic.id).where(Topic.code == topic)))
    if channel:
        stmt = stmt.where(Issue.channel == channel)
    if assignee_id is not None:
        stmt = stmt.where(Issue.assignee_id == assignee_id)
    if overdue is not None:
        stmt = stmt.where(overdue_condition() if overdue else not_overdue_condition())
    zone = office_zone()
    if created_from is not None:
        stmt = stmt.where(Issue.created_at >= datetime.combine(created_from, time.min, tzinfo=zone))
    if created_to is not None:
        stmt = stmt.where(Issue.created_at < datetime.combine(created_to + timedelta(days=1), time.min, tzinfo=zone))
    if matching is not None:
        stmt = stmt.where(matching)
    return stmt


def carried_over_query(user: User, meeting: Meeting):
    """Issues raised at earlier meetings of the same series that are still open: where the next dialogue starts."""
    earlier = select(Meeting.id).where(Meeting.series_id == meeting.series_id, Meeting.start < meeting.start)
    return (issue_query(user).where(Issue.meeting_id.in_(earlier),
                                    Issue.status.in_([s.value for s in OPEN_STATUSES]))
            .order_by(None).order_by(Issue.created_at, Issue.id))


def rating_rollup(user: User) -> dict[str, list]:
    """Satisfaction per unit and per officer over the ratings the user may see: (name, count, average)."""
    scoped = unit_scoped(user, Rating.unit_id)
    if not reads_restricted_records(user):  # a rating tells of its issue: those on sensitive topics are managers'
        scoped = and_(scoped, Rating.issue_id.not_in(
            select(Issue.id).where(Issue.topic_id.in_(select(Topic.id).where(Topic.sensitive)))))
    per_unit = db.session.execute(
        select(Unit.name, func.count(Rating.id), func.avg(Rating.score)).join(Unit, Unit.id == Rating.unit_id)
        .where(scoped).group_by(Unit.id, Unit.name).order_by(func.avg(Rating.score).desc(), Unit.name)
    ).all()
    per_officer = db.session.execute(
        select(User.name, func.count(Rating.id), func.avg(Rating.score)).join(User, User.id == Rating.officer_id)
        .where(scoped).group_by(User.id, User.name).order_by(func.avg(Rating.score).desc(), User.name)
    ).all()
    return {"units": per_unit, "officers": per_officer}


def issues_under(unit: Unit) -> str | None:
    """A unit cannot be deleted while issues are, or were raised, there (receiver of signals.unit_deleting)."""
    stmt = select(Issue.id).where(or_(Issue.unit_id == unit.id, Issue.origin_unit_id == unit.id))
    return _l("issues") if has_rows(stmt) else None
