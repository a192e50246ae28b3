"""Reading an uploaded file: CSV or .xlsx bytes in, its rows as text out (or InvalidData saying why the whole
file is refused). Nothing is ever evaluated: an Excel cell holding a formula is noted against its row, a CSV
cell that looks like one is plain text. Bounded: rows and cells are counted as they are read, empty ones too,
so a file of millions of empty rows is refused after reading a few, never read to its end."""

import codecs
import csv
import io
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as time_of_day
from typing import Any

import filetype
from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..exceptions import InvalidData
from ..spreadsheets import FORMULA_START
from ..text import fold

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
# An .xlsx is a zip: a few MB can unpack to gigabytes. What a 50,000-row sheet can honestly need (its rows of
# eight short cells and their shared strings come to a few tens of MB).
MAX_UNPACKED_BYTES = 150 * 1024 * 1024
# Rows and cells read, empty ones included: a sheet declaring (or holding) three million empty rows is refused
# after this many, in a fraction of a second, instead of holding a worker for a minute. Blank rows between the
# data are allowed, within reason.
MAX_SHEET_ROWS = MAX_ROWS + 10_000
MAX_COLUMNS = 200
MAX_CELLS = 2_000_000

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

# What a spreadsheet runs as a formula when a cell starts with it.
# Control characters have no place in a name or an address, and Excel files cannot hold them at all.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls (and .doc)


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
        # A PDF or an image is no CSV at all; anything else is text in another encoding (Windows-1258...).
        raise _refuse(NOT_A_SPREADSHEET() if filetype.guess(data) else NOT_UTF8()) from None
    if "\x00" in text:
        raise _refuse(NOT_A_SPREADSHEET())
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    line = 0
    try:
        for line, record in enumerate(reader, start=1):  # noqa: B007  (line is reported on error)
            _bound(line, len(record))
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
    # openpyxl looks for a sheet's size by parsing the whole sheet when the file does not declare it (and it
    # does so for every sheet as soon as the workbook is opened): count the rows and cells first, ourselves,
    # and stop at the bound.
    for member in members:
        if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
            _scan_sheet(data, member.filename)

    # openpyxl takes a while to import and only .xlsx uploads need it: loaded on first use.
    from openpyxl import load_workbook  # noqa: PLC0415 (heavy: loaded for the first Excel file)

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
            # What the file declares may be true (refuse at once) or false (count as the rows come).
            _bound(sheet.max_row or 0, sheet.max_column or 0)
            sheet.reset_dimensions()
            cells_read = 0
            for line, cells in enumerate(sheet.iter_rows(), start=1):
                cells_read += len(cells)
                _bound(line, len(cells), cells_read)
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


ROW_OR_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)[\s/>]")


def _scan_sheet(data: bytes, name: str) -> None:
    """Count a sheet's row and cell elements, reading its XML a chunk at a time; refuse past the bounds."""
    rows = cells = 0
    tail = b""
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(name) as stream:
        while chunk := stream.read(1 << 20):
            text = tail + chunk
            for match in ROW_OR_CELL.finditer(text):
                if match.end() <= len(tail):
                    continue  # wholly in the previous chunk: counted then
                if match.group(1) == b"row":
                    rows += 1
                else:
                    cells += 1
            _bound(rows, 0, cells)
            tail = text[-64:]


def _bound(rows: int, columns: int, cells: int = 0) -> None:
    """Refuse a file as soon as it is read beyond the bounds, empty rows and cells counted."""
    if rows > MAX_SHEET_ROWS:
        raise _refuse(TOO_MANY_ROWS())
    if columns > MAX_COLUMNS or cells > MAX_CELLS:
        raise _refuse(_l("The file has more than %(max)d columns, or more cells than a list of businesses "
                         "needs. Keep only the columns listed on this page.", max=MAX_COLUMNS))


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

