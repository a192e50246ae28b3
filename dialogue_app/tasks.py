"""Background work: one Huey queue, configured from the app's settings, and the command that runs it.

- Storage: Redis when `HUEY_REDIS_URL` or `REDIS_URL` is set (every server shares the queue), else a SQLite
  file in the instance folder (`huey.db`: one machine).
- `HUEY_IMMEDIATE` runs each task at once, in the caller, instead of queueing it (the tests do).
- `flask --app wsgi worker` runs the consumer (cli.py), beside the web server; `make run` starts both.

Domains register their tasks by name in their own `init_app` (`register`), and enqueue them by name
(`enqueue`): nothing registers itself by being imported. A task runs in the app of the process that runs it,
with its own app context (and database session), or in the caller's when it runs at once.
"""

import os
from collections.abc import Callable
from functools import partial

from flask import Flask, current_app, has_app_context
from huey import Huey
from huey.api import TaskWrapper
from huey.storage import RedisStorage, SqliteStorage

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


def _in_app(function: Callable, *args):
    if has_app_context():  # run at once, in the caller's request or command
        return function(current_app._get_current_object(), *args)
    with _app[0].app_context():
        return function(_app[0], *args)


def register(name: str, function: Callable, **options) -> None:
    """Make `function(app, *args)` a task called `name` (once per process, however many apps it creates)."""
    if name not in _tasks:
        _tasks[name] = huey.task(name=name, **options)(partial(_in_app, function))


def enqueue(name: str, *args) -> None:
    """Queue the task `name` with `args` (JSON-like values), or run it now in immediate mode."""
    _tasks[name](*args)


def run_worker(workers: int = 2) -> None:
    """Run the consumer until it is stopped (SIGINT or SIGTERM finish the tasks in hand first)."""
    huey.create_consumer(workers=workers, worker_type="thread", periodic=False).run()
