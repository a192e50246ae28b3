"""Issue 15: what an independent probe found, each with the test that would have caught it."""

from datetime import datetime

import pytest

from dialogue_app.calendar import services as calendar
from dialogue_app.extensions import db
from dialogue_app.scheduling import services as scheduling


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
