"""What `/meetings/{id}/minutes.pdf` answers, remembered by each server until anything is committed anywhere.

A cache hit used to check that the PDF was still current with six statements (the meeting in the reader's
scope, the minutes, the signed copy, the issues' and attendees' fingerprint, the stored bytes). Now each process
remembers, per meeting and per scope (scope.scope_key: people with the same key see the same meetings and read
the same version of the minutes), the answer's ETag and file name, and per ETag the bytes, for as long as no
change was committed on any server (dialogue_app.changes: a generation raised by every commit that writes
anything but sign-in machinery and the PDF cache itself, announced over Redis). The sign-in is still checked on
every request (the server-side session, by Flask-Login before the view); what the reader may read, and what
the PDF prints, can only change through a commit, which makes every server ask the database again.
"""

import time
from collections import OrderedDict
from dataclasses import dataclass

from flask import Flask, current_app

from ..auth.models import User
from ..changes import Changes
from ..scope import scope_key
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
                               ignored=IGNORED_TABLES)
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
    key = (meeting_id, scope_key(reader))
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
