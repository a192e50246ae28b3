"""The authorization matrix: every route of the app, for every method, classified; anonymous callers, a
business user and an organiser are each answered as their class says. A route nobody classified fails
this test, so nothing ships unprotected.

Pages that need a right say so with scope.requires, which leaves the right on the view: those routes are
classified from the view itself and the rights table (scope.RIGHTS), so the table is what is tested. Only the
routes no right governs are listed here: public ones, files (token or session), forms that answer their own
errors, pages any signed-in person reaches (what they see inside is scoped), and the API (bearer tokens)."""

import re
from datetime import datetime

import icalendar
import pytest
from flask import url_for

from dialogue_app.auth.models import Role
from dialogue_app.calendar import services as calendar_services
from dialogue_app.extensions import db
from dialogue_app.scheduling import services as scheduling
from dialogue_app.scope import BELOW, CHANGE, OWN, READ, RIGHTS, UNIT_RIGHTS

PUBLIC = "public"  # anyone, no sign-in
SIGNED_IN = "signed_in"  # any signed-in person (what they see inside is scoped)
RIGHT = "right"  # needs a right of scope.RIGHTS; a signed-in person without it gets 404
API = "api"  # /api/v1 with a bearer token; anonymous gets 401
FILE = "file"  # a bearer token or a session; a browser without either is sent to sign in, a bad token gets 401
UNSCOPED_FORM = "form"  # a page that answers its own form errors (e.g. the sign-in page)

CLASSES = {
    "static": PUBLIC, "home.health": PUBLIC, "home.ready": PUBLIC, "home.favicon": PUBLIC,
    "auth.login": UNSCOPED_FORM,
    "home.set_language": PUBLIC,
    "attendance.rsvp": PUBLIC, "issues.public_answers": PUBLIC, "calendar.feed": PUBLIC,
    "api-docs.openapi_json": PUBLIC, "api_reference.page": PUBLIC, "tokens.create_token": PUBLIC,
    "auth.logout": PUBLIC, "reports.display": PUBLIC,
    "home.index": SIGNED_IN, "issues.issue_list": SIGNED_IN, "issues.issue_page": SIGNED_IN,
    "issues.create_issue": SIGNED_IN, "issues.upload": SIGNED_IN, "issues.download": SIGNED_IN,
    "scheduling.month": SIGNED_IN, "scheduling.agenda": SIGNED_IN, "scheduling.series_page": SIGNED_IN,
    "scheduling.meeting_page": SIGNED_IN, "scheduling.holidays_page": SIGNED_IN, "calendar.manage": SIGNED_IN,
    "auth.sessions": SIGNED_IN, "auth.end_session": SIGNED_IN, "auth.end_other_sessions": SIGNED_IN,
    "auth.revoke_token": SIGNED_IN, "auth.change_password": SIGNED_IN,
    "calendar.meeting_invite": FILE, "minutes.minutes_pdf": FILE,
    "signatures.signed_copy": FILE,
    "signatures.verify": SIGNED_IN,
    "search.results": SIGNED_IN, "search.suggest": SIGNED_IN, "search.units": SIGNED_IN,
    "search.public_answers": PUBLIC,
    # Each person's own notifications and settings: everyone signed in has them.
    "notifications.notification_list": SIGNED_IN, "notifications.mark_read": SIGNED_IN,
    "notifications.mark_all_read": SIGNED_IN, "notifications.preferences": SIGNED_IN,
}
API_PREFIXES = ("businesses.", "invitations.", "issues_api.", "meetings.", "minutes_api.", "series.",
                "signatures_api.", "tokens.", "topics_api.", "units.", "users.", "search_api.", "notifications_api.")


def required_right(app, endpoint: str) -> str | None:
    return getattr(app.view_functions.get(endpoint), "required_right", None)


def classify(app, endpoint: str) -> tuple[str, str | None]:
    """The route's class, and for RIGHT the right it needs."""
    right = required_right(app, endpoint)
    if right is not None:
        assert endpoint not in CLASSES, f"{endpoint!r} declares the right {right!r}: take it out of CLASSES"
        return RIGHT, right
    if endpoint in CLASSES:
        return CLASSES[endpoint], None
    if endpoint.startswith(API_PREFIXES):
        return API, None
    raise AssertionError(f"route {endpoint!r} is not classified: give its view a right with scope.requires, "
                         f"or add it to CLASSES in {__name__}")


def refused(app, endpoint: str, role: Role) -> bool:
    """True when a signed-in person of `role` must get 404 from this route."""
    kind, right = classify(app, endpoint)
    return kind == RIGHT and role not in RIGHTS[right]


def test_the_rights_table_keeps_each_role_to_its_pages():
    """What the matrix below walks is only as strict as the table: a business holds no office right, an
    organiser no administrator's or manager's right, a business's own act is no one else's."""
    assert {right for right, roles in RIGHTS.items() if Role.BUSINESS in roles} == {"business"}
    assert RIGHTS["business"] == {Role.BUSINESS}
    assert RIGHTS["staff"] == {Role.ADMIN, Role.MANAGER, Role.ORGANISER}
    assert RIGHTS["reports"] == {Role.ADMIN, Role.MANAGER}
    for right in ("accounts", "units", "topics", "holidays", "audit"):
        assert RIGHTS[right] == {Role.ADMIN}, right


def test_pages_declare_their_rights(app):
    """Administrators' pages, reports and the office's pages say which right they need."""
    rights = {rule.endpoint: required_right(app, rule.endpoint) for rule in app.url_map.iter_rules()}
    assert rights["auth.users"] == rights["auth.edit_user"] == "accounts"
    assert rights["org.units"] == rights["org.delete_unit"] == "units"
    assert rights["audit.entries"] == "audit" and rights["issues.topics"] == "topics"
    assert rights["scheduling.delete_adjustment"] == "holidays"
    assert rights["issues.rate"] == "business"
    # Reading reports is for staff (an organiser: their own unit's, see scope.report_units); plans and screens
    # for managers.
    assert {right for endpoint, right in rights.items() if endpoint.startswith("reports.")} == {
        "report_reading", "reports", None}
    assert rights["reports.dashboard"] == rights["reports.ranking"] == "report_reading"
    assert rights["reports.plans"] == rights["reports.screens"] == "reports"
    assert rights["org.businesses"] == rights["scheduling.series_list"] == rights["minutes.finalise"] == "staff"


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
    unclassified = sorted({endpoint for endpoint, _, _ in routes(app) if _safe_classify(app, endpoint) is None})
    assert unclassified == [], f"classify these routes in {__name__}: {unclassified}"


def _safe_classify(app, endpoint):
    try:
        return classify(app, endpoint)
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
        kind, _ = classify(app, endpoint)
        answer = call(client, method, path)
        if kind in (SIGNED_IN, RIGHT, FILE):
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
        if refused(app, endpoint, Role.BUSINESS):
            assert call(client, method, path).status_code == 404, (endpoint, method, path)
    client.post("/logout")
    login(people["organiser"])
    for endpoint, method, path in signed_in_routes(app):
        answer = call(client, method, path)
        if refused(app, endpoint, Role.ORGANISER):
            assert answer.status_code == 404, (endpoint, method, path)
        assert answer.status_code < 500, (endpoint, method, path)


def test_no_route_answers_500_to_a_signed_in_business(app, client, login, people):
    login(people["business"])
    for endpoint, method, path in signed_in_routes(app):
        assert call(client, method, path).status_code < 500, (endpoint, method, path)


def test_file_endpoints_refuse_a_bad_token_rather_than_fall_back(app, client):
    for endpoint, method, path in routes(app):
        if classify(app, endpoint)[0] == FILE:
            answer = client.open(path, method=method, headers={"Authorization": "Bearer wrong"})
            assert answer.status_code == 401, (endpoint, path)


# The links of the menu, and the right the page behind each needs.
MENU = ("org.businesses", "scheduling.series_list", "reports.dashboard", "org.units", "auth.users", "issues.topics",
        "audit.entries")


def test_the_menu_offers_each_person_the_pages_their_rights_open(app, client, login, units, make_user,
                                                                 make_business):
    """The menu is drawn from the same table: every page it links to opens for the person reading it, and no
    page that would answer 404 is offered."""
    people = [make_user("admin"), make_user("manager", units["HCM"]), make_user("organiser", units["HCM-A"]),
              make_user("business", business=make_business(units["HCM-A"]))]
    with app.test_request_context():
        links = {endpoint: url_for(endpoint) for endpoint in MENU}
    for person in people:
        login(person)
        page = client.get("/").get_data(as_text=True)
        for endpoint, link in links.items():
            allowed = person.role in RIGHTS[required_right(app, endpoint)]
            assert (f'href="{link}"' in page) == allowed, (person.role, endpoint)
            if allowed:
                assert client.get(link).status_code == 200, (person.role, endpoint)
        client.post("/logout")


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
        if classify(app, endpoint)[0] == FILE:
            plain = client.open(path, method=method).status_code
            basic = client.open(path, method=method, headers={"Authorization": "Basic cHJveHk6cHJveHk="})
            assert basic.status_code == plain != 401, (endpoint, path, basic.status_code)


# -- The rights of higher units, generated from the table in scope.py ------------------------------------------

STAFF_AT = {Role.ADMIN: None, Role.MANAGER: "HCM", Role.ORGANISER: "HCM"}
PLACES = {OWN: "HCM", BELOW: "HCM-A", None: "QN-A"}  # from the Department of HCM: its own, below it, elsewhere


@pytest.mark.parametrize("role", list(UNIT_RIGHTS))
def test_each_role_reads_and_changes_issues_and_minutes_as_the_rights_table_says(api, units, topics, make_user,
                                                                                  make_business, role):
    admin = api(make_user("admin"))
    caller = api(make_user(role.value, units[STAFF_AT[role]] if STAFF_AT[role] else None))
    for where, code in PLACES.items():
        where = OWN if role == Role.ADMIN else where
        rights = UNIT_RIGHTS[role].get(where, frozenset()) if where else frozenset()
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
