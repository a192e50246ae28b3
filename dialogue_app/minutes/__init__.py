"""Minutes of meetings, their revisions and the PDF."""

from flask import Flask

from . import served


def init_app(app: Flask) -> None:
    # What servers remember of minutes.pdf answers holds until a change is committed, here or elsewhere.
    served.init_app(app)
