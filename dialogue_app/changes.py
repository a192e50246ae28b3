"""When may a server trust what it remembers of the data? Until a change is committed, on any server.

A `Changes` holds a generation number for one app and one kind of thing remembered. A committed transaction that
wrote what that kind depends on (`Watched`: the feeds watch series, meetings, invitations and the like; the minutes
PDF anything but the tables of machinery such as sessions' last use) raises it in this process and, when REDIS_URL
is set, announces it on a Redis channel that every server's listener thread hears: their generation rises too.
Whoever remembers something reads the generation before asking the database, keeps it beside what it learnt, and
asks again once the generation moved (`trusted`).

Correctness never rests on a message arriving: what is remembered also expires after `max_age` seconds, and
while the listener is not subscribed (starting, Redis away) nothing remembered is trusted. Without Redis (one
process, SQLite in development), other processes on the same database see a change within `max_age`.

Coarse on purpose: a whole kind of write counts, so a cache built on it cannot miss a dependency nobody listed;
writes are rare beside reads.
"""

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

from .db import listen

log = logging.getLogger(__name__)

RETRY_SECONDS, MAX_RETRY_SECONDS = 1.0, 30.0


@dataclass(frozen=True)
class Watched:
    """What something remembered depends on: an object flushed (new, changed or deleted), a table written by a
    bulk UPDATE, INSERT or DELETE (its name; None when the statement names none)."""

    object: Callable[[object], bool]
    table: Callable[[str | None], bool]


def anything_but(tables: frozenset[str]) -> Watched:
    return Watched(object=lambda obj: getattr(obj, "__tablename__", "") not in tables,
                   table=lambda name: name not in tables)


class Changes:
    """One app's generation, its announcements and its listener, for the changes `watched` says matter."""

    def __init__(self, app: Flask, name: str, *, max_age: float, watched: Watched):
        self.name = name
        self.max_age = max_age
        self.watched = watched
        self.redis_url = app.config.get("REDIS_URL")
        # Servers on the same database share a channel; another deployment using the same Redis does not hear it.
        database = hashlib.sha256(str(app.config.get("SQLALCHEMY_DATABASE_URI")).encode()).hexdigest()[:16]
        self.channel = f"dialogue:{name}:{database}"
        self.flag = f"changed:{name}"  # the key in Session.info from the flush to the commit
        self.generation = 0
        self.listening = False  # subscribed and hearing: only then is anything remembered worth something
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._publisher = None
        listen(Session, "after_flush", _note_flush)
        listen(Session, "do_orm_execute", _note_statement)
        listen(Session, "after_commit", _announce_commit)
        app.extensions.setdefault("changes", []).append(self)

    def bump(self) -> None:
        with self._lock:
            self.generation += 1

    def trusted(self, generation: int, seen: float) -> bool:
        """Whether what was learnt at `seen` (time.monotonic) under `generation` still holds."""
        return generation == self.generation and time.monotonic() - seen < self.max_age \
            and (self.listening or not self.redis_url)

    def announce(self) -> None:
        """A change was committed here: this process forgets at once, the others when they hear it."""
        self.bump()
        if not self.redis_url:
            return
        try:
            if self._publisher is None:
                self._publisher = redis.Redis.from_url(self.redis_url, socket_timeout=1, socket_connect_timeout=1)
            self._publisher.publish(self.channel, b"1")
        except redis.RedisError as error:  # the others fall back on max_age
            log.warning("%s change not announced on Redis: %s", self.name, type(error).__name__)

    def listen(self) -> None:
        """Start the listener thread in this process, once (a gunicorn worker forked from a master that loaded
        the app has no thread of its master's)."""
        if not self.redis_url or self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid, self.listening, self._publisher = os.getpid(), False, None
        threading.Thread(target=self._hear, name=f"changes-{self.channel}", daemon=True).start()

    def _hear(self) -> None:
        client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=2, health_check_interval=30)
        pause = RETRY_SECONDS
        while True:
            pubsub = client.pubsub()
            try:
                pubsub.subscribe(self.channel)
                for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        # What was announced while nobody listened is unknown: forget everything once.
                        self.bump()
                        self.listening, pause = True, RETRY_SECONDS
                    elif message["type"] == "message":
                        self.bump()
            except redis.RedisError as error:
                if pause == RETRY_SECONDS:  # said once per outage, not at every retry
                    log.warning("%s change listener lost Redis: %s", self.name, type(error).__name__)
            finally:
                self.listening = False
                pubsub.close()
            time.sleep(pause)
            pause = min(pause * 2, MAX_RETRY_SECONDS)


# -- Session events: one set for every app; each app's Changes are in app.extensions["changes"] ----------------

def _mine() -> list[Changes]:
    return current_app.extensions.get("changes", []) if has_app_context() else []


def _note_flush(session, flush_context) -> None:
    watchers = [c for c in _mine() if not session.info.get(c.flag)]
    if watchers:
        flushed = [obj for objects in (session.new, session.dirty, session.deleted) for obj in objects]
        for changes in watchers:
            if any(changes.watched.object(obj) for obj in flushed):
                session.info[changes.flag] = True


def _note_statement(orm_execute_state) -> None:
    """Bulk UPDATE/INSERT/DELETE (days off raise every series' revision; a unit's feed keys go with it)."""
    if orm_execute_state.is_update or orm_execute_state.is_delete or orm_execute_state.is_insert:
        table = getattr(getattr(orm_execute_state.statement, "table", None), "name", None)
        for changes in _mine():
            if changes.watched.table(table):
                orm_execute_state.session.info[changes.flag] = True


def _announce_commit(session) -> None:
    # A flag left by a rolled-back savepoint only costs the others one extra look at the database.
    for changes in _mine():
        if session.info.pop(changes.flag, False):
            changes.announce()
