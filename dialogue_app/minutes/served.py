"""What `/meetings/{id}/minutes.pdf` answers, remembered by each server until anything is committed anywhere.

A cache hit used to check that the PDF was still current with six statements (the meeting in the reader's
scope, the minutes, the signed copy, the issues' and attendees' fingerprint, the stored bytes). Now each process
remembers, per meeting and reader, the answer's ETag and file name, and per ETag the bytes, for as long as no
change was committed on any server (dialogue_app.changes: a generation raised by every commit that writes
anything but sign-in machinery and the PDF cache itself, announced over Redis). What the reader may read, and
what the PDF prints, can only change through a commit, which makes every server ask the database again.

The sign-in is still checked on every request. For a browser (a session cookie) the fast path below answers a
remembered PDF ahead of Flask: the signed session cookie read as Flask reads it, then one statement on a plain
connection (auth.services.live_session_user_id: the server-side session live, the person active). Anything else
(a bearer token, no or a bad cookie, a session due for its last-use write, nothing remembered) goes to Flask.
Measured with bench/capacity.py (its minutes PDF part).
"""

import threading
import time
from collections import OrderedDict
from contextlib import suppress
from dataclasses import dataclass

from flask import Flask, current_app
from itsdangerous import BadSignature
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.http import parse_cookie, parse_etags

from ..auth.models import User
from ..auth.services import live_session_user_id
from ..changes import Changes, anything_but
from ..extensions import db
from ..security import security_headers
from . import services, signed

# Answers per process (a few hundred bytes each) and PDFs per process (about 70 KB each): the oldest go first.
REMEMBERED_ANSWERS, REMEMBERED_PDFS = 5_000, 64
# Written while a PDF is read or served, and changing nothing a PDF prints or who may read it.
IGNORED_TABLES = frozenset({"user_sessions", "api_tokens", "minutes_pdfs"})


@dataclass(frozen=True)
class Known:
    etag: str
    filename: str
    generation: int
    seen: float


class PdfMemory:
    def __init__(self, app: Flask):
        self.changes = Changes(app, "minutes-pdf", max_age=app.config["MINUTES_PDF_CACHE_SECONDS"],
                               watched=anything_but(IGNORED_TABLES))
        self.answers: OrderedDict[tuple, Known] = OrderedDict()
        self.pdfs: OrderedDict[str, bytes] = OrderedDict()

    def keep(self, store: OrderedDict, key, value, limit: int) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > limit:
            store.popitem(last=False)


@dataclass
class ServedPdf:
    """The answer for one request: `.etag` and `.filename` at once, `.data()` when the bytes are wanted."""

    etag: str
    filename: str
    _memory: PdfMemory
    _answer: object | None  # signed.pdf_for's answer when the database was asked

    def data(self) -> bytes:
        data = self._memory.pdfs.get(self.etag)
        if data is None:
            data = self._answer.data()
            self._memory.keep(self._memory.pdfs, self.etag, data, REMEMBERED_PDFS)
        return data


def init_app(app: Flask) -> None:
    app.extensions["minutes_pdfs"] = PdfMemory(app)


def served_pdf(reader: User, meeting_id: int) -> ServedPdf | None:
    """The minutes PDF of meeting `meeting_id` as `reader` may read it, or None when the reader does not see the
    meeting or may not read its minutes (yet). `reader` is signed in (the caller checked)."""
    memory: PdfMemory = current_app.extensions["minutes_pdfs"]
    memory.changes.listen()
    key = (meeting_id, reader.id)
    known = memory.answers.get(key)
    if known is not None and known.etag in memory.pdfs and memory.changes.trusted(known.generation, known.seen):
        return ServedPdf(known.etag, known.filename, memory, None)
    # The generation is read before the database: a change committed meanwhile makes this answer stale.
    generation, seen = memory.changes.generation, time.monotonic()
    meeting = services.get_visible_meeting(reader, meeting_id)
    if meeting is None:
        return None
    minutes = services.get_minutes(meeting)
    if not services.can_read(reader, minutes):
        return None
    answer = signed.pdf_for(meeting, reader, minutes)
    filename = services.pdf_filename(meeting)
    memory.keep(memory.answers, key, Known(answer.etag, filename, generation, seen), REMEMBERED_ANSWERS)
    return ServedPdf(answer.etag, filename, memory, answer)


PREFIX, SUFFIX = "/meetings/", "/minutes.pdf"


class PdfFastPath:
    def __init__(self, wsgi_app, app: Flask):
        self.wsgi_app = wsgi_app
        self.app = app
        self.memory: PdfMemory = app.extensions["minutes_pdfs"]
        self.headers = [*security_headers(app), ("Cache-Control", "private, no-cache"), ("Vary", "Cookie")]
        self.cookie = app.config["SESSION_COOKIE_NAME"]
        self.max_age = int(app.permanent_session_lifetime.total_seconds())
        self.serializer = app.session_interface.get_signing_serializer(app)
        self.local = threading.local()  # one plain connection per thread (a sync worker has one)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "GET" or not path.startswith(PREFIX) or not path.endswith(SUFFIX) \
                or "HTTP_AUTHORIZATION" in environ:
            return self.wsgi_app(environ, start_response)
        found = self._remembered(environ, path[len(PREFIX):-len(SUFFIX)])
        if found is None:
            return self.wsgi_app(environ, start_response)
        known, data = found
        headers = [*self.headers, ("ETag", f'"{known.etag}"'),
                   ("Content-Disposition", f'inline; filename="{known.filename}"')]
        sent = environ.get("HTTP_IF_NONE_MATCH")
        if sent is not None and parse_etags(sent).contains_weak(known.etag):
            start_response("304 Not Modified", headers)
            return [b""]
        start_response("200 OK", [*headers, ("Content-Type", "application/pdf"), ("Content-Length", str(len(data)))])
        return [data]

    def _remembered(self, environ, meeting_id: str) -> tuple[Known, bytes] | None:
        # ASCII digits only: PATH_INFO is latin-1, and "²" passes isdigit() but not int() (a 500 outside Flask).
        if not (meeting_id.isascii() and meeting_id.isdigit()) or len(meeting_id) > 18 or self.serializer is None:
            return None
        cookie = parse_cookie(environ).get(self.cookie)
        if not cookie:
            return None
        try:
            ident = self.serializer.loads(cookie, max_age=self.max_age).get("_user_id")
        except (BadSignature, AttributeError):
            return None
        user_id = str(ident or "").partition(":")[0]
        if not (user_id.isascii() and user_id.isdigit()):
            return None
        self.memory.changes.listen()
        known = self.memory.answers.get((int(meeting_id), int(user_id)))
        data = self.memory.pdfs.get(known.etag) if known is not None else None
        if data is None or not self.memory.changes.trusted(known.generation, known.seen):
            return None
        try:
            signed_in = live_session_user_id(self._connection(), ident)
        except SQLAlchemyError:
            self._forget_connection()
            return None
        return (known, data) if signed_in == int(user_id) else None

    def _connection(self):
        """A connection of this thread's own, kept (no checkout, ping or transaction per request)."""
        connection = getattr(self.local, "connection", None)
        if connection is None:
            with self.app.app_context():
                engine = db.engine
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self.local.connection = connection
            # Closed with the engine's pool (the tests dispose theirs), not left to the garbage collector.
            event.listen(engine, "engine_disposed", lambda _engine: self._forget_connection())
        return connection

    def _forget_connection(self) -> None:
        connection, self.local.connection = getattr(self.local, "connection", None), None
        if connection is not None:
            with suppress(SQLAlchemyError):  # already gone
                connection.invalidate()
                connection.close()
