from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dialogue_app import officetime
from dialogue_app.exceptions import InvalidData
from dialogue_app.extensions import db
from dialogue_app.mail.models import OutboxMessage
from dialogue_app.org.services import add_contact
from dialogue_app.scheduling import services as scheduling
from dialogue_app.scheduling.models import Meeting, OccurrenceOverride, Series

COFFEE = {
    "title": "Cà phê sáng cùng doanh nghiệp", "unit": "HCM-A", "location": "Hội trường Chi cục, tầng 2",
    "rrule": "FREQ=MONTHLY;BYDAY=-1MO", "dtstart": "2026-01-26T08:00", "duration_minutes": 120,
}


def create(caller, **overrides):
    response = caller.post("/api/v1/series", json={**COFFEE, **overrides})
    assert response.status_code == 201, response.json
    return response.json


def test_create_a_series_and_read_its_occurrences(api, make_user, make_business, units):
    business = make_business(units["HCM-A"])
    organiser = api(make_user("organiser", units["HCM-A"]))
    series = create(organiser, holiday_policy="next_workday", invitees=[business.id])
    assert series["rrule"] == "FREQ=MONTHLY;BYDAY=-1MO" and series["dtstart"] == "2026-01-26T08:00"
    assert series["timezone"] == "Asia/Ho_Chi_Minh" and series["invitees"] == [business.id]
    assert organiser.get(f"/api/v1/series/{series['id']}").json == series

    items = organiser.get(f"/api/v1/series/{series['id']}/occurrences?from=2026-04-01&to=2026-09-20").json["items"]
    assert [i["occurrence"] for i in items] == ["2026-04-27", "2026-05-25", "2026-06-29", "2026-07-27",
                                                "2026-08-31"]
    april = items[0]
    assert april["holiday"] == "Ngày Giỗ Tổ Hùng Vương (nghỉ bù)"
    assert april["status"] == "moved" and april["start"] == "2026-04-28T08:00:00+07:00"
    assert april["end"] == "2026-04-28T10:00:00+07:00"
    assert items[1] == {"occurrence": "2026-05-25", "start": "2026-05-25T08:00:00+07:00",
                        "end": "2026-05-25T10:00:00+07:00", "status": "scheduled", "holiday": None,
                        "meeting_id": None, "location": "Hội trường Chi cục, tầng 2"}


def test_bad_rules_and_durations_are_refused_with_the_reason(api, make_user, units):
    organiser = api(make_user("organiser", units["HCM-A"]))
    for overrides, field in [
        ({"rrule": "FREQ=HOURLY"}, "rrule"),
        ({"rrule": "FREQ=MONTHLY\r\nX-EVIL:1"}, "rrule"),
        ({"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31"}, "rrule"),
        ({"rrule": "nonsense"}, "rrule"),
        ({"duration_minutes": 4}, "duration_minutes"),
        ({"duration_minutes": 721}, "duration_minutes"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"unit": "QN-A"}, "unit"),
        ({"invitees": [999]}, "invitees"),
        ({"dtstart": "next monday"}, "dtstart"),
    ]:
        response = organiser.post("/api/v1/series", json={**COFFEE, **overrides})
        assert response.status_code == 422, (overrides, response.json)
        assert field in response.json["error"]["fields"], (overrides, response.json)
    refused = organiser.post("/api/v1/series", json={**COFFEE, "rrule": "FREQ=MINUTELY"})
    assert refused.json["error"]["fields"]["rrule"] == ["Cuộc họp chỉ được lặp lại tối đa một lần mỗi ngày."]
    assert db.session.execute(select(func.count()).select_from(Series)).scalar_one() == 0


def test_one_occurrence_moved_cancelled_restored(api, make_user, units):
    organiser = api(make_user("organiser", units["HCM-A"]))
    series = create(organiser)
    base = f"/api/v1/series/{series['id']}/occurrences"
    moved = organiser.patch(f"{base}/2027-05-31", json={"start": "2027-06-01T14:00:00+07:00",
                                                        "location": "Phòng 301"})
    assert moved.status_code == 200
    assert moved.json["status"] == "moved" and moved.json["start"] == "2027-06-01T14:00:00+07:00"
    assert moved.json["location"] == "Phòng 301"
    cancelled = organiser.patch(f"{base}/2027-06-28", json={"status": "cancelled"}).json
    assert cancelled["status"] == "cancelled"
    items = {i["occurrence"]: i for i in organiser.get(f"{base}?from=2027-05-01&to=2027-07-31").json["items"]}
    assert items["2027-05-31"]["status"] == "moved" and items["2027-06-28"]["status"] == "cancelled"
    assert items["2027-07-26"]["status"] == "scheduled"
    restored = organiser.patch(f"{base}/2027-06-28", json={"status": "scheduled"}).json
    assert restored["status"] == "scheduled"

    assert organiser.patch(f"{base}/2027-06-01", json={"status": "cancelled"}).status_code == 404
    assert organiser.patch(f"{base}/not-a-date", json={"status": "cancelled"}).status_code == 404
    assert organiser.patch(f"{base}/2027-07-26", json={"status": "postponed"}).status_code == 422


def test_an_occurrence_becomes_a_meeting_exactly_once(api, make_user, units):
    organiser = api(make_user("organiser", units["HCM-A"]))
    series = create(organiser)
    path = f"/api/v1/series/{series['id']}/occurrences/2027-03-29/meeting"
    first = organiser.post(path)
    assert first.status_code == 201
    assert first.json["series_id"] == series["id"] and first.json["occurrence"] == "2027-03-29"
    assert first.json["start"] == "2027-03-29T08:00:00+07:00" and first.json["unit"] == "HCM-A"
    again = organiser.post(path)
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    assert db.session.execute(select(func.count()).select_from(Meeting)).scalar_one() == 1
    # The meeting follows a later move of its occurrence.
    organiser.patch(f"/api/v1/series/{series['id']}/occurrences/2027-03-29",
                    json={"start": "2027-03-30T09:00:00+07:00"})
    meeting = organiser.get(f"/api/v1/meetings/{first.json['id']}").json
    assert meeting["start"] == "2027-03-30T09:00:00+07:00" and meeting["status"] == "moved"
    listed = organiser.get(f"/api/v1/series/{series['id']}/occurrences?from=2027-03-01&to=2027-03-31").json
    assert listed["items"][0]["meeting_id"] == first.json["id"]


TAKEN_PLACE = "Cuộc họp này đã diễn ra: không thể dời hoặc hủy nữa."
NOT_INTO_THE_PAST = "Không thể dời cuộc họp về quá khứ: hãy chọn thời điểm muộn hơn."


def around_today(caller, series_id):
    """The series' occurrences of the ten weeks either side of today: (the last one begun, the next one not
    beginning within a day), as the API lists them."""
    today = officetime.today()
    window = f"from={today - timedelta(days=70)}&to={today + timedelta(days=70)}"
    items = caller.get(f"/api/v1/series/{series_id}/occurrences?{window}").json["items"]
    now = datetime.now(UTC)
    begun = [i for i in items if datetime.fromisoformat(i["start"]) <= now]
    coming = [i for i in items if datetime.fromisoformat(i["start"]) > now + timedelta(days=1)]
    return begun[-1], coming[0], window


@pytest.fixture
def invited_series(api, make_user, make_business, units):
    """(organiser's API caller, a monthly series begun in January 2026 whose invited business has a mailed
    contact)."""
    business = make_business(units["HCM-A"])
    add_contact(business, name="Trần Thị Ngọc", email="ngoc@saoviet.example.vn")
    db.session.commit()
    organiser = api(make_user("organiser", units["HCM-A"]))
    return organiser, create(organiser, invitees=[business.id])


def mails() -> int:
    return db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()


def test_a_meeting_that_has_begun_is_neither_moved_nor_cancelled(invited_series):
    organiser, series = invited_series
    begun, coming, window = around_today(organiser, series["id"])
    base = f"/api/v1/series/{series['id']}/occurrences"
    sent = mails()
    later = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
    for change in ({"status": "cancelled"}, {"start": later}, {"location": "Phòng 301"}, {"status": "scheduled"}):
        refused = organiser.patch(f"{base}/{begun['occurrence']}", json=change)
        assert refused.status_code == 422, (change, refused.json)
        assert refused.json["error"]["message"] == TAKEN_PLACE, change
    listed = {i["occurrence"]: i for i in organiser.get(f"{base}?{window}").json["items"]}
    assert listed[begun["occurrence"]] == begun
    assert db.session.execute(select(func.count()).select_from(OccurrenceOverride)).scalar_one() == 0
    assert mails() == sent
    # A meeting still to come is cancelled, and the contact told: the refusals above were the rule, not a mute.
    assert organiser.patch(f"{base}/{coming['occurrence']}", json={"status": "cancelled"}).status_code == 200
    assert mails() > sent


def test_no_meeting_is_moved_into_the_past(invited_series):
    organiser, series = invited_series
    _begun, coming, window = around_today(organiser, series["id"])
    base = f"/api/v1/series/{series['id']}/occurrences"
    sent = mails()
    for moment in (datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) - timedelta(days=40)):
        refused = organiser.patch(f"{base}/{coming['occurrence']}",
                                  json={"start": moment.replace(microsecond=0).isoformat()})
        assert refused.status_code == 422, refused.json
        assert refused.json["error"]["fields"]["start"] == [NOT_INTO_THE_PAST]
    listed = {i["occurrence"]: i for i in organiser.get(f"{base}?{window}").json["items"]}
    assert listed[coming["occurrence"]] == coming
    assert db.session.execute(select(func.count()).select_from(OccurrenceOverride)).scalar_one() == 0
    assert mails() == sent


def test_the_series_page_says_a_meeting_that_has_begun_stays_as_it_was(client, login, make_user, units, api):
    organiser = make_user("organiser", units["HCM-A"])
    series = create(api(organiser))
    begun, _coming, _window = around_today(api(organiser), series["id"])
    login(organiser)
    for action in ("cancel", "restore"):
        page = client.post(f"/series/{series['id']}/occurrences/{begun['occurrence']}/{action}",
                           follow_redirects=True)
        assert page.status_code == 200 and TAKEN_PLACE in page.get_data(as_text=True), action
    moved = client.post(f"/series/{series['id']}/occurrences/{begun['occurrence']}/move", follow_redirects=True,
                        data={"new_date": str(officetime.today() + timedelta(days=7)), "new_time": "14:00",
                              "location": "Phòng 301"})
    assert TAKEN_PLACE in moved.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(OccurrenceOverride)).scalar_one() == 0


def test_one_off_meetings(api, make_user, units):
    organiser = api(make_user("organiser", units["HCM-A"]))
    created = organiser.post("/api/v1/meetings", json={
        "title": "Làm việc tại trụ sở doanh nghiệp", "unit": "HCM-A", "start": "2027-03-10T09:00:00+07:00",
        "duration_minutes": 90, "location": "Lô I-3, Khu Công nghệ cao", "kind": "visit",
    })
    assert created.status_code == 201
    assert created.json["series_id"] is None and created.json["end"] == "2027-03-10T10:30:00+07:00"
    assert created.json["attendees"] == [] and created.json["issues"] == []
    naive = organiser.post("/api/v1/meetings", json={
        "title": "x", "unit": "HCM-A", "start": "2027-03-10T09:00", "duration_minutes": 90, "location": "y",
    })
    assert naive.status_code == 422 and "start" in naive.json["error"]["fields"]


def test_windows_are_bounded_and_scope_applies(api, make_user, make_business, units):
    organiser = api(make_user("organiser", units["HCM-A"]))
    series = create(organiser)
    too_long = organiser.get(f"/api/v1/series/{series['id']}/occurrences?from=2026-01-01&to=2031-06-01")
    assert too_long.status_code == 422
    other_branch = api(make_user("organiser", units["HCM-B"]))
    assert other_branch.get(f"/api/v1/series/{series['id']}").status_code == 404
    assert other_branch.patch(f"/api/v1/series/{series['id']}/occurrences/2027-03-29",
                              json={"status": "cancelled"}).status_code == 404
    department = api(make_user("manager", units["HCM"]))
    assert department.get(f"/api/v1/series/{series['id']}").status_code == 200

    invited = make_business(units["HCM-A"], name="Công ty được mời")
    stranger = make_business(units["HCM-A"], name="Công ty không được mời")
    invited_series = create(organiser, title="Đối thoại chuyên đề", invitees=[invited.id])
    guest = api(make_user("business", business=invited))
    outsider = api(make_user("business", business=stranger))
    assert guest.get(f"/api/v1/series/{invited_series['id']}").status_code == 200
    assert guest.get(f"/api/v1/series/{series['id']}").status_code == 404
    assert outsider.get(f"/api/v1/series/{invited_series['id']}").status_code == 404
    assert guest.patch(f"/api/v1/series/{invited_series['id']}/occurrences/2027-03-29",
                       json={"status": "cancelled"}).status_code == 403


def test_restoring_gives_the_meeting_back_to_its_rule_and_holiday_policy(api, make_user, units):
    organiser = api(make_user("organiser", units["HCM-A"]))
    # First Mondays: 03/05/2027 is the day off given back for Labour Day.
    first_mondays = {"rrule": "FREQ=MONTHLY;BYDAY=1MO", "dtstart": "2027-01-04T08:00"}
    shifting = create(organiser, holiday_policy="next_workday", **first_mondays)
    base = f"/api/v1/series/{shifting['id']}/occurrences/2027-05-03"
    organiser.patch(base, json={"status": "cancelled"})
    restored = organiser.patch(base, json={"status": "scheduled"}).json
    # Back where the policy puts it (off the holiday), not on the day off.
    assert restored["start"] == "2027-05-04T08:00:00+07:00" and restored["status"] == "moved"

    skipping = create(organiser, title="Bỏ qua ngày lễ", holiday_policy="skip", **first_mondays)
    base = f"/api/v1/series/{skipping['id']}/occurrences/2027-05-03"
    assert organiser.get(f"/api/v1/series/{skipping['id']}/occurrences?from=2027-05-03&to=2027-05-03").json[
        "items"][0]["status"] == "cancelled"
    held = organiser.patch(base, json={"status": "scheduled"}).json
    # The policy skipped it; restoring holds it on its date, holiday or not, as the organiser chose.
    assert held["status"] == "scheduled" and held["start"] == "2027-05-03T08:00:00+07:00"
    assert held["holiday"] == "Ngày Quốc tế Lao động (nghỉ bù)"


def test_out_of_range_input_is_refused_not_crashed(api, make_user, units):
    organiser = api(make_user("organiser", units["HCM-A"]))
    series = create(organiser)
    for rule in ("FREQ=DAILY;INTERVAL=0", "FREQ=DAILY;COUNT=0", "FREQ=DAILY;COUNT=-3", "FREQ=MONTHLY;BYMONTHDAY=0",
                 "FREQ=DAILY;INTERVAL=-1", "FREQ=DAILY;BYYEARDAY=400", "freq=hourly", "FREQ=WEEKLY;BYDAY=XX"):
        response = organiser.post("/api/v1/series", json={**COFFEE, "rrule": rule})
        assert response.status_code == 422 and "rrule" in response.json["error"]["fields"], rule
    for body in ({"dtstart": "0001-01-01T08:00"}, {"dtstart": "9990-01-01T08:00"}, {"invitees": [10**22]},
                 {"timezone": "localtime"}):
        assert organiser.post("/api/v1/series", json={**COFFEE, **body}).status_code == 422, body
    for path in (f"/api/v1/series/{10**22}", f"/api/v1/users/{10**22}", "/api/v1/units?page=99999999999999999999",
                 f"/api/v1/series/{series['id']}/occurrences?from=9999-12-31",
                 f"/api/v1/series/{series['id']}/occurrences?from=0001-01-01&to=0001-02-01",
                 f"/api/v1/series/{series['id']}/occurrences?from=2027-01-01&to=2032-01-04"):
        assert organiser.get(path).status_code in (404, 422), path
    far = organiser.patch(f"/api/v1/series/{series['id']}/occurrences/2027-11-29",
                          json={"start": "9999-12-31T08:00:00+07:00"})
    assert far.status_code == 422
    moved_far = organiser.patch(f"/api/v1/series/{series['id']}/occurrences/2027-11-29",
                                json={"start": "2033-01-25T08:00:00+07:00"})
    assert moved_far.status_code == 200 and moved_far.json["start"] == "2033-01-25T08:00:00+07:00"


def test_editing_a_series_moves_its_meetings_and_the_trail_names_who_was_uninvited(
        api, make_user, make_business, units):
    from datetime import datetime

    from dialogue_app.audit.models import AuditEntry
    from dialogue_app.scheduling import services

    first, second = make_business(units["HCM-A"], name="Một"), make_business(units["HCM-A"], name="Hai")
    organiser = api(make_user("organiser", units["HCM-A"]))
    created = create(organiser, invitees=[first.id, second.id])
    meeting = organiser.post(f"/api/v1/series/{created['id']}/occurrences/2027-03-29/meeting").json
    series = db.session.get(Series, created["id"])
    services.update_series(series, first_start=datetime(2026, 1, 26, 14, 0), location="Phòng họp mới",
                           invitees=[first])
    db.session.commit()
    after = organiser.get(f"/api/v1/meetings/{meeting['id']}").json
    assert after["start"] == "2027-03-29T14:00:00+07:00" and after["location"] == "Phòng họp mới"
    trail = db.session.execute(select(AuditEntry).where(AuditEntry.object_type == "series")
                               .order_by(AuditEntry.id.desc())).scalars().first()
    assert trail.details["invitees"] == {"added": [], "removed": [second.id]}

    guest = api(make_user("business", business=first))
    assert guest.get(f"/api/v1/series/{created['id']}").json["invitees"] == [first.id]


def test_a_unit_holding_meetings_cannot_be_deleted(api, make_user, units):
    from dialogue_app.exceptions import Conflict
    from dialogue_app.org.services import delete_unit

    create(api(make_user("organiser", units["HCM-B"])), unit="HCM-B")
    with pytest.raises(Conflict):
        delete_unit(units["HCM-B"])


def test_a_series_edit_or_a_split_leaves_the_meetings_held_as_they_were(make_series, units):
    """Attendance, minutes and issues hang on a meeting held: a later edit of the series (place, time, rule)
    or a day off does not rewrite it, and 'this and all following' cannot start in the past."""
    series = make_series(units["HCM-A"], rule="FREQ=WEEKLY;BYDAY=MO", location="Hội trường cũ",
                         first_start=datetime.now().replace(hour=8, minute=0, second=0, microsecond=0)
                         - timedelta(days=70))
    now = datetime.now(UTC)
    found = scheduling.occurrences(series, now - timedelta(days=40), now + timedelta(days=40))
    held = next(o for o in found if o.end < now)
    coming = next(o for o in found if o.start > now + timedelta(days=1))
    held_meeting, _ = scheduling.meeting_for(series, held.occurrence)
    coming_meeting, _ = scheduling.meeting_for(series, coming.occurrence)
    db.session.commit()
    held_start = held_meeting.start

    scheduling.update_series(series, location="Phòng họp mới", notify=False)
    db.session.commit()
    db.session.refresh(held_meeting), db.session.refresh(coming_meeting)
    assert (held_meeting.location, coming_meeting.location) == ("Hội trường cũ", "Phòng họp mới")
    scheduling.update_series(series, rule="FREQ=WEEKLY;BYDAY=TU", notify=False)
    db.session.commit()
    db.session.refresh(held_meeting), db.session.refresh(coming_meeting)
    assert (held_meeting.start, held_meeting.status) == (held_start, "scheduled")
    assert coming_meeting.status == "cancelled"  # no Monday any more

    with pytest.raises(InvalidData) as refused:
        scheduling.split_series(series, held.occurrence + timedelta(days=1), location="Nơi khác")
    assert refused.value.fields == {"from_date": ["Thay đổi chỉ áp dụng từ hôm nay: hãy chọn hôm nay hoặc một "
                                                  "ngày sau."]}
