"""Issue 15: what an independent probe found, each with the test that would have caught it."""

import io
import logging
import os
import re
import stat
import threading
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from werkzeug.serving import make_server

from dialogue_app.auth.models import UserSession
from dialogue_app.calendar import services as calendar
from dialogue_app.extensions import db
from dialogue_app.issues import attachments
from dialogue_app.issues.models import Attachment
from dialogue_app.mail.models import OutboxMessage
from dialogue_app.mail.services import enqueue
from dialogue_app.pdf import html_to_pdf
from dialogue_app.scheduling import services as scheduling
from dialogue_app.scheduling.models import Series
from tests.conftest import PASSWORD
from tests.test_faults import database_away


def path_of(url: str) -> str:
    return url.replace("http://localhost", "")


# -- F3: one key per subscriber, ended with its invitation -------------------------------------------------------

@pytest.fixture
def invited_pair(units, make_business, make_user):
    first = make_business(units["HCM-A"], name="Công ty Một")
    second = make_business(units["HCM-A"], name="Công ty Hai")
    series = scheduling.create_series(title="Đối thoại quý", unit=units["HCM-A"], location="P1",
                                      rule="FREQ=MONTHLY;BYDAY=-1MO", first_start=datetime(2026, 1, 26, 8),
                                      duration_minutes=60, invitees=[first, second], notify=False)
    db.session.commit()
    return {"series": series, "first": first, "second": second,
            "first_user": make_user("business", business=first), "second_user": make_user("business", business=second)}


def test_each_invited_business_holds_its_own_key_ended_with_its_invitation(client, api, invited_pair):
    series = invited_pair["series"]
    first = api(invited_pair["first_user"]).get(f"/api/v1/series/{series.id}").json["feed_url"]
    second = api(invited_pair["second_user"]).get(f"/api/v1/series/{series.id}").json["feed_url"]
    shared = calendar.feed_url("series", series.id)
    db.session.commit()
    assert len({first, second, shared}) == 3
    assert all(client.get(path_of(url)).status_code == 200 for url in (first, second, shared))

    scheduling.update_series(series, invitees=[invited_pair["second"]], notify=False)
    db.session.commit()
    assert client.get(path_of(first)).status_code == 404  # at once, the fast path too
    assert client.get(path_of(first), headers={"If-None-Match": "*"}).status_code == 404
    assert client.get(path_of(second)).status_code == 200 and client.get(path_of(shared)).status_code == 200
    assert api(invited_pair["first_user"]).get(f"/api/v1/series/{series.id}").status_code == 404

    scheduling.update_series(series, invitees=[invited_pair["first"], invited_pair["second"]], notify=False)
    db.session.commit()
    again = api(invited_pair["first_user"]).get(f"/api/v1/series/{series.id}").json["feed_url"]
    assert again != first and client.get(path_of(again)).status_code == 200
    assert client.get(path_of(first)).status_code == 404  # an ended key never comes back


def test_a_business_sees_its_own_key_on_the_subscribe_page(client, login, invited_pair):
    series = invited_pair["series"]
    login(invited_pair["first_user"])
    page = client.get(f"/feeds/manage/series/{series.id}").get_data(as_text=True)
    shared = calendar.feed_url("series", series.id)
    db.session.commit()
    assert path_of(shared) not in page and "/feeds/" in page


# -- F2: sessions end on the server ------------------------------------------------------------------------------

def copy_cookies(source, target, names=("session", "remember_token")):
    for name in names:
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)


def signed_in(client) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


def test_a_copied_session_cookie_stops_working_at_sign_out(app, client, login, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    login(user)
    thief = app.test_client()
    copy_cookies(client, thief, names=("session",))
    assert signed_in(thief)
    client.post("/logout")
    assert not signed_in(thief) and not signed_in(client)


def test_the_remember_cookie_alone_signs_in_again_only_until_sign_out(app, client, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    returning = app.test_client()
    copy_cookies(client, returning, names=("remember_token",))
    assert signed_in(returning)  # the browser was closed and opened again: still signed in
    stolen = app.test_client()
    copy_cookies(client, stolen, names=("remember_token",))
    client.post("/logout")
    assert not signed_in(stolen)


def test_a_new_password_set_by_an_admin_ends_every_session_and_token(app, client, login, api, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    admin = make_user("admin")
    login(user)
    token = api(user)
    assert signed_in(client) and token.get("/api/v1/units").status_code == 200
    answer = api(admin).patch(f"/api/v1/users/{user.id}", json={"password": "a brand new passphrase"})
    assert answer.status_code == 200 and "password" not in answer.json
    assert not signed_in(client)
    assert token.get("/api/v1/units").status_code == 401
    assert client.post("/login", data={"email": user.email, "password": "a brand new passphrase"}).status_code == 302


@pytest.mark.parametrize("change", [{"role": "manager"}, {"unit": "HCM-B"}, {"active": False}])
def test_a_new_role_unit_or_deactivation_ends_every_session(app, client, login, api, make_user, units, change):
    user = make_user("organiser", units["HCM-A"])
    login(user)
    token = api(user)
    assert api(make_user("admin")).patch(f"/api/v1/users/{user.id}", json=change).status_code == 200
    assert not signed_in(client) and token.get("/api/v1/units").status_code == 401


def test_a_name_change_ends_nothing(app, client, login, api, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    login(user)
    answer = api(make_user("admin")).patch(f"/api/v1/users/{user.id}", json={"name": "Tên mới"})
    assert answer.status_code == 200 and answer.json["name"] == "Tên mới" and signed_in(client)


def test_the_admin_page_setting_a_password_ends_the_old_sessions(app, client, login, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    other = app.test_client()
    other.post("/login", data={"email": user.email, "password": PASSWORD})
    assert signed_in(other)
    login(make_user("admin"))
    answer = client.post(f"/admin/users/{user.id}", data={
        "email": user.email, "name": user.name, "role": "organiser", "unit": "HCM-A", "language": "vi",
        "active": "y", "password": "another long password"})
    assert answer.status_code == 302
    assert not signed_in(other)


def test_changing_my_password_ends_my_other_sessions_and_tokens_not_this_one(app, client, api, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    laptop = app.test_client()
    laptop.post("/login", data={"email": user.email, "password": PASSWORD})
    script, this = api(user), api(user)
    wrong = this.put("/api/v1/users/me/password", json={"current_password": "nope", "new_password": "x" * 12})
    assert wrong.status_code == 422 and "current_password" in wrong.json["error"]["fields"]
    answer = this.put("/api/v1/users/me/password",
                      json={"current_password": PASSWORD, "new_password": "my own new passphrase"})
    assert answer.status_code == 204
    assert this.get("/api/v1/units").status_code == 200
    assert script.get("/api/v1/units").status_code == 401 and not signed_in(laptop)


def test_each_person_sees_their_sessions_and_ends_one(app, client, login, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    phone = app.test_client()
    phone.post("/login", data={"email": user.email, "password": PASSWORD},
               headers={"User-Agent": "PhoneBrowser/1.0 (Android)"})
    login(user)
    page = client.get("/account/sessions").get_data(as_text=True)
    assert "PhoneBrowser/1.0 (Android)" in page and "Thiết bị này" in page
    ended = re.search(r'action="(/account/sessions/\d+/end)"', page).group(1)
    assert client.post(ended).status_code == 302
    assert not signed_in(phone) and signed_in(client)
    assert "PhoneBrowser/1.0 (Android)" not in client.get("/account/sessions").get_data(as_text=True)
    stranger = make_user("organiser", units["HCM-A"])
    other = app.test_client()
    other.post("/login", data={"email": stranger.email, "password": PASSWORD})
    for row in db.session.execute(select(UserSession).where(UserSession.user_id == stranger.id)).scalars():
        assert client.post(f"/account/sessions/{row.id}/end").status_code == 404
    assert signed_in(other)


def test_changing_my_password_on_the_page(app, client, login, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    other = app.test_client()
    other.post("/login", data={"email": user.email, "password": PASSWORD})
    login(user)
    bad = client.post("/account/password", data={"current_password": "wrong", "new_password": "x" * 12})
    assert bad.status_code == 422 and signed_in(other)
    good = client.post("/account/password", data={"current_password": PASSWORD,
                                                  "new_password": "a long new password"})
    assert good.status_code == 302 and signed_in(client) and not signed_in(other)


# -- O1: internal notes and what the business is told ------------------------------------------------------------

def test_a_business_reads_the_message_never_the_note_nor_an_officers_email(client, login, api, units, topics,
                                                                           make_user, make_business):
    business = make_business(units["HCM-A"], name="Công ty Sao Việt")
    officer = make_user("organiser", units["HCM-A"], email="mai.officer@haiquan.example.vn", name="Nguyễn Thị Mai")
    owner = make_user("business", business=business)
    staff = api(officer)
    issue = staff.post("/api/v1/issues", json={
        "title": "Vướng mắc mã HS", "description": "", "business_id": business.id, "channel": "zalo",
        "topic": "tariff", "unit": "HCM-A"}).json
    due = (datetime.now().date().replace(year=datetime.now().year + 1)).isoformat()
    moved = staff.post(f"/api/v1/issues/{issue['id']}/transitions", json={
        "to": "assigned", "assignee": officer.email, "due_date": due,
        "note": "Doanh nghiệp này hay khiếu nại, xử lý cẩn thận", "message": "Chúng tôi đã tiếp nhận vướng mắc."})
    assert moved.status_code == 200, moved.json
    staff_view = staff.get(f"/api/v1/issues/{issue['id']}").json
    assert staff_view["history"][-1]["note"].startswith("Doanh nghiệp này")
    assert staff_view["history"][-1]["message"] == "Chúng tôi đã tiếp nhận vướng mắc."

    business_view = api(owner).get(f"/api/v1/issues/{issue['id']}")
    text = business_view.get_data(as_text=True)
    assert "hay khiếu nại" not in text and "mai.officer@" not in text and "haiquan.example.vn" not in text
    assert business_view.json["history"][-1]["message"] == "Chúng tôi đã tiếp nhận vướng mắc."
    assert business_view.json["history"][-1]["note"] == "" and business_view.json["assignee"] is None

    login(owner)
    page = client.get(f"/issues/{issue['id']}").get_data(as_text=True)
    assert "Chúng tôi đã tiếp nhận vướng mắc." in page
    assert "hay khiếu nại" not in page and "mai.officer@" not in page
    client.post("/logout")
    login(officer)
    page = client.get(f"/issues/{issue['id']}").get_data(as_text=True)
    assert "hay khiếu nại" in page and "Chúng tôi đã tiếp nhận vướng mắc." in page


# -- W2: no log line carries a secret ----------------------------------------------------------------------------

@pytest.fixture
def served(app):
    """The app behind werkzeug's real server (the one `flask run` uses), in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310  (http to the test server)
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_request_logs_of_the_server_carry_no_feed_screen_or_rsvp_key(app, served, caplog, invited_pair):
    feed = calendar.feed_url("series", invited_pair["series"].id)
    db.session.commit()
    token = feed.rsplit("/", 1)[1].removesuffix(".ics")
    keys = [token, "Zm9vYmFyYmF6cXV4cXV1eA-display", "eyJzIjoxfQ.aXyZ12.signature-of-rsvp"]
    with caplog.at_level(logging.INFO):
        assert fetch(served + f"/feeds/{token}.ics") == 200
        assert fetch(served + f"/display/{keys[1]}") == 404
        fetch(served + f"/rsvp/{keys[2]}")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/feeds/[redacted].ics" in logged and "/display/[redacted]" in logged  # the lines are there...
    assert not any(key in logged for key in keys)  # ...without the keys


def test_the_error_log_carries_no_key(app, client, caplog, monkeypatch):
    def broken(token):
        raise RuntimeError(f"failed on /feeds/{token}.ics")

    monkeypatch.setattr(calendar, "token_target", broken)
    secret = "S3cretFeedKeyThatMustNotBeLogged"
    with caplog.at_level(logging.INFO):
        assert client.get(f"/feeds/{secret}.ics").status_code == 500
    assert caplog.records and all(secret not in caplog.text for _ in [0])
    for record in caplog.records:
        assert secret not in record.getMessage() and secret not in (record.exc_text or "")


# -- W3: control characters stop at the door, and never reach ICS, a mail header or a PDF ------------------------

CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SERIES_FORM = {
    "kind": "dialogue", "unit": "HCM-A", "preset": "last_weekday", "weekday": "MO", "monthday": "15",
    "start_date": "2026-01-26", "start_time": "08:00", "duration_minutes": "120", "holiday_policy": "keep",
    "end": "never",
}


def test_a_word_paste_is_cleaned_on_the_page_form(client, login, make_user, units):
    login(make_user("organiser", units["HCM-A"]))
    answer = client.post("/series/new", data={**SERIES_FORM, "title": "Cà phê\x0bsáng\x1b[31m",
                                              "location": "Hội trường\x00 tầng 2\x7f"})
    assert answer.status_code == 302
    series = db.session.execute(select(Series)).scalar_one()
    assert series.title == "Cà phê\nsáng[31m" and series.location == "Hội trường tầng 2"


def test_a_word_paste_is_cleaned_in_the_api(api, make_user, units):
    caller = api(make_user("organiser", units["HCM-A"]))
    answer = caller.post("/api/v1/series", json={
        "title": "Đối thoại\x0bquý\x07", "unit": "HCM-A", "location": "P\x0c1", "rrule": "FREQ=MONTHLY;BYDAY=-1MO",
        "dtstart": "2026-01-26T08:00", "duration_minutes": 60})
    assert answer.status_code == 201, answer.json
    assert answer.json["title"] == "Đối thoại\nquý" and answer.json["location"] == "P\n1"


def test_stored_control_characters_never_reach_a_feed_or_a_mail_header(client, units, make_business):
    business = make_business(units["HCM-A"], name="Công ty\x0b Một")
    series = scheduling.create_series(title="Đối thoại\x0bquý\x1b", unit=units["HCM-A"], location="P\x0c1",
                                      rule="FREQ=MONTHLY;BYDAY=-1MO", first_start=datetime(2026, 1, 26, 8),
                                      duration_minutes=60, invitees=[business], notify=False)
    db.session.commit()
    feed = client.get(path_of(calendar.feed_url("series", series.id)))
    assert feed.status_code == 200 and not CONTROLS.search(feed.data)
    assert b"SUMMARY:\xc4\x90\xe1\xbb\x91i tho\xe1\xba\xa1i\\nqu\xc3\xbd" in feed.data.replace(b"\r\n ", b"")
    enqueue(to=["a@example.vn"], subject="Mời họp\x0b\x1bngày mai", text="x")
    db.session.commit()
    message = db.session.execute(select(OutboxMessage)).scalars().all()[-1]
    assert not CONTROLS.search(message.subject.encode())


def test_no_control_character_reaches_a_printed_page(app):
    data = html_to_pdf("<p>Biên bản\x0bđối thoại\x1b[0m\x07 ngày 26</p>", static_folder=app.static_folder)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "Biên bản" in text and not CONTROLS.search(text.encode())


# -- Smaller findings --------------------------------------------------------------------------------------------

def test_readyz_says_503_when_the_database_does_not_answer_and_healthz_stays_up(client):
    assert client.get("/readyz").status_code == 200 and client.get("/readyz").json["database"] == "ok"
    with database_away():
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.headers["Retry-After"] == "30"
        assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_a_display_screen_link_uses_the_public_address(app, client, login, make_user, units):
    app.config["BASE_URL"] = "https://dialogue.haiquan.example.vn"
    login(make_user("manager", units["HCM-A"]))
    page = client.post("/reports/screens", data={"unit": "HCM-A", "name": "Sảnh chờ"}).get_data(as_text=True)
    assert "https://dialogue.haiquan.example.vn/display/" in page and "http://localhost/display" not in page


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.parametrize(("given", "offered"), [
    ("hoa-don.exe", "hoa-don.exe.pdf"), ("bien-ban", "bien-ban.pdf"), ("to-khai.PDF", "to-khai.PDF"),
    ("anh.pdf.html", "anh.pdf.html.pdf"),
])
def test_a_download_is_named_for_its_real_type(client, login, units, topics, make_user, make_business, given, offered):
    business = make_business(units["HCM-A"])
    login(make_user("organiser", units["HCM-A"]))
    answer = client.post("/issues/new", data={
        "tax_code": business.tax_code, "title": "Hồ sơ", "description": "", "topic": "origin", "channel": "phone",
        "unit": "HCM-A", "file": (io.BytesIO(PDF_BYTES), given)})
    assert answer.status_code == 302
    attachment = db.session.execute(select(Attachment)).scalar_one()
    with client.get(f"/issues/{attachment.issue_id}/attachments/{attachment.id}") as download:
        assert download.status_code == 200 and download.mimetype == "application/pdf"
        assert download.headers["Content-Disposition"].endswith(f"filename={offered}")


def test_the_database_backups_and_attachments_are_readable_by_their_owner_only(app, runner, client, login, units,
                                                                               topics, make_user, make_business,
                                                                               tmp_path):
    old = os.umask(0)  # as gunicorn leaves it unless told otherwise
    try:
        business = make_business(units["HCM-A"])
        login(make_user("organiser", units["HCM-A"]))
        client.post("/issues/new", data={
            "tax_code": business.tax_code, "title": "Hồ sơ", "description": "", "topic": "origin",
            "channel": "phone", "unit": "HCM-A", "file": (io.BytesIO(PDF_BYTES), "a.pdf")})
        attachment = db.session.execute(select(Attachment)).scalar_one()
        target = tmp_path / "backups" / "copy.db"
        assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    finally:
        os.umask(old)
    files = [attachments.stored_path(attachment.sha256), target]
    if db.engine.url.get_backend_name() == "sqlite":
        files.append(Path(db.engine.url.database))
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(attachments.stored_path(attachment.sha256).parent.stat().st_mode) == 0o700


def test_sending_the_same_minutes_again_says_who_has_them_and_asks(api, client, login, units, make_user):
    organiser = make_user("organiser", units["HCM-A"])
    make_user("manager", units["HCM-A"], email="giamdoc@haiquan.example.vn")
    meeting = scheduling.create_meeting(title="Đối thoại tháng", unit=units["HCM-A"],
                                        start=datetime(2026, 10, 5, 8, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")),
                                        duration_minutes=60, location="P1", kind="dialogue")
    db.session.commit()
    staff = api(organiser)
    url = f"/api/v1/meetings/{meeting.id}/minutes"
    staff.put(url, json={"body": "Nội dung", "chair": "Ông Hùng", "secretary": "Bà Trang"})
    staff.post(f"{url}/finalise", json={})
    assert staff.post(f"{url}/send").json == {"recipients": 1}
    again = staff.post(f"{url}/send")
    assert again.status_code == 409 and again.json["error"]["fields"]["again"] == ["giamdoc@haiquan.example.vn"]
    assert "giamdoc@haiquan.example.vn" in again.json["error"]["message"]
    assert db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 1
    assert staff.post(f"{url}/send", json={"again": True}).json == {"recipients": 1}

    login(organiser)
    page = client.get(f"/meetings/{meeting.id}/minutes").get_data(as_text=True)
    assert "giamdoc@haiquan.example.vn" in page and 'name="again" value="1"' in page
    refused = client.post(f"/meetings/{meeting.id}/minutes/send", follow_redirects=True).get_data(as_text=True)
    assert "giamdoc@haiquan.example.vn" in refused
    assert db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 2


# -- W1: throttled per account and source, and the real person's trusted device still gets in ------------------

def sign_in(client, email, password, address):
    return client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address})


def test_nobody_keeps_the_admin_out_by_typing_wrong_passwords(app, client, make_user):
    admin = make_user("admin", email="quantri@haiquan.example.vn")
    assert sign_in(client, admin.email, PASSWORD, "10.1.1.1").status_code == 302  # the admin's own browser
    client.post("/logout")
    attacker = app.test_client()
    for attempt in range(60):  # spread over addresses, as a botnet would
        sign_in(attacker, admin.email, "guess", f"203.0.113.{attempt // 10}")
    assert sign_in(attacker, admin.email, PASSWORD, "203.0.113.99").status_code == 429  # untrusted: waits
    assert sign_in(client, admin.email, PASSWORD, "10.1.1.1").status_code == 302  # the trusted device: in


def test_one_address_failing_does_not_lock_the_account_elsewhere(app, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    somewhere = app.test_client()
    for _ in range(10):
        sign_in(somewhere, user.email, "wrong password", "198.51.100.7")
    assert sign_in(somewhere, user.email, PASSWORD, "198.51.100.7").status_code == 429
    assert sign_in(app.test_client(), user.email, PASSWORD, "192.0.2.10").status_code == 302


def test_a_trusted_device_is_counted_on_its_own(app, client, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    assert sign_in(client, user.email, PASSWORD, "10.1.1.1").status_code == 302
    client.post("/logout")
    for _ in range(10):
        sign_in(client, user.email, "wrong password", "10.1.1.1")
    assert sign_in(client, user.email, PASSWORD, "10.1.1.1").status_code == 429
    forged = app.test_client()
    forged.set_cookie("dialogue_device", client.get_cookie("dialogue_device").value + "x")
    for _ in range(10):
        sign_in(forged, user.email, "wrong password", "10.9.9.9")
    assert sign_in(forged, user.email, PASSWORD, "10.9.9.9").status_code == 429  # a forged cookie trusts nothing


# -- Rights of higher units: "Trả lại cấp dưới" only where it can work, and a refusal says why ------------------

def test_return_to_the_lower_unit_is_offered_only_where_it_can_work(app, client, login, api, units, topics, make_user,
                                                                    make_business):
    business = make_business(units["HCM-A"])
    organiser, manager = make_user("organiser", units["HCM-A"]), make_user("manager", units["HCM"])
    issue = api(organiser).post("/api/v1/issues", json={
        "title": "Vướng mắc", "description": "", "business_id": business.id, "channel": "phone", "topic": "tariff",
        "unit": "HCM-A"}).json
    offered = 'name="target" value="returned"'
    login(organiser)
    page = client.get(f"/issues/{issue['id']}").get_data(as_text=True)
    assert offered not in page and 'name="target" value="escalated"' in page
    refused = client.post(f"/issues/{issue['id']}/transition", data={
        "target": "returned", "returned-to": "returned", "returned-version": issue["version"],
        "returned-note": "Trả lại"})
    assert refused.status_code == 409
    assert "Chỉ vướng mắc do cấp dưới chuyển lên mới được trả lại cấp dưới" in refused.get_data(as_text=True)
    client.post("/logout")

    login(manager)
    page = client.get(f"/issues/{issue['id']}").get_data(as_text=True)
    assert 'name="target"' not in page  # the department reads the branch's issue; the branch acts on it
    api(organiser).post(f"/api/v1/issues/{issue['id']}/transitions", json={"to": "escalated", "note": "Lên Cục"})
    page = client.get(f"/issues/{issue['id']}").get_data(as_text=True)
    assert offered in page
