"""Every calendar object Dialogue hands out, read by three independent readers, each by the rules:
- icalendar (Python): parses, has a component, METHOD and the Content-Type's method= agree, every TZID has its
  VTIMEZONE, REFRESH-INTERVAL and X-PUBLISHED-TTL are durations, no line is longer than 75 octets;
- libical (C, what Evolution and many servers use), through Debian's python3-gi and gir1.2-ical-3.0: its parser
  and its iTIP restriction check (RFC 5546: which properties each METHOD needs or forbids);
- Mozilla's ical.js (Thunderbird): parses, durations, events with a start in a known zone.

The objects: every feed kind (with something in it, and empty), invite.ics for every kind of reader and meeting,
and every iMIP message a scenario makes the app send (collected from the SMTP server). SCENARIO is a list of
steps: a new kind of message is covered by adding the step that sends it.
"""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from dialogue_app.attendance.services import invite_to_meeting, uninvite_from_meeting
from dialogue_app.calendar import services as calendar
from dialogue_app.calendar.models import FEED_KINDS
from dialogue_app.extensions import db
from dialogue_app.mail.services import send_pending
from dialogue_app.officetime.days import AdjustmentKind
from dialogue_app.org.services import add_contact
from dialogue_app.scheduling import services as scheduling
from dialogue_app.scheduling.models import Meeting

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
HERE = Path(__file__).resolve().parent
JS = HERE.parent / "js"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-gi: the virtualenv cannot import gi
CI = os.environ.get("CI") == "true"


def unavailable(reason: str):
    """A reader CI installs (make test): missing there is a failure, elsewhere a skip that says why."""
    if CI:
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class Document:
    name: str
    data: bytes
    method_param: str | None  # the method= of the HTTP Content-Type or of the MIME part


# -- The three readers ----------------------------------------------------------------------------------------

def icalendar_problems(document: Document) -> list[str]:
    try:
        cal = icalendar.Calendar.from_ical(document.data)
    except ValueError as error:
        return [f"icalendar cannot parse it: {error}"]
    problems = []
    if not cal.subcomponents:
        problems.append("a VCALENDAR without any component (RFC 5545 3.6 asks for one at least)")
    method = str(cal.get("METHOD", ""))
    if not method:
        problems.append("no METHOD")
    if document.method_param != method:
        problems.append(f"Content-Type says method={document.method_param}, the calendar METHOD:{method}")
    if cal.get_missing_tzids():
        problems.append(f"TZIDs without VTIMEZONE: {cal.get_missing_tzids()}")
    for name in ("REFRESH-INTERVAL", "X-PUBLISHED-TTL"):
        raw = document.data.decode().replace("\r\n ", "").split(f"\r\n{name}", 1)
        if len(raw) == 2:
            value = raw[1].split("\r\n", 1)[0].rpartition(":")[2]
            try:
                icalendar.vDuration.from_ical(value)
            except ValueError:
                problems.append(f"{name} is not a duration: {value}")
    if any("COMMENT" in timezone for timezone in cal.walk("VTIMEZONE")):
        problems.append("a COMMENT on a VTIMEZONE (RFC 5545 3.6.5 allows none there)")
    long_lines = [line for line in document.data.split(b"\r\n") if len(line) > 75]
    if long_lines:
        problems.append(f"lines longer than 75 octets: {long_lines[:2]}")
    return problems


def run_reader(command: list[str], documents: list[Document]) -> dict[str, dict]:
    payload = json.dumps([{"name": d.name, "ics": d.data.decode()} for d in documents])
    result = subprocess.run(command, input=payload, capture_output=True, text=True, timeout=120)
    if result.returncode == 3:
        unavailable(result.stderr.strip())
    assert result.returncode == 0, result.stderr
    return {item["name"]: item for item in json.loads(result.stdout)}


def libical_opinions(documents: list[Document]) -> dict[str, dict]:
    if not Path(SYSTEM_PYTHON).exists():
        unavailable(f"{SYSTEM_PYTHON} is missing: libical's check runs with Debian's python3 and python3-gi")
    return run_reader([SYSTEM_PYTHON, str(HERE / "libical_check.py")], documents)


def icaljs_opinions(documents: list[Document]) -> dict[str, dict]:
    if shutil.which("node") is None or not (JS / "node_modules" / "ical.js").exists():
        unavailable("node and tests/js/node_modules/ical.js are needed: make js")
    return run_reader(["node", str(JS / "check.cjs")], documents)


def assert_all_valid(documents: list[Document]) -> None:
    """Every document through every reader; one failure listing everything wrong, document by document."""
    assert documents
    libical = libical_opinions(documents)
    icaljs = icaljs_opinions(documents)
    report = {}
    for document in documents:
        problems = icalendar_problems(document)
        problems += [f"libical: {e}" for e in libical[document.name]["errors"]]
        problems += [f"ical.js: {e}" for e in icaljs[document.name]["errors"]]
        if icaljs[document.name]["components"] == 0:
            problems.append("ical.js: no component")
        if libical[document.name]["method"] != document.method_param:
            problems.append(f"libical reads METHOD {libical[document.name]['method']}")
        if problems:
            report[document.name] = problems
    assert not report, json.dumps(report, ensure_ascii=False, indent=2)


# -- The world ------------------------------------------------------------------------------------------------

@pytest.fixture
def app_config(smtp_server):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port,
            "MAIL_DEFAULT_SENDER": "chicuc@haiquan.example.vn"}


@dataclass
class World:
    units: dict
    business: object
    other: object  # a second business, invited later and uninvited again
    outsider: object  # a business invited to nothing
    silent: object  # a business whose contacts have no address
    series: object = None
    one_off: object = None  # a one-off meeting the business is invited to alone
    lonely: object = None  # a one-off meeting nobody is invited to


@pytest.fixture
def world(units, make_business):
    business = make_business(units["HCM-A"], name="Công ty TNHH Điện tử Sao Việt")
    add_contact(business, name="Trần Thị Ngọc", email="ngoc@saoviet.example.vn")
    add_contact(business, name="Nguyễn Hoàng Phương Thảo Nguyên – Phó Tổng Giám đốc phụ trách xuất nhập khẩu",
                email="thao.nguyen@saoviet.example.vn")
    add_contact(business, name="Không có email")
    other = make_business(units["HCM-A"], name="Công ty Cổ phần Logistics Cảng Sài Gòn")
    add_contact(other, name="Lê Văn Tám", email="tam@logistics.example.vn")
    outsider = make_business(units["HCM-B"], name="Công ty TNHH Không được mời")
    add_contact(outsider, name="Phạm Thu", email="thu@khongmoi.example.vn")
    silent = make_business(units["HCM-A"], name="Hộ kinh doanh Im Lặng")
    add_contact(silent, name="Chủ hộ", phone="0903 000 000")
    db.session.commit()
    return World(units=units, business=business, other=other, outsider=outsider, silent=silent)


# Each step changes something the invited must hear of, the way the app does it; the iMIP mail it sends is
# checked. Keep them in the order a series lives; add a step for each new kind of message.
def series_created(world: World) -> None:
    world.series = scheduling.create_series(
        title="Cà phê sáng cùng doanh nghiệp: đối thoại về thủ tục hải quan điện tử, kiểm tra chuyên ngành",
        unit=world.units["HCM-A"], location="Hội trường; tầng 2, Lô I-3, đường số 2, KCX Tân Thuận",
        rule="FREQ=MONTHLY;BYDAY=-1MO", first_start=datetime(2027, 1, 25, 8), duration_minutes=120,
        holiday_policy="next_workday", invitees=[world.business])


def occurrence_moved(world: World) -> None:
    scheduling.change_occurrence(world.series, date(2027, 3, 29), start=datetime(2027, 3, 30, 14, tzinfo=HCM),
                                 location="Phòng 301")


def occurrence_cancelled(world: World) -> None:
    scheduling.change_occurrence(world.series, date(2027, 4, 26), status="cancelled")


def occurrence_restored(world: World) -> None:
    scheduling.change_occurrence(world.series, date(2027, 4, 26), status="scheduled")


def series_edited(world: World) -> None:
    scheduling.update_series(world.series, location="Phòng họp lớn, trụ sở Chi cục", duration_minutes=90)


def holiday_policy_changed(world: World) -> None:
    scheduling.update_series(world.series, holiday_policy="skip")


def day_off_announced(world: World) -> None:
    # The last Monday of May 2027 becomes a day off: the series' occurrence that day moves or goes.
    scheduling.set_adjustment(date(2027, 5, 31), AdjustmentKind.DAY_OFF, "Nghỉ bù đặc biệt")


def business_added(world: World) -> None:
    scheduling.update_series(world.series, invitees=[world.business, world.other])


def invitation_ended(world: World) -> None:
    scheduling.update_series(world.series, invitees=[world.business])


def meeting_invited(world: World) -> None:
    # A thematic session the second business is invited to alone: its own REQUEST, under the meeting's UID.
    meeting = scheduling.create_meeting(
        title="Hội nghị chuyên đề: quy tắc xuất xứ hàng hóa trong các hiệp định thương mại tự do",
        unit=world.units["HCM-A"], start=datetime(2027, 2, 18, 8, tzinfo=HCM), duration_minutes=150,
        location="Hội trường Chi cục", description="Giải đáp vướng mắc C/O mẫu EUR.1, CPTPP")
    db.session.flush()
    invite_to_meeting(meeting, world.other)


def meeting_invitation_ended(world: World) -> None:
    meeting = db.session.execute(
        db.select(Meeting).where(Meeting.series_id.is_(None)).order_by(Meeting.id.desc())).scalars().first()
    uninvite_from_meeting(meeting, world.other)


SCENARIO = [series_created, occurrence_moved, occurrence_cancelled, occurrence_restored, series_edited,
            holiday_policy_changed, day_off_announced, business_added, invitation_ended, meeting_invited,
            meeting_invitation_ended]


def calendar_parts(messages) -> list[Document]:
    return [Document(f"{message['Subject']} → {message['To']} #{index}", part.get_content().encode(),
                     part.get_param("method"))
            for index, message in enumerate(messages)
            for part in message.walk() if part.get_content_type() == "text/calendar"]


# -- The tests -----------------------------------------------------------------------------------------------

def test_every_imip_message_passes_the_itip_check(app, smtp_server, world):
    documents = []
    for step in SCENARIO:
        seen = len(smtp_server.messages)
        step(world)
        db.session.commit()
        send_pending()
        documents += [Document(f"{step.__name__}: {d.name}", d.data, d.method_param)
                      for d in calendar_parts(smtp_server.messages[seen:])]
    # The calendar parts go in 8 bits (UTF-8 text, lines of 75 octets): declared as RFC 6152 asks.
    eight_bit = [e for e in smtp_server.envelopes if not e.original_content.isascii()]
    assert eight_bit and all("BODY=8BITMIME" in envelope.mail_options for envelope in eight_bit)
    methods = {icalendar.Calendar.from_ical(d.data)["METHOD"] for d in documents}
    assert methods >= {"REQUEST", "CANCEL"}
    assert_all_valid(documents)


def sent_events(messages, address: str) -> list[tuple[str, int, str | None]]:
    """(METHOD, SEQUENCE, STATUS) of every VEVENT mailed to `address`, in the order sent."""
    return [(str(cal["METHOD"]), int(event["SEQUENCE"]), event.get("STATUS"))
            for message in messages if address in message["To"]
            for part in message.walk() if part.get_content_type() == "text/calendar"
            for cal in [icalendar.Calendar.from_ical(part.get_content())] for event in cal.walk("VEVENT")]


def test_an_ended_invitation_outranks_what_the_calendar_holds(app, smtp_server, world):
    """RFC 5546 3.2.5: a CANCEL increments SEQUENCE; uninviting some attendees carries no STATUS (the meeting
    goes on for the others). The series' CANCEL outranks an occurrence moved since the invitation, too."""
    address = "tam@logistics.example.vn"  # the second business's contact

    def done():
        db.session.commit()
        send_pending()
        return sent_events(smtp_server.messages, address)

    series_created(world)
    business_added(world)
    done()
    occurrence_moved(world)
    done()
    scheduling.change_occurrence(world.series, date(2027, 3, 29), start=datetime(2027, 3, 31, 9, tzinfo=HCM))
    done()
    invitation_ended(world)
    series_mail = done()
    assert [method for method, _, _ in series_mail] == ["REQUEST", "REQUEST", "REQUEST", "CANCEL"]
    assert series_mail[-1][1] > max(sequence for _, sequence, _ in series_mail[:-1])
    assert series_mail[-1][2] is None

    meeting_invited(world)
    meeting = db.session.execute(db.select(Meeting).where(Meeting.series_id.is_(None))).scalar_one()
    done()
    meeting_invitation_ended(world)
    done()
    invite_to_meeting(meeting, world.other)
    meeting_mail = done()[len(series_mail):]
    assert [method for method, _, _ in meeting_mail] == ["REQUEST", "CANCEL", "REQUEST"]
    assert meeting_mail[1][2] is None
    # The CANCEL above the invitation; invited again, above the CANCEL, so that it counts.
    assert meeting_mail[0][1] < meeting_mail[1][1] < meeting_mail[2][1]


def fetch(client, url: str, **headers):
    return client.get(url.replace("http://localhost", ""), headers=headers)


def method_param(response) -> str | None:
    return response.mimetype_params.get("method")


def test_every_feed_kind_passes_the_itip_check(app, client, world, make_user):
    series_created(world)
    occurrence_moved(world)
    occurrence_cancelled(world)
    meeting = scheduling.create_meeting(title="Gặp gỡ chuyên đề: xuất xứ hàng hóa", unit=world.units["HCM-A"],
                                        start=datetime(2027, 2, 3, 9, tzinfo=HCM), duration_minutes=90,
                                        location="Phòng 201")
    db.session.flush()
    invite_to_meeting(meeting, world.business)
    db.session.commit()
    organiser = make_user("organiser", world.units["HCM-A"])
    idle = make_user("organiser", world.units["QN-A"])  # a staff member whose unit has no series
    urls = {
        "series": calendar.feed_url("series", world.series.id),
        "business": calendar.feed_url("business", world.business.id),
        "unit": calendar.feed_url("unit", world.units["HCM"].id),
        "user": calendar.feed_url("user", organiser.id),
        "invitation": calendar.invitation_feed_url(world.series.id, world.business.id),
        "user, empty": calendar.feed_url("user", idle.id),
        "business, empty": calendar.feed_url("business", world.outsider.id),
        "unit, empty": calendar.feed_url("unit", world.units["QN-B"].id),
    }
    db.session.commit()
    assert {name.split(",")[0] for name in urls} == set(FEED_KINDS)  # a new kind of feed is checked here too
    documents = []
    for name, url in urls.items():
        built = fetch(client, url)  # built by Flask, then answered from the cache by the fast path
        cached = fetch(client, url)
        assert built.status_code == cached.status_code == 200 and cached.data == built.data
        for response in (built, cached):
            assert response.content_type == "text/calendar; charset=utf-8; method=PUBLISH", name
        unchanged = fetch(client, url, **{"If-None-Match": built.headers["ETag"]})
        assert unchanged.status_code == 304
        # The same ETag weakened (a proxy that compresses the feed does so): If-None-Match compares weakly.
        assert fetch(client, url, **{"If-None-Match": "W/" + built.headers["ETag"]}).status_code == 304
        # A cache refreshes the stored headers from a 304: nothing there may say another type.
        assert unchanged.headers.get("Content-Type") in (None, built.content_type), name
        documents.append(Document(f"feed {name}", built.data, method_param(built)))
    empty = icalendar.Calendar.from_ical(documents[-1].data)
    assert not empty.walk("VEVENT") and empty.walk("VTIMEZONE")
    assert_all_valid(documents)


def test_invite_ics_for_every_reader_passes_the_itip_check(app, api, world, make_user):
    series_created(world)
    occurrence_cancelled(world)
    db.session.commit()
    occurrence, _ = scheduling.meeting_for(world.series, date(2027, 2, 22))
    cancelled, _ = scheduling.meeting_for(world.series, date(2027, 4, 26))
    world.one_off = scheduling.create_meeting(title="Gặp gỡ chuyên đề: xuất xứ hàng hóa", unit=world.units["HCM-A"],
                                              start=datetime(2027, 2, 3, 9, tzinfo=HCM), duration_minutes=90,
                                              location="Phòng 201")
    world.lonely = scheduling.create_meeting(title="Khảo sát tại doanh nghiệp", unit=world.units["HCM-A"],
                                             start=datetime(2027, 2, 10, 9, tzinfo=HCM), duration_minutes=60,
                                             location="Nhà máy, KCN Hiệp Phước", kind="visit")
    db.session.flush()
    invite_to_meeting(world.one_off, world.business)
    db.session.commit()
    readers = {
        "organiser": make_user("organiser", world.units["HCM-A"]),
        "manager": make_user("manager", world.units["HCM"]),
        "admin": make_user("admin", world.units["TCHQ"]),
        "business": make_user("business", world.units["HCM-A"], business=world.business),
        "business without contacts by mail": make_user("business", world.units["HCM-A"], business=world.silent),
    }
    scheduling.update_series(world.series, invitees=[world.business, world.silent], notify=False)
    db.session.commit()
    meetings = {"occurrence": occurrence, "cancelled occurrence": cancelled, "one-off": world.one_off,
                "one-off nobody is invited to": world.lonely}
    documents = {}
    for reader_name, reader in readers.items():
        caller = api(reader)
        for meeting_name, meeting in meetings.items():
            response = caller.get(f"/meetings/{meeting.id}/invite.ics")
            if reader.role == "business" and response.status_code == 404:
                continue  # not invited to it
            assert response.status_code == 200, (reader_name, meeting_name)
            name = f"invite.ics of the {meeting_name} for the {reader_name}"
            documents[name] = Document(name, response.data, method_param(response))
    assert len(documents) == 3 * 4 + 3 + 2
    assert_all_valid(list(documents.values()))

    def read(name):
        cal = icalendar.Calendar.from_ical(documents[name].data)
        event = cal.walk("VEVENT")[0]
        attendees = event.get("ATTENDEE", [])
        return str(cal["METHOD"]), [attendees] if not isinstance(attendees, list) else attendees

    # A business is asked to answer: its contacts with an address are the attendees.
    method, attendees = read("invite.ics of the one-off for the business")
    assert method == "REQUEST"
    assert sorted(str(a) for a in attendees) == ["mailto:ngoc@saoviet.example.vn",
                                                 "mailto:thao.nguyen@saoviet.example.vn"]
    assert all(a.params["RSVP"] == "TRUE" and a.params["PARTSTAT"] == "NEEDS-ACTION" for a in attendees)
    method, attendees = read("invite.ics of the occurrence for the business without contacts by mail")
    assert method == "REQUEST" and [str(a) for a in attendees] == \
        [f"mailto:{readers['business without contacts by mail'].email}"]
    # Staff see the invited; with nobody invited the file is published, for one's own calendar.
    method, attendees = read("invite.ics of the occurrence for the organiser")
    assert method == "REQUEST" and len(attendees) == 2
    assert read("invite.ics of the one-off nobody is invited to for the manager") == ("PUBLISH", [])
    assert read("invite.ics of the cancelled occurrence for the business")[0] == "CANCEL"
