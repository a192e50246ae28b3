"""Calendars that clients accept: checked with icalendar, recurring-ical-events and Mozilla's ical.js."""

import json
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from sqlalchemy import select

from dialogue_app.calendar import services as calendar
from dialogue_app.extensions import db
from dialogue_app.mail.models import OutboxMessage
from dialogue_app.mail.services import send_pending
from dialogue_app.org.services import add_contact
from dialogue_app.scheduling import services as scheduling

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
JS = Path(__file__).resolve().parent.parent / "js"


@pytest.fixture
def coffee(units, make_business, make_user):
    business = make_business(units["HCM-A"], name="Công ty TNHH Điện tử Sao Việt")
    add_contact(business, name="Trần Thị Ngọc", email="ngoc@saoviet.example.vn")
    db.session.commit()
    series = scheduling.create_series(
        title="Cà phê sáng, cùng doanh nghiệp; tháng\nmới", unit=units["HCM-A"],
        location="Hội trường; tầng 2, Lô I-3", rule="FREQ=MONTHLY;BYDAY=-1MO", first_start=datetime(2026, 1, 26, 8),
        duration_minutes=120, holiday_policy="next_workday", invitees=[business], notify=False)
    db.session.flush()
    # Changes are made to meetings still to come (2027): one that has begun is history.
    scheduling.change_occurrence(series, date(2027, 5, 31), start=datetime(2027, 6, 1, 14, tzinfo=HCM),
                                 location="Phòng 301", notify=False)
    scheduling.change_occurrence(series, date(2027, 6, 28), status="cancelled", notify=False)
    db.session.commit()
    return series


def feed_of(client, kind, target_id, **headers):
    url = calendar.feed_url(kind, target_id)
    db.session.commit()
    return client.get(url.replace("http://localhost", ""), headers=headers)


def expected_starts(series, start, end):
    return sorted(o.start.astimezone(UTC) for o in scheduling.occurrences(series, start, end)
                  if o.status != "cancelled")


def test_the_feed_expands_to_exactly_our_occurrences(client, coffee):
    response = feed_of(client, "series", coffee.id)
    assert response.status_code == 200 and response.content_type.startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.data)
    assert cal["METHOD"] == "PUBLISH" and not cal.get_missing_tzids()
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 12, 31, tzinfo=UTC))
    expanded = sorted(e["DTSTART"].dt.astimezone(UTC) for e in recurring_ical_events.of(cal).between(*window))
    assert expanded == expected_starts(coffee, *window)
    events = cal.walk("VEVENT")
    master = next(e for e in events if "RRULE" in e)
    moved = [e for e in events if "RECURRENCE-ID" in e]
    # The holiday shift (27/04/2026 -> 28/04) and the move (31/05/2027 -> 01/06 14:00) are overrides keyed by the
    # original start, written like DTSTART; the cancellation is an EXDATE in the same form.
    assert {e["RECURRENCE-ID"].dt for e in moved} >= {datetime(2026, 4, 27, 8, tzinfo=HCM),
                                                      datetime(2027, 5, 31, 8, tzinfo=HCM)}
    assert all(e["RECURRENCE-ID"].params["TZID"] == "Asia/Ho_Chi_Minh" for e in moved)
    exdates = [d.dt for exdate in [master["EXDATE"]] for d in exdate.dts]
    assert datetime(2027, 6, 28, 8, tzinfo=HCM) in exdates
    assert b"EXDATE;TZID=Asia/Ho_Chi_Minh:20270628T080000" in response.data
    assert master["SUMMARY"] == "Cà phê sáng, cùng doanh nghiệp; tháng\nmới"
    unfolded = response.data.replace(b"\r\n ", b"").decode()
    assert "SUMMARY:Cà phê sáng\\, cùng doanh nghiệp\\; tháng\\nmới" in unfolded
    assert all(len(line) <= 75 for line in response.data.split(b"\r\n"))
    assert master["RRULE"]["UNTIL"][0].tzinfo is not None  # UNTIL in UTC, as RFC 5545 asks with a TZID


def test_the_feed_is_cached_versioned_and_answers_304(client, coffee):
    first = feed_of(client, "series", coffee.id)
    second = feed_of(client, "series", coffee.id)
    assert first.data == second.data and first.headers["ETag"] == second.headers["ETag"]
    assert first.headers["Last-Modified"]
    again = feed_of(client, "series", coffee.id, **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    scheduling.change_occurrence(coffee, date(2027, 7, 26), location="Phòng 202", notify=False)
    db.session.commit()
    changed = feed_of(client, "series", coffee.id, **{"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert "Phòng 202" in changed.get_data(as_text=True)


def test_feed_addresses_are_secret_revocable_and_rotatable(client, coffee, units):
    assert client.get("/feeds/not-a-real-token.ics").status_code == 404
    url = calendar.feed_url("unit", units["HCM"].id).replace("http://localhost", "")
    db.session.commit()
    assert client.get(url).status_code == 200
    token = url.split("/")[-1].removesuffix(".ics")
    assert len(token) >= 22  # at least 128 bits
    new_token = calendar.rotate("unit", units["HCM"].id)
    db.session.commit()
    assert client.get(url).status_code == 404 and client.get(f"/feeds/{new_token}.ics").status_code == 200
    calendar.revoke("unit", units["HCM"].id)
    db.session.commit()
    assert client.get(f"/feeds/{new_token}.ics").status_code == 404


def test_business_and_unit_feeds_gather_their_series(client, coffee, units, make_business):
    business_feed = icalendar.Calendar.from_ical(feed_of(client, "business", coffee.invitees[0].id).data)
    assert {e["UID"] for e in business_feed.walk("VEVENT")} == {calendar.series_uid(coffee)}
    other = make_business(units["HCM-A"], name="Không được mời")
    assert not icalendar.Calendar.from_ical(feed_of(client, "business", other.id).data).walk("VEVENT")
    department = icalendar.Calendar.from_ical(feed_of(client, "unit", units["HCM"].id).data)
    assert calendar.series_uid(coffee) in {e["UID"] for e in department.walk("VEVENT")}
    elsewhere = icalendar.Calendar.from_ical(feed_of(client, "unit", units["QN"].id).data)
    assert not elsewhere.walk("VEVENT")


@pytest.mark.skipif(shutil.which("node") is None or not (JS / "node_modules" / "ical.js").exists(),
                    reason="node and tests/js/node_modules/ical.js are needed: cd tests/js && npm install")
def test_ical_js_reads_the_same_occurrences(client, coffee, tmp_path):
    path = tmp_path / "feed.ics"
    path.write_bytes(feed_of(client, "series", coffee.id).data)
    result = subprocess.run(["node", str(JS / "expand.cjs"), str(path), "2026-01-01", "2027-12-31"],
                            capture_output=True, text=True, check=True, timeout=60)
    items = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(item["zone"] == "Asia/Ho_Chi_Minh" for item in items)  # not read as floating times
    starts = sorted(datetime.fromisoformat(item["start"].replace("Z", "+00:00")) for item in items)
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 12, 31, tzinfo=UTC))
    assert starts == expected_starts(coffee, *window)


@pytest.fixture
def app_config(smtp_server):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port,
            "MAIL_DEFAULT_SENDER": "chicuc@haiquan.example.vn"}


def calendar_part(message):
    return next(part for part in message.walk() if part.get_content_type() == "text/calendar")


def test_invitations_updates_and_cancellations_by_mail(app, smtp_server, units, make_business):
    business = make_business(units["HCM-A"])
    add_contact(business, name="Trần Thị Ngọc", email="ngoc@saoviet.example.vn")
    add_contact(business, name="Không có email")
    db.session.commit()
    series = scheduling.create_series(title="Cà phê sáng", unit=units["HCM-A"], location="Hội trường",
                                      rule="FREQ=MONTHLY;BYDAY=-1MO", first_start=datetime(2027, 1, 25, 8),
                                      duration_minutes=120, invitees=[business])
    db.session.commit()
    send_pending()
    invite = smtp_server.messages[-1]
    part = calendar_part(invite)
    assert part.get_param("method") == "REQUEST" and invite["To"] == "ngoc@saoviet.example.vn"
    cal = icalendar.Calendar.from_ical(part.get_content())
    event = cal.walk("VEVENT")[0]
    assert cal["METHOD"] == "REQUEST" and not cal.get_missing_tzids()
    assert str(event["ORGANIZER"]) == "mailto:chicuc@haiquan.example.vn"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:ngoc@saoviet.example.vn"
    assert attendee.params["PARTSTAT"] == "NEEDS-ACTION" and attendee.params["RSVP"] == "TRUE"
    assert any(p.get_filename() == "invite.ics" for p in invite.walk())
    assert len(smtp_server.messages) == 1  # the contact without an email is simply not mailed

    scheduling.change_occurrence(series, date(2027, 3, 29), start=datetime(2027, 3, 30, 9, tzinfo=HCM))
    db.session.commit()
    send_pending()
    update = icalendar.Calendar.from_ical(calendar_part(smtp_server.messages[-1]).get_content())
    moved = update.walk("VEVENT")[0]
    assert moved["UID"] == event["UID"] and moved["SEQUENCE"] > event["SEQUENCE"]
    assert moved["RECURRENCE-ID"].dt == datetime(2027, 3, 29, 8, tzinfo=HCM)

    scheduling.change_occurrence(series, date(2027, 4, 26), status="cancelled")
    db.session.commit()
    send_pending()
    cancel_part = calendar_part(smtp_server.messages[-1])
    assert cancel_part.get_param("method") == "CANCEL"
    cancel = icalendar.Calendar.from_ical(cancel_part.get_content())
    cancelled = cancel.walk("VEVENT")[0]
    assert cancel["METHOD"] == "CANCEL" and cancelled["UID"] == event["UID"] and not cancelled.walk("VALARM")
    assert cancelled["SEQUENCE"] > event["SEQUENCE"] and str(cancelled["STATUS"]) == "CANCELLED"
    assert db.session.execute(select(OutboxMessage.status)).scalars().all() == ["sent"] * 3


def test_invite_ics_takes_a_session_or_a_bearer_token(client, api, login, make_user, units, coffee):
    meeting, _ = scheduling.meeting_for(coffee, date(2026, 3, 30))
    db.session.commit()
    assert client.get(f"/meetings/{meeting.id}/invite.ics").status_code == 302  # a browser: sign in first
    assert client.get(f"/meetings/{meeting.id}/invite.ics", headers={"Authorization": "Bearer nope"}).status_code == 401
    officer = make_user("organiser", units["HCM-A"])
    by_token = api(officer).get(f"/meetings/{meeting.id}/invite.ics")
    assert by_token.status_code == 200
    cal = icalendar.Calendar.from_ical(by_token.data)
    assert cal["METHOD"] == "REQUEST" and cal.walk("VEVENT")[0]["UID"] == calendar.series_uid(coffee)
    login(make_user("organiser", units["QN-A"]))
    assert client.get(f"/meetings/{meeting.id}/invite.ics").status_code == 404


def test_feeds_follow_announced_days_off_and_close_with_their_unit(client, coffee, units, make_unit):
    from dialogue_app.officetime.days import AdjustmentKind
    from dialogue_app.org.services import delete_unit

    before = feed_of(client, "series", coffee.id)
    scheduling.set_adjustment(date(2027, 3, 29), AdjustmentKind.DAY_OFF, "Nghỉ bù đặc biệt")
    db.session.commit()
    after = feed_of(client, "series", coffee.id, **{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and "RECURRENCE-ID;TZID=Asia/Ho_Chi_Minh:20270329T080000" in \
        after.get_data(as_text=True).replace("\r\n ", "")

    spare = make_unit("HCM-Z", "branch", units["HCM"])
    url = calendar.feed_url("unit", spare.id).replace("http://localhost", "")
    db.session.commit()
    assert client.get(url).status_code == 200
    delete_unit(spare)
    db.session.commit()
    assert client.get(url).status_code == 404
    assert make_unit("HCM-Y", "branch", units["HCM"]) is not None  # the freed id takes a feed of its own


def test_a_business_reading_a_series_through_the_api_is_given_a_feed_that_works(client, api, make_user, coffee):
    business = coffee.invitees[0]
    caller = api(make_user("business", business=business))
    feed_url = caller.get(f"/api/v1/series/{coffee.id}").json["feed_url"]
    assert feed_url == caller.get(f"/api/v1/series/{coffee.id}").json["feed_url"]  # the same key, asked twice
    db.session.rollback()  # nothing of the request's own transaction: only what it committed
    feed = client.get(feed_url.removeprefix("http://localhost"))
    assert feed.status_code == 200 and b"BEGIN:VCALENDAR" in feed.data
