"""Issues raised by businesses, their workflow, deadlines, ratings and answers."""

from flask import Flask

from ..signals import unit_deleting
from .services import issues_under


def init_app(app: Flask) -> None:
    unit_deleting.connect(issues_under)
