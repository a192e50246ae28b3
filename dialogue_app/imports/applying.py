"""Applying a plan: the writes, with bulk statements, in the caller's transaction (all or nothing)."""

from collections.abc import Callable
from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, update

from ..audit.models import AuditEntry
from ..auth.models import User
from ..db import utcnow
from ..exceptions import InvalidData
from ..extensions import db
from ..org.models import Business, Contact
from ..org.services import business_search_text
from ..text import person_label
from .planning import chunks, plan_import, registered_anywhere
from .reading import SourceRow

CHUNK = 1000  # rows per bulk statement, and per step of the progress bar


class ImportRefused(InvalidData):
    """Nothing was written, for `reason`: "rows" (some rows have errors) or "registered" (a new business's tax
    code is registered outside the user's units)."""

    def __init__(self, reason: str, message):
        super().__init__(message)
        self.reason = reason


def _search_text(target: dict) -> str:
    # The registry's own rule, so that imported businesses are found exactly as the ones typed in.
    return business_search_text(SimpleNamespace(name=target["name"], tax_code=target["tax_code"],
                                                address=target["address"]))


def apply_import(rows: list[SourceRow], *, user: User, update_existing: bool, filename: str,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Plan the rows again and, if none has an error, write them in the current transaction (the caller
    commits); else InvalidData and nothing written. `progress(done, total)` follows the writing.

    Bulk statements do not pass through the ORM's flush, so the audit trail gets one entry for the whole
    import, written here.
    """
    report = progress or (lambda done, total: None)
    plan = plan_import(rows, user=user, update_existing=update_existing)
    if not plan.ok:
        raise ImportRefused("rows", _l("Some rows have errors, so nothing was imported. Correct the file and "
                                       "upload it again."))
    creates = [b for b in plan.businesses.values() if b["id"] is None]
    if registered_anywhere([b["tax_code"] for b in creates]):
        # The preview said nothing about businesses outside the user's units; the writing cannot hide that
        # the registry is one for the whole country, but it names no code and writes nothing.
        raise ImportRefused("registered", _l(
            "Nothing was imported: a tax code in the file cannot be registered from your unit (a unit outside "
            "yours may have registered it). Ask your administrator."))
    now = utcnow()
    updates = [b for b in plan.businesses.values() if b["id"] is not None and b["changed"]]
    total = len(creates) + len(updates) + len(plan.new_contacts) + len(plan.changed_contacts)
    done = 0
    report(done, total)

    ids = {b["tax_code"]: b["id"] for b in plan.businesses.values() if b["id"] is not None}
    for chunk in chunks(creates, CHUNK):
        result = db.session.execute(
            insert(Business).returning(Business.id, Business.tax_code),
            [{"tax_code": b["tax_code"], "name": b["name"], "address": b["address"], "unit_id": b["unit_id"],
              "search_text": _search_text(b), "created_at": now, "updated_at": now} for b in chunk],
        )
        ids.update({tax_code: ident for ident, tax_code in result})
        done += len(chunk)
        report(done, total)
    for chunk in chunks(updates, CHUNK):
        db.session.execute(update(Business), [
            {"id": b["id"], "name": b["name"], "address": b["address"], "unit_id": b["unit_id"],
             "search_text": _search_text(b), "updated_at": now} for b in chunk])
        done += len(chunk)
        report(done, total)
    for chunk in chunks(plan.new_contacts, CHUNK):
        db.session.execute(insert(Contact), [
            {"business_id": ids[c["tax_code"]], "name": c["name"], "email": c["email"], "phone": c["phone"],
             "position": c["position"], "created_at": now} for c in chunk])
        done += len(chunk)
        report(done, total)
    for chunk in chunks(plan.changed_contacts, CHUNK):
        db.session.execute(update(Contact), chunk)
        done += len(chunk)
        report(done, total)

    summary = {"rows": len(rows), "businesses_created": plan.created, "businesses_updated": plan.updated,
               "businesses_unchanged": plan.unchanged, "contacts_added": len(plan.new_contacts),
               "contacts_updated": len(plan.changed_contacts)}
    db.session.add(AuditEntry(
        at=now, actor_id=user.id, actor_label=person_label(user.name, user.email),
        action="create" if plan.created else "update", object_type="businesses", object_id=None,
        details={"import": filename, **summary},
    ))
    db.session.flush()
    return summary

