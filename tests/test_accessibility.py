"""Every page of every demo role, audited in a real browser: axe-core, a 375-pixel phone, the keyboard.

Each role signs in and walks the site by its links (one page per kind of address: /issues/12 and
/issues/13 are one kind), so a page added later is audited without being listed here. On each page:

- axe-core (the copy shipped in the axe-playwright-python package) finds no serious or critical
  violation of WCAG 2.x A/AA or best practice;
- at 375 px nothing scrolls sideways and every control (button, field, menu link) is at least 44 px tall;
- screenshots of each role's main pages (home and the top-bar destinations) at 1280 and 375 px go to
  SCREENSHOTS (tests/screenshots-out/ by default, DIALOGUE_SCREENSHOTS to change it; CI keeps the folder).

Needs /usr/bin/chromium like tests/test_browser.py (skipped without it, a failure under CI=true).
"""

import json
import os
import re
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import expect

from dialogue_app.attendance.services import rsvp_token
from dialogue_app.auth.models import User
from dialogue_app.extensions import db
from dialogue_app.org.models import Contact
from dialogue_app.reports.services import create_display
from dialogue_app.scheduling.models import Meeting
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
NOT_PAGES = re.compile(r"\.(csv|xlsx|pdf|ics)$|^/feeds/|^/logout|^/static/|^/api/v1/|/sign-in-sheet$")
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


def axe_violations(page) -> list[dict]:
    return Axe().run(page, options=AXE_OPTIONS).response["violations"]


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
  for (const el of document.querySelectorAll("main *")) {
    const box = el.getBoundingClientRect();
    if (visible(el) && box.right > width + 1 && !el.closest(".table-wrap")) {
      problems.push(`${el.tagName.toLowerCase()} "${name(el)}" runs off the right edge (${Math.round(box.right)} px)`);
      break;
    }
  }
  return problems;
}"""


def screenshot_name(role: str, url: str, width: int) -> str:
    path = urlsplit(url).path.strip("/") or "home"
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


def shoot(site, watched, role: str) -> list[Path]:
    page = watched.page
    page.set_viewport_size(DESK)
    page.goto(site.url("/"))
    files = []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for url in dict.fromkeys(main_pages(page)):
        page.goto(url)
        for size in (DESK, PHONE):
            page.set_viewport_size(size)
            files.append(SCREENSHOTS / screenshot_name(role, url, size["width"]))
            page.screenshot(path=str(files[-1]), full_page=True)
    return files


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
        pytest.skip("axe-playwright-python is not installed: .venv/bin/pip install -e '.[test]'")
    return Axe


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_of_the_role_passes_axe_and_fits_a_phone(demo_site, open_page, axe, role):
    watched = open_page()
    sign_in(demo_site, watched, ROLES[role])
    result = audit(demo_site, watched, role)
    save_counts(role, result)
    shoot(demo_site, watched, role)

    assert len(result["pages"]) > 5
    blocking = {key: nodes for key, nodes in result["violations"].items() if key[1] in BLOCKING}
    assert not blocking, report(role, result)
    assert not result["phone"], report(role, result)
    watched.assert_clean()


def test_the_pages_without_an_account_pass_axe_and_fit_a_phone(demo_site, open_page, axe):
    """The sign-in page, a not-found page, an invitation answer (RSVP) and a waiting-room screen."""
    with demo_site.app.app_context():
        meeting = db.session.execute(db.select(Meeting).order_by(Meeting.id)).scalars().first()
        contact = db.session.execute(db.select(Contact).order_by(Contact.id)).scalars().first()
        manager = db.session.execute(db.select(User).where(User.email == ROLES["manager"])).scalar_one()
        screen_token = create_display(manager, manager.unit, "Phòng chờ")[1]
        db.session.commit()
        rsvp = rsvp_token(contact, meeting=meeting)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watched = open_page()
    page = watched.page
    found, phone = defaultdict(list), []
    for path in ["/login", f"/rsvp/{rsvp}", f"/display/{screen_token}"]:
        for size in (DESK, PHONE):
            page.set_viewport_size(size)
            page.goto(demo_site.url(path))
            if size is DESK:
                for violation in axe_violations(page):
                    key = (violation["id"], violation["impact"])
                    found[key] += [f"{path} {node['target']}" for node in violation["nodes"]]
            elif not path.startswith("/display/"):  # the screen is for a television, not a phone
                phone += [f"{path}: {problem}" for problem in page.evaluate(PHONE_PROBLEMS)]
            page.screenshot(path=str(SCREENSHOTS / screenshot_name("anonymous", path[:12], size["width"])),
                            full_page=True)
    result = {"pages": ["/login", "/rsvp/…", "/display/…"], "violations": found, "phone": phone}
    save_counts("anonymous", result)
    assert not {key for key in found if key[1] in BLOCKING}, report("anonymous", result)
    assert not phone, report("anonymous", result)
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    watched.assert_clean()

