from datetime import date

from sqlalchemy import func, select

from dialogue_app import officetime
from dialogue_app.extensions import db
from dialogue_app.officetime.models import CalendarAdjustment
from dialogue_app.scheduling.models import Meeting, OccurrenceOverride, Series

FORM = {
    "title": "Cà phê sáng cùng doanh nghiệp", "kind": "dialogue", "unit": "HCM-A", "location": "Hội trường tầng 2",
    "preset": "last_weekday", "weekday": "MO", "monthday": "15", "start_date": "2026-01-26", "start_time": "08:00",
    "duration_minutes": "120", "holiday_policy": "next_workday", "end": "never",
}


def test_organiser_builds_a_series_from_a_preset(client, login, make_user, make_business, units):
    business = make_business(units["HCM-A"])
    login(make_user("organiser", units["HCM-A"]))
    response = client.post("/series/new", data={**FORM, "invitees": [str(business.id)]})
    assert response.status_code == 302
    series = db.session.execute(select(Series)).scalar_one()
    assert series.rule == "FREQ=MONTHLY;BYDAY=-1MO" and series.invitees == [business]
    page = client.get(f"/series/{series.id}?year=2026").get_data(as_text=True)
    assert "Thứ Hai cuối cùng của tháng" in page
    assert "08:00, Thứ Ba, 28/04/2026" in page  # shifted off the Hùng Kings' substitute day off
    assert "Ngày Giỗ Tổ Hùng Vương (nghỉ bù)" in page


def test_preview_shows_twelve_meetings_and_explains_a_bad_rule(client, login, make_user, units):
    login(make_user("organiser", units["HCM-A"]))
    good = client.get("/series/preview", query_string={**FORM, "start_date": "2029-01-29"}).json
    assert good["problem"] is None and len(good["items"]) == 12
    # 30/04/2029 is Victory Day and 01/05 Labour Day: the meeting moves to Wednesday 02/05.
    assert good["items"][3]["occurrence"] == "2029-04-30" and good["items"][3]["status"] == "moved"
    assert "02/05/2029" in good["items"][3]["label"]
    # A series that started in the past previews its next meetings, not its first ones.
    ongoing = client.get("/series/preview", query_string={**FORM, "start_date": "2019-09-30"}).json
    assert date.fromisoformat(ongoing["items"][0]["occurrence"]) >= officetime.today()
    bad = client.get("/series/preview", query_string={**FORM, "preset": "custom", "rule": "FREQ=HOURLY"}).json
    assert bad["items"] == [] and bad["problem"] == "Cuộc họp chỉ được lặp lại tối đa một lần mỗi ngày."
    # The same preview without JavaScript: the form's own button, which saves nothing.
    page = client.post("/series/new", data={**FORM, "start_date": "2029-01-29", "preview": "1"}).get_data(as_text=True)
    assert page.count("occurrence-when") == 12
    assert db.session.execute(select(func.count()).select_from(Series)).scalar_one() == 0


def test_a_refused_form_saves_nothing_and_names_the_field(client, login, make_user, units):
    login(make_user("organiser", units["HCM-A"]))
    for data, message in [
        ({**FORM, "preset": "custom", "rule": "FREQ=MONTHLY;BYDAY=MO\nX:1"}, "một dòng"),
        ({**FORM, "duration_minutes": "3"}, "5 phút"),
        ({**FORM, "title": ""}, "tiêu đề"),
        ({**FORM, "unit": "QN-A"}, "Chọn đơn vị"),
    ]:
        page = client.post("/series/new", data=data)
        assert page.status_code == 200
        assert message.lower() in page.get_data(as_text=True).lower(), message
    assert db.session.execute(select(func.count()).select_from(Series)).scalar_one() == 0


def make_series(client, login, make_user, units):
    login(make_user("organiser", units["HCM-A"]))
    client.post("/series/new", data=FORM)
    return db.session.execute(select(Series)).scalar_one()


def test_move_cancel_restore_one_meeting_from_the_series_page(client, login, make_user, units):
    series = make_series(client, login, make_user, units)
    client.post(f"/series/{series.id}/occurrences/2027-05-31/move",
                data={"new_date": "2027-06-01", "new_time": "14:30", "location": "Phòng 301"})
    client.post(f"/series/{series.id}/occurrences/2027-06-28/cancel")
    page = client.get(f"/series/{series.id}?year=2027").get_data(as_text=True)
    assert "14:30, Thứ Ba, 01/06/2027" in page and "Phòng 301" in page
    overrides = {o.occurrence: o for o in db.session.execute(select(OccurrenceOverride)).scalars()}
    assert overrides[date(2027, 6, 28)].cancelled is True
    client.post(f"/series/{series.id}/occurrences/2027-06-28/restore")
    assert db.session.get(OccurrenceOverride, overrides[date(2027, 6, 28)].id).cancelled is None
    wrong = client.post(f"/series/{series.id}/occurrences/2027-06-29/cancel", follow_redirects=True)
    assert "không có cuộc họp" in wrong.get_data(as_text=True).lower()


def test_this_and_all_following_keeps_the_past(client, login, make_user, units):
    series = make_series(client, login, make_user, units)
    client.post(f"/series/{series.id}/occurrences/2027-03-29/meeting")
    client.post(f"/series/{series.id}/occurrences/2027-09-27/move",
                data={"new_date": "2027-09-28", "new_time": "08:00", "location": ""})
    response = client.post(f"/series/{series.id}/edit", data={
        **FORM, "preset": "custom", "rule": "FREQ=MONTHLY;BYDAY=-1MO", "start_time": "14:00",
        "location": "Trụ sở mới", "apply_from": "2027-07-01",
    })
    assert response.status_code == 302
    old, new = db.session.execute(select(Series).order_by(Series.id)).scalars().all()
    # Ends the day before the first meeting on or after the date asked for (26/07).
    assert old.rule == "FREQ=MONTHLY;BYDAY=-1MO;UNTIL=20270725T235959" and old.location == "Hội trường tầng 2"
    assert new.previous_id == old.id and new.location == "Trụ sở mới" and new.first_start.hour == 14
    assert db.session.execute(select(Meeting.series_id)).scalar_one() == old.id  # March stays in the past part
    assert db.session.execute(select(OccurrenceOverride.series_id)).scalar_one() == new.id
    page = client.get(f"/series/{new.id}?year=2027").get_data(as_text=True)
    assert "14:00, Thứ Hai, 26/07/2027" in page and "08:00, Thứ Ba, 28/09/2027" in page


def test_calendar_and_agenda_show_the_units_meetings(client, login, make_user, units):
    make_series(client, login, make_user, units)
    client.post("/logout")
    login(make_user("manager", units["HCM"]))
    month = client.get("/calendar?month=2026-04").get_data(as_text=True)
    assert "Cà phê sáng cùng doanh nghiệp" in month and "Ngày Giỗ Tổ Hùng Vương (nghỉ bù)" in month
    client.post("/logout")
    login(make_user("manager", units["QN"]))
    assert "Cà phê sáng" not in client.get("/calendar?month=2026-04").get_data(as_text=True)
    assert client.get("/calendar?month=garbage").status_code == 200
    assert client.get("/agenda?weeks=abc").status_code == 200


def test_admin_records_announced_days_and_shifts_follow(client, login, make_user, units):
    series = make_series(client, login, make_user, units)
    client.post("/logout")
    login(make_user("admin"))
    page = client.get("/holidays?year=2027").get_data(as_text=True)
    assert "Tết Nguyên Đán" in page and "chưa có" in page.lower()
    client.post("/holidays?year=2027", data={"day": "2027-03-29", "kind": "day_off", "name": "Nghỉ bù đặc biệt"})
    assert db.session.execute(select(CalendarAdjustment.name)).scalar_one() == "Nghỉ bù đặc biệt"
    series_page = client.get(f"/series/{series.id}?year=2027").get_data(as_text=True)
    assert "Nghỉ bù đặc biệt" in series_page and "08:00, Thứ Ba, 30/03/2027" in series_page
    refused = client.post("/holidays?year=2027", data={"day": "2027-03-31", "kind": "working_day", "name": ""})
    assert "thứ bảy" in refused.get_data(as_text=True).lower()


def test_only_staff_in_scope_reach_series(client, login, make_user, make_business, units):
    series = make_series(client, login, make_user, units)
    client.post("/logout")
    login(make_user("organiser", units["HCM-B"]))
    assert client.get(f"/series/{series.id}").status_code == 404
    assert client.post(f"/series/{series.id}/occurrences/2027-05-31/cancel").status_code == 404
    client.post("/logout")
    login(make_user("business", business=make_business(units["HCM-A"])))
    assert client.get("/series/new").status_code == 404
    assert client.get(f"/series/{series.id}").status_code == 404  # not invited


def test_pages_run_a_fixed_number_of_queries(client, login, make_user, make_business, units, count_queries):
    organiser = make_user("organiser", units["HCM-A"])
    login(organiser)

    def add_series(n: int, title: str):
        client.post("/series/new", data={**FORM, "title": title, "start_date": "2028-01-31"})
        series = db.session.execute(select(Series).where(Series.title == title)).scalar_one()
        for day in ("2028-02-28", "2029-03-26", "2030-05-27", "2031-06-30", "2032-07-26")[:n]:
            client.post(f"/series/{series.id}/occurrences/{day}/meeting")
            client.post(f"/series/{series.id}/occurrences/{day}/move",
                        data={"new_date": day, "new_time": "09:00", "location": "Phòng khác"})
        # Each meeting moved (still to come), so the pages below carry one override per meeting.
        assert db.session.execute(select(func.count()).select_from(OccurrenceOverride)
                                  .where(OccurrenceOverride.series_id == series.id)).scalar_one() == n
        return series

    small = add_series(1, "Một")
    large = add_series(5, "Nhiều")
    counts = {}
    for name, path in [("small", f"/series/{small.id}?year=2028"), ("large", f"/series/{large.id}?year=2028")]:
        with count_queries() as counted:
            assert client.get(path).status_code == 200
        counts[name] = counted.n
    assert counts["small"] == counts["large"]

    def queries(path: str) -> int:
        with count_queries() as counted:
            assert client.get(path).status_code == 200
        return counted.n

    before = {path: queries(path) for path in ("/calendar?month=2030-05", "/agenda", "/series")}
    for index in range(3):
        add_series(2, f"Thêm {index}")
    after = {path: queries(path) for path in before}
    assert before == after


def test_the_series_page_leads_to_the_next_year_only_while_the_series_goes_on(client, login, make_user, units):
    series = make_series(client, login, make_user, units)
    assert "2028 →" in client.get(f"/series/{series.id}?year=2027").get_data(as_text=True)
    series.rule += ";COUNT=6"  # January to June 2026
    db.session.commit()
    page = client.get(f"/series/{series.id}?year=2026").get_data(as_text=True)
    assert "08:00, Thứ Hai, 29/06/2026" in page and "2027 →" not in page


def test_a_meeting_moved_onto_another_of_the_unit_says_so_and_is_moved(client, login, make_user, units):
    series = make_series(client, login, make_user, units)
    made = client.post("/meetings/new", data={
        "title": "Làm việc với Công ty Thép", "unit": "HCM-A", "kind": "visit", "date": "2027-06-01",
        "time": "14:00", "duration_minutes": "120", "location": "Phòng 302"})
    assert made.status_code == 302
    moved = client.post(f"/series/{series.id}/occurrences/2027-05-31/move", follow_redirects=True,
                        data={"new_date": "2027-06-01", "new_time": "14:30", "location": "Phòng 301"})
    text = moved.get_data(as_text=True)
    assert "Lưu ý: “Làm việc với Công ty Thép” diễn ra cùng lúc (14:00 01/06/2027)." in text
    page = client.get(f"/series/{series.id}?year=2027").get_data(as_text=True)
    assert "14:30, Thứ Ba, 01/06/2027" in page  # told, not refused
    # Moved again to an hour of its own: nothing to say.
    quiet = client.post(f"/series/{series.id}/occurrences/2027-05-31/move", follow_redirects=True,
                        data={"new_date": "2027-06-02", "new_time": "08:00", "location": ""})
    assert "Lưu ý" not in quiet.get_data(as_text=True)
