"""Reports for managers: dashboards, the ranking, plans, charts and waiting-room screens."""

from flask import Flask
from sqlalchemy.orm import Session

from ..db import listen
from .snapshots import mark_dirty_months, write_dirty_months


def init_app(app: Flask) -> None:
    # What a write touches marks its months for the next refresh, in the writer's own transaction.
    listen(Session, "before_flush", mark_dirty_months)
    listen(Session, "after_flush", write_dirty_months)
