"""Calendar feeds answered before Flask: clients poll them all day, and most polls change nothing.

For `GET /feeds/<token>.ics` the fast path remembers, per token, the feed's version (its ETag) and the headers
of its answer, for as long as nothing a feed shows has changed on any server (changes.py: a generation number
raised by every such commit, announced over Redis, and a few seconds at most). While it remembers, a poll with
the current ETag gets its 304 and any other poll the cached bytes without a database round trip. Otherwise it
asks the database with two prebuilt statements on a plain connection. Anything else (an unknown or closed
token, bytes not yet built, any other path) goes on to Flask unchanged, which answers 404 or builds the feed.
Measured with bench/feeds.py and bench/capacity.py.
"""

import time
from datetime import UTC
from email.utils import format_datetime as http_date
from typing import NamedTuple

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.http import parse_etags

from ..extensions import db
from ..officetime import office_zone, today_in
from ..security import security_headers
from . import services

PREFIX, SUFFIX = "/feeds/", ".ics"
REMEMBERED = 20_000  # feeds per process (about 0.9 KB each): the oldest is forgotten first


class Known(NamedTuple):
    feed_id: int
    version: str
    quoted: str  # the ETag as a client sends it back
    headers: list  # those of the 304 and the 200 alike
    generation: int
    seen: float


class FeedFastPath:
    def __init__(self, wsgi_app, app: Flask):
        self.wsgi_app = wsgi_app
        self.app = app
        self.engine = None
        self.zone = office_zone()
        self.headers = security_headers(app)
        self.changes = app.extensions["feed_changes"]
        self.known: dict[str, Known] = {}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD") or not path.startswith(PREFIX) or not path.endswith(SUFFIX):
            return self.wsgi_app(environ, start_response)
        token = path[len(PREFIX):-len(SUFFIX)]
        if "/" in token:
            return self.wsgi_app(environ, start_response)
        self.changes.listen()
        known = self.known.get(token)
        if known is None or not self.changes.trusted(known.generation, known.seen):
            known = self._ask(token)
            if known is None:  # unknown, closed, or the database is away: Flask answers (404, 503)
                return self.wsgi_app(environ, start_response)
        sent = environ.get("HTTP_IF_NONE_MATCH")
        if sent is not None and (sent == known.quoted or parse_etags(sent).contains_weak(known.version)):
            start_response("304 Not Modified", known.headers)
            return [b""]
        body = services.cache.get((known.feed_id, known.version))
        if body is None:
            return self.wsgi_app(environ, start_response)
        start_response("200 OK", [*known.headers, ("Content-Type", services.FEED_CONTENT_TYPE),
                                  ("Content-Length", str(len(body))),
                                  ("Content-Disposition", "inline; filename=dialogue.ics")])
        return [b""] if method == "HEAD" else [body]

    def _ask(self, token: str) -> Known | None:
        # The generation is read before the database: a change committed meanwhile makes this answer stale.
        generation, seen = self.changes.generation, time.monotonic()
        if self.engine is None:
            with self.app.app_context():
                self.engine = db.engine
        try:
            with self.engine.connect() as conn:
                state = services.feed_state(conn, token, today_in(self.zone))
        except SQLAlchemyError:
            return None
        if state is None:
            self.known.pop(token, None)
            return None
        feed_id, version, last_modified = state
        headers = [*self.headers, ("ETag", f'"{version}"'), ("Cache-Control", "private, max-age=300")]
        if last_modified is not None:
            headers.append(("Last-Modified", http_date(last_modified.astimezone(UTC), usegmt=True)))
        known = Known(feed_id, version, f'"{version}"', headers, generation, seen)
        if len(self.known) >= REMEMBERED and token not in self.known:
            self.known.pop(next(iter(self.known)), None)
        self.known[token] = known
        return known
