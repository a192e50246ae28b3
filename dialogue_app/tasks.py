"""Background work: one Huey queue, configured from the app's settings, and the command that runs it.

- Storage: Redis when `HUEY_REDIS_URL` or `REDIS_URL` is set (every server shares the queue), else a SQLite
  file in the instance folder (`huey.db`: one machine).
- `HUEY_IMMEDIATE` runs each task at once, in the caller, instead of queueing it (the tests do).
- `flask --app wsgi worker` runs the consumer (cli.py), beside the web server; `make run` starts both.

Domains register their tasks by name in their own `init_app` (`register`), and enqueue them by name
(`enqueue`): nothing registers itself by being imported. A task runs in the app of the process that runs it,
with its own app context (and database session), or in the caller's when it runs at once. A task that raises is
tried again `retries` times, waiting `backoff` seconds, then twice that, and so on.

What runs by the clock is declared here, in SCHEDULE, in office time: the worker starts each named task when its
time comes, and skips (saying so in its log) a name no package has registered.

Any number of workers, on any number of machines, may share one Redis queue: each task is taken by one of them.
"""

import logging
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_app_context
from huey import Huey, crontab
from huey.api import TaskWrapper
from huey.storage import RedisStorage, SqliteStorage
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# The work done by the clock, in office time (OFFICE_TIMEZONE): task name → when. Mail also leaves right after the
# transaction that queued it (mail/__init__.py); the minute's round catches retries and anything missed.
SCHEDULE: dict[str, Callable] = {
    "send-mail": crontab(),  # every minute
    "receive-mail": crontab(),  # answers from calendars (iTIP REPLY) in the organiser's mailbox
    "refresh-reports": crontab(),  # report snapshots of the months that changed
    "send-digests": crontab(minute="0", hour="7"),  # each person's daily digest, before the office opens
    "notify-overdue": crontab(minute="30", hour="7"),  # issues past their time to answer
}
RETRIES, BACKOFF = 3, 30  # a failing task is tried again after 30 s, 60 s, 120 s

# Configured by init_app; until then it runs tasks at once in memory (so importing this never needs a server).
huey = Huey("dialogue", results=False, immediate=True)
_app: list[Flask] = []  # the app a worker thread runs its tasks in
_tasks: dict[str, TaskWrapper] = {}


def init_app(app: Flask) -> None:
    """Point the queue at the storage the settings name, and remember the app the worker runs tasks in."""
    redis_url = app.config.get("HUEY_REDIS_URL") or app.config.get("REDIS_URL")
    if redis_url:
        huey.storage_class, huey.storage_kwargs = RedisStorage, {"url": redis_url}
    else:
        path = app.config.get("HUEY_SQLITE_PATH") or os.path.join(app.instance_path, "huey.db")
        huey.storage_class, huey.storage_kwargs = SqliteStorage, {"filename": path}
    huey.immediate = bool(app.config.get("HUEY_IMMEDIATE"))
    huey.storage = huey.create_storage()
    _app[:] = [app]
    _schedule(ZoneInfo(app.config.get("OFFICE_TIMEZONE") or "Asia/Ho_Chi_Minh"))


def _in_app(function: Callable, *args, task=None):
    try:
        if has_app_context():  # run at once, in the caller's request or command
            return function(current_app._get_current_object(), *args)
        with _app[0].app_context():
            return function(_app[0], *args)
    except Exception:
        if task is not None and task.retries:  # Huey queues it again after task.retry_delay seconds
            task.retry_delay = task.retry_delay * 2 if task.retry_delay else BACKOFF
        raise


def register(name: str, function: Callable, *, retries: int = RETRIES, backoff: float = BACKOFF) -> None:
    """Make `function(app, *args)` a task called `name` (once per process, however many apps it creates), tried
    again `retries` times when it raises, after `backoff` seconds, then twice as long each time. A task that is
    not safe to run twice says retries=0."""
    if name not in _tasks:
        # The first retry waits `backoff`: _in_app doubles the delay on each failure after it.
        _tasks[name] = huey.task(name=name, retries=retries, retry_delay=backoff / 2, context=True)(
            partial(_in_app, function))


def registered(name: str) -> bool:
    return name in _tasks


def _start(name: str) -> None:
    """What the clock runs: queue the task `name`, if a package registered it. Every worker keeps the clock, so
    each of them starts it: the first to claim the minute in the shared storage queues it, once."""
    if name not in _tasks:
        if name not in _skipped:  # said once per process, not every minute
            _skipped.add(name)
            logger.warning("Scheduled task %r skipped: no package registers it in this version.", name)
        return
    minute, last = f"clock:{name}:{datetime.now(UTC):%Y%m%d%H%M}", f"clock:{name}:last"
    if huey.storage.put_if_empty(minute, b"1"):
        previous = huey.storage.peek_data(last)
        if isinstance(previous, bytes):
            huey.storage.delete_data(previous.decode())  # the claims do not pile up
        huey.storage.put_data(last, minute.encode())
        _tasks[name]()


def _at_office(when: Callable, zone: ZoneInfo) -> Callable:
    """A crontab read in the office's time zone (Huey gives it UTC)."""
    return lambda timestamp: when(timestamp.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None))


_scheduled: set[str] = set()
_skipped: set[str] = set()


def _schedule(zone: ZoneInfo) -> None:
    for name, when in SCHEDULE.items():
        if name not in _scheduled:
            _scheduled.add(name)
            huey.periodic_task(_at_office(when, zone), name=f"clock:{name}")(partial(_start, name))


def enqueue(name: str, *args) -> None:
    """Queue the task `name` with `args` (JSON-like values), or run it now in immediate mode."""
    _tasks[name](*args)


def nudge(name: str, delay: float | None = None) -> None:
    """Queue the task `name` (without arguments) for the worker, now or in `delay` seconds, when there is a
    worker: in immediate mode (the tests) nothing runs, and the scheduled round or a command does it. A nudge
    follows a commit: the queue being away must not fail what was committed, so it is only logged."""
    if not huey.immediate and name in _tasks:
        try:
            if delay:
                _tasks[name].schedule(delay=delay)
            else:
                _tasks[name]()
        except (RedisError, sqlite3.Error, OSError) as error:  # the queue away: the clock's round does it later
            logger.warning("Could not queue %r (%s): the scheduled round will do it.", name, type(error).__name__)


def run_worker(workers: int = 2) -> None:
    """Run the consumer, with the clock (SCHEDULE), until it is stopped (SIGINT or SIGTERM finish the tasks in
    hand first)."""
    # An idle consumer looks at the queue less and less often, by default up to every 10 s: an invitation made
    # after a quiet spell would wait that long for its mail. Once a second at most costs one cheap read.
    huey.create_consumer(workers=workers, worker_type="thread", periodic=True, max_delay=1.0).run()
