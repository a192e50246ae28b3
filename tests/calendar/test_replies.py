"""Answers from calendars (issue 14, part 3): iTIP REPLYs shaped as Outlook, Gmail and Apple Calendar send them,
put into a real IMAP server (Dovecot, started by the `imap_server` fixture), read by `flask --app wsgi
receive-mail`, and what staff and the mailbox show afterwards."""

import logging
from datetime import UTC, datetime, timedelta
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from sqlalchemy import select

from dialogue_app import tasks
from dialogue_app.attendance.models import Rsvp
from dialogue_app.attendance.services import invite_to_meeting, read_rsvp_token, record_rsvp, rsvp_token
from dialogue_app.calendar.services import meeting_uid, series_uid
from dialogue_app.config import from_environment
from dialogue_app.extensions import db
from dialogue_app.mail.imap import HANDLED
from dialogue_app.org.services import add_contact
from dialogue_app.scheduling import services as scheduling
from dialogue_app.signals import answer_recorded
from tests.conftest import free_port
from tests.itip_replies import apple_reply, gmail_reply, outlook_reply, plain_mail


@pytest.fixture
def app_config(imap_server):
    # The test server speaks plain IMAP on 127.0.0.1: IMAP_USE_SSL false.
    return imap_server.config()


@pytest.fixture
def world(units, make_business, make_series, make_meeting, make_user):
    cafe = make_business(units["HCM-A"], name="Công ty TNHH Cà phê Đà Lạt")
    an = add_contact(cafe, name="Nguyễn Văn An", email="an@caphe.example.vn")
    binh = add_contact(cafe, name="Lê Thị Bình", email="binh@caphe.example.vn")
    other = make_business(units["HCM-A"], name="Công ty Cổ phần Thủy sản Biển Đông")
    stranger = add_contact(other, name="Phạm Văn Lạ", email="la@thuysan.example.vn")
    db.session.commit()
    series = make_series(units["HCM-A"], invitees=[cafe])
    now = datetime.now(UTC)
    coming = [o for o in scheduling.expand_series(series, now, now + timedelta(days=200))
              if o.status.value != "cancelled"]
    visit = make_meeting(unit=units["HCM-A"], start=now + timedelta(days=10), title="Thăm nhà máy", kind="visit")
    invite_to_meeting(visit, cafe)
    db.session.commit()
    organiser = make_user("organiser", unit=units["HCM-A"])
    return {"cafe": cafe, "an": an, "binh": binh, "stranger": stranger, "series": series, "next": coming[0],
            "later": coming[1], "visit": visit, "organiser": organiser}


# -- The mailbox, seen from outside --------------------------------------------------------------------------------

def put(imap_server, *messages: bytes, when: datetime | None = None) -> None:
    with imap_server.client() as client:
        for message in messages:
            client.append("INBOX", message, msg_time=when)


def inbox(imap_server) -> list[set]:
    """The flags of each message left in the INBOX, oldest first."""
    with imap_server.client() as client:
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags(client.search("ALL"))
        return [set(flags[uid]) for uid in sorted(flags)]


def set_aside(imap_server) -> list[bytes]:
    """The messages in the set-aside folder (what a person is left to read)."""
    with imap_server.client() as client:
        names = [name for _, _, name in client.list_folders() if name.endswith("Set aside")]
        if not names:
            return []
        client.select_folder(names[0], readonly=True)
        uids = client.search("ALL")
        return [data[b"RFC822"] for data in client.fetch(uids, ["RFC822"]).values()] if uids else []


def receive(runner, *args):
    return runner.invoke(args=["receive-mail", *args])


def rsvps() -> list[Rsvp]:
    db.session.expire_all()
    return list(db.session.execute(select(Rsvp).order_by(Rsvp.id)).scalars())


def occurrence_meeting(world, occurrence):
    return scheduling.meeting_for(world["series"], occurrence.occurrence)[0]


# -- The three clients ---------------------------------------------------------------------------------------------

def test_outlook_accepts_one_occurrence_with_a_comment(app, world, imap_server, runner, client, login, caplog):
    caplog.set_level(logging.INFO)
    occurrence = world["next"]
    rule_start = occurrence.rule_start.replace(tzinfo=None)  # local wall time, Outlook's SE Asia Standard Time
    put(imap_server, outlook_reply("an@caphe.example.vn", series_uid(world["series"]), rule_start, "ACCEPTED",
                                   comment="Tôi sẽ đến cùng kế toán trưởng"))

    result = receive(runner)

    assert result.exit_code == 0, result.output
    assert "1 answer(s) recorded" in result.output
    [answer] = rsvps()
    meeting = occurrence_meeting(world, occurrence)
    assert (answer.meeting_id, answer.contact_id) == (meeting.id, world["an"].id)
    assert (answer.answer, answer.via, answer.comment) == ("accepted", "calendar", "Tôi sẽ đến cùng kế toán trưởng")
    [flags] = inbox(imap_server)
    assert {b"\\Seen", HANDLED} <= flags  # read, and never looked at again
    # The organiser sees it on the meeting's page.
    login(world["organiser"])
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Nguyễn Văn An" in page and "sẽ tham dự" in page
    assert sum("recorded" in r.getMessage() for r in caplog.records) == 1


def test_gmail_declines_a_one_off_meeting(app, world, imap_server, runner):
    put(imap_server, gmail_reply("an@caphe.example.vn", meeting_uid(world["visit"]), "DECLINED", world["visit"].start))

    result = receive(runner)

    assert result.exit_code == 0, result.output
    [answer] = rsvps()  # the same file inline and attached: one answer
    assert (answer.meeting_id, answer.answer, answer.via) == (world["visit"].id, "declined", "calendar")


def test_apple_maybe_for_the_whole_series_answers_each_occurrence_to_come(app, world, imap_server, runner):
    put(imap_server, apple_reply("AN@caphe.example.vn", series_uid(world["series"]), "TENTATIVE"))

    result = receive(runner)

    assert result.exit_code == 0, result.output
    answers = rsvps()
    assert len(answers) >= 12  # a monthly series: every occurrence of the coming year
    assert {(a.answer, a.via, a.contact_id) for a in answers} == {("tentative", "calendar", world["an"].id)}
    days = {db.session.get(type(world["visit"]), a.meeting_id).occurrence for a in answers}
    assert {world["next"].occurrence, world["later"].occurrence} <= days


def test_apple_answers_one_occurrence(app, world, imap_server, runner):
    later = world["later"]
    put(imap_server, apple_reply("an@caphe.example.vn", series_uid(world["series"]), "DECLINED",
                                 later.rule_start.replace(tzinfo=None)))
    assert receive(runner).exit_code == 0
    [answer] = rsvps()
    assert answer.meeting_id == occurrence_meeting(world, later).id and answer.answer == "declined"


# -- Once, and the latest wins -------------------------------------------------------------------------------------

def test_a_second_run_does_nothing(app, world, imap_server, runner, caplog):
    put(imap_server, gmail_reply("an@caphe.example.vn", meeting_uid(world["visit"]), "ACCEPTED", world["visit"].start),
        plain_mail("an@caphe.example.vn"))
    assert receive(runner).exit_code == 0
    first = [(r.id, r.answer, r.answered_at) for r in rsvps()]
    caplog.clear()
    caplog.set_level(logging.INFO)

    result = receive(runner)

    assert result.exit_code == 0
    assert "0 answer(s) recorded, 0 set aside for a person, 0 without an answer to record" in result.output
    assert [(r.id, r.answer, r.answered_at) for r in rsvps()] == first
    assert not [r for r in caplog.records if "message" in r.getMessage()]


def test_an_answer_given_in_the_portal_after_the_mail_arrived_is_kept(app, world, imap_server, runner):
    visit = world["visit"]
    put(imap_server, gmail_reply("an@caphe.example.vn", meeting_uid(visit), "ACCEPTED", visit.start),
        when=datetime.now(UTC) - timedelta(minutes=5))
    record_rsvp(read_rsvp_token(rsvp_token(world["an"], meeting=visit)), "declined", "Bận", via="portal")
    db.session.commit()

    assert receive(runner).exit_code == 0

    [answer] = rsvps()
    assert (answer.answer, answer.via) == ("declined", "portal")
    assert HANDLED in inbox(imap_server)[0]


def test_a_calendar_answer_after_a_portal_answer_replaces_it(app, world, imap_server, runner):
    visit = world["visit"]
    record_rsvp(read_rsvp_token(rsvp_token(world["an"], meeting=visit)), "declined", "Bận", via="portal")
    db.session.commit()
    put(imap_server, gmail_reply("an@caphe.example.vn", meeting_uid(visit), "ACCEPTED", visit.start),
        when=datetime.now(UTC) + timedelta(minutes=1))

    assert receive(runner).exit_code == 0

    [answer] = rsvps()
    assert (answer.answer, answer.via, answer.comment) == ("accepted", "calendar", "")


def test_the_organisers_hear_of_each_answer_whatever_its_channel(app, world, imap_server, runner):
    heard = []
    put(imap_server, gmail_reply("an@caphe.example.vn", meeting_uid(world["visit"]), "ACCEPTED", world["visit"].start))
    with answer_recorded.connected_to(lambda rsvp, **_: heard.append((rsvp.id, rsvp.via))):
        assert receive(runner).exit_code == 0
        record_rsvp(read_rsvp_token(rsvp_token(world["binh"], meeting=world["visit"])), "tentative", via="link")
    [first, second] = rsvps()
    assert heard == [(first.id, "calendar"), (second.id, "link")]


def test_the_worker_task_reads_the_mailbox(app, world, imap_server):
    put(imap_server, gmail_reply("an@caphe.example.vn", meeting_uid(world["visit"]), "ACCEPTED", world["visit"].start))
    tasks.enqueue("receive-mail")  # HUEY_IMMEDIATE in the tests: runs here
    assert [r.answer for r in rsvps()] == ["accepted"]


# -- Set aside for a person ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["sender is not the attendee", "attendee not invited", "uid not ours",
                                  "no such series", "contact removed", "unknown partstat", "no such occurrence"])
def test_what_a_person_must_judge_is_set_aside_and_changes_nothing(app, world, imap_server, runner, caplog, case):
    series = series_uid(world["series"])
    at = world["next"].rule_start.replace(tzinfo=None)
    message = {
        # Bình sends An's answer: a forged or forwarded REPLY.
        "sender is not the attendee": lambda: outlook_reply("binh@caphe.example.vn", series, at, "ACCEPTED",
                                                            attendee="an@caphe.example.vn"),
        "attendee not invited": lambda: outlook_reply("la@thuysan.example.vn", series, at, "ACCEPTED"),
        "uid not ours": lambda: outlook_reply("an@caphe.example.vn", "040000008200E00074C5B7101A82E008@outlook",
                                              at, "ACCEPTED"),
        "no such series": lambda: outlook_reply("an@caphe.example.vn", series.replace(
            f"series-{world['series'].id}@", "series-999999@"), at, "ACCEPTED"),
        "contact removed": lambda: outlook_reply("an@caphe.example.vn", series, at, "ACCEPTED"),
        "unknown partstat": lambda: outlook_reply("an@caphe.example.vn", series, at, "DELEGATED"),
        "no such occurrence": lambda: outlook_reply("an@caphe.example.vn", series, at + timedelta(days=3),
                                                    "ACCEPTED"),
    }[case]()
    if case == "contact removed":
        db.session.delete(world["an"])
        db.session.commit()
    put(imap_server, message)
    caplog.set_level(logging.INFO)

    result = receive(runner)

    assert result.exit_code == 0, result.output
    assert "1 set aside for a person" in result.output
    assert rsvps() == []
    assert inbox(imap_server) == []
    [kept] = set_aside(imap_server)
    assert kept.replace(b"\r\n", b"\n") == message.replace(b"\r\n", b"\n")
    [line] = [r.getMessage() for r in caplog.records if "set aside" in r.getMessage()]
    assert "\n" not in line and imap_server.password not in line


# -- Bad input: logged, nothing changed, the run goes on ---------------------------------------------------------

def test_bad_input_is_logged_and_the_run_goes_on(app, world, imap_server, runner, caplog):
    cancelled = world["later"]
    scheduling.change_occurrence(world["series"], cancelled.occurrence, status="cancelled", notify=False)
    db.session.commit()
    put(imap_server,
        plain_mail("an@caphe.example.vn"),
        outlook_reply("an@caphe.example.vn", series_uid(world["series"]), cancelled.rule_start.replace(tzinfo=None),
                      "ACCEPTED"),
        b"From: an@caphe.example.vn\r\nContent-Type: text/calendar; method=REPLY\r\n\r\nBEGIN:VCALENDAR\r\nnot",
        gmail_reply("an@caphe.example.vn", meeting_uid(world["visit"]), "ACCEPTED", world["visit"].start))
    caplog.set_level(logging.INFO)

    result = receive(runner)

    assert result.exit_code == 0, result.output
    [answer] = rsvps()  # the good one, last, still recorded
    assert answer.meeting_id == world["visit"].id
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("receive-mail: message")]
    assert len(lines) == 4
    assert "not a calendar message" in lines[0]
    assert "is cancelled" in lines[1]
    assert "no REPLY" in lines[2]
    flags = inbox(imap_server)
    assert b"\\Seen" not in flags[0]  # ordinary mail stays unread for the people who read this mailbox


def test_a_20_mb_attachment_is_never_downloaded(app, world, imap_server, runner, caplog):
    big = b"%PDF-1.7\n" + b"0" * (20 * 1024 * 1024)
    with_pdf = MIMEMultipart("mixed")
    with_pdf["From"] = "an@caphe.example.vn"
    with_pdf.attach(MIMEText("Hồ sơ kèm theo.", "plain", "utf-8"))
    with_pdf.attach(MIMEApplication(big, "pdf", name="ho-so.pdf"))
    huge_ics = MIMEMultipart("mixed")
    huge_ics["From"] = "an@caphe.example.vn"
    huge_ics.attach(MIMEApplication(b"BEGIN:VCALENDAR\r\n" + b"X" * (20 * 1024 * 1024), "ics", name="invite.ics"))
    put(imap_server, with_pdf.as_bytes(), huge_ics.as_bytes(),
        gmail_reply("an@caphe.example.vn", meeting_uid(world["visit"]), "ACCEPTED", world["visit"].start))
    caplog.set_level(logging.INFO)

    result = receive(runner)

    assert result.exit_code == 0, result.output
    assert [r.answer for r in rsvps()] == ["accepted"]
    assert "calendar part of" in caplog.text and "set aside" in caplog.text
    # Dovecot's log says how many bytes each session sent: the reading one stayed small.
    sessions = [line for line in (imap_server.directory / "dovecot.log").read_text().splitlines()
                if "Disconnected" in line and " out=" in line]
    sent = [int(line.split(" out=")[1].split()[0]) for line in sessions]
    assert min(sent) < 1024 * 1024 and max(sent) < 1024 * 1024, sessions


# -- The mailbox away ---------------------------------------------------------------------------------------------

def test_an_unreachable_mailbox_exits_non_zero_with_one_line(app, world, runner):
    app.config.update(IMAP_PORT=free_port())
    result = receive(runner)
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        f"Error: receive-mail: cannot reach the mailbox at 127.0.0.1:{app.config['IMAP_PORT']}: connection refused"]


def test_a_refused_password_exits_non_zero_and_is_not_shown(app, world, imap_server, runner, caplog):
    put(imap_server, gmail_reply("an@caphe.example.vn", meeting_uid(world["visit"]), "ACCEPTED", world["visit"].start))
    app.config.update(IMAP_PASSWORD="wrong horse battery")
    result = receive(runner)
    assert result.exit_code != 0
    assert "refused the user name or password for organiser@example.vn" in result.output
    assert "wrong horse" not in result.output + caplog.text
    assert rsvps() == [] and HANDLED not in inbox(imap_server)[0]


def test_tls_against_a_plain_server_is_a_clear_failure(app, world, imap_server, runner):
    app.config.update(IMAP_USE_SSL=True)
    result = receive(runner)
    assert result.exit_code != 0
    assert "TLS failed" in result.output or "cannot reach" in result.output


def test_the_worker_task_logs_an_unreachable_mailbox_and_carries_on(app, world, caplog):
    app.config.update(IMAP_PORT=free_port())
    tasks.enqueue("receive-mail")
    assert "receive-mail: cannot reach the mailbox" in caplog.text


def test_settings(monkeypatch, tmp_path):
    for name in ("IMAP_SERVER", "IMAP_PORT", "IMAP_USE_SSL", "IMAP_FOLDER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "x")
    defaults = from_environment(str(tmp_path))
    assert (defaults["IMAP_SERVER"], defaults["IMAP_PORT"], defaults["IMAP_USE_SSL"], defaults["IMAP_FOLDER"]) == \
        (None, 993, True, "INBOX")
    monkeypatch.setenv("IMAP_SERVER", "mail.example.vn")
    monkeypatch.setenv("IMAP_PORT", "143")
    monkeypatch.setenv("IMAP_USE_SSL", "false")
    monkeypatch.setenv("IMAP_FOLDER", "Lịch")
    chosen = from_environment(str(tmp_path))
    assert (chosen["IMAP_SERVER"], chosen["IMAP_PORT"], chosen["IMAP_USE_SSL"], chosen["IMAP_FOLDER"]) == \
        ("mail.example.vn", 143, False, "Lịch")


def test_of_two_replies_from_one_person_the_later_wins(app, world, imap_server, runner):
    visit = world["visit"]
    now = datetime.now(UTC)
    put(imap_server, gmail_reply("an@caphe.example.vn", meeting_uid(visit), "ACCEPTED", visit.start),
        when=now - timedelta(minutes=10))
    put(imap_server, gmail_reply("an@caphe.example.vn", meeting_uid(visit), "DECLINED", visit.start),
        when=now - timedelta(minutes=5))
    assert receive(runner).exit_code == 0
    [answer] = rsvps()
    assert answer.answer == "declined"
    assert abs(answer.answered_at - (now - timedelta(minutes=5))) < timedelta(seconds=2)  # when it was given


def test_a_business_invited_to_one_occurrence_answers_it(app, world, imap_server, runner):
    occurrence = world["next"]
    meeting = occurrence_meeting(world, occurrence)
    invite_to_meeting(meeting, world["stranger"].business)
    db.session.commit()
    put(imap_server, outlook_reply("la@thuysan.example.vn", series_uid(world["series"]),
                                   occurrence.rule_start.replace(tzinfo=None), "ACCEPTED"))
    assert receive(runner).exit_code == 0
    [answer] = rsvps()
    assert (answer.meeting_id, answer.contact_id, answer.answer) == (meeting.id, world["stranger"].id, "accepted")


def test_gmail_answers_one_occurrence_named_in_utc(app, world, imap_server, runner):
    # 08:00 in Hồ Chí Minh City is 01:00 UTC: the occurrence is known by its date where the series takes place.
    occurrence = world["next"]
    put(imap_server, gmail_reply("an@caphe.example.vn", series_uid(world["series"]), "ACCEPTED", occurrence.start,
                                 recurrence=occurrence.rule_start))
    assert receive(runner).exit_code == 0
    [answer] = rsvps()
    assert answer.meeting_id == occurrence_meeting(world, occurrence).id and answer.answer == "accepted"


def raw_reply(sender: str, uid: str, recurrence_line: str) -> bytes:
    """A REPLY as a hostile sender may write it: the RECURRENCE-ID line as given."""
    ics = "\r\n".join(["BEGIN:VCALENDAR", "METHOD:REPLY", "PRODID:-//x//x//EN", "VERSION:2.0", "BEGIN:VEVENT",
                       f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{sender}", "DTSTAMP:20260101T010000Z", f"UID:{uid}",
                       recurrence_line, "END:VEVENT", "END:VCALENDAR", ""])
    return (f"From: {sender}\r\nTo: chicuc@haiquan.example.vn\r\nSubject: x\r\n"
            "Content-Type: text/calendar; method=REPLY; charset=utf-8\r\n\r\n" + ics).encode()


def test_a_reply_naming_no_date_we_could_hold_is_set_aside_and_the_mailbox_still_read(
        app, world, imap_server, runner):
    """A duration, a period or the year 9999 where a date belongs: each used to stop every later run of the
    mailbox (an error before the message was marked); now each is set aside and the next answer recorded."""
    uid = series_uid(world["series"])
    put(imap_server,
        raw_reply("an@caphe.example.vn", uid, "RECURRENCE-ID:P1D"),
        raw_reply("an@caphe.example.vn", uid, "RECURRENCE-ID;VALUE=PERIOD:20270101T000000Z/PT1H"),
        raw_reply("an@caphe.example.vn", uid, "RECURRENCE-ID;VALUE=DATE:99991231"),
        gmail_reply("an@caphe.example.vn", meeting_uid(world["visit"]), "ACCEPTED", world["visit"].start))

    result = receive(runner)

    assert result.exit_code == 0, result.output
    [answer] = rsvps()
    assert answer.meeting_id == world["visit"].id
    assert len(set_aside(imap_server)) == 3
    assert receive(runner).exit_code == 0 and len(rsvps()) == 1  # and nothing left to trip on


def test_a_whole_series_accepted_is_one_answer_for_the_organisers(app, world, imap_server, runner):
    heard = []
    put(imap_server, apple_reply("an@caphe.example.vn", series_uid(world["series"]), "ACCEPTED"))
    with answer_recorded.connected_to(lambda rsvp, **_: heard.append(rsvp.id)):
        assert receive(runner).exit_code == 0
    assert len(rsvps()) >= 12 and len(heard) == 1


def test_with_the_mail_server_named_a_reply_counts_only_when_it_vouched_for_the_sender(app, world, imap_server,
                                                                                      runner, caplog):
    """The From header can be written by anyone: the organisation's mail server says (Authentication-Results)
    whether the sender's domain proved it sent the message."""
    app.config.update(IMAP_TRUSTED_AUTHSERV_ID="mx.haiquan.example.vn")
    uid, start = meeting_uid(world["visit"]), world["visit"].start

    def vouched(line: str, sender: str, answer: str) -> bytes:
        return f"Authentication-Results: {line}\r\n".encode() + gmail_reply(sender, uid, answer, start)

    forged_below = (b"Authentication-Results: mx.haiquan.example.vn; dmarc=fail header.from=caphe.example.vn\r\n"
                    + vouched("mx.haiquan.example.vn; dmarc=pass header.from=caphe.example.vn",
                              "an@caphe.example.vn", "DECLINED"))
    put(imap_server,
        # No word from our server at all; a forger's own header naming another server; our server saying DKIM
        # failed and SPF passed for another domain; a header authres cannot read (a version it does not know);
        # our server's failure above a pass the sender wrote under it: none is recorded, each is set aside, and
        # the mailbox is still read.
        gmail_reply("an@caphe.example.vn", uid, "DECLINED", start),
        vouched("mx.forger.example; dkim=pass header.d=caphe.example.vn", "an@caphe.example.vn", "DECLINED"),
        vouched("mx.haiquan.example.vn; dkim=fail header.d=caphe.example.vn; spf=pass smtp.mailfrom=x@evil.example",
                "an@caphe.example.vn", "DECLINED"),
        vouched("mx.haiquan.example.vn 2; none", "an@caphe.example.vn", "DECLINED"),
        forged_below)
    result = receive(runner)
    assert result.exit_code == 0, result.output
    assert rsvps() == [] and len(set_aside(imap_server)) == 5
    assert "did not vouch for the sender an@caphe.example.vn" in caplog.text

    # DKIM passed for the contact's domain (folded over two lines, as servers write it): recorded.
    put(imap_server, vouched("mx.haiquan.example.vn;\r\n\tdkim=pass header.d=caphe.example.vn header.s=google",
                             "binh@caphe.example.vn", "TENTATIVE"))
    assert "1 answer(s) recorded" in receive(runner).output
    [answer] = rsvps()
    assert (answer.contact_id, answer.answer) == (world["binh"].id, "tentative")
    # DMARC passed: recorded too.
    put(imap_server, vouched("mx.haiquan.example.vn; dmarc=pass header.from=caphe.example.vn",
                             "an@caphe.example.vn", "ACCEPTED"))
    assert "1 answer(s) recorded" in receive(runner).output
    assert {(a.contact_id, a.answer) for a in rsvps()} == {(world["binh"].id, "tentative"),
                                                           (world["an"].id, "accepted")}
