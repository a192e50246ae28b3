"""Issue 14, parts 1 and 2: every invitation reaches the business (mail, portal, feed), and it answers from its
portal, the API or the link; ending an invitation takes everything back. End to end: HTTP through the client,
mail as the business receives it from a real SMTP server, iMIP parsed with icalendar."""

import re
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from sqlalchemy import select

from dialogue_app.attendance.models import Attendee, Rsvp
from dialogue_app.calendar import services as calendar
from dialogue_app.extensions import db
from dialogue_app.mail.services import send_pending
from dialogue_app.notifications.models import Notification
from dialogue_app.org.services import add_contact
from dialogue_app.scheduling import services as scheduling


@pytest.fixture
def app_config(smtp_server):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port,
            "MAIL_DEFAULT_SENDER": "chicuc@haiquan.example.vn"}


@pytest.fixture
def world(units, make_business, make_user):
    steel = make_business(units["HCM-A"], name="Công ty CP Thép Phương Nam")
    add_contact(steel, name="Lê Văn Hùng", email="hung@thep.example.vn")
    add_contact(steel, name="Phạm Thị Mai", email="mai@thep.example.vn")
    add_contact(steel, name="Bảo vệ (không có email)")
    other = make_business(units["HCM-A"], name="Công ty TNHH Gỗ Bình Dương")
    add_contact(other, name="Ngô Thị Lan", email="lan@go.example.vn")
    db.session.commit()
    return {
        "steel": steel, "other": other,
        "officer": make_user("organiser", unit=units["HCM-A"], email="officer@haiquan.example.vn"),
        "steel_user": make_user("business", business=steel, email="mai@thep.example.vn", name="Phạm Thị Mai"),
        "other_user": make_user("business", business=other, email="giamdoc@go.example.vn"),
        "stranger_officer": make_user("organiser", unit=units["QN-A"]),
    }


def soon(days: int = 20, hour: int = 8) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def delivered(smtp_server):
    """The calendar mail sent since last asked, as the businesses receive it: (To, METHOD, VEVENT, text).
    (Notifications mailed to the businesses' accounts carry no calendar: not counted here.)"""
    send_pending()
    out = []
    for message in smtp_server.messages:
        part = next((p for p in message.walk() if p.get_content_type() == "text/calendar"), None)
        if part is None:
            continue
        cal = icalendar.Calendar.from_ical(part.get_content())
        text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
        assert part.get_param("method") == str(cal["METHOD"])
        out.append((message["To"], str(cal["METHOD"]), cal.walk("VEVENT")[0], text))
    smtp_server.messages.clear()
    return out


def one_off(api, officer, **extra) -> int:
    response = api(officer).post("/api/v1/meetings", json={
        "title": "Hội nghị chuyên đề: thủ tục hải quan điện tử", "unit": "HCM-A", "start": soon().isoformat(),
        "duration_minutes": 120, "location": "Hội trường tầng 3, 2 Hàm Nghi", **extra})
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_inviting_a_business_to_one_meeting_reaches_each_contact_and_ending_it_takes_it_back(
        client, api, world, smtp_server):
    officer, steel = world["officer"], world["steel"]
    meeting_id = one_off(api, officer, description="Chương trình: giới thiệu hệ thống VNACCS mới.")
    staff = api(officer)

    first = staff.post(f"/api/v1/meetings/{meeting_id}/invitations", json={"business_id": steel.id})
    assert first.status_code == 201 and first.json == {"meeting_id": meeting_id, "business_id": steel.id}
    again = staff.post(f"/api/v1/meetings/{meeting_id}/invitations", json={"business_id": steel.id})
    assert again.status_code == 200

    mails = delivered(smtp_server)
    assert sorted(to for to, *_ in mails) == ["hung@thep.example.vn", "mai@thep.example.vn"]  # once each
    for to, method, event, text in mails:
        assert method == "REQUEST"
        attendees = event.get("ATTENDEE")
        assert not isinstance(attendees, list) and str(attendees) == f"mailto:{to}"  # only themself
        assert attendees.params["RSVP"] == "TRUE" and attendees.params["PARTSTAT"] == "NEEDS-ACTION"
        assert str(event["UID"]).startswith(f"meeting-{meeting_id}@") and "RECURRENCE-ID" not in event
        assert str(event["LOCATION"]) == "Hội trường tầng 3, 2 Hàm Nghi"
        assert re.search(r"http://localhost/rsvp/\S+", text)  # the signed answer link
        assert "giới thiệu hệ thống VNACCS mới" in text and "giới thiệu hệ thống VNACCS mới" in event["DESCRIPTION"]
    request_event = mails[0][2]

    # On the business's portal, in its API and in its feed.
    steel_api = api(world["steel_user"])
    items = steel_api.get("/api/v1/invitations").json["items"]
    assert [(i["meeting_id"], i["answer"], i["description"]) for i in items] == [
        (meeting_id, None, "Chương trình: giới thiệu hệ thống VNACCS mới.")]
    assert steel_api.get(f"/api/v1/meetings/{meeting_id}").status_code == 200
    feed = icalendar.Calendar.from_ical(
        client.get(calendar.feed_url("business", steel.id).replace("http://localhost", "")).data)
    assert [str(e["UID"]) for e in feed.walk("VEVENT")] == [str(request_event["UID"])]
    db.session.commit()
    # Another business sees nothing of it.
    assert api(world["other_user"]).get("/api/v1/invitations").json["items"] == []

    # Ending the invitation: a CANCEL to each contact, and the meeting leaves portal, API and feed.
    assert staff.delete(f"/api/v1/meetings/{meeting_id}/invitations/{steel.id}").status_code == 204
    cancels = delivered(smtp_server)
    assert sorted(to for to, *_ in cancels) == ["hung@thep.example.vn", "mai@thep.example.vn"]
    for to, method, event, _text in cancels:
        # Only they are uninvited (no STATUS: the meeting goes on), above the invitation (RFC 5546 3.2.5).
        assert method == "CANCEL" and "STATUS" not in event
        assert event["UID"] == request_event["UID"] and event["SEQUENCE"] > request_event["SEQUENCE"]
        assert event["DTSTAMP"].dt >= request_event["DTSTAMP"].dt and str(event["ATTENDEE"]) == f"mailto:{to}"
    assert steel_api.get("/api/v1/invitations").json["items"] == []
    assert steel_api.get(f"/api/v1/meetings/{meeting_id}").status_code == 404
    feed = icalendar.Calendar.from_ical(
        client.get(calendar.feed_url("business", steel.id).replace("http://localhost", "")).data)
    assert feed.walk("VEVENT") == []
    assert staff.delete(f"/api/v1/meetings/{meeting_id}/invitations/{steel.id}").status_code == 404


def test_the_invite_button_on_the_meeting_page_mails_too(client, login, world, smtp_server, make_meeting, units):
    meeting = make_meeting(unit=units["HCM-A"], start=soon(), title="Thăm doanh nghiệp")
    login(world["officer"])
    client.post(f"/meetings/{meeting.id}/invitations", data={"tax_code": world["other"].tax_code})
    [(to, method, event, _text)] = delivered(smtp_server)
    assert (to, method, str(event["ATTENDEE"])) == ("lan@go.example.vn", "REQUEST", "mailto:lan@go.example.vn")
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert world["other"].name in page
    client.post(f"/meetings/{meeting.id}/invitations/{world['other'].id}/delete")
    [(to, method, *_)] = delivered(smtp_server)
    assert (to, method) == ("lan@go.example.vn", "CANCEL")


def test_inviting_to_a_series_later_and_ending_it(client, api, world, smtp_server, make_series, units):
    series = make_series(units["HCM-A"], first_start=datetime.now() + timedelta(days=3),
                         description="Chương trình: giải đáp vướng mắc về thủ tục.")
    staff, steel = api(world["officer"]), world["steel"]
    created = staff.post(f"/api/v1/series/{series.id}/invitations", json={"business_id": steel.id})
    assert created.status_code == 201 and created.json == {"series_id": series.id, "business_id": steel.id}
    assert staff.post(f"/api/v1/series/{series.id}/invitations", json={"business_id": steel.id}).status_code == 200
    mails = delivered(smtp_server)
    assert sorted(to for to, *_ in mails) == ["hung@thep.example.vn", "mai@thep.example.vn"]
    for to, method, event, _text in mails:
        assert method == "REQUEST" and str(event["ATTENDEE"]) == f"mailto:{to}" and "RRULE" in event
        assert str(event["UID"]) == calendar.series_uid(series)
    sequence = mails[0][2]["SEQUENCE"]

    steel_api = api(world["steel_user"])
    items = steel_api.get("/api/v1/invitations").json["items"]
    assert items and {i["series_id"] for i in items} == {series.id}
    assert items[0]["meeting_id"] is None  # not yet made a meeting
    assert items[0]["answer_url"] == f"http://localhost/api/v1/invitations/series/{series.id}/{items[0]['occurrence']}/answer"
    feed_url = steel_api.get(f"/api/v1/series/{series.id}").json["feed_url"]
    assert client.get(feed_url.replace("http://localhost", "")).status_code == 200

    assert staff.delete(f"/api/v1/series/{series.id}/invitations/{steel.id}").status_code == 204
    cancels = delivered(smtp_server)
    assert sorted(to for to, *_ in cancels) == ["hung@thep.example.vn", "mai@thep.example.vn"]
    for _to, method, event, _text in cancels:
        assert method == "CANCEL" and str(event["UID"]) == calendar.series_uid(series)
        assert "RECURRENCE-ID" not in event and event["SEQUENCE"] >= sequence
    assert steel_api.get(f"/api/v1/series/{series.id}").status_code == 404
    assert steel_api.get("/api/v1/invitations").json["items"] == []
    assert client.get(feed_url.replace("http://localhost", "")).status_code == 404
    assert staff.delete(f"/api/v1/series/{series.id}/invitations/{steel.id}").status_code == 404


def test_invitation_calls_refuse_what_they_cannot_do(api, world, make_series, units, smtp_server):
    staff = api(world["officer"])
    meeting_id = one_off(api, world["officer"])
    unknown = staff.post(f"/api/v1/meetings/{meeting_id}/invitations", json={"business_id": 999999})
    assert unknown.status_code == 422 and unknown.json["error"]["fields"]["business_id"]
    assert staff.post(f"/api/v1/meetings/{meeting_id}/invitations", json={}).status_code == 422
    assert api(world["stranger_officer"]).post(f"/api/v1/meetings/{meeting_id}/invitations",
                                               json={"business_id": world["steel"].id}).status_code == 404
    assert api(world["steel_user"]).post(f"/api/v1/meetings/{meeting_id}/invitations",
                                         json={"business_id": world["steel"].id}).status_code == 404
    assert staff.post("/api/v1/series/999999/invitations", json={"business_id": world["steel"].id}).status_code == 404

    series = make_series(units["HCM-A"], invitees=[world["steel"]], first_start=datetime.now() + timedelta(days=3))
    meeting, _ = scheduling.meeting_for(series, scheduling.occurrences(
        series, datetime.now(UTC), datetime.now(UTC) + timedelta(days=60))[0].occurrence)
    db.session.commit()
    through_series = staff.delete(f"/api/v1/meetings/{meeting.id}/invitations/{world['steel'].id}")
    assert through_series.status_code == 422 and "chuỗi" in through_series.json["error"]["message"]
    assert api(world["steel_user"]).get(f"/api/v1/meetings/{meeting.id}").status_code == 200
    assert delivered(smtp_server) == []


def test_a_business_answers_from_its_portal_and_the_organiser_sees_through_which_channel(
        client, api, login, world, make_series, units, smtp_server):
    series = make_series(units["HCM-A"], invitees=[world["steel"]], first_start=datetime.now() + timedelta(days=3),
                         location="Phòng 201", description="Nội dung: thủ tục hoàn thuế nhập khẩu.")
    login(world["steel_user"])
    home = client.get("/").get_data(as_text=True)
    assert "Phòng 201" in home and "thủ tục hoàn thuế nhập khẩu" in home and series.title in home
    item = api(world["steel_user"]).get("/api/v1/invitations").json["items"][0]
    answered = client.post("/invitations/answer", data={
        "series_id": series.id, "occurrence": item["occurrence"], "answer": "tentative",
        "comment": "Chưa chắc người dự"}, follow_redirects=True)
    assert answered.status_code == 200
    # The user's e-mail is Mai's: the answer is hers, through the portal, and only hers.
    rsvps = db.session.execute(select(Rsvp)).scalars().all()
    assert [(r.contact.email, r.answer, r.via, r.comment) for r in rsvps] == [
        ("mai@thep.example.vn", "tentative", "portal", "Chưa chắc người dự")]
    home = client.get("/").get_data(as_text=True)
    assert "Chưa chắc người dự" in home

    # Changed through the API, at the item's answer_url.
    changed = api(world["steel_user"]).put(item["answer_url"], json={"answer": "accepted", "comment": "Hai người"})
    assert changed.status_code == 200 and changed.json["answer"] == "accepted"
    meeting_id = changed.json["meeting_id"]
    assert meeting_id == rsvps[0].meeting_id
    listed = api(world["steel_user"]).get("/api/v1/invitations").json["items"][0]
    assert listed["meeting_id"] == meeting_id and listed["answer"] == "accepted"
    assert listed["answer_url"] == f"http://localhost/api/v1/invitations/meetings/{meeting_id}/answer"

    staff_view = api(world["officer"]).get(f"/api/v1/meetings/{meeting_id}").json
    mai = next(c for c in world["steel"].contacts if c.email == "mai@thep.example.vn")
    assert staff_view["answers"] == [{"business_id": world["steel"].id, "contact_id": mai.id,
                                      "email": "mai@thep.example.vn", "answer": "accepted", "via": "portal"}]
    client.post("/logout")
    login(world["officer"])
    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert "Hai người" in page and "trên cổng thông tin" in page  # the answer, and its channel


def test_a_user_whose_email_is_no_contact_answers_for_the_whole_business(api, world, units):
    meeting_id = one_off(api, world["officer"])
    api(world["officer"]).post(f"/api/v1/meetings/{meeting_id}/invitations", json={"business_id": world["other"].id})
    answered = api(world["other_user"]).put(f"/api/v1/invitations/meetings/{meeting_id}/answer",
                                            json={"answer": "declined"})
    assert answered.status_code == 200 and answered.json["answer"] == "declined"
    rsvps = db.session.execute(select(Rsvp)).scalars().all()
    assert [(r.contact.name, r.via) for r in rsvps] == [("Ngô Thị Lan", "portal")]


def test_answers_refused_when_not_invited_started_or_unknown(api, world, make_meeting, units):
    steel_api = api(world["steel_user"])
    meeting_id = one_off(api, world["officer"])
    not_invited = steel_api.put(f"/api/v1/invitations/meetings/{meeting_id}/answer", json={"answer": "accepted"})
    assert not_invited.status_code == 404 and not_invited.json["error"]["message"]
    api(world["officer"]).post(f"/api/v1/meetings/{meeting_id}/invitations", json={"business_id": world["steel"].id})
    bad = steel_api.put(f"/api/v1/invitations/meetings/{meeting_id}/answer", json={"answer": "perhaps"})
    assert bad.status_code == 422
    started = make_meeting(unit=units["HCM-A"], start=datetime.now(UTC) - timedelta(minutes=10))
    api(world["officer"]).post(f"/api/v1/meetings/{started.id}/invitations", json={"business_id": world["steel"].id})
    late = steel_api.put(f"/api/v1/invitations/meetings/{started.id}/answer", json={"answer": "accepted"})
    assert late.status_code == 409 and "bắt đầu" in late.json["error"]["message"]
    assert api(world["officer"]).get("/api/v1/invitations").status_code == 403
    assert steel_api.get("/api/v1/invitations?from=2027-01-10&to=2026-01-01").status_code == 422
    assert db.session.execute(select(Rsvp)).scalars().all() == []


def test_the_answer_link_page_shows_time_place_and_the_comment(client, world, units, make_meeting, smtp_server, login):
    meeting = make_meeting(unit=units["HCM-A"], start=soon(), location="Phòng họp số 5")
    login(world["officer"])
    client.post(f"/meetings/{meeting.id}/invitations", data={"tax_code": world["other"].tax_code})
    client.post("/logout")
    [(_to, _method, _event, text)] = delivered(smtp_server)
    link = re.search(r"http://localhost(/rsvp/\S+)", text).group(1)
    page = client.get(link).get_data(as_text=True)
    assert "Phòng họp số 5" in page and meeting.start.astimezone(UTC).year.__str__() in page
    client.post(link, data={"answer": "accepted", "comment": "Đi cùng kế toán trưởng"})
    page = client.get(link).get_data(as_text=True)
    assert "Đi cùng kế toán trưởng" in page
    assert db.session.execute(select(Rsvp.via)).scalar_one() == "link"


def test_a_known_business_not_invited_is_checked_in_as_its_contact(client, login, world, units, make_meeting):
    meeting = make_meeting(unit=units["HCM-A"], start=soon(days=0))
    login(world["officer"])
    page = client.get(f"/meetings/{meeting.id}/attendance?tax_code={world['other'].tax_code}").get_data(as_text=True)
    lan = world["other"].contacts[0]
    assert "Ngô Thị Lan" in page
    client.post(f"/meetings/{meeting.id}/attendance/contacts/{lan.id}", data={"attendance": "present"})
    # A walk-in typed with the business's tax code and a contact's name is that contact too.
    hung = next(c for c in world["steel"].contacts if c.name == "Lê Văn Hùng")
    client.post(f"/meetings/{meeting.id}/attendance/walk-in",
                data={"name": "lê văn  hùng", "tax_code": world["steel"].tax_code})
    attendees = db.session.execute(select(Attendee).order_by(Attendee.id)).scalars().all()
    assert [(a.contact_id, a.business_id) for a in attendees] == [(lan.id, world["other"].id),
                                                                   (hung.id, world["steel"].id)]
    # A walk-in recorded twice (a second tap, the other door) is one person in the minutes.
    for typed in ("Phạm Văn Khách", "phạm văn  khách"):
        client.post(f"/meetings/{meeting.id}/attendance/walk-in", data={"name": typed, "organisation": "Tự do"})
    walk_ins = db.session.execute(select(Attendee.name).where(Attendee.contact_id.is_(None))).scalars().all()
    assert walk_ins == ["Phạm Văn Khách"]
    # Another person of the same name, from elsewhere, is another person.
    client.post(f"/meetings/{meeting.id}/attendance/walk-in", data={"name": "Phạm Văn Khách", "organisation": "Báo"})
    assert len(db.session.execute(select(Attendee.id).where(Attendee.contact_id.is_(None))).all()) == 2


def test_a_series_made_with_invitees_and_one_added_on_its_page_reach_their_contacts(
        client, api, login, world, smtp_server):
    created = api(world["officer"]).post("/api/v1/series", json={
        "title": "Cà phê doanh nghiệp", "unit": "HCM-A", "location": "Hội trường", "rrule": "FREQ=MONTHLY;BYDAY=-1MO",
        "dtstart": (datetime.now() + timedelta(days=5)).strftime("%Y-%m-%dT08:00"), "duration_minutes": 90,
        "invitees": [world["other"].id]})
    assert created.status_code == 201
    [(to, method, event, _text)] = delivered(smtp_server)
    assert (to, method, str(event["ATTENDEE"])) == ("lan@go.example.vn", "REQUEST", "mailto:lan@go.example.vn")
    series_id = created.json["id"]
    # Added later through the API: only the new business's contacts are written to, each once.
    api(world["officer"]).post(f"/api/v1/series/{series_id}/invitations", json={"business_id": world["steel"].id})
    assert sorted(to for to, *_ in delivered(smtp_server)) == ["hung@thep.example.vn", "mai@thep.example.vn"]
    assert {i["series_id"] for i in api(world["other_user"]).get("/api/v1/invitations").json["items"]} == {series_id}


def test_a_business_invited_to_a_meeting_already_held_is_not_mailed(client, login, world, units, make_meeting,
                                                                    smtp_server):
    held = make_meeting(unit=units["HCM-A"], start=datetime.now(UTC) - timedelta(days=3))
    login(world["officer"])
    client.post(f"/meetings/{held.id}/invitations", data={"tax_code": world["other"].tax_code})
    assert delivered(smtp_server) == []  # recorded (its people can be checked in), nothing to put in a calendar
    assert world["other"].name in client.get(f"/meetings/{held.id}").get_data(as_text=True)


def test_a_business_invited_to_one_occurrence_alone_hears_it_moved_and_cancelled(
        api, world, make_series, units, smtp_server):
    """Its calendar holds that meeting under the meeting's own UID (no series to attach it to): the change comes
    under the same UID, with a higher SEQUENCE, and the series' invitees get theirs under the series' UID."""
    series = make_series(units["HCM-A"], invitees=[world["other"]], first_start=datetime.now() + timedelta(days=3))
    day = scheduling.occurrences(series, datetime.now(UTC), datetime.now(UTC) + timedelta(days=60))[0].occurrence
    meeting, _ = scheduling.meeting_for(series, day)
    db.session.commit()
    staff = api(world["officer"])
    assert staff.post(f"/api/v1/meetings/{meeting.id}/invitations",
                      json={"business_id": world["steel"].id}).status_code == 201
    invited = {to: event for to, method, event, _ in delivered(smtp_server)}
    assert set(invited) == {"hung@thep.example.vn", "mai@thep.example.vn"}
    uid, first_sequence = str(invited["hung@thep.example.vn"]["UID"]), invited["hung@thep.example.vn"]["SEQUENCE"]

    later = datetime.combine(day, datetime.min.time()).replace(hour=14, tzinfo=scheduling.series_zone(series))
    scheduling.change_occurrence(series, day, start=later, location="Phòng 301")
    db.session.commit()
    moved = {to: (method, event) for to, method, event, _ in delivered(smtp_server)}
    assert set(moved) == {"hung@thep.example.vn", "mai@thep.example.vn", "lan@go.example.vn"}
    method, event = moved["hung@thep.example.vn"]
    assert method == "REQUEST" and str(event["UID"]) == uid and "RECURRENCE-ID" not in event
    assert event["SEQUENCE"] > first_sequence and event["DTSTART"].dt == later
    assert str(event["LOCATION"]) == "Phòng 301"
    assert "RECURRENCE-ID" in moved["lan@go.example.vn"][1]  # the series' invitee: the occurrence of its series
    # Its account hears of it in the app too, led to its portal (it cannot open the series).
    [told] = [n for n in db.session.execute(select(Notification).where(
        Notification.user_id == world["steel_user"].id, Notification.kind == "meeting_changed")).scalars()]
    assert told.url == "/"

    scheduling.change_occurrence(series, day, status="cancelled")
    db.session.commit()
    cancelled = {to: (method, event) for to, method, event, _ in delivered(smtp_server)}
    assert cancelled["mai@thep.example.vn"][0] == "CANCEL"
    assert str(cancelled["mai@thep.example.vn"][1]["UID"]) == uid


def test_accepting_a_business_names_who_comes_and_the_organiser_counts_people(client, api, login, world, units):
    meeting_id = one_off(api, world["officer"])
    api(world["officer"]).post(f"/api/v1/meetings/{meeting_id}/invitations", json={"business_id": world["steel"].id})
    hung, mai, guard = sorted(world["steel"].contacts, key=lambda c: c.id)
    lan = world["other"].contacts[0]

    # Someone else's contact among those who come: refused, nothing recorded.
    refused = api(world["steel_user"]).put(f"/api/v1/invitations/meetings/{meeting_id}/answer",
                                           json={"answer": "accepted", "attendees": [hung.id, lan.id]})
    assert refused.status_code == 422 and "attendees" in refused.json["error"]["fields"]
    assert db.session.execute(select(Rsvp)).scalars().all() == []

    login(world["steel_user"])
    portal = client.get("/").get_data(as_text=True)
    assert "Ai sẽ đến" in portal and guard.name in portal
    client.post("/invitations/answer", data={"meeting_id": meeting_id, "answer": "accepted", "comment": "Hai người",
                                             "attendee": [str(hung.id), str(mai.id)]})
    answers = {r.contact_id: r.answer for r in db.session.execute(select(Rsvp)).scalars()}
    assert answers == {hung.id: "accepted", mai.id: "accepted", guard.id: "declined"}
    item = api(world["steel_user"]).get("/api/v1/invitations").json["items"][0]
    assert (item["answer"], sorted(item["attendees"])) == ("accepted", sorted([hung.id, mai.id]))
    portal = client.get("/").get_data(as_text=True)
    assert portal.count("checked") == 2  # who comes, as they were ticked

    client.post("/logout")
    login(world["officer"])
    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert "sẽ tham dự: 2" in page and "không tham dự: 1" in page


def test_a_business_whose_invitation_ended_is_no_longer_listed_among_the_answers(api, world):
    staff = api(world["officer"])
    meeting_id = one_off(api, world["officer"])
    for business in (world["steel"], world["other"]):
        staff.post(f"/api/v1/meetings/{meeting_id}/invitations", json={"business_id": business.id})
    api(world["steel_user"]).put(f"/api/v1/invitations/meetings/{meeting_id}/answer", json={"answer": "accepted"})
    api(world["other_user"]).put(f"/api/v1/invitations/meetings/{meeting_id}/answer", json={"answer": "declined"})
    assert {a["business_id"] for a in staff.get(f"/api/v1/meetings/{meeting_id}").json["answers"]} == \
        {world["steel"].id, world["other"].id}

    assert staff.delete(f"/api/v1/meetings/{meeting_id}/invitations/{world['other'].id}").status_code == 204
    assert [a["business_id"] for a in staff.get(f"/api/v1/meetings/{meeting_id}").json["answers"]] == \
        [world["steel"].id]


def test_a_user_who_names_others_but_not_themself_sees_the_company_accepted_and_a_decline_is_the_company_s(
        client, api, login, world):
    meeting_id = one_off(api, world["officer"])
    api(world["officer"]).post(f"/api/v1/meetings/{meeting_id}/invitations", json={"business_id": world["steel"].id})
    hung, mai, guard = sorted(world["steel"].contacts, key=lambda c: c.id)
    steel = api(world["steel_user"])  # Mai's account: she sends Hùng alone
    answered = steel.put(f"/api/v1/invitations/meetings/{meeting_id}/answer",
                         json={"answer": "accepted", "attendees": [hung.id]})
    assert (answered.json["answer"], answered.json["attendees"]) == ("accepted", [hung.id])
    answers = {r.contact_id: r.answer for r in db.session.execute(select(Rsvp)).scalars()}
    assert answers == {hung.id: "accepted", mai.id: "declined", guard.id: "declined"}
    # One line for the organisers, not one per contact (and no "will not attend" for the company that comes).
    told = db.session.execute(select(Notification).where(Notification.kind == "answer_received")).scalars().all()
    assert len(told) == 1 and told[0].params["answer"] == "accepted"

    declined = steel.put(f"/api/v1/invitations/meetings/{meeting_id}/answer", json={"answer": "declined"})
    assert (declined.json["answer"], declined.json["attendees"]) == ("declined", [])
    db.session.expire_all()
    assert {r.answer for r in db.session.execute(select(Rsvp)).scalars()} == {"declined"}

    login(world["steel_user"])
    garbled = client.post("/invitations/answer", data={"meeting_id": meeting_id, "answer": "accepted",
                                                       "attendee": ["1e3"]}, follow_redirects=True)
    assert "Hãy chọn người sẽ đến" in garbled.get_data(as_text=True)
    assert {r.answer for r in db.session.execute(select(Rsvp)).scalars()} == {"declined"}


def test_on_the_portal_a_meeting_is_coming_until_it_ends_then_past(client, api, login, world, make_meeting, units):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    over = make_meeting(unit=units["HCM-A"], start=now - timedelta(minutes=90), duration_minutes=60,
                        title="Đối thoại sáng nay, đã xong")
    under_way = make_meeting(unit=units["HCM-A"], start=now - timedelta(minutes=30), duration_minutes=120,
                             title="Đối thoại đang diễn ra")
    staff = api(world["officer"])
    for meeting in (over, under_way):
        assert staff.post(f"/api/v1/meetings/{meeting.id}/invitations",
                          json={"business_id": world["steel"].id}).status_code == 201
    login(world["steel_user"])
    home = client.get("/").get_data(as_text=True)
    invitations, past = home.split("Các cuộc họp đã qua", 1)
    assert "Đối thoại đang diễn ra" in invitations and "Đối thoại sáng nay, đã xong" not in invitations
    assert "Đối thoại sáng nay, đã xong" in past
    # Invited once they had begun, to record who came: nothing to answer, so no "invited" told to the business.
    assert db.session.execute(select(Notification).where(
        Notification.user_id == world["steel_user"].id, Notification.kind == "invited")).scalars().all() == []
