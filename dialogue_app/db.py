"""The declarative base, the UTC instant type, and small helpers shared by every model."""

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, Engine, MetaData, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """An instant: written in UTC, read back time-zone aware (UTC) on SQLite and PostgreSQL alike.

    A naive datetime is refused rather than guessed at: which zone it meant is exactly the bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    # Given as one registry: Flask-SQLAlchemy subclasses the base, which a per-class map would not survive.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime},
    )


def listen(target, identifier: str, fn: Callable) -> None:
    """Register a SQLAlchemy event listener once, however many apps are created (the tests make many)."""
    if not event.contains(target, identifier, fn):
        event.listen(target, identifier, fn)


def init_app(app) -> None:
    listen(Engine, "connect", _sqlite_foreign_keys)


def render_migration_item(type_, obj, autogen_context):
    """Write UTCDateTime into migrations as the column type it stores, so they need no app import."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _sqlite_foreign_keys(dbapi_connection, connection_record) -> None:
    """SQLite ignores foreign keys unless asked, per connection: ask, so SQLite and PostgreSQL refuse and
    cascade alike."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        files = [row[2] for row in cursor.execute("PRAGMA database_list") if row[2]]
        cursor.close()
        _owner_only(files)


def _owner_only(paths) -> None:
    """The SQLite file holds every account and message: readable by its owner only (0600), whatever umask made
    it. SQLite gives its -wal and -shm files the database file's mode."""
    for path in paths:
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
        except OSError:  # not ours to change (a read-only copy, another owner): leave it as it is
            pass


def database_answers(engine: Engine) -> bool:
    """True when the database answers a trivial query now (the readiness check)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


@dataclass(frozen=True)
class Belongs:
    """A model's place in the scope: its unit column, and how a business reaches it.

    `business` is a column name (the row belongs to that business) or a function (model, business id) ->
    condition (the business reaches it some other way, e.g. an invitation); None: no business reaches it.
    `restricted` (model) -> condition marks the rows only managers and admins see among staff.
    """

    unit: str | None = None
    business: str | Callable | None = None
    restricted: Callable | None = None
