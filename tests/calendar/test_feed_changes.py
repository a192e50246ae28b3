"""Feeds remembered by each server until a change on any server (issue 19): no database round trip while
nothing changed, a change seen at once through another server, never a stale answer for long without Redis."""

import time
from datetime import date, datetime

import pytest
from sqlalchemy import event

from dialogue_app.calendar import services as calendar
from dialogue_app.extensions import db
from dialogue_app.officetime.days import AdjustmentKind
from dialogue_app.scheduling import services as scheduling


@pytest.fixture
def series(units, make_business):
    business = make_business(units["HCM-A"], name="Công ty TNHH Điện tử Sao Việt")
    made = scheduling.create_series(
        title="Cà phê sáng cùng doanh nghiệp", unit=units["HCM-A"], location="Hội trường",
        rule="FREQ=MONTHLY;BYDAY=-1MO", first_start=datetime(2026, 1, 26, 8), duration_minutes=120,
        invitees=[business], notify=False)
    db.session.commit()
    return made


def feed_path(series) -> str:
    url = calendar.feed_url("series", series.id)
    db.session.commit()
    return url.replace("http://localhost", "")


def statements_on(app):
    """A list that grows by one for each SQL statement `app` sends to the database."""
    with app.app_context():
        engine = db.engine
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def until(condition, seconds: float):
    """Polls `condition` for up to `seconds`; its last value, and how long it took."""
    began = time.monotonic()
    while True:
        value = condition()
        if value or time.monotonic() - began > seconds:
            return value, time.monotonic() - began
        time.sleep(0.01)


def test_polls_of_an_unchanged_feed_ask_neither_flask_nor_the_database(app, client, series):
    entered_flask = []
    app.before_request(lambda: entered_flask.append(1))
    path = feed_path(series)
    first = client.get(path)
    assert first.status_code == 200 and first.content_type == "text/calendar; charset=utf-8; method=PUBLISH"
    statements, entered_flask[:] = statements_on(app), []
    for _ in range(3):
        assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
        again = client.get(path)
        assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
        assert again.content_type == first.content_type
        assert again.headers["Last-Modified"] == first.headers["Last-Modified"]
    assert statements == [] and entered_flask == []


def test_a_change_through_one_server_is_seen_at_once_through_the_other(app, client, series, another_app,
                                                                       redis_url):
    # An hour of trust without news: only the announcement over Redis can explain the other server seeing it.
    app.config.update(REDIS_URL=redis_url)
    app.extensions["feed_changes"].redis_url = redis_url
    other = another_app(REDIS_URL=redis_url, FEED_CACHE_SECONDS=3600)
    other_client = other.test_client()
    path = feed_path(series)
    before = other_client.get(path)
    assert before.status_code == 200
    etag = before.headers["ETag"]
    heard, _ = until(lambda: other.extensions["feed_changes"].listening, 5)
    assert heard, "the other server never subscribed to the feed changes"
    assert other_client.get(path, headers={"If-None-Match": etag}).status_code == 304
    statements = statements_on(other)
    assert other_client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert statements == []  # remembered: no round trip

    scheduling.change_occurrence(series, date(2027, 7, 26), location="Phòng 202", notify=False)
    db.session.commit()  # through the first server
    changed, waited = until(lambda: other_client.get(path, headers={"If-None-Match": etag}).status_code == 200, 2)
    assert changed, "the other server still answers 304 for the old version"
    assert waited < 1
    seen_there, seen_here = other_client.get(path), client.get(path)
    assert seen_there.headers["ETag"] == seen_here.headers["ETag"] != etag
    assert seen_there.data == seen_here.data and "Phòng 202" in seen_there.get_data(as_text=True)


def test_without_redis_another_server_trusts_what_it_remembers_only_briefly(app, series, another_app):
    other = another_app(FEED_CACHE_SECONDS=0.3)
    other_client = other.test_client()
    path = feed_path(series)
    etag = other_client.get(path).headers["ETag"]
    scheduling.change_occurrence(series, date(2027, 7, 26), status="cancelled", notify=False)
    db.session.commit()  # nothing tells the other server
    changed, waited = until(lambda: other_client.get(path, headers={"If-None-Match": etag}).status_code == 200, 3)
    assert changed and waited < 1


@pytest.mark.parametrize("change", ["revoke", "days_off", "account"])
def test_closing_or_changing_a_feed_is_seen_at_once_by_the_server_that_did_it(app, client, series, units,
                                                                               make_user, change):
    app.extensions["feed_changes"].max_age = 3600
    person = make_user("organiser", units["HCM-A"])
    path = feed_path(series) if change != "account" else \
        calendar.feed_url("user", person.id).replace("http://localhost", "")
    db.session.commit()
    etag = client.get(path).headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    if change == "revoke":
        calendar.revoke("series", series.id)
    elif change == "days_off":
        scheduling.set_adjustment(date(2027, 3, 29), AdjustmentKind.DAY_OFF, "Nghỉ bù đặc biệt")
    else:
        person.active = False
    db.session.commit()
    answer = client.get(path, headers={"If-None-Match": etag})
    assert answer.status_code == (200 if change == "days_off" else 404)


def test_a_server_that_cannot_hear_redis_trusts_nothing_it_remembers(app, series, another_app):
    deaf = another_app(REDIS_URL="redis://127.0.0.1:1/0", FEED_CACHE_SECONDS=3600)  # nothing listens there
    deaf_client = deaf.test_client()
    path = feed_path(series)
    etag = deaf_client.get(path).headers["ETag"]
    assert deaf_client.get(path, headers={"If-None-Match": etag}).status_code == 304
    scheduling.change_occurrence(series, date(2027, 7, 26), status="cancelled", notify=False)
    db.session.commit()  # announced to no one
    assert deaf_client.get(path, headers={"If-None-Match": etag}).status_code == 200
