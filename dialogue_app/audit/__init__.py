"""The audit trail: who changed what, written on every flush."""

from flask import Flask
from sqlalchemy.orm import Session

from ..db import listen
from .services import record_changes


def init_app(app: Flask) -> None:
    listen(Session, "after_flush", record_changes)
