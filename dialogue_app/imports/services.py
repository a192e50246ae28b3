"""Import and export of businesses and their contacts, from and to CSV and Excel (.xlsx).

An import is three steps, none of which needs a request:

1. `read_upload(filename, data)`: the file's rows as text, or InvalidData saying why the whole file is
   refused (format, encoding, size, columns). Nothing is ever evaluated: an Excel cell holding a formula
   is noted against its row, a CSV cell that looks like one is plain text.
2. `plan_import(rows, user=, update_existing=)`: every row with its errors and what it would do, checked
   against the data the user may see. A fixed number of queries, whatever the number of rows.
3. `apply_import(rows, ...)`: plans again (the data may have changed since the preview) and, when no row
   has an error, writes everything with bulk statements in the caller's transaction: all or nothing.

Between 1 and 3 the rows wait on the server (`save_upload` / `load_upload`), never in the browser.
"""

import codecs
import csv
import io
import json
import os
import re
import secrets
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as time_of_day
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import has_app_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, insert, select, update

from ..audit.models import AuditEntry
from ..auth.models import User
from ..db import utcnow
from ..exceptions import InvalidData
from ..extensions import db
from ..org.models import Business, Contact, Unit
from ..org.services import TAX_CODE_MESSAGES, business_search_text, search_condition
from ..org.taxcode import TaxCodeProblem, normalize_tax_code, tax_code_problem
from ..scope import visible, visible_units_condition
from ..spreadsheets import FORMULA_START
from ..text import fold, person_label

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
# An .xlsx is a zip: a few MB can unpack to gigabytes. What a 50,000-row sheet can honestly need.
MAX_UNPACKED_BYTES = 500 * 1024 * 1024
PREVIEW_SECONDS = 3600
CHUNK = 1000  # rows per bulk statement, and per step of the progress bar
# IN (...) lists stay well below the drivers' limits on bound parameters (SQLite 32,766; PostgreSQL 65,535).
LOOKUP_CHUNK = 5000

FIELDS = ("tax_code", "name", "address", "unit", "contact_name", "contact_email", "contact_phone",
          "contact_position")
REQUIRED = ("tax_code", "name")
CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone", "contact_position")

FIELD_LABELS = {
    "tax_code": _l("Tax code"),
    "name": _l("Business name"),
    "address": _l("Address"),
    "unit": _l("Unit"),
    "contact_name": _l("Contact person"),
    "contact_email": _l("Email"),
    "contact_phone": _l("Phone"),
    "contact_position": _l("Position"),
}

# The Vietnamese names of the columns, as the office's own files write them (a file format, not interface
# text: they are accepted whatever the reader's language).
VIETNAMESE_HEADERS = {
    "tax_code": "Mã số thuế", "name": "Tên doanh nghiệp", "address": "Địa chỉ", "unit": "Đơn vị",
    "contact_name": "Người liên hệ", "contact_email": "Email", "contact_phone": "Điện thoại",
    "contact_position": "Chức vụ",
}

# The column names a file may use, as `header_key` writes them (no accents, lower case, single spaces).
# The labels of FIELD_LABELS, in every language of the interface, are accepted too: an export reads back.
HEADER_ALIASES = {
    "tax_code": ("tax code", "taxcode", "ma so thue", "mst", "ma so doanh nghiep"),
    "name": ("name", "business name", "business", "company", "company name", "ten doanh nghiep", "ten",
             "ten cong ty", "doanh nghiep"),
    "address": ("address", "dia chi", "dia chi tru so"),
    "unit": ("unit", "unit code", "don vi", "ma don vi", "chi cuc"),
    "contact_name": ("contact name", "contact", "contact person", "nguoi lien he", "ho va ten", "ho ten"),
    "contact_email": ("contact email", "email", "e mail", "thu dien tu"),
    "contact_phone": ("contact phone", "phone", "telephone", "dien thoai", "so dien thoai", "sdt"),
    "contact_position": ("contact position", "position", "job title", "chuc vu", "chuc danh"),
}

MAX_LENGTHS = {"name": 255, "address": 1000, "unit": 32, "contact_name": 255, "contact_email": 254,
               "contact_phone": 32, "contact_position": 255}
PHONE = re.compile(r"[0-9+().\-/ ]+")
# What a spreadsheet runs as a formula when a cell starts with it.
# Control characters have no place in a name or an address, and Excel files cannot hold them at all.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls (and .doc)

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
    "registered_elsewhere": _l("A business with this tax code is registered with a unit outside yours: it "
                               "cannot be updated from here."),
}

ACTION_LABELS = {
    "create": _l("New business"),
    "update": _l("Update"),
    "unchanged": _l("No change"),
    "contact": _l("Adds a contact"),
    "error": _l("Error"),
}


# --- Reading a file -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceRow:
    """One row of the file: its number as a spreadsheet shows it, its text per field (FIELDS order), and
    the fields whose Excel cell held a formula (their text is left empty)."""

    line: int
    values: tuple[str, ...]
    formulas: tuple[str, ...] = ()

    def to_json(self) -> list:
        return [self.line, list(self.values), list(self.formulas)]

    @classmethod
    def from_json(cls, data: list) -> "SourceRow":
        return cls(int(data[0]), tuple(str(v) for v in data[1]), tuple(str(f) for f in data[2]))


@dataclass
class Upload:
    filename: str
    kind: str  # "csv" or "xlsx"
    columns: list[str]  # the fields the file has, in its order
    ignored: list[str]  # column names not recognised (left aside)
    rows: list[SourceRow]


def _refuse(message) -> InvalidData:
    return InvalidData.on("file", message)


def header_key(text: str) -> str:
    """A column name as it is compared: "Mã số thuế *" -> "ma so thue", "contact_email" -> "contact email"."""
    return " ".join(re.sub(r"[\s_\-*:.()]+", " ", fold(str(text))).split())


def header_names() -> dict[str, str]:
    """Every accepted column name (as `header_key` writes it) -> its field."""
    names = {header_key(f): f for f in FIELDS}
    for name, vietnamese in VIETNAMESE_HEADERS.items():
        names.setdefault(header_key(vietnamese), name)
    for name, aliases in HEADER_ALIASES.items():
        for alias in aliases:
            names.setdefault(header_key(alias), name)
    if has_app_context():
        from flask import current_app

        for language in current_app.config.get("LANGUAGES", ()):
            with force_locale(language):
                for name, label in FIELD_LABELS.items():
                    names.setdefault(header_key(str(label)), name)
    return names


def _cell_text(value: Any) -> str:
    """An Excel cell's value as the text a person typed: 100109106.0 -> "100109106", a date -> 2024-05-31."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time_of_day(0) else value.isoformat(" ")
    if isinstance(value, date | time_of_day):
        return value.isoformat()
    return str(value)


def _clean(name: str, raw: str) -> str:
    text = CONTROL.sub(" ", raw)
    if name == "address":  # an address may run over several lines of its cell
        text = "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
    else:
        text = " ".join(text.split())
    # Our exports (and careful people) put an apostrophe before text a spreadsheet would run: take it off
    # again, so that an exported file reads back as it was. The text itself is kept, never evaluated.
    if text[:1] == "'" and text[1:2] in FORMULA_START:
        text = text[1:]
    return text


def _delimiter(text: str) -> str:
    """, or ; (or a tab): the header row names the columns and holds no separator of its own, so it says
    which one the file uses; csv.Sniffer decides when the header alone does not."""
    header = text.split("\n", 1)[0]
    found = [d for d in (",", ";", "\t") if d in header]
    if len(found) == 1:
        return found[0]
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _csv_table(data: bytes) -> Iterator[tuple[int, list[tuple[str, bool]]]]:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _refuse(NOT_UTF8())
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        import filetype

        # A PDF or an image is no CSV at all; anything else is text in another encoding (Windows-1258...).
        raise _refuse(NOT_A_SPREADSHEET() if filetype.guess(data) else NOT_UTF8()) from None
    if "\x00" in text:
        raise _refuse(NOT_A_SPREADSHEET())
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    line = 0
    try:
        for line, record in enumerate(reader, start=1):  # noqa: B007  (line is reported on error)
            yield line, [(value, False) for value in record]
    except csv.Error:
        raise _refuse(_l("Row %(line)d of the file could not be read as CSV. Check its quotes, or save the "
                         "file again as “CSV UTF-8”.", line=line + 1)) from None


def _xlsx_table(data: bytes) -> list[tuple[int, list[tuple[str, bool]]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _refuse(BAD_XLSX()) from None
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:  # a Word document, an OpenDocument sheet, any other zip
        raise _refuse(NOT_A_SPREADSHEET())
    if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
        raise _refuse(TOO_LARGE())

    from openpyxl import load_workbook

    table: list[tuple[int, list[tuple[str, bool]]]] = []
    data_rows = 0
    # openpyxl warns about styles and extensions it does not know: nothing a person can act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        except Exception:  # openpyxl raises whatever its parsers raise on a damaged file
            raise _refuse(BAD_XLSX()) from None
        try:
            if not workbook.worksheets:
                raise _refuse(BAD_XLSX())
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # the size a file declares may be wrong: read the rows that are there
            for line, cells in enumerate(sheet.iter_rows(), start=1):
                row = [(_cell_text(c.value), getattr(c, "data_type", None) == "f") for c in cells]
                if any(text.strip() or formula for text, formula in row):
                    data_rows += 1
                    if data_rows > MAX_ROWS + 1:  # the header, then at most MAX_ROWS rows
                        raise _refuse(TOO_MANY_ROWS())
                    table.append((line, row))
        except InvalidData:
            raise
        except Exception:
            raise _refuse(BAD_XLSX()) from None
        finally:
            workbook.close()
    return table


def NOT_UTF8():  # noqa: N802  (messages built when raised, in the reader's language)
    return _l("The file is not in UTF-8, so its Vietnamese letters would be garbled. In Excel, choose Save As "
              "“CSV UTF-8 (Comma delimited)”, or upload the .xlsx workbook itself.")


def NOT_A_SPREADSHEET():  # noqa: N802
    return _l("This is not a CSV or Excel file. Upload a .csv file saved as “CSV UTF-8”, or an .xlsx workbook.")


def BAD_XLSX():  # noqa: N802
    return _l("This Excel file could not be read. Open it in Excel and save it again as an .xlsx workbook.")


def TOO_LARGE():  # noqa: N802
    return _l("The file is larger than %(mb)d MB. Split it into smaller files.", mb=MAX_BYTES // (1024 * 1024))


def TOO_MANY_ROWS():  # noqa: N802
    return _l("The file has more than %(max)d rows. Split it into smaller files.", max=MAX_ROWS)


def read_upload(filename: str, data: bytes) -> Upload:
    """The rows of a CSV (UTF-8, `,` or `;`) or .xlsx file; InvalidData on `file` when the file is refused."""
    if not data:
        raise _refuse(_l("The file is empty."))
    if len(data) > MAX_BYTES:
        raise _refuse(TOO_LARGE())
    if data.startswith(OLE_SIGNATURE):
        raise _refuse(_l("Old Excel files (.xls) cannot be read. In Excel, save the file as an .xlsx workbook "
                         "or as “CSV UTF-8”."))
    if data.startswith(b"PK\x03\x04"):
        kind, table = "xlsx", _xlsx_table(data)
    else:
        kind, table = "csv", _csv_table(data)
    return _upload_from(table, filename, kind)


def _upload_from(table: Iterable[tuple[int, list[tuple[str, bool]]]], filename: str, kind: str) -> Upload:
    names = header_names()
    columns: dict[int, str] | None = None
    ignored: list[str] = []
    rows: list[SourceRow] = []
    for line, cells in table:
        if columns is None:
            if not any(text.strip() for text, _formula in cells):
                continue  # blank rows above the header
            columns = {}
            for index, (text, _formula) in enumerate(cells):
                key = header_key(text)
                if not key:
                    continue
                name = names.get(key)
                if name is None:
                    ignored.append(text.strip()[:100])
                elif name in columns.values():
                    raise _refuse(_l("The column “%(name)s” appears twice in the first row.", name=text.strip()))
                else:
                    columns[index] = name
            missing = [n for n in REQUIRED if n not in columns.values()]
            if missing:
                raise _refuse(_l("The first row must name the columns, and these are required: %(columns)s. "
                                 "The accepted names are listed on this page.",
                                 columns=", ".join(f"“{FIELD_LABELS[n]}”" for n in missing)))
            continue
        values = dict.fromkeys(FIELDS, "")
        formulas = []
        for index, name in columns.items():
            if index >= len(cells):
                continue
            text, formula = cells[index]
            if formula:
                formulas.append(name)
            else:
                values[name] = _clean(name, text)
        if not formulas and not any(values.values()):
            continue  # blank rows are no rows
        rows.append(SourceRow(line, tuple(values[n] for n in FIELDS), tuple(formulas)))
        if len(rows) > MAX_ROWS:
            raise _refuse(TOO_MANY_ROWS())
    if columns is None:
        raise _refuse(_l("The file is empty."))
    if not rows:
        raise _refuse(_l("The file names its columns but has no rows to import."))
    order = [columns[i] for i in sorted(columns)]
    return Upload(filename=filename, kind=kind, columns=order, ignored=ignored, rows=rows)


# --- Checking the rows ----------------------------------------------------------------------------------

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


def _clean_tax_code(raw: str) -> str:
    code = normalize_tax_code(raw.lstrip("'"))
    # A spreadsheet that took the code for a number dropped its leading zero (most provinces' codes start
    # with 0): put it back. The check digit still decides whether the result is a real code.
    if re.fullmatch(r"\d{9}(-\d{3})?", code):
        code = "0" + code
    return code


def _check_row(source: SourceRow) -> PlannedRow:
    """The checks a row needs nothing else for."""
    values = dict(zip(FIELDS, source.values, strict=True))
    row = PlannedRow(line=source.line, values=values, errors=[RowError("formula", {"field": f})
                                                              for f in source.formulas])
    values["tax_code"] = _clean_tax_code(values["tax_code"])
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


def _same_person(a_name: str, a_email: str | None, b_name: str, b_email: str | None) -> bool:
    """Two contacts are one person when their emails match, or their names do and one has no email."""
    if a_email and b_email:
        return a_email == b_email
    return fold(a_name) == fold(b_name)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _visible_units(user: User) -> dict[str, int]:
    return dict(db.session.execute(select(Unit.code, Unit.id).where(visible_units_condition(user))).all())


def _existing_businesses(user: User, tax_codes: list[str]) -> dict[str, Any]:
    in_scope = case((visible(user, Business), 1), else_=0).label("visible")
    found = {}
    for chunk in _chunks(tax_codes, LOOKUP_CHUNK):
        stmt = select(Business.id, Business.tax_code, Business.name, Business.address, Business.unit_id,
                      in_scope).where(Business.tax_code.in_(chunk))
        for row in db.session.execute(stmt):
            found[row.tax_code] = row
    return found


def _existing_contacts(business_ids: list[int]) -> dict[int, list]:
    contacts: dict[int, list] = {}
    for chunk in _chunks(business_ids, LOOKUP_CHUNK):
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
    plan = Plan(rows=[_check_row(source) for source in rows])

    heads: dict[str, PlannedRow] = {}
    group: dict[str, list[PlannedRow]] = {}
    for row in plan.rows:
        code = row.values["tax_code"]
        if any(e.code.startswith("tax_code") or (e.code == "formula" and e.params["field"] == "tax_code")
               for e in row.errors):
            continue
        head = heads.get(code)
        if head is None:
            heads[code] = row
            group[code] = [row]
            continue
        group[code].append(row)
        if any(row.values[n] and row.values[n].casefold() != head.values[n].casefold()
               for n in ("name", "address", "unit")):
            row.errors.append(RowError("duplicate_conflict", {"line": head.line}))
        elif not row.has_contact:
            row.errors.append(RowError("duplicate_row", {"line": head.line}))
        else:
            for earlier in group[code][:-1]:
                if earlier.has_contact and _same_person(earlier.values["contact_name"],
                                                        earlier.values["contact_email"],
                                                        row.values["contact_name"], row.values["contact_email"]):
                    row.errors.append(RowError("duplicate_contact", {"line": earlier.line}))
                    break

    units = _visible_units(user)
    existing = _existing_businesses(user, list(heads))
    for code, head in heads.items():
        unit_code = head.values["unit"]
        unit_id = units.get(unit_code) if unit_code else None
        if unit_code and unit_id is None:
            head.errors.append(RowError("unit_unknown", {"code": unit_code}))
        found = existing.get(code)
        if found is not None:
            if not update_existing:
                head.errors.append(RowError("already_registered"))
                continue
            if not found.visible:
                head.errors.append(RowError("registered_elsewhere"))
                continue
            target = {
                "id": found.id, "tax_code": code,
                "name": head.values["name"] or found.name,
                # An empty cell leaves what is known as it is: updating fills in and corrects, never erases.
                "address": head.values["address"] or found.address,
                "unit_id": unit_id or found.unit_id,
            }
            target["changed"] = (target["name"], target["address"], target["unit_id"]) != (
                found.name, found.address, found.unit_id)
        else:
            if not head.values["name"] and "name" not in [e.params.get("field") for e in head.errors]:
                head.errors.append(RowError("name_missing"))
            if unit_id is None and not unit_code:
                unit_id = user.unit_id
                if unit_id is None:
                    head.errors.append(RowError("unit_missing"))
            target = {"id": None, "tax_code": code, "name": head.values["name"],
                      "address": head.values["address"] or None, "unit_id": unit_id, "changed": True}
        target["touched"] = target["changed"]
        plan.businesses[code] = target

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
            match = next((c for c in known if _same_person(c.name, c.email, wanted["name"], wanted["email"])),
                         None)
            if match is None:
                plan.new_contacts.append({"tax_code": code, **wanted})
                known.append(SimpleNamespace(id=None, **wanted))
                target["touched"] = True
                continue
            if match.id is None:
                continue  # the same person twice in the file: reported as a duplicate above
            # Empty cells leave what is known; the file's name wins (it may correct a spelling).
            merged = {"name": wanted["name"], "email": wanted["email"] or match.email,
                      "phone": wanted["phone"] or match.phone, "position": wanted["position"] or match.position}
            if merged != {"name": match.name, "email": match.email, "phone": match.phone,
                          "position": match.position}:
                match.__dict__.update(merged)
                changed[match.id] = {"id": match.id, **merged}
                target["touched"] = True
    plan.changed_contacts = list(changed.values())

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
    return plan


# --- Writing --------------------------------------------------------------------------------------------

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
        raise InvalidData(_l("Some rows have errors, so nothing was imported. Correct the file and upload it "
                             "again."))
    now = utcnow()
    creates = [b for b in plan.businesses.values() if b["id"] is None]
    updates = [b for b in plan.businesses.values() if b["id"] is not None and b["changed"]]
    total = len(creates) + len(updates) + len(plan.new_contacts) + len(plan.changed_contacts)
    done = 0
    report(done, total)

    ids = {b["tax_code"]: b["id"] for b in plan.businesses.values() if b["id"] is not None}
    for chunk in _chunks(creates, CHUNK):
        result = db.session.execute(
            insert(Business).returning(Business.id, Business.tax_code),
            [{"tax_code": b["tax_code"], "name": b["name"], "address": b["address"], "unit_id": b["unit_id"],
              "search_text": _search_text(b), "created_at": now, "updated_at": now} for b in chunk],
        )
        ids.update({tax_code: ident for ident, tax_code in result})
        done += len(chunk)
        report(done, total)
    for chunk in _chunks(updates, CHUNK):
        db.session.execute(update(Business), [
            {"id": b["id"], "name": b["name"], "address": b["address"], "unit_id": b["unit_id"],
             "search_text": _search_text(b), "updated_at": now} for b in chunk])
        done += len(chunk)
        report(done, total)
    for chunk in _chunks(plan.new_contacts, CHUNK):
        db.session.execute(insert(Contact), [
            {"business_id": ids[c["tax_code"]], "name": c["name"], "email": c["email"], "phone": c["phone"],
             "position": c["position"], "created_at": now} for c in chunk])
        done += len(chunk)
        report(done, total)
    for chunk in _chunks(plan.changed_contacts, CHUNK):
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


# --- The rows between the preview and the confirmation --------------------------------------------------

TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")


@dataclass
class StoredUpload:
    token: str
    user_id: int
    created: float
    filename: str
    kind: str
    update_existing: bool
    columns: list[str]
    ignored: list[str]
    rows: list[SourceRow]

    @property
    def expired(self) -> bool:
        return time.time() - self.created > PREVIEW_SECONDS


def _path(folder: Path, token: str, suffix: str) -> Path:
    if not TOKEN.fullmatch(token or ""):
        raise ValueError("not a token")
    return Path(folder) / f"{token}{suffix}"


def _write_json(path: Path, data) -> None:
    temporary = path.with_name(path.name + f".{secrets.token_hex(4)}.part")
    temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)  # a reader never sees half a file


def purge_expired(folder: Path) -> None:
    """Remove what previews left behind more than an hour (and a margin) ago."""
    limit = time.time() - PREVIEW_SECONDS - 600
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            if entry.is_file() and entry.stat().st_mtime < limit:
                os.unlink(entry.path)
        except OSError:
            pass  # another worker removed it first


def save_upload(folder: Path, upload: Upload, *, user_id: int, update_existing: bool) -> str:
    """Keep the rows for the user who uploaded them; the answer is the token that names them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    purge_expired(folder)
    token = secrets.token_urlsafe(32)
    _write_json(_path(folder, token, ".json"), {
        "user_id": user_id, "created": time.time(), "filename": upload.filename, "kind": upload.kind,
        "update_existing": update_existing, "columns": upload.columns, "ignored": upload.ignored,
        "rows": [r.to_json() for r in upload.rows],
    })
    return token


def load_upload(folder: Path, token: str, *, user_id: int) -> StoredUpload | None:
    """The rows kept under `token`, or None when there are none, or they are another user's."""
    try:
        data = json.loads(_path(folder, token, ".json").read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None
    if data.get("user_id") != user_id:
        return None
    return StoredUpload(token=token, user_id=data["user_id"], created=data["created"], filename=data["filename"],
                        kind=data["kind"], update_existing=bool(data["update_existing"]),
                        columns=data["columns"], ignored=data["ignored"],
                        rows=[SourceRow.from_json(r) for r in data["rows"]])


def claim(folder: Path, token: str) -> bool:
    """True for the one request that may apply these rows; False when another one has or is doing it."""
    try:
        os.close(os.open(_path(folder, token, ".lock"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return False
    return True


def release(folder: Path, token: str) -> None:
    """After a failed attempt: the rows may be applied again."""
    for suffix in (".lock", ".progress"):
        _path(folder, token, suffix).unlink(missing_ok=True)


def write_progress(folder: Path, token: str, *, done: int, total: int, finished: bool = False) -> None:
    _write_json(_path(folder, token, ".progress"), {"done": done, "total": total, "finished": finished})


def read_progress(folder: Path, token: str) -> dict | None:
    try:
        return json.loads(_path(folder, token, ".progress").read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None


def finish(folder: Path, token: str, summary: dict) -> None:
    _write_json(_path(folder, token, ".done"), summary)


def read_result(folder: Path, token: str) -> dict | None:
    try:
        return json.loads(_path(folder, token, ".done").read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None


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
