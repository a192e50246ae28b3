"""Series, the recurrence rule, holidays, occurrences and meetings."""

from flask import Flask
from sqlalchemy.orm import Session

from .. import tasks
from ..db import listen
from ..signals import unit_deleting
from .models import bump_revisions
from .services import ANNOUNCE_TASK, announce_in_worker, meetings_under


def init_app(app: Flask) -> None:
    # A series' revision (its calendar SEQUENCE and its feed's ETag) moves with every change to it or its overrides.
    listen(Session, "before_flush", bump_revisions)
    unit_deleting.connect(meetings_under)
    # The mail of what a day off changed, written by the worker (announce_in_background).
    tasks.register(ANNOUNCE_TASK, announce_in_worker)
