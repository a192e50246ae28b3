"""Users, roles, sign-in and API tokens."""

from flask import Flask

from ..signals import unit_deleting
from .services import users_under


def init_app(app: Flask) -> None:
    unit_deleting.connect(users_under)
