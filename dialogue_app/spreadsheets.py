"""CSV and Excel exports, escaped so that no cell runs as a formula when the file is opened."""

import csv
import io
from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """Text a spreadsheet would run as a formula (=, +, -, @, tab, CR) gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in FORMULA_START:
        return "'" + value
    return value


def to_csv(header: list[str], rows: Iterable[list]) -> bytes:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # a BOM, so that Excel opens the Vietnamese text as UTF-8
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def to_xlsx(header: list[str], rows: Iterable[list], title: str) -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415 (heavy: loaded for the first Excel file)
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # noqa: PLC0415 (heavy: loaded for the first Excel file)

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append(header)
    for row in rows:
        # Control characters Excel refuses are dropped; text never becomes a formula.
        sheet.append([spreadsheet_safe(ILLEGAL_CHARACTERS_RE.sub("", v)) if isinstance(v, str) else v
                      for v in row])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
