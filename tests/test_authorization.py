"""The authorization matrix: every route of the app, for every method, classified; anonymous callers, a
business user and an organiser are each answered as their class says. A route nobody classified fails
this test, so nothing ships unprotected.

Pages that need a right say so with scope.requires, which leaves the right on the view: those routes are
classified from the view itself and the rights table (scope.RIGHTS), so the table is what is tested. Only the
routes no right governs are listed here: public ones, files (token or session), forms that answer their own
errors, pages any signed-in person reaches (what they see inside is scoped), and the API (bearer tokens)."""

import pytest
from flask import url_for

from dialogue_app.auth.models import Role
from dialogue_app.scope import RIGHTS

PUBLIC = "public"  # anyone, no sign-in
SIGNED_IN = "signed_in"  # any signed-in person (what they see inside is scoped)
RIGHT = "right"  # needs a right of scope.RIGHTS; a signed-in person without it gets 404
API = "api"  # /api/v1 with a bearer token; anonymous gets 401
FILE = "file"  # a bearer token or a session; a browser without either is sent to sign in, a bad token gets 401
UNSCOPED_FORM = "form"  # a page that answers its own form errors (e.g. the sign-in page)

CLASSES = {
    "static": PUBLIC, "home.health": PUBLIC, "home.favicon": PUBLIC, "auth.login": UNSCOPED_FORM,
    "home.set_language": PUBLIC,
    "attendance.rsvp": PUBLIC, "issues.public_answers": PUBLIC, "calendar.feed": PUBLIC,
    "api-docs.openapi_json": PUBLIC, "api_reference.page": PUBLIC, "tokens.create_token": PUBLIC,
    "auth.logout": PUBLIC, "reports.display": PUBLIC,
    "home.index": SIGNED_IN, "issues.issue_list": SIGNED_IN, "issues.issue_page": SIGNED_IN,
    "issues.create_issue": SIGNED_IN, "issues.upload": SIGNED_IN, "issues.download": SIGNED_IN,
    "scheduling.month": SIGNED_IN, "scheduling.agenda": SIGNED_IN, "scheduling.series_page": SIGNED_IN,
    "scheduling.meeting_page": SIGNED_IN, "scheduling.holidays_page": SIGNED_IN, "calendar.manage": SIGNED_IN,
    "calendar.meeting_invite": FILE, "minutes.minutes_pdf": FILE,
    "signatures.signed_copy": FILE,
    "signatures.verify": SIGNED_IN,
    "search.results": SIGNED_IN, "search.suggest": SIGNED_IN, "search.public_answers": PUBLIC,
}
API_PREFIXES = ("businesses.", "issues_api.", "meetings.", "minutes_api.", "series.", "signatures_api.", "tokens.",
                "units.", "users.", "search_api.")
# Pages still guarded by their own role list rather than a declared right (the registry import): the right
# they amount to, until they declare it.
UNDECLARED = {"imports.": "staff"}


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
    for prefix, right in UNDECLARED.items():
        if endpoint.startswith(prefix):
            return RIGHT, right
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
