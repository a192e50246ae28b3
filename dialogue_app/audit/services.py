"""The audit trail: every insert, update and delete of a model leaves an AuditEntry.

Models that keep their own history or are machinery, not data people change (the outbox, an issue's
events), say so with `__audited__ = False`.

It hangs on the session's flush, so no service can forget it: a change made through a page, the API
or a command is recorded in the same transaction as the change itself, or not at all.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import insert, inspect, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..text import person_label
from .models import AuditEntry

# Columns whose values never go into the trail.
SECRET_COLUMNS = frozenset({"password_hash", "token_hash"})
# Bookkeeping columns whose change alone is not worth an entry.
QUIET_COLUMNS = frozenset({"updated_at", "last_login_at", "last_used_at", "search_text", "path"})

_cli_actor: ContextVar[str | None] = ContextVar("audit_cli_actor", default=None)


@contextmanager
def acting_as(label: str) -> Iterator[None]:
    """Name who makes the changes outside a request, e.g. a command: ``acting_as("cli:seed-demo")``."""
    token = _cli_actor.set(label)
    try:
        yield
    finally:
        _cli_actor.reset(token)


def _actor() -> tuple[int | None, str]:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id, person_label(current_user.name, current_user.email)
    return None, _cli_actor.get() or "system"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _column_changes(obj: Any, only_changed: bool) -> dict[str, Any]:
    state = inspect(obj)
    changes: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in SECRET_COLUMNS:
            if only_changed and state.attrs[key].history.has_changes():
                changes[key] = "(changed)"
            continue
        if only_changed:
            history = state.attrs[key].history
            if not history.has_changes() or key in QUIET_COLUMNS:
                continue
            old = history.deleted[0] if history.deleted else None
            changes[key] = [_plain(old), _plain(history.added[0] if history.added else None)]
        elif key not in QUIET_COLUMNS:
            changes[key] = _plain(getattr(obj, key))
    if only_changed:
        # Many-to-many links (a series' invited businesses) change nothing in the row itself, yet who was
        # invited or uninvited is exactly what the trail must tell.
        for relationship in state.mapper.relationships:
            if relationship.secondary is None:
                continue
            history = state.attrs[relationship.key].history
            if history.has_changes():
                changes[relationship.key] = {"added": [getattr(o, "id", None) for o in history.added],
                                             "removed": [getattr(o, "id", None) for o in history.deleted]}
    return changes


def _rows(session: Session) -> list[dict[str, Any]]:
    actor_id, label = _actor()
    now = utcnow()
    rows = []
    for action, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if isinstance(obj, AuditEntry) or not getattr(obj, "__audited__", hasattr(obj, "__tablename__")):
                continue
            if action == "update" and not session.is_modified(obj):
                continue
            details = _column_changes(obj, only_changed=(action == "update"))
            if action == "update" and not details:
                continue
            rows.append(
                {
                    "at": now,
                    "actor_id": actor_id,
                    "actor_label": label,
                    "action": action,
                    "object_type": obj.__tablename__,
                    "object_id": getattr(obj, "id", None),
                    "details": details,
                }
            )
    return rows


def record_changes(session: Session, flush_context) -> None:
    # In after_flush new objects have their ids and session.new/dirty/deleted still show what was flushed.
    rows = _rows(session)
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def entries_statement(object_type: str | None = None):
    """The trail, newest first; with `object_type`, only the entries about that kind of object."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    return stmt
