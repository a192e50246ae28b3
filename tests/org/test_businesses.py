from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dialogue_app import officetime
from dialogue_app.attendance import services as attendance
from dialogue_app.attendance.models import Attendee, Rsvp
from dialogue_app.extensions import db
from dialogue_app.org.models import Contact, Interaction
from dialogue_app.org.services import add_contact
from dialogue_app.scheduling import services as scheduling


@pytest.fixture
def registry(units, make_business, make_user):
    coffee = make_business(units["HCM-A"], name="Công ty Cổ phần Cà phê Đà Lạt")
    steel = make_business(units["HCM-A"], name="Công ty TNHH Thép Miền Nam")
    far = make_business(units["QN-A"], name="Công ty Cà phê Hạ Long")
    for business in (coffee, steel):
        add_contact(business, name=f"Giám đốc {business.id}", email=f"gd{business.id}@example.vn", position="Giám đốc")
    db.session.commit()
    return {"coffee": coffee, "steel": steel, "far": far, "officer": make_user("organiser", units["HCM-A"])}


def test_search_ignores_accents_and_case_and_finds_tax_codes(client, login, registry):
    login(registry["officer"])
    page = client.get("/businesses?q=ca phe").get_data(as_text=True)
    assert "Cà phê Đà Lạt" in page and "Thép" not in page
    assert "Hạ Long" not in page  # another department's business
    assert "Cà phê Đà Lạt" in client.get("/businesses?q=ĐÀ LẠT").get_data(as_text=True)
    by_code = client.get(f"/businesses?q={registry['steel'].tax_code[:6]}").get_data(as_text=True)
    assert "Thép Miền Nam" in by_code
    assert client.get("/businesses?q=%25%25%25").status_code == 200


def test_names_in_d_come_among_the_d_s_as_vietnamese_read_them(client, login, registry, make_business, units):
    make_business(units["HCM-A"], name="Công ty TNHH Điện tử Sao Việt")
    make_business(units["HCM-A"], name="Công ty TNHH Vi mạch Phương Nam")
    make_business(units["HCM-A"], name="Công ty TNHH Dệt may Bình An")
    db.session.commit()
    login(registry["officer"])
    page = client.get("/businesses").get_data(as_text=True)
    # In code point order Đ follows Z: "Điện tử" came after "Vi mạch".
    assert page.index("Dệt may Bình An") < page.index("Điện tử Sao Việt") < page.index("Vi mạch Phương Nam")


def test_api_registry_contract(api, make_user, units, registry):
    admin = api(make_user("admin"))
    created = admin.post("/api/v1/businesses", json={"tax_code": "0100109106", "name": "Công ty Mẫu",
                                                     "unit": "HCM-A"})
    assert created.status_code == 201
    assert created.json == {"id": created.json["id"], "tax_code": "0100109106", "name": "Công ty Mẫu",
                            "address": None, "unit": "HCM-A"}
    assert admin.post("/api/v1/businesses", json={"tax_code": "0100109107", "name": "x",
                                                  "unit": "HCM-A"}).status_code == 422
    assert admin.post("/api/v1/businesses", json={"tax_code": "0100109106", "name": "x",
                                                  "unit": "HCM-A"}).status_code == 409
    listed = admin.get("/api/v1/businesses?q=ca phe").json
    assert {b["name"] for b in listed["items"]} == {"Công ty Cổ phần Cà phê Đà Lạt", "Công ty Cà phê Hạ Long"}
    contact = admin.post(f"/api/v1/businesses/{created.json['id']}/contacts",
                         json={"name": "Lê Văn Bình", "email": "Binh@Example.vn", "position": "Kế toán"})
    assert contact.status_code == 201 and contact.json["email"] == "binh@example.vn"
    bad = admin.post(f"/api/v1/businesses/{created.json['id']}/contacts", json={"name": "X", "email": "not-mail"})
    assert bad.status_code == 422 and "email" in bad.json["error"]["fields"]
    # The same address again (in any case) would have every invitation mailed to it twice.
    twice = admin.post(f"/api/v1/businesses/{created.json['id']}/contacts",
                       json={"name": "B", "email": "BINH@example.vn"})
    assert twice.status_code == 422 and "Lê Văn Bình" in twice.json["error"]["fields"]["email"][0]
    detail = admin.get(f"/api/v1/businesses/{created.json['id']}").json
    assert [c["name"] for c in detail["contacts"]] == ["Lê Văn Bình"] and "feed_url" in detail
    branch = api(make_user("organiser", units["HCM-B"]))
    assert branch.get(f"/api/v1/businesses/{registry['far'].id}").status_code == 404


def test_the_business_page_tells_its_whole_story(client, login, registry, units, topics):
    login(registry["officer"])
    coffee = registry["coffee"]
    client.post(f"/businesses/{coffee.id}/interactions", data={"channel": "visit", "happened_on": "2026-10-05",
                                                               "summary": "Làm việc tại nhà máy rang xay"})
    client.post(f"/businesses/{coffee.id}/contacts", data={"name": "Phạm Thu Hà", "email": "ha@example.vn"})
    client.post(f"/businesses/{coffee.id}/contacts", data={"name": "Sai email", "email": "khong-phai-email"})
    client.post("/issues/new", data={"tax_code": coffee.tax_code, "title": "Thủ tục C/O", "topic": "origin",
                                     "channel": "phone", "unit": "HCM-A"})
    page = client.get(f"/businesses/{coffee.id}").get_data(as_text=True)
    assert "Làm việc tại nhà máy rang xay" in page and "Thủ tục C/O" in page and "Phạm Thu Hà" in page
    assert db.session.execute(select(func.count()).select_from(Contact).where(Contact.name == "Sai email")
                              ).scalar_one() == 0
    assert db.session.execute(select(Interaction.channel)).scalar_one() == "visit"


@pytest.fixture
def invited_series(registry, units):
    series = scheduling.create_series(title="Cà phê sáng", unit=units["HCM-A"], location="Hội trường",
                                      rule="FREQ=MONTHLY;BYDAY=-1MO", first_start=datetime(2026, 1, 26, 8),
                                      duration_minutes=120, invitees=[registry["coffee"]])
    db.session.commit()
    return series


def future_monday() -> date:
    day = officetime.today() + timedelta(days=40)
    return next(d for d in (day + timedelta(days=i) for i in range(60))
                if d.weekday() == 0 and (d + timedelta(days=7)).month != d.month)


def test_an_invited_contact_answers_through_the_signed_link(client, registry, invited_series):
    contact = registry["coffee"].contacts[0]
    day = future_monday()
    token = attendance.rsvp_token(contact, series=invited_series, occurrence=day)
    assert client.get(f"/rsvp/{token}").status_code == 200
    client.post(f"/rsvp/{token}", data={"answer": "declined"})
    client.post(f"/rsvp/{token}", data={"answer": "accepted", "comment": "Sẽ đến đúng giờ"})
    answers = db.session.execute(select(Rsvp)).scalars().all()
    assert [(a.contact_id, a.answer) for a in answers] == [(contact.id, "accepted")]  # the last answer counts

    forged = client.post(f"/rsvp/{token[:-3]}abc", data={"answer": "declined"})
    assert forged.status_code == 400 and "Đường dẫn không hợp lệ" in forged.get_data(as_text=True)
    stranger = registry["steel"].contacts[0]  # a real contact, but of a business not invited
    not_invited = attendance.rsvp_token(stranger, series=invited_series, occurrence=day)
    assert client.post(f"/rsvp/{not_invited}", data={"answer": "accepted"}).status_code == 400
    past = attendance.rsvp_token(contact, series=invited_series, occurrence=date(2026, 3, 30))
    over = client.post(f"/rsvp/{past}", data={"answer": "accepted"})
    assert over.status_code == 400 and "đã kết thúc" in over.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Rsvp)).scalar_one() == 1


def test_check_in_at_the_door(client, login, registry, invited_series, make_user, units):
    login(registry["officer"])
    meeting, _ = scheduling.meeting_for(invited_series, date(2026, 3, 30))
    db.session.commit()
    contact = registry["coffee"].contacts[0]
    tapped = client.post(f"/meetings/{meeting.id}/attendance/contacts/{contact.id}", data={"attendance": "present"},
                         headers={"Accept": "application/json"})
    assert tapped.status_code == 200 and tapped.json["attendance"] == "present"
    # A person of a known business that was not invited is checked in as that contact, linked to the business.
    outsider = registry["steel"].contacts[0]
    came = client.post(f"/meetings/{meeting.id}/attendance/contacts/{outsider.id}",
                       data={"attendance": "present"}, headers={"Accept": "application/json"})
    assert came.status_code == 200 and came.json["attendance"] == "present"
    client.post(f"/meetings/{meeting.id}/attendance/walk-in", data={"name": "Nhà báo", "organisation": "Báo Hải quan"})
    chair = make_user("manager", units["HCM-A"], name="Chi cục trưởng")
    client.post(f"/meetings/{meeting.id}/attendance/officials", data={"user_id": chair.id, "role": "Chủ trì"})
    attendees = {a.name: a for a in db.session.execute(select(Attendee)).scalars()}
    assert set(attendees) == {contact.name, outsider.name, "Nhà báo", "Chi cục trưởng"}
    assert (attendees[outsider.name].contact_id, attendees[outsider.name].business_id) == (
        outsider.id, registry["steel"].id)
    assert attendees["Chi cục trưởng"].role == "Chủ trì"
    page = client.get(f"/meetings/{meeting.id}/attendance").get_data(as_text=True)
    assert "Cà phê Đà Lạt: 1" in page
    sheet = client.get(f"/meetings/{meeting.id}/sign-in-sheet").get_data(as_text=True)
    assert contact.name in sheet and "DANH SÁCH KÝ TÊN" in sheet


def test_one_meeting_can_invite_one_more_business(client, login, registry, invited_series):
    login(registry["officer"])
    meeting, _ = scheduling.meeting_for(invited_series, date(2026, 3, 30))
    db.session.commit()
    client.post(f"/meetings/{meeting.id}/invitations", data={"tax_code": registry["steel"].tax_code})
    assert registry["steel"] in attendance.invited_businesses(meeting)
    other, _ = scheduling.meeting_for(invited_series, date(2026, 4, 27))
    assert registry["steel"] not in attendance.invited_businesses(other)


def test_api_attendees(api, registry, invited_series, units, make_user):
    staff = api(registry["officer"])
    meeting = staff.post(f"/api/v1/series/{invited_series.id}/occurrences/2026-03-30/meeting").json
    contact = registry["coffee"].contacts[0]
    by_contact = staff.post(f"/api/v1/meetings/{meeting['id']}/attendees",
                            json={"contact_id": contact.id, "present": True, "role": "Giám đốc"})
    assert by_contact.status_code == 201
    assert by_contact.json == {"id": by_contact.json["id"], "name": contact.name,
                               "business_id": registry["coffee"].id, "role": "Giám đốc", "present": True}
    walk_in = staff.post(f"/api/v1/meetings/{meeting['id']}/attendees",
                         json={"name": "Khách mời", "organisation": "VCCI", "present": False})
    assert walk_in.status_code == 201 and walk_in.json["present"] is False
    assert staff.post(f"/api/v1/meetings/{meeting['id']}/attendees", json={"present": True}).status_code == 422
    detail = staff.get(f"/api/v1/meetings/{meeting['id']}").json
    assert {a["name"] for a in detail["attendees"]} == {contact.name, "Khách mời"}
    steel_contact = registry["steel"].contacts[0]
    staff.post(f"/api/v1/meetings/{meeting['id']}/attendees", json={"name": steel_contact.name,
                                                                    "business_id": registry["steel"].id})
    from dialogue_app.attendance.services import invite_to_meeting
    from dialogue_app.scheduling.models import Meeting

    invite_to_meeting(db.session.get(Meeting, meeting["id"]), registry["steel"])
    db.session.commit()
    guest = api(make_user("business", business=registry["steel"]))
    seen = guest.get(f"/api/v1/meetings/{meeting['id']}").json["attendees"]
    assert {a["business_id"] for a in seen} == {registry["steel"].id}  # not who else came


def test_an_issue_can_be_raised_from_a_contact_outside_meetings(client, login, registry, topics):
    from dialogue_app.issues.models import Issue

    login(registry["officer"])
    coffee = registry["coffee"]
    client.post(f"/businesses/{coffee.id}/interactions", data={"channel": "zalo", "happened_on": "2026-11-02",
                                                               "summary": "Hỏi về hoàn thuế"})
    interaction = db.session.execute(select(Interaction)).scalar_one()
    form = client.get(f"/issues/new?tax_code={coffee.tax_code}&interaction={interaction.id}&channel=zalo")
    assert f'value="{interaction.id}"' in form.get_data(as_text=True)
    client.post("/issues/new", data={"tax_code": coffee.tax_code, "title": "Hoàn thuế chậm", "topic": "refund",
                                     "channel": "zalo", "unit": "HCM-A", "interaction_id": str(interaction.id)})
    issue = db.session.execute(select(Issue)).scalar_one()
    assert issue.interaction_id == interaction.id and issue.channel == "zalo"


def test_the_sign_in_sheet_prints_as_a_pdf(client, login, registry, invited_series):
    import io

    from pypdf import PdfReader

    login(registry["officer"])
    meeting, _ = scheduling.meeting_for(invited_series, date(2026, 3, 30))
    db.session.commit()
    response = client.get(f"/meetings/{meeting.id}/sign-in-sheet.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "DANH SÁCH KÝ TÊN" in text and registry["coffee"].contacts[0].name in text
