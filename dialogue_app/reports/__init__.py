"""Reports for managers: dashboards, the ranking, plans, charts and waiting-room screens."""

from flask import Flask
from sqlalchemy.orm import Session

from .. import tasks
from ..db import listen
from .snapshots import mark_dirty_months, refresh_changed, write_dirty_months

REFRESH_TASK = "refresh-reports"


def init_app(app: Flask) -> None:
    # What a write touches marks its months for the next refresh, in the writer's own transaction.
    listen(Session, "before_flush", mark_dirty_months)
    listen(Session, "after_flush", write_dirty_months)
    tasks.register(REFRESH_TASK, _refresh_in_background)


def _refresh_in_background(app: Flask) -> None:
    """The task (every minute, tasks.SCHEDULE): recompute the periods whose months changed."""
    refresh_changed()
