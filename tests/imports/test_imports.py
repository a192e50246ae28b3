"""Import of businesses and contacts from CSV and Excel (preview, confirm, all or nothing), and their export."""

import csv
import io
import json
import os
import re
import stat
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from dialogue_app.audit.models import AuditEntry
from dialogue_app.exceptions import InvalidData
from dialogue_app.extensions import db
from dialogue_app.imports import reading, services
from dialogue_app.org import services as org_services
from dialogue_app.org.models import Business, Contact

from ..conftest import PASSWORD, running_worker, valid_tax_code

HEADER_VI = ["Mã số thuế", "Tên doanh nghiệp", "Địa chỉ", "Đơn vị", "Người liên hệ", "Email", "Điện thoại",
             "Chức vụ"]
HEADER_EN = ["tax_code", "name", "address", "unit", "contact_name", "contact_email", "contact_phone",
             "contact_position"]


@pytest.fixture
def officer(units, make_user, login):
    """An organiser of the HCM department: sees HCM, HCM-A and HCM-B, not Quảng Ninh."""
    user = make_user("organiser", units["HCM"], name="Nguyễn Thị Mai")
    login(user)
    return user


@pytest.fixture
def switch_to(client, login):
    """Sign out, then in as someone else."""

    def do(user):
        client.post("/logout")
        login(user)

    return do


def csv_bytes(rows, header=HEADER_VI, delimiter=";", bom=True, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode(encoding)


def xlsx_bytes(rows, header=HEADER_EN) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def upload(client, data: bytes, filename="doanh-nghiep.csv", update=False):
    form = {"file": (io.BytesIO(data), filename)}
    if update:
        form["update_existing"] = "y"
    return client.post("/businesses/import", data=form, content_type="multipart/form-data")


def token_of(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.fullmatch(r"/businesses/import/([A-Za-z0-9_-]+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def confirm(client, token, update=False, **kwargs):
    return client.post("/businesses/import/confirm", data={"token": token, "update_existing": "1" if update else "0"},
                       **kwargs)


def counts():
    return (db.session.scalar(select(func.count()).select_from(Business)),
            db.session.scalar(select(func.count()).select_from(Contact)))


def plan_of(app, user, data, filename="f.csv", update=False):
    upload_ = services.read_upload(filename, data)
    return services.plan_import(upload_.rows, user=user, update_existing=update)


def errors_by_line(plan) -> dict[int, list[str]]:
    return {row.line: [e.code for e in row.errors] for row in plan.rows}


def import_folder(app) -> Path:
    return Path(app.instance_path) / "imports"


# --- The way through ---------------------------------------------------------------------------------------

def test_a_csv_is_previewed_and_written_only_on_confirm(app, client, officer, units):
    first, second = valid_tax_code(), valid_tax_code()
    data = csv_bytes([
        [first, "Công ty TNHH Cà phê Đà Lạt", "12 Nguyễn Huệ, Quận 1", "hcm-a", "Trần Văn Bình", "Binh@CaPhe.vn",
         "+84 28 3823 1234", "Giám đốc"],
        [first, "", "", "", "Lê Thị Cúc", "cuc@caphe.vn", "", "Trưởng phòng XNK"],
        [second, "Công ty CP Điện tử Sao Việt", "", "", "", "", "", ""],
    ])
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    token = token_of(upload(client, data))
    assert counts() == (0, 0), "nothing is written before the confirmation"

    page = client.get(f"/businesses/import/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert first in html and second in html and "Lê Thị Cúc" in html
    assert html.count("import-row-create") == 2 and html.count("import-row-contact") == 1
    assert "import-row-error" not in html and 'action="/businesses/import/confirm"' in html
    assert 'src="/static/js/imports.js"' in html

    response = confirm(client, token)
    assert response.status_code == 302 and response.headers["Location"] == "/businesses"  # the registry
    assert counts() == (2, 2)
    cafe = db.session.execute(select(Business).where(Business.tax_code == first)).scalar_one()
    assert cafe.unit_id == units["HCM-A"].id and cafe.address == "12 Nguyễn Huệ, Quận 1"
    assert "ca phe da lat" in cafe.search_text and first in cafe.search_text
    assert sorted((c.name, c.email, c.position) for c in cafe.contacts) == [
        ("Lê Thị Cúc", "cuc@caphe.vn", "Trưởng phòng XNK"), ("Trần Văn Bình", "binh@caphe.vn", "Giám đốc")]
    sao_viet = db.session.execute(select(Business).where(Business.tax_code == second)).scalar_one()
    assert sao_viet.unit_id == units["HCM"].id, "no unit given: the importing officer's unit"
    assert sao_viet.contacts == []

    # One audit entry for the whole import: bulk statements bypass the per-object trail.
    entries = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()[audit_before:]
    assert len(entries) == 1
    assert entries[0].actor_id == officer.id and entries[0].object_type == "businesses"
    assert entries[0].details["import"] == "doanh-nghiep.csv"
    assert entries[0].details["businesses_created"] == 2 and entries[0].details["contacts_added"] == 2
    assert "doanh-nghiep.csv" in client.get("/businesses").get_data(as_text=True)  # the flashed summary


def test_english_headers_commas_without_bom_and_an_excel_workbook(app, client, officer, units):
    first, second = valid_tax_code(), valid_tax_code()
    data = csv_bytes([[first, "Công ty A", "", "HCM-B", "An", "an@a.vn", "", ""]],
                     header=["Tax code", "Business name", "Address", "Unit", "Contact person", "Email", "Phone",
                             "Position"], delimiter=",", bom=False)
    assert confirm(client, token_of(upload(client, data))).status_code == 302
    # Excel took the tax code for a number and dropped its leading zero; a date is read as what it shows.
    numeric = int(second)
    workbook = xlsx_bytes([[numeric, "Công ty B", "Lô 5, KCN Tân Thuận", None, "Bảo", None, "0903 123 456",
                            "Kế toán", "ignored extra"]], header=HEADER_EN + ["Ghi chú"])
    token = token_of(upload(client, workbook, filename="dn.xlsx"))
    assert "Ghi chú" in client.get(f"/businesses/import/{token}").get_data(as_text=True)  # left aside, and said so
    assert confirm(client, token).status_code == 302
    assert counts() == (2, 2)
    b = db.session.execute(select(Business).where(Business.tax_code == second)).scalar_one()
    assert b.name == "Công ty B" and b.contacts[0].phone == "0903 123 456"


# --- Rows with errors --------------------------------------------------------------------------------------

def test_every_kind_of_bad_row_is_flagged_and_nothing_is_written(app, client, officer, units, make_business):
    registered = make_business(units["HCM-A"], name="Đã có").tax_code
    good, twice, contacts = valid_tax_code(), valid_tax_code(), valid_tax_code()
    bad_digit = good[:9] + str((int(good[9]) + 1) % 10)
    rows = [
        ["12345", "Sai định dạng", "", "", "", "", "", ""],                         # 2 format
        [bad_digit, "Sai số kiểm tra", "", "", "", "", "", ""],                     # 3 check digit
        ["", "Không có mã", "", "", "", "", "", ""],                                 # 4 no tax code
        [good, "", "", "", "", "", "", ""],                                          # 5 no name
        [twice, "Công ty Hai Lần", "", "", "", "", "", ""],                          # 6 fine
        [twice, "Công ty Khác Tên", "", "", "", "", "", ""],                         # 7 contradicts row 6
        [twice, "", "", "", "", "", "", ""],                                         # 8 adds nothing to row 6
        [contacts, "Công ty Liên Hệ", "", "", "Hoa", "hoa@x.vn", "", ""],            # 9 fine
        [contacts, "", "", "", "Hoa Nguyễn", "HOA@x.vn", "", ""],                    # 10 same person as 9
        [registered, "Đã có", "", "", "", "", "", ""],                              # 11 already registered
        [valid_tax_code(), "Email sai", "", "", "Minh", "minh@", "", ""],            # 12 bad email
        [valid_tax_code(), "Đơn vị lạ", "", "XYZ", "", "", "", ""],                  # 13 unknown unit
        [valid_tax_code(), "Đơn vị khác", "", "QN-A", "", "", "", ""],               # 14 a unit not theirs
        [valid_tax_code(), "Thiếu tên liên hệ", "", "", "", "lan@x.vn", "", ""],     # 15 contact without a name
        [valid_tax_code(), "Điện thoại sai", "", "", "Tú", "", "gọi giờ hành chính", ""],  # 16 bad phone
        [valid_tax_code(), "X" * 300, "", "", "", "", "", ""],                       # 17 too long
    ]
    data = csv_bytes(rows)
    plan = plan_of(app, officer, data)
    assert errors_by_line(plan) == {
        2: ["tax_code_format"], 3: ["tax_code_check_digit"], 4: ["tax_code_missing"], 5: ["name_missing"],
        6: [], 7: ["duplicate_conflict"], 8: ["duplicate_row"], 9: [], 10: ["duplicate_contact"],
        11: ["already_registered"], 12: ["email_invalid"], 13: ["unit_unknown"], 14: ["unit_unknown"],
        15: ["contact_name_missing"], 16: ["phone_invalid"], 17: ["too_long"],
    }
    assert not plan.ok and plan.error_rows == 14
    assert all(e.message for row in plan.rows for e in row.errors)  # every code has its message

    token = token_of(upload(client, data))
    html = client.get(f"/businesses/import/{token}").get_data(as_text=True)
    assert html.count("import-row-error") == 14
    assert 'action="/businesses/import/confirm"' not in html, "no confirm button while a row is wrong"
    only_errors = client.get(f"/businesses/import/{token}?errors=1").get_data(as_text=True)
    assert only_errors.count("import-row-error") == 14 and "import-row-create" not in only_errors

    before = counts()
    response = confirm(client, token)
    assert response.status_code == 302 and response.headers["Location"].startswith(f"/businesses/import/{token}")
    assert counts() == before, "all or nothing: the good rows are not written either"


def test_existing_businesses_are_updated_only_when_asked(app, client, officer, units, make_business, make_user):
    known = make_business(units["HCM-A"], name="Công ty Cũ", address="Địa chỉ cũ")
    org_services.add_contact(known, name="Nguyễn Văn An", email="an@cu.vn")
    db.session.commit()
    elsewhere = make_business(units["QN-A"], name="Công ty Quảng Ninh")
    data = csv_bytes([
        [known.tax_code, "", "Địa chỉ mới", "", "Nguyễn Văn An", "AN@cu.vn", "0912 000 111", ""],
        [known.tax_code, "", "", "", "Phạm Thị Bình", "binh@cu.vn", "", "Kế toán trưởng"],
        [elsewhere.tax_code, "Công ty Quảng Ninh", "", "", "", "", "", ""],
    ])
    plan = plan_of(app, officer, data)
    assert errors_by_line(plan)[2] == ["already_registered"]
    plan = plan_of(app, officer, data, update=True)
    # Issue 15: the preview does not reveal that a tax code is registered in another branch; writing refuses.
    assert errors_by_line(plan) == {2: [], 3: [], 4: []}

    data = csv_bytes([
        [known.tax_code, "", "Địa chỉ mới", "", "Nguyễn Văn An", "AN@cu.vn", "0912 000 111", ""],
        [known.tax_code, "", "", "", "Phạm Thị Bình", "binh@cu.vn", "", "Kế toán trưởng"],
    ])
    token = token_of(upload(client, data))  # uploaded without the choice: the preview offers it
    assert "import-row-error" in client.get(f"/businesses/import/{token}").get_data(as_text=True)
    html = client.get(f"/businesses/import/{token}?update=1").get_data(as_text=True)
    assert "import-row-error" not in html and "import-row-update" in html
    assert confirm(client, token).status_code == 302
    assert counts()[0] == 2 and db.session.get(Business, known.id).address == "Địa chỉ cũ", \
        "confirmed without the choice: the existing business is left alone"
    assert confirm(client, token, update=True).status_code == 302
    db.session.expire_all()
    business = db.session.get(Business, known.id)
    assert business.name == "Công ty Cũ", "an empty cell changes nothing"
    assert business.address == "Địa chỉ mới"
    assert sorted((c.name, c.email, c.phone) for c in business.contacts) == [
        ("Nguyễn Văn An", "an@cu.vn", "0912 000 111"), ("Phạm Thị Bình", "binh@cu.vn", None)]

    # The same file again changes nothing more.
    plan = plan_of(app, officer, data, update=True)
    assert plan.ok and plan.created == 0 and plan.updated == 0 and plan.unchanged == 1
    assert not plan.new_contacts and not plan.changed_contacts


def test_an_admin_names_the_unit_of_each_business(app, client, units, make_user, login):
    admin = make_user("admin")
    login(admin)
    first, second = valid_tax_code(), valid_tax_code()
    data = csv_bytes([[first, "A", "", "", "", "", "", ""], [second, "B", "", "QN-B", "", "", "", ""]])
    plan = plan_of(app, admin, data)
    assert errors_by_line(plan) == {2: ["unit_missing"], 3: []}


# --- Files that are refused -------------------------------------------------------------------------------

def test_a_file_not_in_utf8_is_refused_with_a_message(app, client, officer):
    data = csv_bytes([[valid_tax_code(), "Công ty Cà phê Tân", "", "", "", "", "", ""]],
                     header=["tax_code", "name", "address", "unit", "contact_name", "contact_email", "contact_phone",
                             "contact_position"], bom=False, encoding="cp1258")
    response = upload(client, data)
    assert response.status_code == 200
    assert "CSV UTF-8" in response.get_data(as_text=True)
    assert not import_folder(app).exists() or not any(import_folder(app).iterdir())
    with pytest.raises(InvalidData):
        services.read_upload("x.csv", "tax_code,name\n0100109106,Café".encode("cp1252"))


@pytest.mark.parametrize("data", [
    b"",
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,  # an old .xls
    b"PK\x03\x04 not really a zip",
    "tên,địa chỉ\nA,B\n".encode(),  # no tax code column
    b"tax_code,name,ma so thue\n0100109106,A,0100109106\n",  # the same column twice
    b"tax_code,name\n",  # no rows
    "\ufeff\n\n".encode(),
])
def test_files_that_are_not_a_list_of_businesses_are_refused(app, data):
    with pytest.raises(InvalidData) as refused:
        services.read_upload("f.csv", data)
    assert refused.value.fields["file"]


def test_a_word_document_is_not_a_workbook(app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(InvalidData):
        services.read_upload("f.xlsx", buffer.getvalue())


def test_too_many_rows_or_bytes_are_refused(app, client, officer, monkeypatch):
    monkeypatch.setattr(reading, "MAX_ROWS", 3)  # the reading module bounds the rows (issue 13's split)
    rows = [[valid_tax_code(), f"Công ty {i}", "", "", "", "", "", ""] for i in range(4)]
    with pytest.raises(InvalidData):
        services.read_upload("f.csv", csv_bytes(rows))
    with pytest.raises(InvalidData):
        services.read_upload("f.xlsx", xlsx_bytes(rows))
    assert len(services.read_upload("f.csv", csv_bytes(rows[:3])).rows) == 3

    monkeypatch.setattr(services, "MAX_BYTES", 1000)  # the page's cut-off
    monkeypatch.setattr(reading, "MAX_BYTES", 1000)  # the reader's
    with pytest.raises(InvalidData):
        services.read_upload("f.csv", b"tax_code,name\n" + b"0100109106,A\n" * 100)
    # Far over the limit: cut off before the form is even read, with a message and nothing kept.
    # (Over the cut-off, yet under the size at which the test client would spool the body to a file.)
    response = upload(client, b"tax_code,name\n" + b"0100109106,A\n" * 22_000)
    assert response.status_code == 302 and response.headers["Location"] == "/businesses/import"
    assert "flash-error" in client.get("/businesses/import").get_data(as_text=True)
    assert not import_folder(app).exists() or not any(import_folder(app).iterdir())


# --- Formulas ----------------------------------------------------------------------------------------------

def test_formula_cells_are_refused_and_formula_text_is_kept_as_text_and_escaped_on_export(app, client, officer):
    code = valid_tax_code()
    workbook = xlsx_bytes([[code, "=HYPERLINK(\"http://evil\",\"Bấm\")", "", "", "", "", "", ""],
                           [valid_tax_code(), "Công ty", "", "", "=1+2", "", "", ""]])
    plan = plan_of(app, officer, workbook, filename="f.xlsx")
    assert [[(e.code, e.params.get("field")) for e in r.errors] for r in plan.rows] == [
        [("formula", "name")], [("formula", "contact_name")]]

    # In a CSV the same text is only text: kept as it is, never evaluated, escaped when it goes out again.
    data = csv_bytes([[code, "=HYPERLINK(\"http://evil\",\"Bấm\")", "@SUM(A1)", "", "-Hùng", "", "+84 90", ""]])
    assert confirm(client, token_of(upload(client, data))).status_code == 302
    business = db.session.execute(select(Business).where(Business.tax_code == code)).scalar_one()
    assert business.name == "=HYPERLINK(\"http://evil\",\"Bấm\")" and business.address == "@SUM(A1)"

    exported = client.get("/businesses/export.csv")
    assert exported.status_code == 200 and exported.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[1][:3] == [code, "'=HYPERLINK(\"http://evil\",\"Bấm\")", "'@SUM(A1)"]
    assert rows[1][4] == "'-Hùng" and rows[1][6] == "'+84 90"

    sheet = load_workbook(io.BytesIO(client.get("/businesses/export.xlsx").data)).active
    cells = list(sheet.iter_rows(min_row=2, max_row=2))[0]
    assert cells[1].value == "'=HYPERLINK(\"http://evil\",\"Bấm\")" and cells[1].data_type == "s"
    assert cells[0].value == code  # text: the leading zero stays

    # And the exported file reads back as it was: the apostrophes come off again.
    plan = plan_of(app, officer, client.get("/businesses/export.xlsx").data, filename="x.xlsx", update=True)
    assert plan.ok and plan.unchanged == 1 and not plan.changed_contacts and not plan.new_contacts


# --- Who may do what ---------------------------------------------------------------------------------------

def test_the_preview_belongs_to_its_uploader_and_expires(app, client, officer, units, make_user, switch_to):
    data = csv_bytes([[valid_tax_code(), "Công ty A", "", "", "", "", "", ""]])
    token = token_of(upload(client, data))
    other = make_user("organiser", units["HCM"])
    switch_to(other)
    assert client.get(f"/businesses/import/{token}").status_code == 302
    assert client.get(f"/businesses/import/{token}/progress").status_code == 404
    assert confirm(client, token).status_code == 302
    assert counts() == (0, 0)

    switch_to(officer)
    stored = import_folder(app) / f"{token}.json"
    content = json.loads(stored.read_text(encoding="utf-8"))
    content["created"] -= 2 * 3600
    stored.write_text(json.dumps(content), encoding="utf-8")
    response = client.get(f"/businesses/import/{token}")
    assert response.status_code == 302 and response.headers["Location"] == "/businesses/import"
    assert confirm(client, token).status_code == 302
    assert counts() == (0, 0)
    assert client.get("/businesses/import/not-a-token").status_code == 302


def test_rows_are_never_taken_from_the_browser_and_a_second_confirmation_does_nothing(app, client, officer):
    code = valid_tax_code()
    token = token_of(upload(client, csv_bytes([[code, "Công ty A", "", "", "An", "", "", ""]])))
    response = client.post("/businesses/import/confirm", data={
        "token": token, "update_existing": "0", "tax_code": valid_tax_code(), "name": "Chèn thêm"})
    assert response.status_code == 302
    assert counts() == (1, 1)
    assert confirm(client, token).status_code == 302
    assert counts() == (1, 1)
    assert "flash-info" in client.get("/businesses").get_data(as_text=True)


def test_the_page_script_gets_json_and_the_progress(app, client, officer):
    rows = [[valid_tax_code(), f"Công ty {i}", "", "", f"Người {i}", "", "", ""] for i in range(30)]
    token = token_of(upload(client, csv_bytes(rows)))
    assert client.get(f"/businesses/import/{token}/progress").json["total"] == 0
    answer = confirm(client, token, headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.json == {"redirect": "/businesses"}
    state = client.get(f"/businesses/import/{token}/progress").json
    assert state["finished"] is True and state["label"]
    assert counts() == (30, 30)


@pytest.mark.parametrize("role", ["manager", "business"])
def test_only_organisers_and_admins_import(app, client, units, make_user, make_business, login, role):
    business = make_business(units["HCM-A"]) if role == "business" else None
    login(make_user(role, units["HCM-A"], business=business))
    assert client.get("/businesses/import").status_code == 404
    assert upload(client, csv_bytes([[valid_tax_code(), "A", "", "", "", "", "", ""]])).status_code == 404
    assert client.get("/businesses/export.csv").status_code == (200 if role == "manager" else 404)


# --- Export ------------------------------------------------------------------------------------------------

def test_export_lists_the_businesses_the_user_sees_one_row_per_contact(app, client, units, make_user, make_business,
                                                                       login, switch_to):
    hcm = make_business(units["HCM-A"], name="Công ty Hồ Chí Minh", address="1 Lê Lợi")
    org_services.add_contact(hcm, name="An", email="an@hcm.vn", phone="028 1234", position="Giám đốc")
    org_services.add_contact(hcm, name="Bình", email="binh@hcm.vn")
    alone = make_business(units["HCM-B"], name="Công ty Không Liên Hệ")
    make_business(units["QN-A"], name="Công ty Quảng Ninh")
    db.session.commit()
    login(make_user("organiser", units["HCM-A"]))

    rows = list(csv.reader(io.StringIO(client.get("/businesses/export.csv").data.decode("utf-8-sig"))))
    assert len(rows[0]) == 8
    assert rows[1:] == [[hcm.tax_code, "Công ty Hồ Chí Minh", "1 Lê Lợi", "HCM-A", "An", "an@hcm.vn", "028 1234",
                         "Giám đốc"],
                        [hcm.tax_code, "Công ty Hồ Chí Minh", "1 Lê Lợi", "HCM-A", "Bình", "binh@hcm.vn", "", ""]]

    switch_to(make_user("manager", units["HCM"]))
    response = client.get("/businesses/export.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    exported = [[c or "" for c in row] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert {row[0] for row in exported} == {hcm.tax_code, alone.tax_code}
    assert [alone.tax_code, "Công ty Không Liên Hệ", "", "HCM-B", "", "", "", ""] in exported
    search = client.get("/businesses/export.csv?q=khong lien he").data.decode("utf-8-sig")
    assert alone.tax_code in search and hcm.tax_code not in search


# --- Speed -------------------------------------------------------------------------------------------------

def test_the_import_runs_a_fixed_number_of_queries(app, officer, units, count_queries):
    rows = [[valid_tax_code(), f"Công ty số {i}", f"{i} Lê Lợi", "HCM-A" if i % 2 else "", f"Người {i}",
             f"nguoi{i}@example.vn", "", ""] for i in range(2500)]
    parsed = services.read_upload("f.csv", csv_bytes(rows))
    steps = []
    with count_queries() as counted:
        summary = services.apply_import(parsed.rows, user=officer, update_existing=False, filename="f.csv",
                                        progress=lambda done, total: steps.append((done, total)))
        db.session.commit()
    assert summary["businesses_created"] == 2500 and summary["contacts_added"] == 2500
    assert counts() == (2500, 2500)
    assert counted.n < 25, counted.n
    assert steps[0] == (0, 5000) and steps[-1] == (5000, 5000) and len(steps) > 3


# --- In a real browser -------------------------------------------------------------------------------------

@pytest.mark.browser
def test_a_browser_uploads_previews_and_confirms_under_the_content_security_policy(tmp_path, monkeypatch):
    """Served for real with CSRF on: the form posts, the page script confirms and polls the progress, and no
    script or style is refused by the Content-Security-Policy (a refusal is a console error)."""
    import threading

    from werkzeug.serving import make_server

    from dialogue_app import create_app
    from dialogue_app.auth import services as auth_services

    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:  # pragma: no cover
        pytest.skip("Playwright is not installed")
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("Debian's chromium is not installed: apt-get install chromium")

    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({
        "TESTING": True, "SECRET_KEY": "browser-test", "WTF_CSRF_ENABLED": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'browser.db'}", "RATELIMIT_STORAGE_URI": "memory://",
        "BASE_URL": "http://127.0.0.1", "INSTANCE_PATH": str(tmp_path / "instance"),
    })
    with app.app_context():
        db.create_all()
        general = org_services.create_unit(code="TCHQ", name="Tổng cục", level="general", parent=None)
        hcm = org_services.create_unit(code="HCM", name="Cục HCM", level="department", parent=general)
        auth_services.create_user(email="canbo@example.vn", name="Cán bộ", password="mật khẩu dài 2024",
                                  role="organiser", unit=hcm)
        db.session.commit()
        db.session.remove()
    rows = [[valid_tax_code(), f"Công ty số {i}", "", "", f"Người {i}", f"nguoi{i}@example.vn", "", ""]
            for i in range(3000)]
    data = csv_bytes(rows)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    problems: list[str] = []
    requests: list[tuple[str, str, str]] = []
    worker = running_worker()  # the import is written by a real worker, as in production
    worker.__enter__()
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        context = browser.new_context(locale="vi-VN")
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("request", lambda r: requests.append((r.method, r.url[len(base):], r.headers.get("accept", ""))))
        page.goto(base + "/login")
        page.fill("input[name=email]", "canbo@example.vn")
        page.fill("input[name=password]", "mật khẩu dài 2024")
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state()

        page.goto(base + "/businesses/import")
        page.set_input_files("input[type=file]", files=[{"name": "doanh-nghiep.csv", "mimeType": "text/csv",
                                                         "buffer": data}])
        page.locator("form.import-upload button[type=submit]").click()
        page.wait_for_url(re.compile(r".*/businesses/import/[A-Za-z0-9_-]{32,}$"))
        expect(page.locator("tr.import-row-create")).to_have_count(200)  # the first page of the preview

        page.locator("form.import-confirm button[type=submit]").click()
        page.wait_for_url(base + "/businesses")
        expect(page.locator(".flash-success")).to_contain_text("doanh-nghiep.csv")
        context.close()
        browser.close()
    finally:
        playwright.stop()
        worker.__exit__(None, None, None)
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    with app.app_context():
        assert counts() == (3000, 3000)
        db.session.remove()
        db.engine.dispose()
    assert problems == [], problems
    # The script confirmed (asking for JSON), rather than the form posting by itself.
    assert ("POST", "/businesses/import/confirm", "application/json") in requests


# --- Issue 15: bounded reading, background applying --------------------------------------------------------

def empty_rows_workbook(rows: int, declare: bool, cells_per_row: int = 0) -> bytes:
    """A workbook whose first sheet is a header row then `rows` empty rows, written straight as XML (openpyxl
    would take minutes to write it): the shape of the probe's file."""
    base = zipfile.ZipFile(io.BytesIO(xlsx_bytes([])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for item in base.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(item, base.read(item))
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
                        b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            if declare:
                sheet.write(b'<dimension ref="A1:H%d"/>' % (rows + 1))
            sheet.write(b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>tax_code</t></is></c>'
                        b'<c r="B1" t="inlineStr"><is><t>name</t></is></c></row>')
            batch = []
            for number in range(2, rows + 2):
                cells = b"".join(b'<c r="%s%d" s="1"/>' % (bytes([65 + i]), number) for i in range(cells_per_row))
                batch.append(b'<row r="%d">%s</row>' % (number, cells) if cells else b'<row r="%d"/>' % number)
                if len(batch) == 100_000:
                    sheet.write(b"".join(batch))
                    batch.clear()
            sheet.write(b"".join(batch) + b"</sheetData></worksheet>")
    return out.getvalue()


@pytest.fixture(scope="module")
def three_million_empty_rows():
    return {declare: empty_rows_workbook(3_000_000, declare) for declare in (True, False)}


@pytest.mark.parametrize("declared", [True, False], ids=["size declared", "size not declared"])
def test_three_million_empty_rows_are_refused_after_reading_a_few(app, three_million_empty_rows, declared):
    data = three_million_empty_rows[declared]
    assert len(data) < services.MAX_BYTES  # it passes the upload's size cap...
    started = time.monotonic()
    with pytest.raises(InvalidData) as refused:
        services.read_upload("rong.xlsx", data)
    elapsed = time.monotonic() - started
    assert "50000" in str(refused.value.message) or "50.000" in str(refused.value.message)
    assert elapsed < (1 if declared else 15), elapsed  # ...and is refused long before gunicorn's 30 s


def test_a_workbook_that_unpacks_past_the_cap_is_refused_unread(app):
    data = empty_rows_workbook(1_200_000, declare=False, cells_per_row=2)  # ~150 MB of XML, as in the probe
    started = time.monotonic()
    with pytest.raises(InvalidData):
        services.read_upload("to.xlsx", data)
    assert time.monotonic() - started < 2


def test_a_csv_of_endless_empty_lines_or_columns_is_refused(app):
    with pytest.raises(InvalidData):
        services.read_upload("rong.csv", b"tax_code;name\n" + b"\n" * (reading.MAX_SHEET_ROWS + 1))
    with pytest.raises(InvalidData):
        services.read_upload("rong.csv", b"tax_code;name" + b";" * 1000 + b"\n0100109106;A\n")


def test_the_preview_does_not_reveal_a_tax_code_registered_in_another_branch(app, client, officer, units,
                                                                            make_business):
    elsewhere = make_business(units["QN-A"], name="Công ty Quảng Ninh")
    unknown = valid_tax_code()
    data = csv_bytes([[elsewhere.tax_code, "Công ty X", "", "", "", "", "", ""]])
    control = csv_bytes([[unknown, "Công ty X", "", "", "", "", "", ""]])
    for update in (False, True):
        seen = plan_of(app, officer, data, update=update)
        never = plan_of(app, officer, control, update=update)
        assert errors_by_line(seen) == errors_by_line(never) == {2: []}
        assert [r.action for r in seen.rows] == [r.action for r in never.rows] == ["create"]
    token = token_of(upload(client, data))
    page = client.get(f"/businesses/import/{token}").get_data(as_text=True)
    assert "import-row-error" not in page
    answer = confirm(client, token, follow_redirects=True).get_data(as_text=True)
    flashed = re.search(r'class="flash flash-error"[^>]*>(.*?)<', answer, re.S)
    assert flashed and "Không có gì được nhập" in flashed.group(1) and elsewhere.tax_code not in flashed.group(1)
    assert counts() == (1, 0)  # nothing written: only the other branch's business


def test_the_import_runs_on_a_real_worker_never_in_the_request(app, another_app, client, officer, units):
    """HUEY_IMMEDIATE off: the confirmation only queues the work; the worker (a real Huey consumer, as
    `flask --app wsgi worker` runs it) writes; the page follows the progress, then shows the outcome."""
    rows = [[valid_tax_code(), f"Công ty {i}", "", "", f"Người {i}", "", "", ""] for i in range(50)]
    token = token_of(upload(client, csv_bytes(rows)))
    queued = another_app(HUEY_IMMEDIATE=False)  # a second process: its queue is SQLite in its instance folder
    web = queued.test_client()
    web.post("/login", data={"email": officer.email, "password": PASSWORD})
    folder = str(Path(app.instance_path) / "imports")
    queued.config["IMPORT_DIR"] = folder
    answer = web.post("/businesses/import/confirm", data={"token": token, "update_existing": "0"},
                      headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.json["wait"] is True
    assert counts() == (0, 0), "the request queued the work and wrote nothing"
    waiting = web.get(answer.json["redirect"])
    assert waiting.status_code == 200 and 'http-equiv="refresh"' in waiting.get_data(as_text=True)

    with running_worker():
        deadline = time.monotonic() + 60
        while not web.get(f"/businesses/import/{token}/progress").json["finished"]:
            assert time.monotonic() < deadline, "the worker did not finish the import"
            time.sleep(0.2)
    assert counts() == (50, 50)
    done = web.get(answer.json["redirect"])
    assert done.status_code == 302 and done.headers["Location"] == "/businesses"
    assert "Đã nhập dữ liệu từ tệp" in web.get("/businesses").get_data(as_text=True)


def test_import_files_are_readable_by_their_owner_only(app, client, officer):
    old = os.umask(0)
    try:
        token = token_of(upload(client, csv_bytes([[valid_tax_code(), "Công ty A", "", "", "", "", "", ""]])))
    finally:
        os.umask(old)
    stored = import_folder(app) / f"{token}.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(import_folder(app).stat().st_mode) == 0o700
