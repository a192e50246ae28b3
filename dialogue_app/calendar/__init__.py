"""Calendars: iCalendar objects, feeds and their keys, invitations by mail."""

from flask import Flask
from sqlalchemy.orm import Session

from .. import tasks
from ..db import listen
from ..signals import (
    businesses_invited,
    businesses_uninvited,
    invitations_ended,
    occurrence_changed,
    series_invitations_due,
    unit_deleted,
)
from .changes import feed_changes
from .replies import receive_mail_task
from .services import (
    give_new_objects_a_feed,
    keep_feed_keys,
    on_businesses_invited,
    on_businesses_uninvited,
    on_invitations_ended,
    on_occurrence_changed,
    on_series_invitations_due,
    on_unit_deleted,
)


def init_app(app: Flask) -> None:
    # Every new series, business, unit and staff account gets its feed key in the same transaction.
    listen(Session, "after_flush", give_new_objects_a_feed)
    # What servers remember of feeds holds until a change to what feeds show is committed, here or elsewhere.
    app.extensions["feed_changes"] = feed_changes(app)
    app.after_request(keep_feed_keys)
    series_invitations_due.connect(on_series_invitations_due)
    occurrence_changed.connect(on_occurrence_changed)
    unit_deleted.connect(on_unit_deleted)
    invitations_ended.connect(on_invitations_ended)
    businesses_invited.connect(on_businesses_invited)
    businesses_uninvited.connect(on_businesses_uninvited)
    # Answers from calendars, read from the organiser mailbox (the worker runs it periodically).
    tasks.register("receive-mail", receive_mail_task)
