import io
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from dialogue_app import officetime
from dialogue_app.extensions import db
from dialogue_app.issues.models import Attachment, Issue
from dialogue_app.mail.models import OutboxMessage
from dialogue_app.notifications.models import Notification
from dialogue_app.notifications.services import describe
from dialogue_app.scheduling import services as scheduling

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def setting(units, topics, make_user, make_business, login, client):
    business = make_business(units["HCM-A"], name="Công ty TNHH Điện tử Sao Việt")
    officer = make_user("organiser", units["HCM-A"], name="Nguyễn Thị Mai")
    login(officer)
    return {"business": business, "officer": officer}


def record(client, business, **overrides):
    data = {"tax_code": business.tax_code, "title": "Vướng mắc C/O mẫu D", "description": "Chi tiết",
            "topic": "origin", "channel": "phone", "unit": "HCM-A", "raised_by": "Trần Thị Ngọc"}
    data.update(overrides)
    response = client.post("/issues/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.execute(select(Issue).order_by(Issue.id.desc())).scalars().first()


def test_officer_records_an_issue_with_an_attachment_and_follows_it(client, setting):
    issue = record(client, setting["business"], file=(io.BytesIO(PNG), "ảnh chụp.png"))
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "Vướng mắc C/O mẫu D" in page and "Trần Thị Ngọc" in page and "ảnh chụp.png" in page
    attachment = db.session.execute(select(Attachment)).scalar_one()
    with client.get(f"/issues/{issue.id}/attachments/{attachment.id}") as download:
        assert download.data == PNG and download.headers["Content-Type"] == "image/png"
        assert "attachment" in download.headers["Content-Disposition"]

    due = (officetime.today() + timedelta(days=7)).isoformat()
    client.post(f"/issues/{issue.id}/transition", data={
        "target": "assigned", "assigned-to": "assigned", "assigned-version": issue.version,
        "assigned-assignee": str(setting["officer"].id), "assigned-due_date": due})
    assert db.session.get(Issue, issue.id).status == "assigned"


def test_a_disguised_file_is_refused(client, setting):
    issue = record(client, setting["business"])
    response = client.post(f"/issues/{issue.id}/attachments",
                           data={"file": (io.BytesIO(b"<script>alert(1)</script>"), "scan.pdf")},
                           follow_redirects=True)
    assert "Hãy đính kèm tệp PDF" in response.get_data(as_text=True)
    assert db.session.execute(select(Attachment)).first() is None


def test_saving_on_top_of_a_newer_version_is_refused(client, setting):
    issue = record(client, setting["business"])
    stale_version = issue.version
    due = (officetime.today() + timedelta(days=7)).isoformat()
    client.post(f"/issues/{issue.id}/transition", data={
        "target": "assigned", "assigned-to": "assigned", "assigned-version": stale_version,
        "assigned-assignee": str(setting["officer"].id), "assigned-due_date": due})
    # A second officer, still looking at the page as it was, escalates it.
    second = client.post(f"/issues/{issue.id}/transition", data={
        "target": "escalated", "escalated-to": "escalated", "escalated-version": stale_version,
        "escalated-note": "Lên Cục"})
    assert second.status_code == 409
    assert "vừa được người khác thay đổi" in second.get_data(as_text=True)
    kept = db.session.get(Issue, issue.id)
    assert kept.status == "assigned" and kept.unit.code == "HCM-A"


def test_a_branch_follows_what_it_escalated_but_no_longer_handles_it(client, setting):
    issue = record(client, setting["business"])
    client.post(f"/issues/{issue.id}/transition", data={
        "target": "escalated", "escalated-to": "escalated", "escalated-version": issue.version,
        "escalated-note": "Lên Cục"})
    assert client.get(f"/issues/{issue.id}").status_code == 200
    again = client.post(f"/issues/{issue.id}/transition", data={
        "target": "escalated", "escalated-to": "escalated", "escalated-version": issue.version + 1,
        "escalated-note": "Lên nữa"})
    assert again.status_code == 404
    assert db.session.get(Issue, issue.id).unit.code == "HCM"


def test_list_filters_live_in_the_url_and_exports_escape_formulas(client, setting):
    record(client, setting["business"], title="=HYPERLINK(\"http://evil\")", topic="it")
    record(client, setting["business"], title="Thủ tục tạm nhập tái xuất", topic="procedure")
    page = client.get("/issues?topic=it").get_data(as_text=True)
    assert "HYPERLINK" in page and "tạm nhập" not in page
    csv_text = client.get("/issues.csv?topic=it").get_data(as_text=True)
    assert "'=HYPERLINK" in csv_text and "tạm nhập" not in csv_text
    workbook = load_workbook(io.BytesIO(client.get("/issues.xlsx").data))
    titles = [row[2] for row in workbook.active.iter_rows(min_row=2, values_only=True)]
    assert "'=HYPERLINK(\"http://evil\")" in titles
    assert client.get("/issues?from=not-a-date&overdue=banana&status=nope&page=-3").status_code == 200


def test_the_meeting_page_takes_quick_entries_and_shows_what_carries_over(client, setting, units):
    business = setting["business"]
    series = scheduling.create_series(title="Cà phê sáng", unit=units["HCM-A"], location="Hội trường",
                                      rule="FREQ=MONTHLY;BYDAY=-1MO", first_start=datetime(2026, 8, 31, 8),
                                      duration_minutes=120, invitees=[business])
    db.session.flush()
    september, _ = scheduling.meeting_for(series, date(2026, 9, 28))
    october, _ = scheduling.meeting_for(series, date(2026, 10, 26))
    db.session.commit()
    for title in ("Vướng mắc thứ nhất", "Vướng mắc thứ hai"):
        response = client.post(f"/meetings/{september.id}/issues", data={
            "business": business.tax_code, "title": title, "topic": "procedure", "raised_by": "Ông An"})
        assert response.status_code == 302 and response.headers["Location"].endswith("#quick-entry")
    page = client.get(f"/meetings/{september.id}").get_data(as_text=True)
    assert "Vướng mắc thứ nhất" in page and "Vướng mắc thứ hai" in page
    raised = db.session.execute(select(Issue).where(Issue.meeting_id == september.id)).scalars().all()
    assert {i.channel for i in raised} == {"meeting"}

    raised[0].status, raised[0].resolution = "answered", "Đã trả lời"
    db.session.commit()
    carried = client.get(f"/meetings/{october.id}").get_data(as_text=True)
    carried = carried[carried.index("Chuyển tiếp"):]
    assert "Vướng mắc thứ hai" in carried and "Vướng mắc thứ nhất" not in carried

    refused = client.post(f"/meetings/{september.id}/issues", data={"business": "", "title": "", "topic": "it"},
                          follow_redirects=True)
    assert "Hãy nhập vướng mắc doanh nghiệp nêu (ô “Vướng mắc”)." in refused.get_data(as_text=True)


def test_the_business_raises_rates_and_sees_only_its_own(client, setting, make_user, make_business, units, login):
    other = make_business(units["HCM-A"], name="Công ty khác")
    foreign = record(client, other, title="Của doanh nghiệp khác")
    client.post("/logout")
    login(make_user("business", business=setting["business"]))
    response = client.post("/issues/new", data={"title": "Chữ ký số bị lỗi", "description": "Không nộp được",
                                                "topic": "it"})
    assert response.status_code == 302
    mine = db.session.execute(select(Issue).where(Issue.title == "Chữ ký số bị lỗi")).scalar_one()
    assert mine.channel == "web" and mine.unit.code == "HCM-A"
    # The branch hears of it: its officers are notified (by mail too, by default), nobody else.
    [raised] = db.session.execute(select(Notification).where(
        Notification.user_id == setting["officer"].id)).scalars().all()
    assert raised.kind == "issue_raised" and raised.url == f"/issues/{mine.id}"
    assert "Công ty TNHH Điện tử Sao Việt đã gửi vướng mắc" in describe(raised)
    assert any(setting["officer"].email in m.recipients for m in db.session.execute(select(OutboxMessage)).scalars())
    assert client.get(f"/issues/{foreign.id}").status_code == 404
    listing = client.get("/issues").get_data(as_text=True)
    assert "Chữ ký số bị lỗi" in listing and "Của doanh nghiệp khác" not in listing
    assert client.get("/issues.csv").status_code == 404
    mine.status, mine.resolution = "answered", "Đã gia hạn chứng thư số."
    db.session.commit()
    too_long = client.post(f"/issues/{mine.id}/rating", data={"score": "5", "comment": "x" * 10_001},
                           follow_redirects=True)
    assert "10000" in too_long.get_data(as_text=True) and db.session.get(Issue, mine.id).rating is None
    client.post(f"/issues/{mine.id}/rating", data={"score": "5", "comment": "Nhanh"})
    assert db.session.get(Issue, mine.id).rating.score == 5
    # The rating's comment is the business's words: shown to it, and to staff as such, not as an internal note.
    assert "Nhận xét của doanh nghiệp:</strong> Nhanh" in client.get(f"/issues/{mine.id}").get_data(as_text=True)
    client.post("/logout")
    login(setting["officer"])
    page = client.get(f"/issues/{mine.id}").get_data(as_text=True)
    assert "Nhận xét của doanh nghiệp:</strong> Nhanh" in page and "Ghi chú nội bộ:</strong> Nhanh" not in page


def test_published_answers_are_public_and_anonymous(client, setting):
    issue = record(client, setting["business"])
    issue.status, issue.resolution = "answered", "Được chấp nhận."
    db.session.commit()
    named = client.post(f"/issues/{issue.id}/publish", data={
        "public_question": "Công ty TNHH Điện tử Sao Việt hỏi về C/O", "public_answer": "Được chấp nhận."},
        follow_redirects=True)
    assert "không được nêu tên doanh nghiệp" in named.get_data(as_text=True)
    client.post(f"/issues/{issue.id}/publish", data={
        "public_question": "Doanh nghiệp hỏi về C/O mẫu D có sai sót nhỏ", "public_answer": "Được chấp nhận."})
    client.post("/logout")
    public = client.get("/qa").get_data(as_text=True)
    assert "C/O mẫu D có sai sót nhỏ" in public and "Sao Việt" not in public


def test_an_officer_answers_a_new_issue_in_one_action_and_each_step_is_recorded(client, setting):
    issue = record(client, setting["business"])
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert page.index("<summary>Trả lời</summary>") < page.index("<summary>Phân công xử lý</summary>")  # answer first

    answered = client.post(f"/issues/{issue.id}/transition", data={
        "target": "answered", "answered-to": "answered", "answered-version": issue.version,
        "answered-resolution": "Theo Thông tư 38/2015/TT-BTC.", "answered-legal_basis": "Điều 10"},
        follow_redirects=True)
    kept = db.session.get(Issue, issue.id)
    assert kept.status == "answered" and kept.assignee == setting["officer"] and kept.due_date is not None
    assert [(e.from_status, e.to_status) for e in kept.events] == [
        (None, "new"), ("new", "assigned"), ("assigned", "in_progress"), ("in_progress", "answered")]
    text = answered.get_data(as_text=True)
    assert f"Vướng mắc #{issue.id} đã được trả lời" in text
    assert "Đã phân công, Đang xử lý" in text  # the steps taken before the answer, said


def test_an_answer_without_text_changes_nothing(client, setting):
    issue = record(client, setting["business"])
    refused = client.post(f"/issues/{issue.id}/transition", data={
        "target": "answered", "answered-to": "answered", "answered-version": issue.version,
        "answered-resolution": "  "})
    assert refused.status_code == 422
    kept = db.session.get(Issue, issue.id)
    assert kept.status == "new" and len(kept.events) == 1


def test_escalating_says_where_the_issue_went(client, setting):
    issue = record(client, setting["business"])
    escalated = client.post(f"/issues/{issue.id}/transition", data={
        "target": "escalated", "escalated-to": "escalated", "escalated-version": issue.version,
        "escalated-note": "Lên Cục"}, follow_redirects=True)
    text = escalated.get_data(as_text=True)
    assert "Mới tiếp nhận" not in text.split('class="flashes"')[1].split("</div>")[0]
    assert f"Vướng mắc #{issue.id} đã được chuyển lên {db.session.get(Issue, issue.id).unit.name}" in text


def test_the_channel_is_named_and_the_message_of_an_answer_reaches_the_business(client, setting, make_user, login):
    account = make_user("business", business=setting["business"])  # told of the answer by mail, as it chose
    issue = record(client, setting["business"], channel="phone")
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "Qua điện thoại," in page  # how the issue came in, on its page
    listing = client.get("/issues").get_data(as_text=True)
    assert "Qua điện thoại ·" in listing
    # The list's channel filter offers the ways an issue comes in (not the ways an invitation is answered).
    assert '<option value="zalo"' in listing and '<option value="portal"' not in listing

    client.post(f"/issues/{issue.id}/transition", data={
        "target": "answered", "answered-to": "answered", "answered-version": issue.version,
        "answered-resolution": "Được chấp nhận.", "answered-message": "Kính gửi Quý doanh nghiệp, xin trả lời như sau.",
        "answered-note": "Đã hỏi ý kiến Cục"})
    assert db.session.get(Issue, issue.id).status == "answered"
    [mail] = [m for m in db.session.execute(select(OutboxMessage)).scalars() if m.recipients == [account.email]]
    assert "Kính gửi Quý doanh nghiệp, xin trả lời như sau." in mail.text_body
    assert "Đã hỏi ý kiến Cục" not in mail.text_body

    client.post("/logout")
    login(account)
    seen = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "Kính gửi Quý doanh nghiệp, xin trả lời như sau." in seen and "Đã hỏi ý kiến Cục" not in seen


def test_the_quick_entry_offers_the_businesses_invited_to_a_one_off_meeting(client, setting, units, make_meeting,
                                                                           make_business):
    from dialogue_app.attendance.services import invite_to_meeting

    meeting = make_meeting(unit=units["HCM-A"], start=datetime(2027, 3, 2, 1, 0, tzinfo=officetime.office_zone()))
    invite_to_meeting(meeting, setting["business"])
    make_business(units["HCM-A"], name="Công ty không được mời")
    db.session.commit()
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    entry = page[page.index('id="quick-entry"'):]
    assert f'<option value="{setting["business"].tax_code}">Công ty TNHH Điện tử Sao Việt</option>' in entry
    assert "Công ty không được mời" not in entry


def test_a_form_sent_back_with_errors_says_the_file_must_be_chosen_again(client, setting):
    refused = client.post("/issues/new", data={
        "tax_code": "0312345999", "title": "Vướng mắc C/O", "topic": "origin", "channel": "phone", "unit": "HCM-A",
        "file": (io.BytesIO(PNG), "ảnh chụp.png")})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "ảnh chụp.png" in text and "chọn lại" in text
    assert db.session.execute(select(Issue)).first() is None


@pytest.mark.parametrize("named", [{"meeting_id": "9" * 5000}, {"meeting_id": "9" * 30}, {"meeting_id": "-1"},
                                   {"meeting_id": "1e5"}, {"interaction_id": "424242"}])
def test_an_issue_for_a_meeting_or_contact_that_is_not_there_is_refused_not_recorded_as_raised_nowhere(
        client, setting, named):
    data = {"tax_code": setting["business"].tax_code, "title": "Vướng mắc C/O mẫu D", "topic": "origin",
            "channel": "phone", "unit": "HCM-A", **named}
    refused = client.post("/issues/new", data=data)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "Không tìm thấy cuộc họp" in text
    assert db.session.execute(select(Issue)).first() is None
    # Taken off the form sent back: sending it again records the issue on its own, not the same refusal forever.
    assert 'name="meeting_id" type="hidden" value=""' in text and 'name="interaction_id" type="hidden" value=""' in text
