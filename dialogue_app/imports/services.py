"""Import and export of businesses and their contacts, from and to CSV and Excel (.xlsx).

An import is three steps, none of which needs a request, each in its own module:

1. reading (`read_upload`): a file's bytes -> its rows as text, or InvalidData saying why the whole file is
   refused (format, encoding, size, rows and cells counted as they are read, columns);
2. checking and planning (`plan_import`): every row with its errors and what it would do, checked against the
   data the user may see (and only that: the preview never tells what another branch registered);
3. applying (`apply_import`): plans again (the data may have changed since the preview) and, when no row has
   an error, writes everything with bulk statements in one transaction: all or nothing.

Between 2 and 3 the rows wait on the server (storage), never in the browser. This module holds what the pages
call around them: the protocol of applying (claim the rows, apply them as background work on the worker with
the progress the page shows, release them when it fails, keep the outcome) and the export.
"""

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import tasks
from ..audit.services import acting_as
from ..auth.models import User
from ..extensions import db
from ..org.models import Business, Contact, Unit
from ..org.services import search_condition
from ..scope import visible
from ..text import person_label
from . import storage
from .applying import ImportRefused, apply_import
from .checking import ACTION_LABELS, ERROR_MESSAGES, PlannedRow, RowError
from .planning import Plan, plan_import
from .reading import (
    CONTACT_FIELDS,
    FIELD_LABELS,
    FIELDS,
    MAX_BYTES,
    MAX_ROWS,
    REQUIRED,
    TOO_LARGE,
    VIETNAMESE_HEADERS,
    SourceRow,
    Upload,
    read_upload,
)
from .storage import StoredUpload, load_upload, read_progress, save_upload

__all__ = [
    "ACTION_LABELS", "CONTACT_FIELDS", "ERROR_MESSAGES", "FIELDS", "FIELD_LABELS", "MAX_BYTES", "MAX_ROWS",
    "REQUIRED", "TOO_LARGE", "VIETNAMESE_HEADERS", "Plan", "PlannedRow", "RowError", "SourceRow", "StoredUpload",
    "Upload", "apply_import", "load_upload", "plan_import", "read_progress", "read_upload", "save_upload",
]

APPLY_TASK = "imports.apply"

# Why applying stopped, said to the person in their language when they come back for the outcome.
FAILURES = {
    "rows": _l("Some rows have errors, so nothing was imported. Correct the file and upload it again."),
    "registered": _l("Nothing was imported: a tax code in the file cannot be registered from your unit "
                     "(a unit outside yours may have registered it). Ask your administrator."),
    "concurrent": _l("Someone else changed the registry at the same time, so nothing was imported. Check the "
                     "preview again."),
    "expired": _l("This preview has expired: nothing was imported. Upload the file again."),
    "error": _l("The import stopped on an unexpected error, so nothing was imported. Try again; if it happens "
                "again, tell your administrator."),
}


def init_app(app: Flask) -> None:
    """Register the background task that applies a confirmed import (run by `flask --app wsgi worker`)."""
    tasks.register(APPLY_TASK, _apply_in_background, retries=0)  # its failure is shown to the uploader: no retry


class Start(StrEnum):
    STARTED = "started"  # claimed and queued (or, in immediate mode, already applied or failed)
    DONE = "done"  # imported before
    RUNNING = "running"  # another request claimed it and it is being applied


def start_import(folder: Path, token: str, *, user_id: int, update_existing: bool) -> Start:
    """Claim the rows under `token` for one application and hand them to the worker. A second confirmation is
    told that the rows were imported already, or are being imported."""
    if not storage.claim(folder, token):
        return Start.DONE if storage.read_result(folder, token) is not None else Start.RUNNING
    storage.forget_failure(folder, token)
    storage.write_progress(folder, token, done=0, total=0)
    tasks.enqueue(APPLY_TASK, str(folder), token, user_id, update_existing)
    return Start.STARTED


def _apply_in_background(app: Flask, folder: str, token: str, user_id: int, update_existing: bool) -> None:
    """The task: apply the stored rows as their uploader, in one transaction; record the outcome for the page."""
    folder = Path(folder)
    user = db.session.get(User, user_id)
    stored = load_upload(folder, token, user_id=user_id)
    if user is None or not user.active or stored is None:
        storage.fail(folder, token, "expired")
        return

    def progress(done: int, total: int) -> None:
        storage.write_progress(folder, token, done=done, total=total)

    try:
        with acting_as(person_label(user.name, user.email)):
            summary = apply_import(stored.rows, user=user, update_existing=update_existing,
                                   filename=stored.filename, progress=progress)
            db.session.commit()
    except ImportRefused as refusal:
        db.session.rollback()
        storage.fail(folder, token, refusal.reason)
        return
    except IntegrityError:  # someone registered one of these tax codes between the check and the writing
        db.session.rollback()
        storage.fail(folder, token, "concurrent")
        return
    except Exception:
        db.session.rollback()
        storage.fail(folder, token, "error")
        raise  # the worker's log has the traceback
    storage.finish(folder, token, {"file": stored.filename, **summary})
    storage.write_progress(folder, token, done=1, total=1, finished=True)


def outcome(folder: Path, token: str) -> tuple[str, dict | str | None]:
    """Where an import stands: ("done", summary), ("failed", message), or ("running", None)."""
    summary = storage.read_result(folder, token)
    if summary is not None:
        return "done", summary
    reason = storage.read_failure(folder, token)
    if reason is not None:
        return "failed", str(FAILURES.get(reason, FAILURES["error"]))
    return "running", None


def progress_state(folder: Path, token: str) -> dict:
    """What the page's progress bar shows: {done, total, finished, failed}."""
    state = read_progress(folder, token) or {"done": 0, "total": 0, "finished": False}
    state["failed"] = storage.read_failure(folder, token) is not None
    return state


# --- Export ---------------------------------------------------------------------------------------------

def export_header() -> list[str]:
    """The column names, in the reader's language; `read_upload` accepts them back."""
    return [str(FIELD_LABELS[name]) for name in FIELDS]


def export_rows(user: User, text: str | None = None) -> Iterator[list[str]]:
    """One row per contact (one per business without contacts), FIELDS order, of the businesses `user` sees
    and, with `text`, that the registry's search finds."""
    stmt = (
        select(Business.tax_code, Business.name, Business.address, Unit.code, Contact.name, Contact.email,
               Contact.phone, Contact.position)
        .join(Unit, Unit.id == Business.unit_id)
        .outerjoin(Contact, Contact.business_id == Business.id)
        .where(visible(user, Business))
        .order_by(Business.tax_code, Contact.name, Contact.id)
    )
    if text and text.strip():
        stmt = stmt.where(search_condition(text.strip()[:200]))
    for row in db.session.execute(stmt):
        yield ["" if value is None else str(value) for value in row]
