"""Notifications: each person hears in the app (and by mail at once, or in a daily digest, as they choose) of
what concerns them: invitations, changed meetings, answers to invitations, issues' steps, minutes sent.

The domains below announce through dialogue_app.signals; the receivers here, connected in init_app, decide
who is told (receivers.py), through scope.
"""

from flask import Flask, request
from flask_login import current_user

from .. import signals, tasks
from ..audit.services import acting_as
from ..auth import services as auth_services
from ..extensions import db
from ..issues.services import queue_digests
from . import receivers, services


def overdue_task(app: Flask) -> int:
    """Huey task "notify-overdue": tell of the issues that went past their due date (once each)."""
    with acting_as("task:notify-overdue"):
        told = receivers.notify_overdue()
        db.session.commit()
    return told


def digests_task(app: Flask) -> tuple[int, int]:
    """Huey task "send-digests": the issue digest (overdue and due soon) and the notifications' daily digest."""
    with acting_as("task:send-digests"):
        issues, notifications = queue_digests(), services.send_digests()
        db.session.commit()
    return issues, notifications


def unread_notifications() -> int:
    """For the bell in the top bar: the signed-in person's unread count, else 0. A GET changes no notification,
    so it shows the count read with the session (no query of its own); after a POST, counted again."""
    if not current_user.is_authenticated:
        return 0
    figures = current_user.session_figures or {}
    if request.method in ("GET", "HEAD") and "unread_notifications" in figures:
        return figures["unread_notifications"]
    return services.unread_count(current_user)


def init_app(app: Flask) -> None:
    signals.businesses_invited.connect(receivers.on_businesses_invited)
    signals.businesses_uninvited.connect(receivers.on_invitations_withdrawn)
    signals.invitations_ended.connect(receivers.on_invitations_withdrawn)
    signals.meeting_changed.connect(receivers.on_meeting_changed)
    signals.answer_recorded.connect(receivers.on_answer_recorded)
    signals.issue_event.connect(receivers.on_issue_event)
    signals.minutes_sent.connect(receivers.on_minutes_sent)
    signals.rights_changed.connect(receivers.on_rights_changed)
    signals.topic_restricted.connect(receivers.on_topic_restricted)
    tasks.register("notify-overdue", overdue_task)
    tasks.register("send-digests", digests_task)
    app.add_template_global(unread_notifications)
    auth_services.read_with_session("unread_notifications", services.unread_count_of)
    app.add_template_global(services.describe, "describe_notification")
