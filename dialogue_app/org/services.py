"""Units, businesses and contacts: plain data in, objects out."""

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from ..exceptions import Conflict, InvalidData
from ..extensions import db, has_rows
from ..signals import unit_deleted, unit_deleting
from ..text import fold
from .models import INTERACTION_CHANNELS, PARENT_LEVEL, Business, Contact, Interaction, Unit, UnitLevel
from .taxcode import TaxCodeProblem, normalize_tax_code, tax_code_problem

TAX_CODE_MESSAGES = {
    TaxCodeProblem.FORMAT: _l("A tax code is 10 digits, or 10 digits, a dash and the 3 digits of a dependent unit "
                              "(001 to 999)."),
    TaxCodeProblem.CHECK_DIGIT: _l("This tax code is not valid: its check digit does not match."),
}


def unit_by_code(code: str) -> Unit | None:
    return db.session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()


def _check_parent(level: UnitLevel, parent: Unit | None) -> None:
    wanted = PARENT_LEVEL[level]
    if wanted is None and parent is not None:
        raise InvalidData.on("parent", _l("The General Department has no parent unit."))
    if wanted is not None and (parent is None or parent.level != wanted):
        message = {
            UnitLevel.DEPARTMENT: _l("A department must be placed under the General Department."),
            UnitLevel.BRANCH: _l("A branch must be placed under a department."),
        }[level]
        raise InvalidData.on("parent", message)


def _path(unit: Unit) -> str:
    return (unit.parent.path if unit.parent else "/") + f"{unit.id}/"


def create_unit(*, code: str, name: str, level: str, parent: Unit | None) -> Unit:
    """Create a unit at `level` under `parent`; raises InvalidData or Conflict."""
    code = code.strip().upper()
    level = UnitLevel(level)
    _check_parent(level, parent)
    if level is UnitLevel.GENERAL and db.session.execute(
            select(Unit.id).where(Unit.level == UnitLevel.GENERAL.value).limit(1)).first() is not None:
        # The tree has one top: a second one would hold units nobody above could see.
        raise Conflict.on("level", _l("The General Department exists already: add a department under it."))
    if unit_by_code(code) is not None:
        raise Conflict.on("code", _l("A unit with this code already exists."))
    unit = Unit(code=code, name=name.strip(), level=level.value, parent=parent)
    db.session.add(unit)
    db.session.flush()  # the path is made of ids
    unit.path = _path(unit)
    return unit


def update_unit(unit: Unit, *, code: str, name: str, parent: Unit | None) -> Unit:
    """Rename, recode or move a unit (within its level); the paths of its subtree follow."""
    code = code.strip().upper()
    _check_parent(UnitLevel(unit.level), parent)
    other = unit_by_code(code)
    if other is not None and other.id != unit.id:
        raise Conflict.on("code", _l("A unit with this code already exists."))
    unit.code, unit.name = code, name.strip()
    if parent is not unit.parent:
        old_path = unit.path
        unit.parent = parent
        new_path = _path(unit)
        db.session.execute(
            update(Unit)
            .where(Unit.path.startswith(old_path))
            .values(path=func.replace(Unit.path, old_path, new_path))
            .execution_options(synchronize_session="fetch")
        )
    return unit


def delete_unit(unit: Unit) -> None:
    """Delete an empty unit; one that still has units, users or businesses under it is refused."""
    blockers = []
    if has_rows(select(Unit.id).where(Unit.parent_id == unit.id)):
        blockers.append(_l("units"))
    if has_rows(select(Business.id).where(Business.unit_id == unit.id)):
        blockers.append(_l("businesses"))
    # The domains above org keep rows under units too (users, meetings, issues): each says what it has.
    blockers += [label for _, label in unit_deleting.send(unit) if label]
    if blockers:
        raise Conflict(
            _l("This unit still has %(what)s under it; move or remove them first.",
               what=", ".join(str(b) for b in blockers))
        )
    unit_id = unit.id
    db.session.delete(unit)
    unit_deleted.send(unit_id)


def business_by_tax_code(tax_code: str) -> Business | None:
    return db.session.execute(select(Business).where(Business.tax_code == tax_code)).scalar_one_or_none()


def clean_tax_code(raw: str) -> str:
    """The normalised tax code, or InvalidData naming what is wrong with it."""
    problem = tax_code_problem(raw)
    if problem is not None:
        raise InvalidData.on("tax_code", TAX_CODE_MESSAGES[problem])
    return normalize_tax_code(raw)


def create_business(*, tax_code: str, name: str, unit: Unit, address: str | None = None) -> Business:
    """Register a business served by `unit`; raises InvalidData (bad tax code) or Conflict (exists)."""
    tax_code = clean_tax_code(tax_code)
    if business_by_tax_code(tax_code) is not None:
        raise Conflict.on("tax_code", _l("A business with this tax code is already registered."))
    business = Business(tax_code=tax_code, name=_one_line(name), address=(address or "").strip() or None, unit=unit)
    business.search_text = business_search_text(business)
    db.session.add(business)
    return business


def business_search_text(business: Business) -> str:
    return f"{fold(business.name)} {business.tax_code}"


def clean_email(raw: str | None, field: str = "email") -> str | None:
    """A normalised email, None for none given, InvalidData for one that is not an address."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise InvalidData.on(field, _l("This is not a valid email address.")) from None


def _one_line(text: str) -> str:
    """A name is one line, as the import reads it: a line break or a run of blanks is one space."""
    return " ".join(text.split())


def add_contact(business: Business, *, name: str, email: str | None = None, phone: str | None = None,
                position: str | None = None) -> Contact:
    """A person at the business; their email (checked) is where invitations and answers go."""
    if not (name or "").strip():
        raise InvalidData.on("name", _l("Enter a name."))
    email = clean_email(email)
    if email and business.id is not None:
        # The same address twice would get every invitation and change twice.
        same = db.session.execute(select(Contact.name).where(
            Contact.business_id == business.id, func.lower(Contact.email) == email.lower()).limit(1)).scalar()
        if same is not None:
            raise InvalidData.on("email", _l("This business already has a contact with this e-mail: %(name)s.",
                                             name=same))
    contact = Contact(
        business=business,
        name=_one_line(name)[:255],
        email=email,
        phone=(phone or "").strip()[:32] or None,
        position=_one_line(position or "")[:255] or None,
    )
    db.session.add(contact)
    return contact


def update_business(business: Business, *, name: str, address: str | None, unit: Unit) -> Business:
    if not name.strip():
        raise InvalidData.on("name", _l("Enter a name."))
    business.name, business.address, business.unit = _one_line(name), (address or "").strip() or None, unit
    business.search_text = business_search_text(business)
    return business


def search_condition(query: str):
    """Condition on Business: the name without accents or case ("ca phe" finds "Cà phê"), or the tax code."""
    folded = fold(query)
    digits = normalize_tax_code(query)
    condition = Business.search_text.contains(folded, autoescape=True)
    if digits.replace("-", "").isdigit():
        condition = condition | Business.tax_code.startswith(digits, autoescape=True)
    return condition


def record_interaction(*, business: Business, unit: Unit, officer, channel: str, happened_on,
                       summary: str) -> Interaction:
    """A contact with the business outside meetings, kept in its timeline; issues can be raised from it."""
    if channel not in INTERACTION_CHANNELS:
        raise InvalidData.on("channel", _l("Choose how the contact took place."))
    if not summary.strip():
        raise InvalidData.on("summary", _l("Write what it was about."))
    interaction = Interaction(business=business, unit=unit, officer=officer, channel=channel,
                              happened_on=happened_on, summary=summary.strip())
    db.session.add(interaction)
    return interaction
