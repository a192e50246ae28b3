"""Search over issues, businesses, contacts, series, meetings and minutes (and the public answers).

`init_app(app)`, called by create_app, registers what keeps the index: the FTS5 table made with the schema, and
the session listeners that keep the index current. The pages are views/search.py, the rebuild `flask search-reindex`.
"""

from flask import Flask

from . import index, models


def init_app(app: Flask) -> None:
    models.register_structures()
    index.register_listeners()
