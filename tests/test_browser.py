"""A real browser (Debian's Chromium driven by Playwright) signs in with every demo account.

The app is served for real (werkzeug, a thread, a free port) on a SQLite file filled by the demo seed,
with CSRF protection on, so the forms, the session cookie, the stylesheet, the script and the
Content-Security-Policy are all exercised as a person would meet them. A CSP violation shows up as a
console error, which the tests refuse.

Needs /usr/bin/chromium (``apt-get install chromium``; ``make browser`` does it as root); the tests are
skipped when it is missing. Playwright's own browser download is never used.
"""

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask, url_for
from werkzeug.serving import make_server

from dialogue_app import create_app, officetime
from dialogue_app.audit.services import acting_as
from dialogue_app.extensions import db
from dialogue_app.text import fold

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the [test] extra installs it
    expect = sync_playwright = None

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PASSWORD = "mật khẩu thử nghiệm 2024"

# What each demo account sees as the heading of its home page (the seed's units and first business).
HOME_HEADINGS = {
    "admin@dialogue-demo.vn": "Quản trị hệ thống",  # "Administration", translated
    "canbo.kcnc@dialogue-demo.vn": "Chi cục Hải quan Khu công nghệ cao",
    "canbo.hongai@dialogue-demo.vn": "Chi cục Hải quan cửa khẩu cảng Hòn Gai",
    "lanhdao.hcm@dialogue-demo.vn": "Cục Hải quan Thành phố Hồ Chí Minh",
    "lanhdao.tchq@dialogue-demo.vn": "Tổng cục Hải quan",
    "doanhnghiep@dialogue-demo.vn": "Công ty TNHH Điện tử Sao Việt",
}
ADMIN = "admin@dialogue-demo.vn"


@dataclass
class DemoSite:
    app: Flask
    base_url: str
    accounts: dict[str, tuple[str, str]]  # email -> (role, password)

    def url(self, path: str) -> str:
        return self.base_url + path

    def path_for(self, endpoint: str) -> str:
        with self.app.test_request_context():
            return url_for(endpoint)


@pytest.fixture(scope="module")
def browser():
    if sync_playwright is None:
        pytest.skip("Playwright is not installed: .venv/bin/pip install -e '.[test]'")
    if not CHROMIUM.exists():
        reason = "Debian's chromium is not installed: apt-get install chromium (make browser)"
        if os.environ.get("CI") == "true":  # CI installs it: missing there is a failure, not a skip
            pytest.fail(reason)
        pytest.skip(reason)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def demo_site(tmp_path, monkeypatch):
    """The app with the demo seeded, served on 127.0.0.1 on a free port for the length of one test.

    One site per test: switching the language is saved on the account, so tests must not share one.
    """
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "browser-test",
        "WTF_CSRF_ENABLED": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'browser.db'}",
        "RATELIMIT_STORAGE_URI": "memory://",
        "BASE_URL": "http://127.0.0.1",
        "INSTANCE_PATH": str(tmp_path / "instance"),
    })
    try:
        with app.app_context():
            db.create_all()
            with acting_as("test"):
                created = seed_demo()
                db.session.commit()
            db.session.remove()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        base_url = f"http://127.0.0.1:{server.port}"
        app.config["BASE_URL"] = base_url
        thread = threading.Thread(target=server.serve_forever, name="browser-test-server", daemon=True)
        thread.start()
        try:
            yield DemoSite(app, base_url, {email: (role, secret) for role, email, secret in created})
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def seed_demo():
    from dialogue_app.demo.small import seed

    return seed(password=DEMO_PASSWORD)


@dataclass
class Watched:
    """A page with everything that went wrong on it: console errors, failed or refused requests."""

    page: object
    problems: list[str] = field(default_factory=list)

    def on_console(self, message) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        self.problems.append(f"console error: {message.text} ({url})")

    def on_request_failed(self, request) -> None:
        # ERR_ABORTED is the browser dropping a request because the page navigated away (a form was
        # submitted while the icon was still loading): nothing a person would notice.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def assert_clean(self) -> None:
        assert self.problems == [], "the browser reported problems:\n" + "\n".join(self.problems)


@pytest.fixture
def open_page(browser, demo_site):
    """open_page() -> a Watched page in a fresh browser context (its own cookies).

    Depends on demo_site so that the contexts (and their keep-alive connections) close before the server.
    """
    contexts = []

    def open_() -> Watched:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        watched = Watched(page)
        page.on("console", watched.on_console)
        page.on("pageerror", lambda error: watched.problems.append(f"script error: {error}"))
        page.on("requestfailed", watched.on_request_failed)
        page.on("response", lambda response: response.status >= 400 and watched.problems.append(
            f"HTTP {response.status}: {response.request.method} {response.url}"))
        return watched

    yield open_
    for context in contexts:
        context.close()


def sign_in(site: DemoSite, watched: Watched, email: str, password: str | None = None) -> None:
    page = watched.page
    page.goto(site.url("/login"))
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Mật khẩu", exact=True).fill(password if password is not None else site.accounts[email][1])
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def assert_styled(page) -> None:
    """The stylesheet was applied: the top bar has the brand colour (#0b5394), not a bare white page."""
    expect(page.locator("header.topbar")).to_have_css("background-color", "rgb(11, 83, 148)")


def test_the_demo_has_one_account_per_role(demo_site):
    assert {role for role, _ in demo_site.accounts.values()} == {"admin", "organiser", "manager", "business"}
    assert set(demo_site.accounts) == set(HOME_HEADINGS)


@pytest.mark.parametrize("email", list(HOME_HEADINGS), ids=lambda email: email.split("@")[0])
def test_each_demo_account_signs_in_and_sees_its_home(demo_site, open_page, email, tmp_path):
    watched = open_page()
    page = watched.page
    sign_in(demo_site, watched, email)

    expect(page).to_have_url(demo_site.url("/"))
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("h1")).to_have_text(HOME_HEADINGS[email])
    assert_styled(page)

    nav = page.get_by_role("navigation")
    admin_links = [demo_site.path_for("org.units"), demo_site.path_for("auth.users")]
    for href in admin_links:
        if demo_site.accounts[email][0] == "admin":
            expect(nav.locator(f'a[href="{href}"]')).to_be_visible()
        else:
            expect(nav.locator(f'a[href="{href}"]')).to_have_count(0)
    if email == ADMIN:
        page.screenshot(path=str(tmp_path / "admin-home.png"), full_page=True)

    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_load_state()
    expect(page).to_have_url(demo_site.url("/login"))
    expect(page.get_by_label("Mật khẩu", exact=True)).to_be_visible()
    expect(page.get_by_role("navigation")).to_have_count(0)
    watched.assert_clean()


def test_admin_switches_the_interface_to_english(demo_site, open_page):
    watched = open_page()
    page = watched.page
    sign_in(demo_site, watched, ADMIN)
    expect(page.locator("h1")).to_have_text("Quản trị hệ thống")

    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()

    expect(page).to_have_url(demo_site.url("/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Administration")
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name="Units", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Accounts", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
    assert_styled(page)
    watched.assert_clean()


def test_a_wrong_password_is_refused_in_vietnamese(demo_site, open_page):
    watched = open_page()
    page = watched.page
    sign_in(demo_site, watched, ADMIN, password="not the right password")

    expect(page).to_have_url(demo_site.url("/login"))
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator(".flash-error")).to_have_text("Email hoặc mật khẩu không đúng.")
    expect(page.get_by_role("navigation")).to_have_count(0)
    watched.assert_clean()


ORGANISER = "canbo.kcnc@dialogue-demo.vn"


def test_the_rule_builder_previews_the_meetings_as_the_organiser_types(demo_site, open_page):
    watched = open_page()
    page = watched.page
    sign_in(demo_site, watched, ORGANISER)
    page.goto(demo_site.url("/series/new"))
    page.get_by_label("Tiêu đề", exact=True).fill("Đối thoại chuyên đề thứ Năm")
    page.get_by_label("Địa điểm", exact=True).fill("Phòng họp số 1")
    page.get_by_label("Ngày họp đầu tiên").fill("2027-01-07")
    page.get_by_label("Giờ bắt đầu").fill("09:00")
    page.get_by_label("Lặp lại").select_option("weekly")
    page.get_by_label("Ngày trong tuần").select_option("TH")
    expect(page.get_by_label("Ngày trong tháng")).to_be_hidden()  # only the fields the preset needs

    preview = page.locator(".preview-list li")
    expect(preview).to_have_count(12)
    expect(preview.first).to_contain_text("09:00, Thứ Năm, 07/01/2027")
    # Tết 2027: Thursday 04/02 is a day off; with "next working day" it moves past the whole holiday.
    page.get_by_label("Khi cuộc họp trùng ngày nghỉ lễ").select_option("next_workday")
    expect(preview.nth(4)).to_contain_text("09:00, Thứ Năm, 11/02/2027")
    expect(preview.nth(4)).to_contain_text("29 Tết")

    page.get_by_label("Lặp lại").select_option("custom")
    page.get_by_label("Quy tắc (RRULE)").fill("FREQ=HOURLY")
    expect(page.locator(".preview-problem")).to_have_text("Cuộc họp chỉ được lặp lại tối đa một lần mỗi ngày.")
    expect(preview).to_have_count(0)

    page.get_by_label("Quy tắc (RRULE)").fill("FREQ=WEEKLY;BYDAY=TH;COUNT=10")
    expect(preview).to_have_count(10)
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_load_state()
    expect(page.locator("h1")).to_have_text("Đối thoại chuyên đề thứ Năm")
    expect(page.locator("table.occurrences tbody tr")).to_have_count(10)
    watched.assert_clean()


def test_a_manager_reads_the_reports_and_sets_up_a_waiting_room_screen(demo_site, open_page):
    watched = open_page()
    page = watched.page
    sign_in(demo_site, watched, "lanhdao.hcm@dialogue-demo.vn")
    page.get_by_role("navigation").get_by_role("link", name="Báo cáo").click()
    expect(page.locator("h1")).to_contain_text("Cục Hải quan Thành phố Hồ Chí Minh")
    # Charts are drawn on the server, shown without any script, and named for screen readers.
    expect(page.locator("svg.chart[role=img]").first).to_be_visible()
    assert page.locator("svg.chart rect").count() > 5
    page.get_by_role("link", name="Xếp hạng chi cục").click()
    expect(page.get_by_role("heading", name="Cách tính chỉ số")).to_be_visible()
    expect(page.locator("table.ranking tbody tr")).to_have_count(2)  # the two branches of the Department

    page.goto(demo_site.url("/reports/screens"))
    page.get_by_label("Tên").fill("Phòng chờ tầng 1")
    page.get_by_role("button", name="Tạo màn hình").click()
    link = page.locator("code.copyable").inner_text()
    screen = open_page()  # the screen itself: another browser, signed in as nobody
    screen.page.goto(link)
    expect(screen.page.get_by_role("heading", name="Lịch đối thoại sắp tới")).to_be_visible()
    expect(screen.page.locator('meta[http-equiv="refresh"]')).to_have_count(1)
    watched.assert_clean()
    screen.assert_clean()


def test_the_search_box_suggests_as_one_types_and_opens_a_result(demo_site, open_page):
    """The box in the top bar: from the third letter a list of suggestions (a combobox people can drive from the
    keyboard); Escape closes it and keeps the words; Enter opens the results, the words found marked."""
    watched = open_page()
    page = watched.page
    sign_in(demo_site, watched, ORGANISER)
    box = page.get_by_role("combobox")
    box.click()
    box.press_sequentially("ho", delay=30)
    page.wait_for_timeout(400)
    expect(page.get_by_role("listbox")).to_be_hidden()  # two letters: nothing yet
    box.press_sequentially("an thue", delay=30)
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "search-suggestion-0")
    expect(options.first).to_have_attribute("aria-selected", "true")
    box.press("Escape")
    expect(page.get_by_role("listbox")).to_be_hidden()
    expect(box).to_have_value("hoan thue")
    box.press("Enter")
    page.wait_for_load_state()
    assert "/search?q=hoan+thue" in page.url
    expect(page.locator("mark").first).to_be_visible()
    first = page.locator(".search-hit > a").first
    target = first.get_attribute("href")
    first.click()
    page.wait_for_load_state()
    assert page.url.endswith(target)
    watched.assert_clean()


def organiser_on_a_phone(demo_site, open_page) -> tuple[Watched, int, int]:
    """(the page, signed in as the organiser at a phone's width, their unit's id, its latest meeting's id)."""
    from dialogue_app.auth.models import User
    from dialogue_app.scheduling.models import Meeting

    with demo_site.app.app_context():
        unit_id = db.session.execute(db.select(User.unit_id).where(User.email == ORGANISER)).scalar_one()
        meeting_id = db.session.execute(db.select(Meeting.id).where(Meeting.unit_id == unit_id)
                                        .order_by(Meeting.start.desc())).scalars().first()
    watched = open_page()
    watched.page.set_viewport_size({"width": 390, "height": 844})
    sign_in(demo_site, watched, ORGANISER)
    return watched, unit_id, meeting_id


def test_on_a_phone_a_refused_invitation_is_said_beside_its_box_with_what_was_typed(demo_site, open_page):
    watched, _unit_id, meeting_id = organiser_on_a_phone(demo_site, open_page)
    page = watched.page
    page.goto(demo_site.url(f"/meetings/{meeting_id}"))
    page.locator("#invite-tax").fill("0312345999")  # its check digit is wrong
    page.locator("#invite-tax").press("Enter")
    page.wait_for_load_state()
    message = page.locator("#invitations .flash-error")
    expect(message).to_contain_text("Mã số thuế không hợp lệ")
    expect(message).to_be_in_viewport()
    expect(page.locator("#invite-tax")).to_have_value("0312345999")
    watched.assert_clean()


def test_at_the_door_a_walk_in_joins_the_list_and_another_business_s_people_are_looked_up(demo_site, open_page):
    from dialogue_app.org.models import Business
    from dialogue_app.scheduling import services as scheduling_services
    from dialogue_app.scheduling.models import Series

    watched, unit_id, _meeting_id = organiser_on_a_phone(demo_site, open_page)
    with demo_site.app.app_context():
        tax_code = db.session.execute(db.select(Business.tax_code).where(Business.unit_id == unit_id)
                                      .order_by(Business.id)).scalars().first()
        # The next meeting of the unit's series, made as "Chuẩn bị cuộc họp" makes it: the demo's past meetings
        # all have final minutes, and once they are final who came no longer changes.
        series = db.session.execute(db.select(Series).where(Series.unit_id == unit_id)).scalars().first()
        meeting, _ = scheduling_services.meeting_for(series, scheduling_services.next_occurrence(series).occurrence)
        db.session.commit()
        meeting_id = meeting.id
    page = watched.page
    page.goto(demo_site.url(f"/meetings/{meeting_id}/attendance"))
    page.locator("#other-tax").fill(tax_code)
    page.get_by_role("button", name="Xem người liên hệ").click()  # a plain lookup: the page of that business
    page.wait_for_load_state()
    expect(page.locator("#other-tax")).to_have_value(tax_code)

    # The list narrows by the words typed, in any order, without accents: the family and the given name.
    person = page.locator("[data-people] li").first
    name = person.locator("strong").inner_text().split()
    page.locator("[data-find]").fill(f"{fold(name[-1])} {fold(name[0])}")
    expect(person).to_be_visible()
    expect(page.locator("[data-no-match]")).to_be_hidden()
    page.locator("[data-find]").fill("")

    page.locator("#walk-in button[type=submit]").click()  # no name: the app says so, in Vietnamese
    page.wait_for_load_state()
    expect(page.locator(".flash-error").first).to_contain_text("tên")
    page.locator("#w-name").fill("Phạm Văn Khách")
    page.locator("#walk-in button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("#attendees")).to_contain_text("Phạm Văn Khách")
    watched.assert_clean()  # no request refused on the way (the lookup used to be posted: 405)


def test_on_a_phone_a_meeting_moved_into_the_past_is_refused_in_view_beside_its_row(demo_site, open_page):
    from dialogue_app.scheduling.models import Series

    watched, unit_id, _meeting_id = organiser_on_a_phone(demo_site, open_page)
    with demo_site.app.app_context():
        series_id = db.session.execute(db.select(Series.id).where(Series.unit_id == unit_id)).scalars().first()
    page = watched.page
    page.goto(demo_site.url(f"/series/{series_id}?year={officetime.today().year + 1}"))
    row = page.locator("tbody tr").filter(has=page.locator("summary")).first
    row.locator("summary").click()  # "Dời lịch", a fold that shows it opens
    row.locator('input[name="new_date"]').fill("2020-01-06")
    row.locator("button.button").click()
    page.wait_for_load_state()
    message = page.locator(".flashes .flash-error")
    expect(message).to_contain_text("quá khứ")
    expect(message).to_be_in_viewport()
    watched.assert_clean()
