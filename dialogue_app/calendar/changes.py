"""When may a server trust what it remembers of a feed? Until anything a feed shows changes, on any server.

Each app holds a generation number. A committed transaction that touched what feeds are made of (series and
their moves, meetings, feed keys, invitations, units, days off, a person's account closing) raises it in this
process and, when REDIS_URL is set, announces it on a Redis channel that every server's listener thread hears:
their generation rises too. The fast path (fastpath.py) keeps what it learnt of a feed with the generation it
read before asking the database, and asks again once the generation moved.

Correctness never rests on a message arriving: what the fast path remembers also expires after
FEED_CACHE_SECONDS (5 s), and while the listener is not subscribed (starting, Redis away) it remembers nothing.
Without Redis (one process, SQLite in development), other processes on the same database see a change within
those seconds.
"""

import hashlib
import logging
import os
import threading
import time

import redis
from flask import Flask, current_app, has_app_context
from sqlalchemy import inspect

from ..auth.models import User
from ..officetime.models import CalendarAdjustment
from ..org.models import Business, Unit
from ..scheduling.models import Meeting, MeetingInvitation, OccurrenceOverride, Series, series_invitations
from .models import FeedToken

log = logging.getLogger(__name__)

# What a feed's version or bytes are made of; a User only through the columns below.
FEED_MODELS = (Series, OccurrenceOverride, Meeting, MeetingInvitation, FeedToken, Unit, Business, CalendarAdjustment)
USER_COLUMNS = ("active", "unit_id")
FEED_TABLES = frozenset({*(model.__tablename__ for model in FEED_MODELS), series_invitations.name,
                         User.__tablename__})
CHANGED = "feeds_changed"  # the key in Session.info from the flush to the commit
RETRY_SECONDS, MAX_RETRY_SECONDS = 1.0, 30.0


class FeedChanges:
    """One app's generation, its announcements and its listener."""

    def __init__(self, app: Flask):
        self.max_age = float(app.config.get("FEED_CACHE_SECONDS", 5))
        self.redis_url = app.config.get("REDIS_URL")
        # Servers on the same database share a channel; another deployment using the same Redis does not hear it.
        database = hashlib.sha256(str(app.config.get("SQLALCHEMY_DATABASE_URI")).encode()).hexdigest()[:16]
        self.channel = f"dialogue:feeds:{database}"
        self.generation = 0
        self.listening = False  # subscribed and hearing: only then is a remembered feed worth anything
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._publisher = None

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
        except redis.RedisError as error:  # the others fall back on FEED_CACHE_SECONDS
            log.warning("feed change not announced on Redis: %s", type(error).__name__)

    def listen(self) -> None:
        """Start the listener thread in this process, once (a gunicorn worker forked from a master that loaded
        the app has no thread of its master's)."""
        if not self.redis_url or self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid, self.listening, self._publisher = os.getpid(), False, None
        threading.Thread(target=self._hear, name="feed-changes", daemon=True).start()

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
                    log.warning("feed change listener lost Redis: %s", type(error).__name__)
            finally:
                self.listening = False
                pubsub.close()
            time.sleep(pause)
            pause = min(pause * 2, MAX_RETRY_SECONDS)


# -- Session events (registered in calendar.init_app) ----------------------------------------------------------

def _touches_feeds(obj) -> bool:
    if isinstance(obj, FEED_MODELS):
        return True
    if isinstance(obj, User):
        state = inspect(obj)
        return state.was_deleted or any(state.attrs[c].history.has_changes() for c in USER_COLUMNS)
    return False


def note_flush(session, flush_context) -> None:
    if not session.info.get(CHANGED) and any(
            _touches_feeds(obj) for objects in (session.new, session.dirty, session.deleted) for obj in objects):
        session.info[CHANGED] = True


def note_statement(orm_execute_state) -> None:
    """Bulk UPDATE/INSERT/DELETE (days off raise every series' revision; a unit's feed keys go with it)."""
    if orm_execute_state.is_update or orm_execute_state.is_delete or orm_execute_state.is_insert:
        table = getattr(orm_execute_state.statement, "table", None)
        if getattr(table, "name", None) in FEED_TABLES:
            orm_execute_state.session.info[CHANGED] = True


def announce_commit(session) -> None:
    # A flag left by a rolled-back savepoint only costs the others one extra look at the database.
    if session.info.pop(CHANGED, False) and has_app_context():
        changes = current_app.extensions.get("feed_changes")
        if changes is not None:
            changes.announce()
