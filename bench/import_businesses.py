"""Benchmark: importing 10,000 businesses (issue 4 asks for under 30 s, with a progress bar).

Builds a throw-away database (SQLite by default, or the one in BENCH_DATABASE_URL, e.g. a PostgreSQL database
made for it) with the unit tree and an organiser, writes a 10,000-row file of new businesses (each with a
contact; some with a second one), and takes it through the import service as the pages do: read the file,
plan it (the preview), then plan again and write it (the confirmation), with a commit. Both a CSV and an
Excel file are timed, each into an empty registry; then the CSV again with "update businesses that already
exist", which reads every business back and changes them.

Run: `.venv/bin/python bench/import_businesses.py`.
"""

import csv
import io
import os
import sys
import tempfile
import time

from openpyxl import Workbook
from result import emit
from result import row as result_row
from sqlalchemy import delete, func, select
from taxcodes import tax_codes

from dialogue_app import create_app
from dialogue_app.audit.models import AuditEntry
from dialogue_app.auth.models import User
from dialogue_app.extensions import db
from dialogue_app.imports import services
from dialogue_app.org import services as org_services
from dialogue_app.org.models import Business, Contact

BUSINESSES, TARGET_SECONDS = 10_000, 30.0
HEADER = ["Mã số thuế", "Tên doanh nghiệp", "Địa chỉ", "Đơn vị", "Người liên hệ", "Email", "Điện thoại", "Chức vụ"]
STREETS = ["Nguyễn Huệ", "Lê Lợi", "Trần Hưng Đạo", "Hai Bà Trưng", "Điện Biên Phủ", "Võ Văn Kiệt"]
KINDS = ["Công ty TNHH", "Công ty Cổ phần", "Doanh nghiệp tư nhân"]
TRADES = ["Thương mại Dịch vụ", "Xuất nhập khẩu", "Điện tử", "Cà phê", "Dệt may", "Logistics", "Thủy sản"]


def rows(n: int, suffix: str = "") -> list[list[str]]:
    out = []
    for i, code in enumerate(tax_codes(n)):
        name = f"{KINDS[i % 3]} {TRADES[i % 7]} Sài Gòn số {i}{suffix}"
        unit = ["HCM-A", "HCM-B", ""][i % 3]
        out.append([code, name, f"{i % 300 + 1} {STREETS[i % 6]}, Quận {i % 12 + 1}, TP. Hồ Chí Minh", unit,
                    f"Nguyễn Văn {i}", f"lienhe{i}@doanhnghiep.vn", f"0903 {i:06d}", "Giám đốc"])
        if i % 10 == 0:  # a second contact for one business in ten
            out.append([code, "", "", "", f"Trần Thị {i}", f"xnk{i}@doanhnghiep.vn", "", "Trưởng phòng XNK"])
    return out


def csv_file(data: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(HEADER)
    writer.writerows(data)
    return buffer.getvalue().encode("utf-8")


def xlsx_file(data: list[list[str]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Doanh nghiệp")
    sheet.append(HEADER)
    for row in data:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def build() -> int:
    db.drop_all()
    db.create_all()
    general = org_services.create_unit(code="TCHQ", name="Tổng cục Hải quan", level="general", parent=None)
    hcm = org_services.create_unit(code="HCM", name="Cục Hải quan TP. Hồ Chí Minh", level="department",
                                   parent=general)
    for code in ("HCM-A", "HCM-B"):
        org_services.create_unit(code=code, name=f"Chi cục {code}", level="branch", parent=hcm)
    officer = User(email="organiser@bench.vn", name="Cán bộ Cục", role="organiser", unit=hcm)
    officer.set_password("benchmark password")
    db.session.add(officer)
    db.session.commit()
    return officer.id


def empty_registry() -> None:
    db.session.execute(delete(Contact))
    db.session.execute(delete(Business))
    db.session.execute(delete(AuditEntry))
    db.session.commit()


def run(label: str, data: bytes, filename: str, officer: User, update_existing: bool = False) -> float:
    steps = []
    started = time.perf_counter()
    upload = services.read_upload(filename, data)
    read = time.perf_counter()
    preview = services.plan_import(upload.rows, user=officer, update_existing=update_existing)
    assert preview.ok, [(r.line, [e.code for e in r.errors]) for r in preview.rows if r.errors][:5]
    planned = time.perf_counter()
    summary = services.apply_import(upload.rows, user=officer, update_existing=update_existing, filename=filename,
                                    progress=lambda done, total: steps.append(done))
    db.session.commit()
    finished = time.perf_counter()
    total = finished - started
    businesses = db.session.scalar(select(func.count()).select_from(Business))
    contacts = db.session.scalar(select(func.count()).select_from(Contact))
    print(f"{label:<28} {len(data) / 1e6:5.1f} MB, {len(upload.rows):,} rows: read {read - started:5.2f} s, "
          f"preview {planned - read:5.2f} s, confirm {finished - planned:5.2f} s ({len(steps)} progress steps) "
          f"= {total:5.2f} s; created {summary['businesses_created']:,}, updated {summary['businesses_updated']:,}; "
          f"registry {businesses:,} businesses, {contacts:,} contacts")
    return total


def main() -> int:
    url = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{folder}/bench.db", "SECRET_KEY": "bench",
                          "INSTANCE_PATH": folder, "RATELIMIT_ENABLED": False})
        with app.app_context():
            officer_id = build()
            officer = db.session.get(User, officer_id)
            data = rows(BUSINESSES)
            print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0]}; "
                  f"{BUSINESSES:,} businesses, {len(data):,} rows")
            timings = [run("CSV, new businesses", csv_file(data), "doanh-nghiep.csv", officer)]
            empty_registry()
            timings.append(run("Excel, new businesses", xlsx_file(data), "doanh-nghiep.xlsx", officer))
            timings.append(run("CSV, updating them all", csv_file(rows(BUSINESSES, " (mới)")), "cap-nhat.csv",
                               officer, update_existing=True))
            db.session.remove()  # its open transaction would hold the locks that DROP TABLE waits for
            if url:
                db.drop_all()
            db.engine.dispose()
    worst = max(timings)
    met = worst < TARGET_SECONDS
    print(f"target < {TARGET_SECONDS:.0f} s for {BUSINESSES:,} businesses: "
          + (f"met (slowest {worst:.2f} s)" if met else f"MISSED (slowest {worst:.2f} s)"))
    labels = ["CSV, new businesses", "Excel, new businesses", "CSV, updating them all"]
    emit("import_businesses", met, f"importing {BUSINESSES:,} businesses in under {TARGET_SECONDS:.0f} s",
         [result_row(f"{label}: read, preview, confirm", seconds, "s", f"< {TARGET_SECONDS:.0f} s",
                     met=seconds < TARGET_SECONDS) for label, seconds in zip(labels, timings, strict=True)],
         database=(url or "sqlite").split("://")[0].split("+")[0])
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
