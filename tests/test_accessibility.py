"""Every page of every demo role, audited in a real browser: axe-core, a 375-pixel phone, the keyboard.

Each role signs in and walks the site by its links (one page per kind of address: /issues/12 and
/issues/13 are one kind), so a page added later is audited without being listed here. On each page:

- axe-core (the copy shipped in the axe-playwright-python package) finds no serious or critical
  violation of WCAG 2.x A/AA or best practice;
- at 375 px nothing scrolls sideways and every control (button, field, menu link) is at least 44 px tall;
- screenshots of each role's main pages (home, the top bar's destinations, and one issue, meeting, check-in,
  minutes, business and series page) at 1280 and 375 px go to SCREENSHOTS (tests/screenshots-out/ by
  default, DIALOGUE_SCREENSHOTS to change it; .ci/run says where), where axe also runs at 375 px.

Further tests: the door check-in on a tablet, the folded phone menu and the focus ring by keyboard, the
one-step answer, and the meeting, issue and agenda pages printed to A4.

Needs /usr/bin/chromium (through tests/test_browser.py's fixtures) and axe-playwright-python (the [test] extra):
skipped without them, a failure under CI=true.
"""

import json
import os
import re
import time
import unicodedata
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from dialogue_app.attendance.models import Attendee
from dialogue_app.attendance.services import expected, rsvp_token
from dialogue_app.auth.models import User
from dialogue_app.extensions import db
from dialogue_app.issues.models import Issue
from dialogue_app.reports.services import create_display
from dialogue_app.scheduling import services as scheduling
from dialogue_app.scheduling.models import Meeting, Series
from tests import test_browser
from tests.test_browser import ADMIN, ORGANISER, sign_in

# The live demo site and its browser, shared with tests/test_browser.py.
browser, demo_site, open_page = test_browser.browser, test_browser.demo_site, test_browser.open_page

try:
    from axe_playwright_python.sync_playwright import Axe
except ImportError:  # pragma: no cover - the [test] extra installs it
    Axe = None

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(os.environ.get("DIALOGUE_SCREENSHOTS") or Path(__file__).parent / "screenshots-out")
PHONE = {"width": 375, "height": 740}
DESK = {"width": 1280, "height": 800}
TAP = 44  # px, the height of a control a thumb can hit (WCAG 2.5.5)

# One account per role (the demo has two managers and two organisers: the branch ones see the most pages).
ROLES = {
    "admin": ADMIN,
    "organiser": ORGANISER,
    "manager": "lanhdao.hcm@dialogue-demo.vn",
    "business": "doanhnghiep@dialogue-demo.vn",
}
# Not pages: files, feeds, and links that change something or end the session.
NOT_PAGES = re.compile(r"\.(csv|xlsx|pdf|ics)$|^/feeds/|^/logout|^/static/|^/api/v1/")
MAX_PAGES = 80
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
}
BLOCKING = {"serious", "critical"}


def kind_of(path: str, query: str) -> str:
    """/issues/12?page=2 and /issues/13?page=3 are one kind of page: numbers and query values don't count."""
    keys = sorted({part.split("=", 1)[0] for part in query.split("&") if part})
    return re.sub(r"\d+", "N", path) + ("?" + "&".join(keys) if keys else "")


def crawl(site, page, start: str = "/"):
    """Yield each kind of page reachable from `start` by links, once, with the page loaded at the desk width."""
    queue, kinds = [start], set()
    origin = urlsplit(site.base_url).netloc
    while queue and len(kinds) < MAX_PAGES:
        address = urlsplit(queue.pop(0))
        kind = kind_of(address.path, address.query)
        if kind in kinds:
            continue
        kinds.add(kind)
        page.set_viewport_size(DESK)
        response = page.goto(site.url(address.path + ("?" + address.query if address.query else "")))
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        yield page.url
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            target = urlsplit(urljoin(page.url, href))
            if target.netloc != origin or NOT_PAGES.search(target.path):
                continue
            if kind_of(target.path, target.query) not in kinds:
                queue.append(target.path + ("?" + target.query if target.query else ""))


# The waiting-room screen reloads itself (<meta http-equiv="refresh">): it is a television nobody operates, and
# showing the latest dialogues is its purpose (WCAG 2.2.1's "essential" exception), so that rule is off there.
UNATTENDED = {"rules": {"meta-refresh": {"enabled": False}}}


def axe_violations(page, unattended: bool = False) -> list[dict]:
    return Axe().run(page, options={**AXE_OPTIONS, **(UNATTENDED if unattended else {})}).response["violations"]


PHONE_PROBLEMS = """() => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > width + 1) {
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px wide`);
  }
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden";
  };
  const name = (el) => (el.getAttribute("aria-label") || el.textContent || el.name || el.id || el.tagName)
    .trim().slice(0, 40);
  // Controls, and links shown as controls (menu entries, buttons); links inside running text are exempt.
  const controls = document.querySelectorAll(
    "button, select, textarea, summary, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), " +
    "a.button, header a, nav a");
  for (const el of controls) {
    if (!visible(el) || el.closest("table.month .entry, .skip-link")) continue;
    const box = el.getBoundingClientRect();
    if (box.height < 43.5) {
      problems.push(`${el.tagName.toLowerCase()} "${name(el)}" is ${Math.round(box.height)} px tall`);
    }
  }
  // A wide table may scroll inside its own box (axe checks that the box takes the keyboard's focus).
  const inScroller = (el) => {
    for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
      if (["auto", "scroll"].includes(getComputedStyle(box).overflowX)) return true;
    }
    return false;
  };
  for (const el of document.querySelectorAll("main *")) {
    const box = el.getBoundingClientRect();
    if (visible(el) && box.right > width + 1 && !inScroller(el)) {
      problems.push(`${el.tagName.toLowerCase()} "${name(el)}" runs off the right edge (${Math.round(box.right)} px)`);
      break;
    }
  }
  return problems;
}"""


def screenshot_name(role: str, url: str, width: int) -> str:
    path = re.sub(r"\d+", "n", urlsplit(url).path).strip("/") or "home"
    return f"{role}-{re.sub(r'[^a-z0-9]+', '-', path.lower()).strip('-')}-{width}.png"


def main_pages(page) -> list[str]:
    """Home and every destination of the top bar's menu."""
    return [page.url] + page.eval_on_selector_all("header nav a[href]", "links => links.map(a => a.href)")


def audit(site, watched, role: str, start: str = "/") -> dict:
    """Crawl from `start`; returns {"pages": n, "violations": {(rule, impact): [url, ...]}, "phone": [...]}."""
    page = watched.page
    found = defaultdict(list)
    phone = []
    urls = []
    for url in crawl(site, page, start):
        urls.append(url)
        for violation in axe_violations(page):
            for node in violation["nodes"]:
                found[(violation["id"], violation["impact"])].append(f"{url} {node['target']}")
        page.set_viewport_size(PHONE)
        phone += [f"{url}: {problem}" for problem in page.evaluate(PHONE_PROBLEMS)]
    return {"pages": urls, "violations": found, "phone": phone}


# Besides the menu's destinations, the pages a person works in: one of each found by the crawl.
WORK_PAGES = re.compile(r"/(issues|meetings|businesses|series)/\d+$|/meetings/\d+/(attendance|minutes)$|/agenda$")


def shoot(site, watched, role: str, crawled: list[str]) -> dict:
    """Screenshots of the role's main pages at both widths; returns what axe finds on them at the phone's width
    (the folded menu, the stacked lists), as audit() does."""
    page = watched.page
    page.set_viewport_size(DESK)
    page.goto(site.url("/"))
    found = defaultdict(list)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    work = {kind_of(urlsplit(url).path, ""): url for url in reversed(crawled) if WORK_PAGES.search(urlsplit(url).path)}
    for url in dict.fromkeys(main_pages(page) + list(work.values())):
        page.goto(url)
        for size in (DESK, PHONE):
            page.set_viewport_size(size)
            page.screenshot(path=str(SCREENSHOTS / screenshot_name(role, url, size["width"])), full_page=True)
        for violation in axe_violations(page):
            found[(violation["id"], violation["impact"])] += [f"{url} (375 px) {node['target']}"
                                                              for node in violation["nodes"]]
    return found


def report(role: str, result: dict) -> str:
    lines = [f"{role}: {len(result['pages'])} pages"]
    for (rule, impact), nodes in sorted(result["violations"].items()):
        lines.append(f"  {impact:9} {rule}: {len(nodes)} elements, e.g. {nodes[0]}")
    lines += [f"  phone: {problem}" for problem in result["phone"][:40]]
    return "\n".join(lines)


def save_counts(role: str, result: dict) -> None:
    """The counts by rule, for the record (tests/screenshots-out/axe-<role>.json)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    counts = Counter({f"{rule} ({impact})": len(nodes) for (rule, impact), nodes in result["violations"].items()})
    (SCREENSHOTS / f"axe-{role}.json").write_text(json.dumps(
        {"pages": result["pages"], "violations": dict(sorted(counts.items())), "phone": result["phone"]},
        ensure_ascii=False, indent=1))


@pytest.fixture
def axe():
    if Axe is None:
        reason = "axe-playwright-python is not installed: .venv/bin/pip install -e '.[test]'"
        if os.environ.get("CI") == "true":  # CI installs it: missing there is a failure, not a skip
            pytest.fail(reason)
        pytest.skip(reason)
    return Axe


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_of_the_role_passes_axe_and_fits_a_phone(demo_site, open_page, axe, role):
    watched = open_page()
    sign_in(demo_site, watched, ROLES[role])
    result = audit(demo_site, watched, role)
    for key, nodes in shoot(demo_site, watched, role, result["pages"]).items():
        result["violations"][key] += nodes
    save_counts(role, result)

    assert len(result["pages"]) > 5
    blocking = {key: nodes for key, nodes in result["violations"].items() if key[1] in BLOCKING}
    assert not blocking, report(role, result)
    assert not result["phone"], report(role, result)
    watched.assert_clean()


def test_the_pages_without_an_account_pass_axe_and_fit_a_phone(demo_site, open_page, axe):
    """The sign-in page, a not-found page, an invitation answer (RSVP) and a waiting-room screen."""
    meeting_id = organiser_meeting(demo_site)
    with demo_site.app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        contact = expected(meeting)[0].contact
        manager = db.session.execute(db.select(User).where(User.email == ROLES["manager"])).scalar_one()
        screen_token = create_display(manager, manager.unit, "Phòng chờ")[1]
        db.session.commit()
        now = datetime.now(UTC)  # an answer to the series' next meeting (a past one is refused)
        coming = next(o for o in scheduling.occurrences(meeting.series, now, now + timedelta(days=400))
                      if o.status != "cancelled")
        rsvp = rsvp_token(contact, series=meeting.series, occurrence=coming.occurrence)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watched = open_page()
    page = watched.page
    found, phone = defaultdict(list), []
    for path in ["/login", f"/rsvp/{rsvp}", f"/display/{screen_token}"]:
        for size in (DESK, PHONE):
            page.set_viewport_size(size)
            page.goto(demo_site.url(path))
            if size is DESK:
                for violation in axe_violations(page, unattended=path.startswith("/display/")):
                    key = (violation["id"], violation["impact"])
                    found[key] += [f"{path} {node['target']}" for node in violation["nodes"]]
            elif not path.startswith("/display/"):  # the screen is for a television, not a phone
                phone += [f"{path}: {problem}" for problem in page.evaluate(PHONE_PROBLEMS)]
            name = screenshot_name("anonymous", path.split("/")[1], size["width"])  # not the token
            page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    result = {"pages": ["/login", "/rsvp/…", "/display/…"], "violations": found, "phone": phone}
    save_counts("anonymous", result)
    assert not {key for key in found if key[1] in BLOCKING}, report("anonymous", result)
    assert not phone, report("anonymous", result)
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    watched.assert_clean()



def _first(site, statement):
    with site.app.app_context():
        return db.session.execute(statement).scalars().first()


def organiser_meeting(site) -> int:
    """The next meeting of the organiser's branch with people invited to it, made as "Chuẩn bị cuộc họp" makes
    it: the demo's past meetings have final minutes, whose attendance no longer changes at the door."""
    with site.app.app_context():
        organiser = db.session.execute(db.select(User).where(User.email == ORGANISER)).scalar_one()
        series = db.session.execute(db.select(Series).where(Series.unit_id == organiser.unit_id)
                                    .order_by(Series.id)).scalars()
        following = next(s for s in series if s.invitees and scheduling.next_occurrence(s) is not None)
        meeting, _ = scheduling.meeting_for(following, scheduling.next_occurrence(following).occurrence)
        db.session.commit()
        return meeting.id


def test_the_door_check_in_on_a_tablet_in_one_hand(demo_site, open_page):
    """Search as one types, one tap for present, a walk-in in two actions: its name typed, one tap."""
    meeting_id = organiser_meeting(demo_site)
    watched = open_page()
    page = watched.page
    sign_in(demo_site, watched, ORGANISER)
    page.set_viewport_size({"width": 800, "height": 1280})
    page.goto(demo_site.url(f"/meetings/{meeting_id}/attendance"))
    people = page.locator("[data-people] > li")
    everyone = people.count()
    person_id = page.locator("[data-people] > li.state-none").first.get_attribute("id")  # not recorded yet
    person = page.locator(f"#{person_id}")
    first_name = person.locator("strong").inner_text()
    business = person.locator(".muted").first.inner_text().split(" · ")[0]
    present = page.get_by_role("button", name=f"Có mặt: {first_name}, {business}")

    started = time.monotonic()
    find = page.get_by_role("searchbox", name="Tìm người tham dự hoặc doanh nghiệp")
    find.press_sequentially(fold_for_typing(first_name))
    expect(page.locator("[data-people] > li:visible")).not_to_have_count(everyone)  # narrowed as typed
    present.click()
    status = page.get_by_role("status").filter(has_text=first_name)
    expect(status).to_contain_text("có mặt")
    expect(present).to_have_attribute("aria-pressed", "true")
    expect(person.locator("[data-state]")).to_have_text("✓ Có mặt")
    expect(find).to_be_focused()  # ready for the next person

    find.press_sequentially("Phóng viên Lê Thị Hạnh")
    expect(page.locator("[data-no-match]")).to_be_visible()
    expect(page.get_by_label("Tên", exact=True)).to_have_value("Phóng viên Lê Thị Hạnh")
    page.get_by_role("button", name="Thêm và ghi nhận có mặt").click()
    expect(page.get_by_role("status").filter(has_text="Phóng viên Lê Thị Hạnh")).to_have_count(1)
    assert time.monotonic() - started < 15
    with demo_site.app.app_context():
        names = set(db.session.execute(db.select(Attendee.name).where(Attendee.meeting_id == meeting_id)).scalars())
    assert {first_name, "Phóng viên Lê Thị Hạnh"} <= names
    page.reload()
    expect(page.locator("#attendees")).to_contain_text("Phóng viên Lê Thị Hạnh")
    watched.assert_clean()


def fold_for_typing(name: str) -> str:
    """What a hurried person types: the last word of the name, without its accents."""
    return unicodedata.normalize("NFD", name.split()[-1]).encode("ascii", "ignore").decode().lower()


def test_a_phone_opens_the_folded_menu_and_the_keyboard_reaches_everything(demo_site, open_page):
    watched = open_page()
    page = watched.page
    sign_in(demo_site, watched, ORGANISER)
    page.set_viewport_size(PHONE)
    menu = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Danh mục chính")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    # The content starts at once: the brand and the menu button, then the search box's row, not 530 px of menu.
    assert page.locator("main h1").bounding_box()["y"] < 140

    # The keyboard: the skip link first, the brand, the search box and its button, then the menu button; Enter
    # opens, Escape folds and returns.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Chuyển đến nội dung chính")
    expect(skip).to_be_focused()
    assert skip.evaluate("el => getComputedStyle(el).outlineStyle") != "none"  # the focus can be seen
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("combobox", name="Tìm kiếm")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(menu).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Vướng mắc")).to_be_visible()
    opened = [(v["id"], v["impact"]) for v in axe_violations(page) if v["impact"] in BLOCKING]
    assert opened == [], opened  # the open menu too
    assert nav.get_by_role("link", name="Vướng mắc").bounding_box()["height"] >= TAP
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()

    menu.click()
    nav.get_by_role("link", name="Báo cáo").click()  # an organiser reads their own branch's report
    expect(page.locator("h1")).to_contain_text("Chi cục Hải quan Khu công nghệ cao")
    watched.assert_clean()


def test_an_issue_is_answered_in_one_action_from_the_issue_page(demo_site, open_page):
    """A Department's manager answers an issue a branch escalated, still "new" there: one form, one click."""
    with demo_site.app.app_context():
        manager = db.session.execute(db.select(User).where(User.email == ROLES["manager"])).scalar_one()
        issue_id = db.session.execute(db.select(Issue.id).order_by(Issue.id).where(
            Issue.status == "new", Issue.unit_id == manager.unit_id)).scalars().first()
    watched = open_page()
    page = watched.page
    sign_in(demo_site, watched, ROLES["manager"])
    page.goto(demo_site.url(f"/issues/{issue_id}"))
    page.locator("summary", has_text="Trả lời").click()
    answer = page.locator("details[open]")
    answer.get_by_label("Trả lời", exact=True).fill("Doanh nghiệp thực hiện theo Thông tư 38/2015/TT-BTC.")
    answer.get_by_role("button", name="Trả lời").click()
    flash = page.get_by_role("status").filter(has_text=f"Vướng mắc #{issue_id} đã được trả lời")
    expect(flash).to_have_count(1)
    history = page.locator(".timeline li")
    expect(history.nth(-3)).to_contain_text("Mới tiếp nhận → Đã phân công")  # each step, in order
    expect(history.nth(-2)).to_contain_text("Đã phân công → Đang xử lý")
    expect(history.nth(-1)).to_contain_text("Đang xử lý → Đã trả lời")
    watched.assert_clean()


@pytest.mark.parametrize("what", ["meeting", "issue", "agenda"])
def test_the_meeting_issue_and_agenda_pages_print_on_a4(demo_site, open_page, what):
    meeting_id = organiser_meeting(demo_site)
    issue_id = _first(demo_site, db.select(Issue.id).order_by(Issue.id))
    path = {"meeting": f"/meetings/{meeting_id}", "issue": f"/issues/{issue_id}", "agenda": "/agenda"}[what]
    watched = open_page()
    page = watched.page
    sign_in(demo_site, watched, ORGANISER)
    page.goto(demo_site.url(path))
    title = page.locator("h1").inner_text()
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator("main form").first).to_be_hidden()
    # A4 less 15 mm margins each side is 180 mm, 680 px at 96 px per inch: nothing wider.
    page.set_viewport_size({"width": 680, "height": 1000})
    widest = page.evaluate("() => Math.max(...[...document.querySelectorAll('main *')]"
                           ".filter(el => el.offsetParent).map(el => el.getBoundingClientRect().right))")
    assert widest <= 681, f"something is {widest} px wide on paper"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pdf = SCREENSHOTS / f"print-{what}.pdf"
    page.pdf(path=str(pdf), format="A4", prefer_css_page_size=True)
    reader = PdfReader(pdf)
    def squeezed(text: str) -> str:  # the PDF's text comes out with spaces inside words
        return "".join(unicodedata.normalize("NFC", text).split())

    text = squeezed(" ".join(p.extract_text() for p in reader.pages))
    assert round(float(reader.pages[0].mediabox.width)) == 595  # A4 portrait, in points
    assert squeezed(title) in text and squeezed("Đăng xuất") not in text
    watched.assert_clean()


FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  // The date field's calendar button lives inside the browser's own shadow tree, with the browser's own ring.
  if (!el.matches(":focus")) return {tag: "browser's own", shown: true};
  const style = getComputedStyle(el);
  return {tag: el.tagName, text: (el.textContent || el.name || "").trim().slice(0, 30),
          shown: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== "none"};
}"""


@pytest.mark.parametrize("role", ["organiser", "business"])
def test_the_keyboard_alone_shows_where_it_is_on_every_stop(demo_site, open_page, role):
    """Tab through the home, the issue list and the calendar: every stop has a visible focus ring."""
    watched = open_page()
    page = watched.page
    sign_in(demo_site, watched, ROLES[role])
    for path in ("/", "/issues", "/calendar"):
        page.goto(demo_site.url(path))
        seen = []
        for _ in range(30):
            page.keyboard.press("Tab")
            stop = page.evaluate(FOCUS_SHOWN)
            if stop["tag"] == "BODY":
                break
            seen.append(stop)
        assert len(seen) > 5, (path, seen)
        hidden = [stop for stop in seen if not stop["shown"]]
        assert hidden == [], f"{path}: focus not visible on {hidden}"
    watched.assert_clean()

