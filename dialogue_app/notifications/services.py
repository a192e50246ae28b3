"""Telling people what concerns them: write a notification per person, mail it at once or keep it for the
daily digest as each person chose, count and list the unread, mark them read. Plain data in, objects out."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, delete, func, select, update

from ..auth.models import User
from ..db import utcnow
from ..exceptions import InvalidData
from ..extensions import db
from ..mail.services import enqueue_template
from ..scope import is_business
from .models import DELIVERIES, Notification, NotificationPreference


@dataclass(frozen=True)
class Kind:
    label: object  # what the preferences page calls it
    default: str  # one of DELIVERIES
    text: object  # the sentence, with the notification's params
    cancelled_text: object | None = None  # the sentence when params["cancelled"]
    changed_text: object | None = None  # the sentence when params say where and when it now is ("now", "place")
    business: bool = False  # told to business accounts (else to staff only)


# The defaults spare people a second mail where the domain already writes one with the whole content (the
# calendar invitation and its updates to the contacts, often the same people as the accounts; the minutes' PDF):
# the notification is then the trace in the app, and who wants a mail of it too chooses so. An assignment and an
# answer come by mail at once, as they always did (the issue's own mail), unless the person chose otherwise.
KINDS: dict[str, Kind] = {
    "invited": Kind(_l("Invited to a meeting"), "app",
                    _l("Your business is invited to “%(title)s” (%(when)s)."), business=True),
    "meeting_changed": Kind(_l("A meeting changed or was cancelled"), "mail",
                            _l("“%(title)s” (%(when)s) has changed."),
                            _l("“%(title)s” (%(when)s) is cancelled."), business=True,
                            changed_text=_l("“%(title)s” (%(when)s) has changed: it is now at %(now)s, %(place)s.")),
    "uninvited": Kind(_l("An invitation withdrawn"), "app",
                      _l("The invitation to “%(title)s” (%(when)s) was withdrawn."), business=True),
    "answer_received": Kind(_l("A business answered an invitation"), "digest",
                            _l("%(contact)s (%(business)s) answered “%(answer)s” to “%(title)s” (%(when)s).")),
    "issue_raised": Kind(_l("A new issue to handle"), "mail",
                         _l("%(business)s raised issue #%(id)d “%(title)s”.")),
    "issue_assigned": Kind(_l("An issue assigned to me"), "mail",
                           _l("Issue #%(id)d “%(title)s” is assigned to you, due %(due)s.")),
    "issue_escalated": Kind(_l("An issue escalated to my unit"), "mail",
                            _l("Issue #%(id)d “%(title)s” was escalated to %(unit)s.")),
    "issue_answered": Kind(_l("An answer to my business's issue"), "mail",
                           _l("%(unit)s answered your issue “%(title)s”."), business=True),
    "issue_message": Kind(_l("A message about my business's issue"), "mail",
                          _l("%(unit)s wrote about your issue “%(title)s”: %(message)s"), business=True),
    "issue_rated": Kind(_l("A rating of an answer"), "digest",
                        _l("The business rated the answer to issue #%(id)d “%(title)s”: %(score)d/5.")),
    "issue_overdue": Kind(_l("An issue past its due date"), "digest",
                          _l("Issue #%(id)d “%(title)s” is past its due date (%(due)s).")),
    "minutes_sent": Kind(_l("Minutes sent"), "app",
                         _l("The minutes of “%(title)s” (%(when)s) were sent."), business=True),
}
DELIVERY_NAMES = {"app": _l("In the app only"), "mail": _l("A mail at once"), "digest": _l("In the daily digest")}
ANSWER_NAMES = {"accepted": _l("will attend"), "declined": _l("will not attend"), "tentative": _l("maybe")}


def describe(notification: Notification) -> str:
    """The notification's sentence, in the current language."""
    kind = KINDS[notification.kind]
    params = dict(notification.params or {})
    if "answer" in params:
        params["answer"] = str(ANSWER_NAMES.get(params["answer"], params["answer"]))
    if params.get("cancelled") and kind.cancelled_text:
        text = kind.cancelled_text
    elif "now" in params and kind.changed_text:
        text = kind.changed_text
    else:
        text = kind.text
    try:
        return str(text) % params
    except (KeyError, TypeError, ValueError):  # params written by an older version of the sentence
        return str(kind.label)


def path_for(endpoint: str, **values) -> str:
    """The address of a page, under the installation's path, outside any request (signals fire in commands
    and tasks too)."""
    base = urlsplit(current_app.config["BASE_URL"])
    return current_app.url_map.bind("localhost", script_name=base.path or "/").build(endpoint, values)


def absolute(url: str) -> str:
    base = urlsplit(current_app.config["BASE_URL"])
    return f"{base.scheme}://{base.netloc}{url}"


def deliveries(users: list[User], kind: str) -> dict[int, str]:
    """How each of `users` wants to hear of `kind` (one query)."""
    chosen = dict(db.session.execute(
        select(NotificationPreference.user_id, NotificationPreference.delivery)
        .where(NotificationPreference.kind == kind, NotificationPreference.user_id.in_([u.id for u in users]))
    ).all()) if users else {}
    return {user.id: chosen.get(user.id, KINDS[kind].default) for user in users}


def notify(users: Iterable[User], kind: str, *, params: dict, url: str, subject: str, subject_id: int,
           actor: User | None = None, mail: Callable[[User, Notification], None] | None = None) -> list[Notification]:
    """Tell each of `users` (never `actor`, of their own act; never an inactive account) in the current
    transaction; mail those who want it at once: the sentence and a link (mail_sentence), or what
    `mail(user, notification)` writes instead (a domain's own mail with the whole content, or none for someone
    the domain mails already)."""
    people = list({user.id: user for user in users
                   if user is not None and user.active and (actor is None or user.id != actor.id)}.values())
    chosen = deliveries(people, kind)
    notifications = []
    for user in people:
        delivery = chosen[user.id]
        notification = Notification(user_id=user.id, kind=kind, params=params, url=url, subject=subject,
                                    subject_id=subject_id, delivery=delivery, created_at=utcnow())
        db.session.add(notification)
        if delivery == "mail":
            (mail or mail_sentence)(user, notification)
            notification.mailed_at = utcnow()
        notifications.append(notification)
    return notifications


def mail_sentence(user: User, notification: Notification) -> None:
    """The notification's sentence and its link, by mail, in the person's language."""
    with force_locale(user.language):
        text = describe(notification)
    enqueue_template("notification", to=[user.email], language=user.language, text=text,
                     url=absolute(notification.url))


def unread_count_of(user_id: ColumnElement[int] | int) -> ColumnElement[int]:
    """The bell's figure as a subquery: a COUNT on the index of a person's unread notifications."""
    return (select(func.count()).select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None)).scalar_subquery())


def unread_count(user: User) -> int:
    return db.session.execute(select(unread_count_of(user.id))).scalar_one()


def notifications_statement(user: User, *, unread_only: bool = False):
    """The person's notifications, newest first, as a statement (the API pages through it)."""
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return query.order_by(Notification.created_at.desc(), Notification.id.desc())


def notifications_of(user: User, *, unread_only: bool = False, limit: int = 200) -> list[Notification]:
    """The person's notifications, newest first, the latest `limit`."""
    return list(db.session.execute(notifications_statement(user, unread_only=unread_only).limit(limit)).scalars())


def own_notification(user: User, notification_id: int) -> Notification | None:
    """The notification if it is the person's own, else None (someone else's is "not found")."""
    return db.session.execute(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user.id)
    ).scalar_one_or_none()


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = utcnow()


def mark_all_read(user: User) -> int:
    return db.session.execute(
        update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    ).rowcount


def preferences(user: User) -> dict[str, str]:
    """Every kind the person can be told of (a business account: what concerns a business) with how they hear
    of it (their choice, else the default), in KINDS' order."""
    chosen = dict(db.session.execute(
        select(NotificationPreference.kind, NotificationPreference.delivery)
        .where(NotificationPreference.user_id == user.id)).all())
    business = is_business(user)
    return {kind: chosen.get(kind, spec.default) for kind, spec in KINDS.items() if spec.business or not business}


def refresh_unread(users: list[User], kind: str, subject: str, subject_id: int, same, params: dict) -> set[int]:
    """Where one of `users` still has an unread notification of `kind` about this subject for which
    `same(old_params)` holds, bring it up to date (new params, on top of the list) instead of adding another:
    one business changing its answer three times, or answering for its three contacts at once, is one line to
    read. The ids of the people so served."""
    served = set()
    for notification in db.session.execute(select(Notification).where(
            Notification.user_id.in_([u.id for u in users]), Notification.kind == kind,
            Notification.subject == subject, Notification.subject_id == subject_id,
            Notification.read_at.is_(None))).scalars():
        if notification.user_id not in served and same(notification.params or {}):
            notification.params, notification.created_at = dict(params), utcnow()
            served.add(notification.user_id)
    return served


def withdraw(users: list[User], subject: str, subject_id: int, kinds: tuple[str, ...]) -> None:
    """The people no longer reach this subject: what pointed them at it goes (it would lead to "not found")."""
    if users:
        db.session.execute(delete(Notification).where(
            Notification.user_id.in_([u.id for u in users]), Notification.subject == subject,
            Notification.subject_id == subject_id, Notification.kind.in_(kinds)))


def set_preferences(user: User, choices: dict[str, str]) -> None:
    """Keep the person's choice for each kind named; an unknown kind or delivery changes nothing."""
    bad = {kind: [str(_l("Choose one of the offered ways."))] for kind, delivery in choices.items()
           if kind not in KINDS or delivery not in DELIVERIES}
    if bad:
        raise InvalidData(_l("Some of the data is not valid"), bad)
    rows = {row.kind: row for row in db.session.execute(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id)).scalars()}
    for kind, delivery in choices.items():
        if kind in rows:
            rows[kind].delivery = delivery
        else:
            db.session.add(NotificationPreference(user_id=user.id, kind=kind, delivery=delivery))


def send_digests() -> int:
    """Mail each person, in one message, what they chose to hear of in the daily digest and has not been read
    nor mailed yet. Returns the number of mails queued."""
    pending = db.session.execute(
        select(Notification, User).join(User, User.id == Notification.user_id)
        .where(Notification.delivery == "digest", Notification.mailed_at.is_(None), User.active)
        .order_by(Notification.user_id, Notification.created_at, Notification.id)
    ).all()
    per_person: dict[int, tuple[User, list[Notification]]] = {}
    for notification, user in pending:
        per_person.setdefault(user.id, (user, []))[1].append(notification)
    now = utcnow()
    queued = 0
    for user, notifications in per_person.values():
        unread = [n for n in notifications if n.read_at is None]
        if unread:
            with force_locale(user.language):
                items = [(describe(n), absolute(n.url)) for n in unread]
            enqueue_template("notification_digest", to=[user.email], language=user.language, items=items,
                             url=absolute(path_for("notifications.notification_list")))
            queued += 1
        for notification in notifications:
            notification.mailed_at = now
    return queued


def already_told(subject: str, subject_id: int, kind: str) -> bool:
    return db.session.execute(
        select(Notification.id).where(Notification.subject == subject, Notification.subject_id == subject_id,
                                      Notification.kind == kind).limit(1)
    ).first() is not None
