"""The slips a new user met (issue 18), through HTTP: what each page says and offers."""

import re
from datetime import datetime, timedelta

import pytest

from dialogue_app.extensions import db
from dialogue_app.org.services import add_contact
from dialogue_app.scheduling import services as scheduling


@pytest.fixture
def branch(units, make_business, make_user, login):
    business = make_business(units["HCM-A"], name="Công ty Cổ phần Cà phê Đà Lạt")
    add_contact(business, name="Giám đốc", email="gd@example.vn")
    elsewhere = make_business(units["QN-A"], name="Công ty Cà phê Hạ Long")
    organiser = make_user("organiser", units["HCM-A"])
    login(organiser)
    series = scheduling.create_series(title="Cà phê sáng", unit=units["HCM-A"], location="Hội trường",
                                      rule="FREQ=WEEKLY;BYDAY=MO", first_start=datetime(2026, 1, 5, 8),
                                      duration_minutes=120, invitees=[business])
    meeting, _ = scheduling.meeting_for(series, series.first_start.date())
    db.session.commit()
    return {"business": business, "elsewhere": elsewhere, "series": series, "meeting": meeting}


def flashed(response) -> str:
    return re.search(r'<div class="flashes"[^>]*>(.*?)</div>', response.get_data(as_text=True), re.S).group(1)


def test_the_invite_form_says_what_is_wrong_with_the_tax_code(client, branch):
    invite = f"/meetings/{branch['meeting'].id}/invitations"
    said = {code: flashed(client.post(invite, data={"tax_code": code}, follow_redirects=True))
            for code in ("  ", "12ab", "0100109107", "0100109106", branch["elsewhere"].tax_code)}
    assert "Hãy nhập mã số thuế" in said["  "]
    assert "10 chữ số" in said["12ab"]  # malformed
    assert "chữ số kiểm tra" in said["0100109107"]  # a wrong check digit
    assert "Không có doanh nghiệp nào mang mã số thuế 0100109106" in said["0100109106"]  # well formed, unknown
    assert branch["elsewhere"].tax_code in said[branch["elsewhere"].tax_code]  # another department's: not theirs
    assert len(set(said.values())) == 5


def test_past_meetings_of_a_series_offer_no_cancel_or_move(client, branch):
    today = datetime.now().date()
    page = client.get(f"/series/{branch['series'].id}?year={today.year}").get_data(as_text=True)
    rows = dict(re.findall(r'<tr id="o-(\d{4}-\d\d-\d\d)"[^>]*>(.*?)</tr>', page, re.S))
    past = [row for day, row in rows.items() if day < (today - timedelta(days=1)).isoformat()]
    coming = [row for day, row in rows.items() if day > (today + timedelta(days=1)).isoformat()]
    assert past and all("Hủy cuộc họp này" not in row and "Dời lịch" not in row for row in past)
    assert all("Đã qua" in row for row in past)
    if coming:  # late December has no coming Monday left in the year
        assert all("Hủy cuộc họp này" in row and "Dời lịch" in row for row in coming)


def test_form_fields_carry_no_none_attributes(client, branch):
    for path in ("/issues/new", "/meetings/new", "/series/new", "/issues?q=x"):
        page = client.get(path).get_data(as_text=True)
        assert '="None"' not in page and '="False"' not in page, path


def test_favicon_ico_is_served(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/vnd.microsoft.icon"
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # the ICO signature


def test_the_menu_offers_reports_to_an_organiser(client, branch):
    page = client.get("/").get_data(as_text=True)
    assert 'href="/reports"' in page
    assert 'aria-controls="site-menu"' in page and 'id="site-menu"' in page  # the phone menu's button
