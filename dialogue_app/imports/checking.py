"""Checking rows: each row of the file on its own (tax code, lengths, e-mail, phone, formulas), as plain data.
No database: what the registry already holds is the planning's business."""

import re
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from ..org.services import TAX_CODE_MESSAGES
from ..org.taxcode import TaxCodeProblem, normalize_tax_code, tax_code_problem
from ..text import fold
from .reading import CONTACT_FIELDS, FIELD_LABELS, FIELDS, SourceRow

MAX_LENGTHS = {"name": 255, "address": 1000, "unit": 32, "contact_name": 255, "contact_email": 254,
               "contact_phone": 32, "contact_position": 255}
PHONE = re.compile(r"[0-9+().\-/ ]+")

ERROR_MESSAGES = {
    "formula": _l("The cell “%(column)s” holds a formula: formulas are not imported. Type the value itself."),
    "tax_code_missing": _l("The tax code is missing."),
    "tax_code_format": TAX_CODE_MESSAGES[TaxCodeProblem.FORMAT],
    "tax_code_check_digit": TAX_CODE_MESSAGES[TaxCodeProblem.CHECK_DIGIT],
    "too_long": _l("“%(column)s” is too long: at most %(max)d characters."),
    "name_missing": _l("The business name is missing."),
    "email_invalid": _l("The contact's email is not a valid address."),
    "phone_invalid": _l("The phone number may only hold digits, spaces and + ( ) . - /"),
    "contact_name_missing": _l("The contact's name is missing."),
    "unit_unknown": _l("The unit “%(code)s” does not exist or is not one of yours."),
    "unit_missing": _l("Give the unit's code: your account belongs to no unit."),
    "duplicate_conflict": _l("Duplicate: this tax code is already in row %(line)d, with a different name, "
                             "address or unit."),
    "duplicate_row": _l("Duplicate: this tax code is already in row %(line)d, and this row adds no contact."),
    "duplicate_contact": _l("Duplicate: the same contact is already in row %(line)d."),
    "already_registered": _l("A business with this tax code is already registered. To update it, choose "
                             "“Update businesses that already exist”."),
}

ACTION_LABELS = {
    "create": _l("New business"),
    "update": _l("Update"),
    "unchanged": _l("No change"),
    "contact": _l("Adds a contact"),
    "error": _l("Error"),
}



@dataclass
class RowError:
    code: str
    params: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        """In the reader's language: call it while rendering."""
        params = dict(self.params)
        if "field" in params:
            params["column"] = str(FIELD_LABELS.get(params["field"], params["field"]))
        text = str(ERROR_MESSAGES[self.code])
        return text % params if "%(" in text else text


@dataclass
class PlannedRow:
    line: int
    values: dict[str, str]
    errors: list[RowError] = field(default_factory=list)
    action: str = "error"

    @property
    def has_contact(self) -> bool:
        return any(self.values[f] for f in CONTACT_FIELDS)

    @property
    def action_label(self) -> str:
        return str(ACTION_LABELS[self.action])



def clean_tax_code(raw: str) -> str:
    code = normalize_tax_code(raw.lstrip("'"))
    # A spreadsheet that took the code for a number dropped its leading zero (most provinces' codes start
    # with 0): put it back. The check digit still decides whether the result is a real code.
    if re.fullmatch(r"\d{9}(-\d{3})?", code):
        code = "0" + code
    return code


def check_row(source: SourceRow) -> PlannedRow:
    """The checks a row needs nothing else for."""
    values = dict(zip(FIELDS, source.values, strict=True))
    row = PlannedRow(line=source.line, values=values, errors=[RowError("formula", {"field": f})
                                                              for f in source.formulas])
    values["tax_code"] = clean_tax_code(values["tax_code"])
    if "tax_code" not in source.formulas:
        if not values["tax_code"]:
            row.errors.append(RowError("tax_code_missing"))
        else:
            problem = tax_code_problem(values["tax_code"])
            if problem is not None:
                row.errors.append(RowError(f"tax_code_{problem.value}"))
    for name, limit in MAX_LENGTHS.items():
        if len(values[name]) > limit:
            row.errors.append(RowError("too_long", {"field": name, "max": limit}))
    values["unit"] = values["unit"].upper()
    email = values["contact_email"]
    if email and len(email) <= MAX_LENGTHS["contact_email"]:
        try:
            values["contact_email"] = validate_email(email, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            row.errors.append(RowError("email_invalid"))
    if values["contact_phone"] and not PHONE.fullmatch(values["contact_phone"]):
        row.errors.append(RowError("phone_invalid"))
    if not values["contact_name"] and "contact_name" not in source.formulas and (
            values["contact_email"] or values["contact_phone"] or values["contact_position"]):
        row.errors.append(RowError("contact_name_missing"))
    return row


def same_person(a_name: str, a_email: str | None, b_name: str, b_email: str | None) -> bool:
    """Two contacts are one person when their emails match, or their names do and one has no email."""
    if a_email and b_email:
        return a_email == b_email
    return fold(a_name) == fold(b_name)

