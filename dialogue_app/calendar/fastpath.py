"""Calendar feeds answered before Flask: clients poll them all day, and most polls change nothing.

For `GET /feeds/<token>.ics` the fast path looks the token and the feed's version up with two prebuilt
statements on a plain connection, then answers 304 when the client has this version, or the cached bytes
when the process has them. Anything else (an unknown or closed token, a feed not yet built, any other
path) goes on to Flask unchanged, which answers 404 or builds the feed. Measured with bench/feeds.py.
"""

from datetime import UTC
from email.utils import format_datetime as http_date

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.http import parse_etags

from ..extensions import db
from ..officetime import office_zone, today_in
from ..security import security_headers
from . import services

PREFIX, SUFFIX = "/feeds/", ".ics"


class FeedFastPath:
    def __init__(self, wsgi_app, app: Flask):
        self.wsgi_app = wsgi_app
        self.app = app
        self.engine = None
        self.zone = office_zone()
        self.headers = security_headers(app)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or not path.startswith(PREFIX) \
                or not path.endswith(SUFFIX):
            return self.wsgi_app(environ, start_response)
        token = path[len(PREFIX):-len(SUFFIX)]
        if "/" in token:
            return self.wsgi_app(environ, start_response)
        if self.engine is None:
            with self.app.app_context():
                self.engine = db.engine
        try:
            with self.engine.connect() as conn:
                state = services.feed_state(conn, token, today_in(self.zone))
        except SQLAlchemyError:  # the database is away: Flask answers (503, "try again")
            return self.wsgi_app(environ, start_response)
        if state is None:
            return self.wsgi_app(environ, start_response)
        feed_id, version, last_modified = state
        headers = [*self.headers, ("ETag", f'"{version}"'), ("Cache-Control", "private, max-age=300")]
        if last_modified is not None:
            headers.append(("Last-Modified", http_date(last_modified.astimezone(UTC), usegmt=True)))
        if parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains(version):
            start_response("304 Not Modified", headers)
            return [b""]
        body = services.cache.get((feed_id, version))
        if body is None:
            return self.wsgi_app(environ, start_response)
        headers += [("Content-Type", services.FEED_CONTENT_TYPE), ("Content-Length", str(len(body))),
                    ("Content-Disposition", "inline; filename=dialogue.ics")]
        start_response("200 OK", headers)
        return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [body]
