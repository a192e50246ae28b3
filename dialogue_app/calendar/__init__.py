"""Calendars: iCalendar objects, feeds and their keys, invitations by mail."""

from flask import Flask
from sqlalchemy.orm import Session

from ..db import listen
from .services import give_new_objects_a_feed


def init_app(app: Flask) -> None:
    # Every new series, business, unit and staff account gets its feed key in the same transaction.
    listen(Session, "after_flush", give_new_objects_a_feed)
