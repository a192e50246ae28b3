"""The authorization matrix: every route of the app, for every method, classified; anonymous callers, a
business user and an organiser are each answered as their class says. A route nobody classified fails
this test, so nothing ships unprotected."""

import re
from datetime import datetime

import icalendar
import pytest

from dialogue_app.auth.models import Role
from dialogue_app.calendar import services as calendar_services
from dialogue_app.extensions import db
from dialogue_app.scheduling import services as scheduling
from dialogue_app.scope import BELOW, CHANGE, OWN, READ, RIGHTS

PUBLIC = "public"  # anyone, no sign-in
SIGNED_IN = "signed_in"  # any signed-in person (what they see inside is scoped)
STAFF = "staff"  # admins, managers, organisers; a business gets 404
ADMIN = "admin"  # admins only; others get 404
MANAGERS = "managers"  # admins and managers; organisers and businesses get 404
BUSINESS = "business"  # the business's own action; staff get 404
API = "api"  # /api/v1 with a bearer token; anonymous gets 401
FILE = "file"  # a bearer token or a session; a browser without either is sent to sign in, a bad token gets 401
UNSCOPED_FORM = "form"  # a page that answers its own form errors (e.g. the sign-in page)

CLASSES = {
    "static": PUBLIC, "home.health": PUBLIC, "home.ready": PUBLIC, "auth.login": UNSCOPED_FORM,
    "home.set_language": PUBLIC,
    "attendance.rsvp": PUBLIC, "issues.public_answers": PUBLIC, "calendar.feed": PUBLIC,
    "api-docs.openapi_json": PUBLIC, "api_reference.page": PUBLIC, "tokens.create_token": PUBLIC,
    "auth.logout": PUBLIC, "reports.display": PUBLIC,
    "home.index": SIGNED_IN, "issues.issue_list": SIGNED_IN, "issues.issue_page": SIGNED_IN,
    "issues.create_issue": SIGNED_IN, "issues.upload": SIGNED_IN, "issues.download": SIGNED_IN,
    "scheduling.month": SIGNED_IN, "scheduling.agenda": SIGNED_IN, "scheduling.series_page": SIGNED_IN,
    "scheduling.meeting_page": SIGNED_IN, "scheduling.holidays_page": SIGNED_IN, "calendar.manage": SIGNED_IN,
    "minutes.minutes_page": SIGNED_IN, "minutes.revision_page": SIGNED_IN,
    "auth.sessions": SIGNED_IN, "auth.end_session": SIGNED_IN, "auth.end_other_sessions": SIGNED_IN,
    "auth.revoke_token": SIGNED_IN, "auth.change_password": SIGNED_IN,
    "issues.rate": BUSINESS,
    "auth.users": ADMIN, "auth.create_user": ADMIN, "auth.edit_user": ADMIN, "audit.entries": ADMIN,
    "org.units": ADMIN, "org.edit_unit": ADMIN, "org.delete_unit": ADMIN, "issues.topics": ADMIN,
    "scheduling.delete_adjustment": ADMIN,
    "calendar.meeting_invite": FILE, "minutes.minutes_pdf": FILE,
}
STAFF_PREFIXES = ("attendance.", "org.", "imports.", "scheduling.", "issues.", "minutes.")
API_PREFIXES = ("businesses.", "issues_api.", "meetings.", "minutes_api.", "series.", "tokens.", "units.",
                "users.")


def classify(endpoint: str) -> str:
    if endpoint in CLASSES:
        return CLASSES[endpoint]
    if endpoint.startswith("reports."):
        return MANAGERS
    if endpoint.startswith(API_PREFIXES):
        return API
    if endpoint.startswith(STAFF_PREFIXES):
        return STAFF
    raise AssertionError(f"route {endpoint!r} is not classified: add it to CLASSES in {__name__}")


SAMPLE_VALUES = {"int": "1", "default": "x", "path": "css/app.css"}


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            values = {}
            for name, converter in rule._converters.items():
                kind = type(converter).__name__
                if "Any" in kind:
                    values[name] = sorted(converter.items)[0]
                    continue
                values[name] = "1" if "Int" in kind or "Id" in kind else (
                    "2026-01-26" if name in ("day", "occurrence") else "series" if name == "kind" else "x")
            yield rule.endpoint, method, rule.build(values, append_unknown=False)[1]


def test_every_route_is_classified(app):
    unclassified = sorted({endpoint for endpoint, _, _ in routes(app) if _safe_classify(endpoint) is None})
    assert unclassified == [], f"classify these routes in {__name__}: {unclassified}"


def _safe_classify(endpoint):
    try:
        return classify(endpoint)
    except AssertionError:
        return None


# Routes that end or change the session: walking them signed in would sign the walker out.
SESSION_CHANGING = {"auth.logout", "auth.login", "home.set_language"}


def signed_in_routes(app):
    return [(e, m, p) for e, m, p in routes(app) if e not in SESSION_CHANGING]


def call(client, method, path):
    return client.open(path, method=method, data={}, follow_redirects=False)


def test_anonymous_callers_meet_sign_in_everywhere_but_public_routes(app, client):
    for endpoint, method, path in routes(app):
        kind = classify(endpoint)
        answer = call(client, method, path)
        if kind in (SIGNED_IN, STAFF, ADMIN, MANAGERS, BUSINESS, FILE):
            assert answer.status_code == 302 and "/login" in answer.headers["Location"], (endpoint, method, path)
        elif kind == API:
            assert answer.status_code == 401, (endpoint, method, path, answer.status_code)
        else:
            assert answer.status_code < 500 and answer.status_code != 401, (endpoint, method, path)


@pytest.fixture
def people(units, make_user, make_business):
    business = make_business(units["HCM-A"])
    return {"business": make_user("business", business=business),
            "organiser": make_user("organiser", units["HCM-A"])}


def test_business_users_reach_no_staff_page_and_organisers_no_admin_page(app, client, login, people):
    login(people["business"])
    for endpoint, method, path in signed_in_routes(app):
        kind = classify(endpoint)
        if kind in (STAFF, ADMIN, MANAGERS):
            assert call(client, method, path).status_code == 404, (endpoint, method, path)
    client.post("/logout")
    login(people["organiser"])
    for endpoint, method, path in signed_in_routes(app):
        kind = classify(endpoint)
        answer = call(client, method, path)
        if kind in (ADMIN, MANAGERS, BUSINESS):
            assert answer.status_code == 404, (endpoint, method, path)
        assert answer.status_code < 500, (endpoint, method, path)


def test_no_route_answers_500_to_a_signed_in_business(app, client, login, people):
    login(people["business"])
    for endpoint, method, path in signed_in_routes(app):
        assert call(client, method, path).status_code < 500, (endpoint, method, path)


def test_file_endpoints_refuse_a_bad_token_rather_than_fall_back(app, client):
    for endpoint, method, path in routes(app):
        if classify(endpoint) == FILE:
            answer = client.open(path, method=method, headers={"Authorization": "Bearer wrong"})
            assert answer.status_code == 401, (endpoint, path)


# -- Payloads, not only routes ---------------------------------------------------------------------------------
# A secret inside an answer (a feed address opens its feed without signing in) must follow the scope of what it
# opens. Every GET of the API is walked as a business user; every feed address found anywhere in the answers is
# opened, and what it shows must be what that business may see.

FEED_ADDRESS = re.compile(r"/feeds/([A-Za-z0-9_-]{16,})\.ics")


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def api_get_paths(app, ids=range(1, 6)):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "GET" not in rule.methods:
            continue
        names = list(rule._converters)
        if not names:
            yield rule.rule
            continue
        for ident in ids:
            values = {name: ("HCM-A" if "Int" not in type(conv).__name__ and "Id" not in type(conv).__name__
                             else str(ident)) for name, conv in rule._converters.items()}
            yield rule.build(values, append_unknown=False)[1]


@pytest.fixture
def branch_world(units, make_business, make_user):
    ours = make_business(units["HCM-A"], name="Công ty Của Mình")
    theirs = make_business(units["HCM-A"], name="Công ty Người Khác")
    mine = scheduling.create_series(title="Đối thoại của mình", unit=units["HCM-A"], location="P1",
                                    rule="FREQ=MONTHLY;BYDAY=-1MO", first_start=datetime(2026, 1, 26, 8),
                                    duration_minutes=60, invitees=[ours], notify=False)
    other = scheduling.create_series(title="Đối thoại riêng của người khác", unit=units["HCM-A"], location="P2",
                                     rule="FREQ=MONTHLY;BYDAY=1TU", first_start=datetime(2026, 1, 6, 8),
                                     duration_minutes=60, invitees=[theirs], notify=False)
    db.session.commit()
    return {"business": make_user("business", business=ours), "ours": ours, "mine": mine, "other": other}


def test_no_api_answer_gives_a_business_a_feed_beyond_its_scope(app, client, api, branch_world):
    caller = api(branch_world["business"])
    found = set()
    for path in api_get_paths(app):
        answer = caller.get(path)
        assert answer.status_code < 500, path
        if answer.is_json:
            for text in _strings(answer.json):
                found.update(FEED_ADDRESS.findall(text))
    assert found, "the business's own feeds are in its answers"
    allowed = {calendar_services.series_uid(branch_world["mine"])}
    for token in found:
        feed = client.get(f"/feeds/{token}.ics")
        assert feed.status_code == 200, token
        uids = {str(e["UID"]) for e in icalendar.Calendar.from_ical(feed.data).walk("VEVENT")}
        assert uids <= allowed, (token, uids - allowed)


def test_file_endpoints_keep_the_session_under_a_proxys_basic_header(app, client, login, people):
    """A proxy in front of the site may add its own `Authorization: Basic …`: the signed-in session decides."""
    login(people["organiser"])
    for endpoint, method, path in routes(app):
        if classify(endpoint) == FILE:
            plain = client.open(path, method=method).status_code
            basic = client.open(path, method=method, headers={"Authorization": "Basic cHJveHk6cHJveHk="})
            assert basic.status_code == plain != 401, (endpoint, path, basic.status_code)


# -- The rights of higher units, generated from the table in scope.py ------------------------------------------

STAFF_AT = {Role.ADMIN: None, Role.MANAGER: "HCM", Role.ORGANISER: "HCM"}
PLACES = {OWN: "HCM", BELOW: "HCM-A", None: "QN-A"}  # from the Department of HCM: its own, below it, elsewhere


@pytest.mark.parametrize("role", list(RIGHTS))
def test_each_role_reads_and_changes_issues_and_minutes_as_the_rights_table_says(api, units, topics, make_user,
                                                                                  make_business, role):
    admin = api(make_user("admin"))
    caller = api(make_user(role.value, units[STAFF_AT[role]] if STAFF_AT[role] else None))
    for where, code in PLACES.items():
        where = OWN if role == Role.ADMIN else where
        rights = RIGHTS[role].get(where, frozenset()) if where else frozenset()
        business = make_business(units[code], name=f"Công ty ở {code}")
        issue = admin.post("/api/v1/issues", json={"title": "Vướng mắc", "description": "", "channel": "phone",
                                                   "business_id": business.id, "topic": "tariff",
                                                   "unit": code}).json
        meeting = admin.post("/api/v1/meetings", json={"title": "Đối thoại", "unit": code, "location": "P1",
                                                       "start": "2026-10-05T08:00:00+07:00", "duration_minutes": 60,
                                                       "kind": "dialogue"}).json
        read = caller.get(f"/api/v1/issues/{issue['id']}").status_code
        change = caller.post(f"/api/v1/issues/{issue['id']}/transitions", json={"to": "escalated", "note": "Lên"})
        minutes = caller.put(f"/api/v1/meetings/{meeting['id']}/minutes", json={"body": "Nội dung"})
        context = (role, code, where)
        assert read == (200 if READ in rights else 404), context
        assert change.status_code == (200 if CHANGE in rights else 409 if READ in rights else 404), context
        assert minutes.status_code == (200 if CHANGE in rights else 403 if READ in rights else 404), context
        if change.status_code == 409:
            assert "HCM-A" in change.json["error"]["message"] or units[code].name in change.json["error"]["message"]
