"""Planning an import: every row checked, and what the import would do, as a user sees the data. Changes
nothing; a fixed number of queries whatever the number of rows."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import case, select

from ..auth.models import User
from ..extensions import db
from ..org.models import Business, Contact, Unit
from ..scope import visible, visible_units_condition
from .checking import PlannedRow, RowError, check_row, same_person
from .reading import SourceRow

# IN (...) lists stay well below the drivers' limits on bound parameters (SQLite 32,766; PostgreSQL 65,535).
LOOKUP_CHUNK = 5000


@dataclass
class Plan:
    rows: list[PlannedRow]
    # tax code -> what the business will be: {"id" (None: new), "tax_code", "name", "address", "unit_id",
    # "changed": its own columns change, "touched": it or its contacts change}
    businesses: dict[str, dict] = field(default_factory=dict)
    new_contacts: list[dict] = field(default_factory=list)  # {"tax_code", "name", "email", "phone", "position"}
    changed_contacts: list[dict] = field(default_factory=list)  # {"id", "name", "email", "phone", "position"}

    @property
    def error_rows(self) -> int:
        return sum(1 for r in self.rows if r.errors)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and self.error_rows == 0

    @property
    def created(self) -> int:
        return sum(1 for b in self.businesses.values() if b["id"] is None)

    @property
    def updated(self) -> int:
        return sum(1 for b in self.businesses.values() if b["id"] is not None and b["touched"])

    @property
    def unchanged(self) -> int:
        return sum(1 for b in self.businesses.values() if b["id"] is not None and not b["touched"])



def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _visible_units(user: User) -> dict[str, int]:
    return dict(db.session.execute(select(Unit.code, Unit.id).where(visible_units_condition(user))).all())


def _existing_businesses(user: User, tax_codes: list[str]) -> dict[str, Any]:
    in_scope = case((visible(user, Business), 1), else_=0).label("visible")
    found = {}
    for chunk in chunks(tax_codes, LOOKUP_CHUNK):
        stmt = select(Business.id, Business.tax_code, Business.name, Business.address, Business.unit_id,
                      in_scope).where(Business.tax_code.in_(chunk))
        for row in db.session.execute(stmt):
            found[row.tax_code] = row
    return found


def registered_anywhere(tax_codes: list[str]) -> bool:
    """True when any of these tax codes is registered, whoever's unit holds it."""
    return any(db.session.execute(select(Business.id).where(Business.tax_code.in_(chunk)).limit(1)).first()
               for chunk in chunks(tax_codes, LOOKUP_CHUNK))


def _existing_contacts(business_ids: list[int]) -> dict[int, list]:
    contacts: dict[int, list] = {}
    for chunk in chunks(business_ids, LOOKUP_CHUNK):
        stmt = select(Contact.id, Contact.business_id, Contact.name, Contact.email, Contact.phone,
                      Contact.position).where(Contact.business_id.in_(chunk)).order_by(Contact.id)
        for row in db.session.execute(stmt):
            contacts.setdefault(row.business_id, []).append(SimpleNamespace(**row._asdict()))
    return contacts


def plan_import(rows: list[SourceRow], *, user: User, update_existing: bool) -> Plan:
    """Every row checked, and what the import would do, as `user` sees the data; changes nothing.

    Rows with the same tax code describe one business: the first names it (a new business needs its name
    there), the others add contacts and may repeat its name, address and unit but not contradict them. A
    business that is already registered is an error unless `update_existing`, and then only if it is one
    the user sees; its empty cells change nothing.
    """
    plan = Plan(rows=[check_row(source) for source in rows])
    heads, group = _group_by_business(plan.rows)
    _plan_businesses(plan, heads, user=user, update_existing=update_existing)
    _plan_contacts(plan, group)
    _set_actions(plan, heads, group)
    return plan


def _tax_code_failed(row: PlannedRow) -> bool:
    return any(e.code.startswith("tax_code") or (e.code == "formula" and e.params["field"] == "tax_code")
               for e in row.errors)


def _group_by_business(rows: list[PlannedRow]) -> tuple[dict[str, PlannedRow], dict[str, list[PlannedRow]]]:
    """The first row of each tax code (the head, which names the business) and every row of it; later rows
    that contradict the head, add nothing, or repeat a contact are marked as duplicates."""
    heads: dict[str, PlannedRow] = {}
    group: dict[str, list[PlannedRow]] = {}
    for row in rows:
        if _tax_code_failed(row):
            continue
        code = row.values["tax_code"]
        head = heads.get(code)
        if head is None:
            heads[code], group[code] = row, [row]
            continue
        group[code].append(row)
        _check_repeat(row, head, group[code][:-1])
    return heads, group


def _check_repeat(row: PlannedRow, head: PlannedRow, earlier: list[PlannedRow]) -> None:
    if any(row.values[n] and row.values[n].casefold() != head.values[n].casefold()
           for n in ("name", "address", "unit")):
        row.errors.append(RowError("duplicate_conflict", {"line": head.line}))
    elif not row.has_contact:
        row.errors.append(RowError("duplicate_row", {"line": head.line}))
    else:
        same = next((e for e in earlier if e.has_contact and same_person(
            e.values["contact_name"], e.values["contact_email"], row.values["contact_name"],
            row.values["contact_email"])), None)
        if same is not None:
            row.errors.append(RowError("duplicate_contact", {"line": same.line}))


def _plan_businesses(plan: Plan, heads: dict[str, PlannedRow], *, user: User, update_existing: bool) -> None:
    """What each business becomes: new, or the registered one updated (when asked, and the user sees it)."""
    units = _visible_units(user)
    existing = _existing_businesses(user, list(heads))
    for code, head in heads.items():
        unit_code = head.values["unit"]
        unit_id = units.get(unit_code) if unit_code else None
        if unit_code and unit_id is None:
            head.errors.append(RowError("unit_unknown", {"code": unit_code}))
        found = existing.get(code)
        if found is not None and not found.visible:
            # Registered where the user does not see: answered exactly as a code nobody registered, so the
            # preview tells nothing about another branch's registry; the writing refuses it (unique key).
            found = None
        if found is not None:
            target = _update_target(head, found, code, unit_id, update_existing)
        else:
            target = _create_target(head, code, unit_code, unit_id, user)
        if target is not None:
            target["touched"] = target["changed"]
            plan.businesses[code] = target


def _update_target(head: PlannedRow, found, code: str, unit_id: int | None, update_existing: bool) -> dict | None:
    if not update_existing:
        head.errors.append(RowError("already_registered"))
        return None
    target = {
        "id": found.id, "tax_code": code,
        "name": head.values["name"] or found.name,
        # An empty cell leaves what is known as it is: updating fills in and corrects, never erases.
        "address": head.values["address"] or found.address,
        "unit_id": unit_id or found.unit_id,
    }
    target["changed"] = (target["name"], target["address"], target["unit_id"]) != (
        found.name, found.address, found.unit_id)
    return target


def _create_target(head: PlannedRow, code: str, unit_code: str, unit_id: int | None, user: User) -> dict:
    if not head.values["name"] and "name" not in [e.params.get("field") for e in head.errors]:
        head.errors.append(RowError("name_missing"))
    if unit_id is None and not unit_code:
        unit_id = user.unit_id
        if unit_id is None:
            head.errors.append(RowError("unit_missing"))
    return {"id": None, "tax_code": code, "name": head.values["name"],
            "address": head.values["address"] or None, "unit_id": unit_id, "changed": True}


def _plan_contacts(plan: Plan, group: dict[str, list[PlannedRow]]) -> None:
    """The contacts each business gains or changes: a row matched to a known contact updates it."""
    current = _existing_contacts([b["id"] for b in plan.businesses.values() if b["id"] is not None])
    changed: dict[int, dict] = {}
    for code, target in plan.businesses.items():
        # The business's contacts as they will be: a row matched to one updates it for the rows after.
        known = current.get(target["id"], []) if target["id"] is not None else []
        for row in group[code]:
            if row.errors or not row.values["contact_name"]:
                continue
            wanted = {"name": row.values["contact_name"], "email": row.values["contact_email"] or None,
                      "phone": row.values["contact_phone"] or None,
                      "position": row.values["contact_position"] or None}
            match = next((c for c in known if same_person(c.name, c.email, wanted["name"], wanted["email"])),
                         None)
            if match is None:
                plan.new_contacts.append({"tax_code": code, **wanted})
                known.append(SimpleNamespace(id=None, **wanted))
                target["touched"] = True
            elif match.id is not None and _merge_contact(match, wanted, changed):
                target["touched"] = True
            # match.id None: the same person twice in the file, reported as a duplicate above
    plan.changed_contacts = list(changed.values())


def _merge_contact(match, wanted: dict, changed: dict[int, dict]) -> bool:
    """Empty cells leave what is known; the file's name wins (it may correct a spelling). True if it changes."""
    merged = {"name": wanted["name"], "email": wanted["email"] or match.email,
              "phone": wanted["phone"] or match.phone, "position": wanted["position"] or match.position}
    if merged == {"name": match.name, "email": match.email, "phone": match.phone, "position": match.position}:
        return False
    match.__dict__.update(merged)
    changed[match.id] = {"id": match.id, **merged}
    return True


def _set_actions(plan: Plan, heads: dict[str, PlannedRow], group: dict[str, list[PlannedRow]]) -> None:
    for code, head in heads.items():
        target = plan.businesses.get(code)
        for row in group[code]:
            if row.errors:
                row.action = "error"
            elif row is not head:
                row.action = "contact"
            elif target["id"] is None:
                row.action = "create"
            else:
                row.action = "update" if target["touched"] else "unchanged"
