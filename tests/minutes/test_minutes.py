"""Minutes: revisions with conflicts, finalise and amend, the printed biên bản read back from the PDF,
safe rendering, the cache, sending, the API."""

import http.server
import io
import re
import threading
from datetime import date, datetime, time
from time import monotonic, sleep

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder, run_wsgi_app

import dialogue_app.minutes.models  # noqa: F401  (the schema is made from the models imported)
from dialogue_app import pdf as minutes_pdf
from dialogue_app.attendance import services as attendance
from dialogue_app.auth import services as auth_services
from dialogue_app.extensions import db
from dialogue_app.issues import services as issue_services
from dialogue_app.mail.models import OutboxMessage
from dialogue_app.mail.services import send_pending
from dialogue_app.minutes import services
from dialogue_app.minutes.markup import render_markdown
from dialogue_app.minutes.models import Minutes, MinutesPdf, MinutesRevision
from dialogue_app.officetime import office_zone
from dialogue_app.org.services import add_contact
from dialogue_app.scheduling import services as scheduling

VIETNAMESE = "Ệ ự ỹ Ở đ Đ ẫ ằ Ặ ơ ư"


@pytest.fixture
def world(units, topics, make_user, make_business, make_series, make_meeting, make_issue):
    coffee = make_business(units["HCM-A"], name="Công ty TNHH Cà phê Đà Lạt")
    steel = make_business(units["HCM-A"], name="Công ty Cổ phần Thép Phương Nam")
    add_contact(coffee, name="Trần Thị Ngọc", email="ngoc@caphe.example.vn", position="Giám đốc")
    add_contact(steel, name="Lê Văn Cường", email="cuong@thep.example.vn", position="Trưởng phòng XNK")
    organiser = make_user("organiser", units["HCM-A"], email="mai@haiquan.example.vn", name="Nguyễn Thị Mai")
    series = make_series(units["HCM-A"], invitees=[coffee, steel], notify=True)
    september = make_meeting(series=series, occurrence=date(2025, 9, 29))
    october = make_meeting(series=series, occurrence=date(2025, 10, 27))
    old = make_issue(units["HCM-A"], steel, organiser, "Thủ tục hoàn thuế nguyên liệu chậm", channel="meeting",
                     topic="refund", meeting=september, raised_by_name="Lê Văn Cường")
    raised = make_issue(units["HCM-A"], coffee, organiser, "Áp mã HS cho máy rang cà phê", channel="meeting",
                        meeting=october, raised_by_name="Trần Thị Ngọc")
    return {
        "coffee": coffee, "steel": steel, "organiser": organiser, "series": series,
        "september": september, "october": october, "old_issue": old, "issue": raised,
        "manager": make_user("manager", units["HCM"], email="bao@haiquan.example.vn", name="Trần Quốc Bảo"),
        "other_branch": make_user("organiser", units["QN-A"]),
        "coffee_user": make_user("business", business=coffee, email="tk@caphe.example.vn"),
        "steel_user": make_user("business", business=steel, email="tk@thep.example.vn"),
    }


def read_pdf(data: bytes) -> tuple[PdfReader, str]:
    assert data[:5] == b"%PDF-"
    reader = PdfReader(io.BytesIO(data))
    return reader, flat(" ".join(page.extract_text() for page in reader.pages))


def flat(text: str) -> str:
    return " ".join(text.split())


def top_centre_texts(reader: PdfReader) -> list[str]:
    """Per page, the text drawn in the top margin (above 20 mm from the top edge), horizontally centred on the
    text column (Nghị định 30/2020 puts the page number there), joined."""
    found = []
    for page in reader.pages:
        height = float(page.mediabox.height)
        column_centre = (30 + (210 - 15 - 30) / 2) * 72 / 25.4
        parts = []

        def visit(text, cm, tm, _font, _size, parts=parts, height=height, column_centre=column_centre):
            x, y = tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]
            if text.strip() and y > height - 20 * 72 / 25.4 and abs(x - column_centre) < 15 * 72 / 25.4:
                parts.append(text.strip())

        page.extract_text(visitor_text=visit)
        found.append(" ".join(parts))
    return found


def form_data(**overrides) -> dict:
    data = {"chair": "Nguyễn Văn Hùng, Phó Chi cục trưởng", "secretary": "Lê Thị Thu Trang, công chức",
            "place_name": "TP. Hồ Chí Minh", "closing_time": "10:15", "agenda": "1. Phổ biến văn bản mới",
            "body": "Doanh nghiệp **trao đổi** về thủ tục.", "conclusions": "Giao Đội Nghiệp vụ trả lời.",
            "base_revision": "0"}
    data.update(overrides)
    return data


def test_a_meeting_without_minutes_prints_what_the_data_knows(client, login, world):
    login(world["organiser"])
    response = client.get(f"/meetings/{world['october'].id}/minutes.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline; filename=\"bien-ban-")
    reader, text = read_pdf(response.data)
    text = flat(text)
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "BIÊN BẢN",
                     "CỤC HẢI QUAN TP. HỒ CHÍ MINH", "ngày 27 tháng 10 năm 2025", "Thứ Hai",
                     "Cà phê sáng cùng doanh nghiệp", "Hội trường Chi cục", "chưa được ghi",
                     "Áp mã HS cho máy rang cà phê", "Công ty TNHH Cà phê Đà Lạt", "Mới",
                     "Thủ tục hoàn thuế nguyên liệu chậm", "29/09/2025", "THƯ KÝ", "CHỦ TRÌ", "DỰ THẢO"):
        assert expected in text, expected
    # Page numbers centred at the top from page 2, none on page 1 (Nghị định 30/2020, Phụ lục I).
    assert len(reader.pages) >= 2
    assert top_centre_texts(reader) == [""] + [str(n) for n in range(2, len(reader.pages) + 1)]


def test_the_pdf_is_an_archivable_vietnamese_document(client, login, world):
    login(world["organiser"])
    client.post(f"/meetings/{world['october'].id}/minutes", data=form_data(body=f"Chữ Việt: {VIETNAMESE}"))
    reader, text = read_pdf(client.get(f"/meetings/{world['october'].id}/minutes.pdf").data)
    assert VIETNAMESE in text  # every diacritic survives, through the shipped font's own glyphs
    meta = reader.metadata
    assert meta.title.startswith("Biên bản: Cà phê sáng cùng doanh nghiệp") and "27/10/2025" in meta.title
    assert meta.author == "Đơn vị HCM-A"
    catalog = reader.trailer["/Root"]
    assert catalog["/Lang"] == "vi"
    xmp = catalog["/Metadata"].get_object().get_data().decode()
    assert re.search(r"pdfaid:part(>|=\")3", xmp) and re.search(r"pdfaid:conformance(>|=\")B", xmp)
    assert catalog["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor  # embedded, as PDF/A requires
            fonts.add(font["/BaseFont"].split("+", 1)[1])
    assert fonts <= {"Dialogue-Serif", "Dialogue-Serif-Bold", "Dialogue-Serif-Italic", "Dialogue-Serif-Bold-Italic"}


def test_each_save_is_a_revision_and_a_stale_save_shows_both_versions(client, login, world, make_user, units):
    meeting = world["october"]
    login(world["organiser"])
    page = client.get(f"/meetings/{meeting.id}/minutes").get_data(as_text=True)
    assert "TP. Hồ Chí Minh" in page and 'value="10:00"' in page  # suggested place name, closing at the end
    assert client.post(f"/meetings/{meeting.id}/minutes", data=form_data()).status_code == 302
    # Saving the same text again makes no new revision.
    client.post(f"/meetings/{meeting.id}/minutes", data=form_data(base_revision="1"))
    assert client.post(f"/meetings/{meeting.id}/minutes",
                       data=form_data(base_revision="1", body="Bản sửa của Mai")).status_code == 302

    # A colleague who opened the page before Mai's second save saves on top of revision 1.
    colleague = make_user("organiser", units["HCM-A"], name="Phạm Văn Long")
    client.post("/logout")
    login(colleague)
    stale = client.post(f"/meetings/{meeting.id}/minutes", data=form_data(base_revision="1", body="Bản của Long"))
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "Bản sửa của Mai" in page and "Bản của Long" in page  # both versions, side by side
    assert 'name="base_revision" type="hidden" value="2"' in page  # saving again is a deliberate choice
    minutes = db.session.execute(select(Minutes)).scalar_one()
    assert minutes.revision_count == 2
    assert [r.body for r in services.revision_history(minutes)] == ["Bản sửa của Mai",
                                                                     "Doanh nghiệp **trao đổi** về thủ tục."]
    again = client.post(f"/meetings/{meeting.id}/minutes", data=form_data(base_revision="2", body="Bản của Long"))
    assert again.status_code == 302
    page = client.get(f"/meetings/{meeting.id}/minutes").get_data(as_text=True)
    assert "Phạm Văn Long" in page and "Nguyễn Thị Mai" in page  # the revision list names both
    assert client.get(f"/meetings/{meeting.id}/minutes/revisions/1").get_data(as_text=True).count(
        "<strong>trao đổi</strong>") == 1
    assert client.get(f"/meetings/{meeting.id}/minutes/revisions/9").status_code == 404


def test_the_preview_shows_markdown_as_the_pdf_will_and_never_raw_html(client, login, world):
    login(world["organiser"])
    meeting = world["october"]
    answer = client.post(f"/meetings/{meeting.id}/minutes/preview",
                         data={"body": "**Đậm** <script>alert(1)</script> ![x](http://127.0.0.1:9/x.png)",
                               "agenda": "1. Một\n2. Hai"})
    assert answer.status_code == 200
    assert answer.json["body"].startswith("<p><strong>Đậm</strong> &lt;script&gt;")
    assert "<img" not in answer.json["body"] and "<ol>" in answer.json["agenda"]
    page = client.post(f"/meetings/{meeting.id}/minutes", data=form_data(preview="1", body="*nghiêng*"))
    assert "<em>nghiêng</em>" in page.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(MinutesRevision)).scalar_one() == 0


def test_markdown_keeps_a_safe_subset():
    html = str(render_markdown(
        "# T\n\n<iframe src='file:///etc/passwd'></iframe> <a href='javascript:alert(1)'>x</a>\n\n"
        "[ok](https://haiquan.gov.vn) [bad](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n<style>@import url(http://evil)</style>"))
    assert "<iframe" not in html and "<img" not in html and "<style" not in html and "<a href='javascript" not in html
    assert 'href="https://haiquan.gov.vn"' in html and 'href="javascript' not in html
    assert "<table>" in html and "<h1>T</h1>" in html
    assert str(render_markdown("")) == "" and str(render_markdown(None)) == ""


@pytest.fixture
def listener():
    """A local HTTP server that counts the requests it gets: nothing in the minutes may reach it."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_nothing_written_in_the_minutes_makes_the_server_fetch_anything(app, world, listener, tmp_path):
    url, hits = listener
    secret = tmp_path / "secret.txt"
    secret.write_text("không được đọc")
    body = (f"![a]({url}/md.png) <img src=\"{url}/raw.png\"> <link rel=stylesheet href=\"{url}/x.css\">\n\n"
            f"<style>@import url({url}/import.css); body {{ background: url({url}/bg.png) }}</style>\n\n"
            f"<object data=\"file://{secret}\"></object> <iframe src=\"file://{secret}\"></iframe>\n\n"
            f"[lien ket]({url}/link)")
    services.save_minutes(world["october"], actor=world["organiser"], body=body, agenda=f"![b](file://{secret})")
    db.session.commit()
    data = services.render_pdf(world["october"], world["organiser"])
    _, text = read_pdf(data)
    assert hits == [] and "không được đọc" not in text
    assert "lien ket" in text


def test_the_fetcher_reads_only_the_apps_static_files(app, tmp_path):
    fetcher = minutes_pdf.static_files_only(app.static_folder)
    base = minutes_pdf.static_base_url(app.static_folder)
    assert fetcher.fetch(base + "css/pdf.css").read().startswith(b"/*")
    outside = tmp_path / "x.css"
    outside.write_text("x")
    (tmp_path / "link.css").symlink_to("/etc/passwd")
    for url in (outside.as_uri(), base + "../README.md", base + "css/../../README.md", "http://127.0.0.1:9/x",
                "https://example.com/f.ttf", "ftp://example.com/x", "data:text/css,body{}", base + "fonts/",
                base + "css/missing.css", (tmp_path / "link.css").as_uri(), "file://evil.example/etc/passwd"):
        with pytest.raises(minutes_pdf.RefusedURL):
            fetcher.fetch(url)


def test_finalised_minutes_are_locked_and_changed_by_dated_amendments(api, world):
    meeting = world["october"]
    staff = api(world["organiser"])
    saved = staff.put(f"/api/v1/meetings/{meeting.id}/minutes", json={"body": "Nội dung ban đầu"})
    assert saved.status_code == 200 and saved.json["body"] == "Nội dung ban đầu" and saved.json["updated_at"]
    assert saved.json["revision"] == 1 and saved.headers["ETag"] == f'"minutes-{meeting.id}-r1"'
    refused = staff.post(f"/api/v1/meetings/{meeting.id}/minutes/finalise", json={})
    assert refused.status_code == 422 and set(refused.json["error"]["fields"]) == {"chair", "secretary"}
    staff.put(f"/api/v1/meetings/{meeting.id}/minutes", json={
        "body": "Nội dung ban đầu", "chair": "Nguyễn Văn Hùng, Phó Chi cục trưởng", "secretary": "Lê Thu Trang",
        "closing_time": "10:30"})
    final = staff.post(f"/api/v1/meetings/{meeting.id}/minutes/finalise", json={"base_revision": 2})
    assert final.status_code == 200 and final.json["status"] == "final" and final.json["finalised_at"]
    assert staff.post(f"/api/v1/meetings/{meeting.id}/minutes/finalise", json={}).status_code == 409

    locked = staff.put(f"/api/v1/meetings/{meeting.id}/minutes", json={"body": "Sửa lặng lẽ"})
    assert locked.status_code == 409 and "amendment_note" in locked.json["error"]["fields"]
    amended = staff.put(f"/api/v1/meetings/{meeting.id}/minutes", json={
        "body": "Nội dung đã bổ sung ý kiến của Công ty Thép", "amendment_note": "Bổ sung ý kiến bị sót"})
    assert amended.status_code == 200 and amended.json["amendments"][0]["note"] == "Bổ sung ý kiến bị sót"
    assert amended.json["chair"] == "Nguyễn Văn Hùng, Phó Chi cục trưởng"  # fields left out are kept

    response = staff.get(f"/meetings/{meeting.id}/minutes.pdf")
    _, text = read_pdf(response.data)
    text = flat(text)
    assert "SỬA ĐỔI, BỔ SUNG" in text and "Bổ sung ý kiến bị sót" in text and "DỰ THẢO" not in text
    assert "Nội dung đã bổ sung ý kiến của Công ty Thép" in text
    assert "kết thúc vào lúc 10 giờ 30 phút, ngày 27 tháng 10 năm 2025" in text
    kinds = db.session.execute(select(MinutesRevision.kind).order_by(MinutesRevision.number)).scalars().all()
    assert kinds == ["edit", "edit", "amendment"]


def test_the_api_refuses_stale_and_bad_writes_and_keeps_scope(api, world, client):
    meeting = world["october"]
    staff = api(world["organiser"])
    url = f"/api/v1/meetings/{meeting.id}/minutes"
    assert staff.get(url).json == {**staff.get(url).json, "body": "", "revision": 0, "status": "draft"}
    assert staff.put(url, json={"body": "Một", "base_revision": 0}).status_code == 200
    stale = staff.put(url, json={"body": "Hai", "base_revision": 0})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "conflict"
    assert "base_revision" in stale.json["error"]["fields"]
    assert staff.put(url, json={"body": "Hai"}, headers={"If-Match": f'"minutes-{meeting.id}-r0"'}).status_code == 409
    assert staff.put(url, json={"body": "Hai"}, headers={"If-Match": f'"minutes-{meeting.id}-r1"'}).status_code == 200
    assert staff.get(url).json["body"] == "Hai"

    for bad in ({}, {"body": 5}, {"body": "x" * 100_001}, {"body": "x", "closing_time": "25:00"},
                {"body": "x", "chair": "y" * 256}, {"body": "x", "base_revision": "1"}, [1, 2]):
        answer = staff.put(url, json=bad)
        assert answer.status_code == 422, (bad, answer.json)
    assert staff.put(url, data="{not json", headers={"Content-Type": "application/json"}).status_code in (400, 422)
    assert staff.put(url, json={"body": "Có NUL\x00 ở giữa"}).json["body"] == "Có NUL ở giữa"

    assert api(world["other_branch"]).put(url, json={"body": "x"}).status_code == 404
    assert api(world["coffee_user"]).put(url, json={"body": "x"}).status_code == 403
    assert api(world["coffee_user"]).get(url).status_code == 404  # a draft is the office's own
    assert staff.put("/api/v1/meetings/999999/minutes", json={"body": "x"}).status_code == 404
    assert client.put(url, json={"body": "x"}).status_code == 401

    cancelled = scheduling.create_meeting(title="Họp bị hủy", unit=world["october"].unit,
                                          start=datetime(2025, 11, 3, 8, tzinfo=office_zone()),
                                          duration_minutes=60, location="Phòng họp")
    cancelled.status = "cancelled"
    db.session.commit()
    assert staff.put(f"/api/v1/meetings/{cancelled.id}/minutes", json={"body": "x"}).status_code == 422


def test_the_pdf_takes_a_bearer_token_or_a_session(api, client, world):
    path = f"/meetings/{world['october'].id}/minutes.pdf"
    assert api(world["manager"]).get(path).status_code == 200
    assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    anonymous = client.get(path)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert api(world["other_branch"]).get(path).status_code == 404
    assert api(world["manager"]).get("/meetings/2147483647/minutes.pdf").status_code == 404


def test_an_unchanged_pdf_comes_from_the_cache_and_answers_304(api, world, monkeypatch):
    rendered = []
    real = minutes_pdf.html_to_pdf
    monkeypatch.setattr(minutes_pdf, "html_to_pdf", lambda html, **kw: rendered.append(1) or real(html, **kw))
    staff = api(world["organiser"])
    path = f"/meetings/{world['october'].id}/minutes.pdf"
    first = staff.get(path)
    etag = first.headers["ETag"]
    second = staff.get(path)
    assert second.data == first.data and second.headers["ETag"] == etag and len(rendered) == 1
    assert staff.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert staff.get(path, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert len(rendered) == 1

    # What the PDF prints changes: the issue's status, the minutes, a business's name.
    issue = world["issue"]
    issue_services.transition(issue, to="escalated", actor=world["organiser"], note="Vượt thẩm quyền")
    db.session.commit()
    after_issue = staff.get(path, headers={"If-None-Match": etag})
    assert after_issue.status_code == 200 and after_issue.headers["ETag"] != etag and len(rendered) == 2
    assert "Đang giải quyết tại: Cục Hải quan TP. Hồ Chí Minh" in flat(read_pdf(after_issue.data)[1])
    staff.put(f"/api/v1/meetings/{world['october'].id}/minutes", json={"body": "Mới viết"})
    world["coffee"].name = "Công ty TNHH Cà phê Lâm Đồng"
    db.session.commit()
    latest = staff.get(path)
    assert "Cà phê Lâm Đồng" in read_pdf(latest.data)[1] and len(rendered) == 3
    # The manager sees the same issues: the same document, from the cache.
    assert api(world["manager"]).get(path).headers["ETag"] == latest.headers["ETag"] and len(rendered) == 3
    kept = db.session.execute(select(func.count()).select_from(MinutesPdf)).scalar_one()
    assert kept <= services.CACHED_VARIANTS


def test_a_business_reads_final_minutes_with_its_own_issues_and_people_only(api, world, units):
    meeting = world["october"]
    staff = api(world["organiser"])
    issue_services.create_issue(title="Kiểm tra chuyên ngành thép cuộn", business=world["steel"], channel="meeting",
                                topic=db.session.merge(world["issue"].topic), unit=units["HCM-A"],
                                actor=world["organiser"], meeting=meeting)
    coffee_person, steel_person = world["coffee"].contacts[0], world["steel"].contacts[0]
    attendance.check_in(meeting, coffee_person)
    attendance.check_in(meeting, steel_person)
    attendance.add_official(meeting, world["organiser"], role="Thư ký")
    db.session.commit()
    path = f"/meetings/{meeting.id}/minutes.pdf"
    owner = api(world["coffee_user"])
    assert owner.get(path).status_code == 404  # not final yet
    staff.put(f"/api/v1/meetings/{meeting.id}/minutes", json={"body": "Nội dung", "chair": "Ông Hùng",
                                                              "secretary": "Bà Trang"})
    staff.post(f"/api/v1/meetings/{meeting.id}/minutes/finalise", json={})

    _, staff_text = read_pdf(staff.get(path).data)
    assert "Kiểm tra chuyên ngành thép cuộn" in staff_text and "Lê Văn Cường" in staff_text
    assert "Trần Thị Ngọc" in staff_text and "Nguyễn Thị Mai" in staff_text and "Có mặt" in staff_text
    _, owner_text = read_pdf(owner.get(path).data)
    assert "Áp mã HS cho máy rang cà phê" in owner_text and "Trần Thị Ngọc" in owner_text
    assert "Nguyễn Thị Mai" in owner_text  # the officials
    assert "Kiểm tra chuyên ngành thép cuộn" not in owner_text and "Lê Văn Cường" not in owner_text
    assert "Thép Phương Nam" not in owner_text


def test_final_minutes_are_mailed_with_the_pdf_attached(api, world, smtp_server, app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    meeting = world["october"]
    attendance.check_in(meeting, world["coffee"].contacts[0])
    attendance.check_in(meeting, world["steel"].contacts[0], attendance="absent")
    attendance.add_official(meeting, world["organiser"], role="Thư ký")
    db.session.commit()
    staff = api(world["organiser"])
    url = f"/api/v1/meetings/{meeting.id}/minutes"
    assert staff.post(f"{url}/send").status_code == 409  # not final
    staff.put(url, json={"body": "Nội dung", "chair": "Ông Hùng", "secretary": "Bà Trang"})
    staff.post(f"{url}/finalise", json={})
    before = db.session.execute(select(func.max(OutboxMessage.id))).scalar() or 0
    sent = staff.post(f"{url}/send")
    assert sent.status_code == 200 and sent.json == {"recipients": 3}
    messages = db.session.execute(select(OutboxMessage).where(OutboxMessage.id > before)).scalars().all()
    # Each officer gets the version their own scope allows; each business its own.
    assert sorted(m.recipients for m in messages) == [["bao@haiquan.example.vn"], ["mai@haiquan.example.vn"],
                                                      ["ngoc@caphe.example.vn"]]
    assert all(m.attachments[0].content_type == "application/pdf" for m in messages)
    send_pending()
    received = {message["To"]: message for message in smtp_server.messages}
    to_business = received["ngoc@caphe.example.vn"]
    assert "Cà phê sáng cùng doanh nghiệp" in to_business["Subject"]
    attachment = next(to_business.iter_attachments())
    assert attachment.get_filename().startswith("bien-ban-") and "Áp mã HS" in read_pdf(attachment.get_content())[1]


def test_a_long_issue_table_breaks_across_pages_with_its_header_repeated(app, world, topics, units):
    meeting = world["october"]
    for n in range(200):
        issue_services.create_issue(title=f"Vướng mắc số {n:03d} về thủ tục", business=world["steel"],
                                    channel="meeting", topic=topics["procedure"], unit=units["HCM-A"],
                                    actor=world["organiser"], meeting=meeting)
    services.save_minutes(meeting, actor=world["organiser"], body="Dài " * 3000, closing_time=time(11, 0))
    db.session.commit()
    reader, text = read_pdf(services.render_pdf(meeting, world["organiser"]))
    pages = [page.extract_text() for page in reader.pages]
    with_rows = [p for p in pages if "Vướng mắc số" in p]
    assert len(with_rows) >= 5
    assert all("Nội dung vướng mắc" in flat(p) for p in with_rows)  # the header row on every page
    assert all(f"Vướng mắc số {n:03d}" in text for n in range(200))
    assert top_centre_texts(reader)[1:] == [str(n) for n in range(2, len(pages) + 1)] and "CHỦ TRÌ" in pages[-1]


def test_demo_minutes(app, world):
    from dialogue_app.demo.minutes import seed_demo_minutes

    count = seed_demo_minutes(now=datetime(2025, 11, 1, tzinfo=office_zone()))
    db.session.commit()
    assert count == 2
    october = services.get_minutes(world["october"])
    september = services.get_minutes(world["september"])
    assert september.status == "final" and october.status == "draft"
    _, text = read_pdf(services.render_pdf(world["september"], world["organiser"]))
    assert "Thủ tục hoàn thuế nguyên liệu chậm" in flat(text) and "Phó Chi cục trưởng" in text


def test_dates_in_words_follow_the_decree():
    assert minutes_pdf.date_words(date(2026, 2, 5)) == "ngày 05 tháng 02 năm 2026"
    assert minutes_pdf.date_words(date(2026, 10, 26)) == "ngày 26 tháng 10 năm 2026"
    assert minutes_pdf.date_words(date(2026, 3, 9)) == "ngày 09 tháng 3 năm 2026"
    assert minutes_pdf.time_words(time(8, 5)) == "8 giờ 05 phút" and "……" in minutes_pdf.time_words(None)
    assert minutes_pdf.weekday(date(2026, 10, 26)) == "Thứ Hai"


def test_save_minutes_rejects_unknown_fields(app, world):
    with pytest.raises(TypeError):
        services.save_minutes(world["october"], actor=None, title="x")
    assert services.suggested_place_name(world["october"].unit) == "TP. Hồ Chí Minh"


def test_finalise_amend_and_send_from_the_page(client, login, world):
    meeting = world["october"]
    world["organiser"].language = "en"  # the messages below are read in English
    db.session.commit()
    login(world["organiser"])
    client.post(f"/meetings/{meeting.id}/minutes", data=form_data(chair="", secretary=""))
    refused = client.post(f"/meetings/{meeting.id}/minutes/finalise", data={"base_revision": "1"},
                          follow_redirects=True).get_data(as_text=True)
    assert "Name the chair and the secretary before finalising." in refused
    client.post(f"/meetings/{meeting.id}/minutes", data=form_data(base_revision="1"))
    stale = client.post(f"/meetings/{meeting.id}/minutes/finalise", data={"base_revision": "1"},
                        follow_redirects=True).get_data(as_text=True)
    assert "revision 2" in stale and services.get_minutes(meeting).status == "draft"
    done = client.post(f"/meetings/{meeting.id}/minutes/finalise", data={"base_revision": "2"},
                       follow_redirects=True).get_data(as_text=True)
    assert "The minutes are final." in done and "Save the amendment" in done

    silent = client.post(f"/meetings/{meeting.id}/minutes", data=form_data(base_revision="2", body="Đổi thầm"))
    assert silent.status_code == 409 and "Say what it changes and why." in silent.get_data(as_text=True)
    amended = client.post(f"/meetings/{meeting.id}/minutes", data=form_data(
        base_revision="2", body="Đổi có lý do", amendment_note="Sửa lỗi chính tả"), follow_redirects=True)
    assert "Amendment saved as revision 3." in amended.get_data(as_text=True)

    sent = client.post(f"/meetings/{meeting.id}/minutes/send", follow_redirects=True).get_data(as_text=True)
    assert "The minutes were put in the outbox for 1 recipient." in sent  # the department's manager
    assert services.get_minutes(meeting).sent_at is not None


def test_the_meeting_page_section_and_who_may_open_the_page(app, client, login, world):
    from flask import render_template_string
    from flask_login import login_user

    meeting = world["october"]
    world["organiser"].language = world["coffee_user"].language = "en"
    db.session.commit()
    for user, expected in ((world["organiser"], "Write the minutes"), (world["coffee_user"], "not final yet")):
        with app.test_request_context():
            login_user(user)
            html = render_template_string('{% include "minutes/_meeting_section.html" %}', meeting=meeting)
            assert expected in html
    login(world["coffee_user"])
    assert client.get(f"/meetings/{meeting.id}/minutes").status_code == 404
    assert client.get(f"/meetings/{meeting.id}/minutes.pdf").status_code == 404


# -- The cached PDF remembered by each server (issue 19: a cache hit under 5 ms at p95) ----------------------------

def remember_for_an_hour(app):
    """Only a committed change, never the clock, can make the server ask the database again."""
    app.extensions["minutes_pdfs"].changes.max_age = 3600


def final_minutes(api, world, body="Nội dung đã chốt"):
    staff = api(world["organiser"])
    meeting = world["october"]
    staff.put(f"/api/v1/meetings/{meeting.id}/minutes", json={"body": body, "chair": "Ông Hùng",
                                                              "secretary": "Bà Trang"})
    assert staff.post(f"/api/v1/meetings/{meeting.id}/minutes/finalise", json={}).status_code == 200
    return f"/meetings/{meeting.id}/minutes.pdf"


def test_a_remembered_pdf_asks_the_database_only_whether_the_person_is_still_signed_in(app, client, login, world,
                                                                                        count_queries):
    remember_for_an_hour(app)
    entered_flask = []
    app.before_request(lambda: entered_flask.append(1))
    login(world["organiser"])
    path = f"/meetings/{world['october'].id}/minutes.pdf"
    first = client.get(path)
    assert first.status_code == 200 and first.content_type == "application/pdf"
    entered_flask.clear()
    with count_queries() as counted:
        again = client.get(path)
        browser_again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Content-Disposition"] == first.headers["Content-Disposition"]
    assert browser_again.status_code == 304 and browser_again.headers["ETag"] == first.headers["ETag"]
    assert counted.n == 2 and entered_flask == []  # the server-side session, once per request, ahead of Flask
    for name, value in first.headers.items():
        if name != "Set-Cookie":
            assert again.headers[name] == value, name


def test_an_ended_session_is_refused_at_once_though_the_pdf_is_remembered(app, client, login, world):
    remember_for_an_hour(app)
    login(world["organiser"])
    path = f"/meetings/{world['october'].id}/minutes.pdf"
    assert client.get(path).status_code == 200
    auth_services.end_sessions(world["organiser"])
    db.session.commit()
    refused = client.get(path)
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]


def test_a_meeting_number_in_other_digits_is_not_found_not_an_error(app, client, login, world):
    """A WSGI server hands PATH_INFO over as latin-1: "%B2" arrives as "²", which isdigit() takes for a digit
    and int() refuses. The fast path runs before Flask, where no error page would catch it."""
    remember_for_an_hour(app)
    login(world["organiser"])
    assert client.get(f"/meetings/{world['october'].id}/minutes.pdf").status_code == 200  # the fast path armed
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    for odd in ("\xb2", "\xb9", "1\xb3", "9" * 30):  # "²", "¹", "1³", and a number no meeting has
        environ = EnvironBuilder(path="/meetings/1/minutes.pdf",
                                 headers={"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={cookie}"}).get_environ()
        environ["PATH_INFO"] = f"/meetings/{odd}/minutes.pdf"
        _, status, _ = run_wsgi_app(app.wsgi_app, environ, buffered=True)
        assert status.startswith("404"), (odd, status)


def test_a_business_not_invited_is_refused_though_an_invited_ones_pdf_is_remembered(app, api, world, units,
                                                                                     make_business, make_user):
    remember_for_an_hour(app)
    stranger = make_user("business", business=make_business(units["HCM-A"], name="Công ty TNHH Gỗ Bình Dương"))
    path = final_minutes(api, world)
    owner = api(world["coffee_user"])
    assert owner.get(path).status_code == 200 and owner.get(path).status_code == 200
    assert api(stranger).get(path).status_code == 404
    # Uninvited: refused at once, though its last answer was remembered.
    scheduling.uninvite_from_series(world["series"], world["coffee"])
    db.session.commit()
    assert owner.get(path).status_code == 404


def test_a_change_to_the_minutes_is_served_at_once(app, api, world):
    remember_for_an_hour(app)
    staff = api(world["organiser"])
    meeting = world["october"]
    path = f"/meetings/{meeting.id}/minutes.pdf"
    staff.put(f"/api/v1/meetings/{meeting.id}/minutes", json={"body": "Bản đầu tiên"})
    first = staff.get(path)
    assert "Bản đầu tiên" in read_pdf(first.data)[1]
    staff.put(f"/api/v1/meetings/{meeting.id}/minutes", json={"body": "Bản sửa lại", "base_revision": 1})
    changed = staff.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert "Bản sửa lại" in read_pdf(changed.data)[1]


def test_a_change_through_one_server_is_served_at_once_by_the_other(app, api, world, another_app, redis_url):
    app.config.update(REDIS_URL=redis_url)
    app.extensions["minutes_pdfs"].changes.redis_url = redis_url
    other = another_app(REDIS_URL=redis_url, MINUTES_PDF_CACHE_SECONDS=3600)
    staff = api(world["organiser"])
    meeting = world["october"]
    path = f"/meetings/{meeting.id}/minutes.pdf"
    staff.put(f"/api/v1/meetings/{meeting.id}/minutes", json={"body": "Bản đầu tiên"})
    there = other.test_client()
    headers = {"Authorization": f"Bearer {staff.token}"}
    etag = there.get(path, headers=headers).headers["ETag"]
    began = monotonic()
    while not other.extensions["minutes_pdfs"].changes.listening and monotonic() - began < 5:
        sleep(0.01)
    assert other.extensions["minutes_pdfs"].changes.listening, "the other server never subscribed"
    assert there.get(path, headers={**headers, "If-None-Match": etag}).status_code == 304

    staff.put(f"/api/v1/meetings/{meeting.id}/minutes", json={"body": "Bản sửa lại", "base_revision": 1})
    began = monotonic()
    while there.get(path, headers={**headers, "If-None-Match": etag}).status_code == 304:
        assert monotonic() - began < 1, "the other server still answers 304 for the old minutes"
        sleep(0.01)
    assert "Bản sửa lại" in read_pdf(there.get(path, headers=headers).data)[1]


def test_a_business_s_copy_does_not_say_that_no_issue_was_raised_when_others_raised_some(api, world):
    meeting = world["october"]  # Công ty Cà phê raised an issue there; Thép Phương Nam raised none
    staff = api(world["organiser"])
    staff.put(f"/api/v1/meetings/{meeting.id}/minutes", json={"body": "Nội dung", "chair": "Ông Hùng",
                                                              "secretary": "Bà Trang"})
    staff.post(f"/api/v1/meetings/{meeting.id}/minutes/finalise", json={})
    path = f"/meetings/{meeting.id}/minutes.pdf"
    answer = api(world["steel_user"]).get(path)
    assert answer.status_code == 200
    _, steel_text = read_pdf(answer.data)
    assert "Công ty Cổ phần Thép Phương Nam không nêu vướng mắc, kiến nghị nào tại cuộc họp" in steel_text
    assert "Không có vướng mắc, kiến nghị nào được ghi nhận" not in steel_text
    _, coffee_text = read_pdf(api(world["coffee_user"]).get(path).data)
    assert "Áp mã HS cho máy rang cà phê" in coffee_text and "Bản trích gửi" in coffee_text
    _, staff_text = read_pdf(staff.get(path).data)
    assert "Bản trích" not in staff_text


def test_final_minutes_do_not_change_behind_their_readers_backs(api, world, client, login):
    """Review of the attacker's walk: people added at the door and an issue tied to the meeting after the minutes
    were final changed the final PDF, its revision unchanged."""
    path = final_minutes(api, world)
    meeting = world["october"]
    staff = api(world["organiser"])
    before = read_pdf(staff.get(path).data)[1]
    refused = staff.post(f"/api/v1/meetings/{meeting.id}/attendees", json={"name": "Người thêm sau", "present": True})
    assert refused.status_code == 409 and "đã hoàn tất" in refused.json["error"]["message"]
    login(world["organiser"])
    page = client.post(f"/meetings/{meeting.id}/attendance/walk-in", data={"name": "Người thêm sau"},
                       follow_redirects=True).get_data(as_text=True)
    assert "đã hoàn tất" in page
    later = staff.post("/api/v1/issues", json={
        "title": "Vướng mắc ghi nhận sau khi chốt biên bản", "business_id": world["coffee"].id, "channel": "meeting",
        "topic": "tariff", "unit": "HCM-A", "meeting_id": meeting.id})
    assert later.status_code == 201  # followed in the issue list
    after = read_pdf(staff.get(path).data)[1]
    assert "Người thêm sau" not in after and "ghi nhận sau khi chốt" not in flat(after)
    assert flat(after) == flat(before)
