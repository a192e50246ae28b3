"""Faults: the mail server away, then refusing, then back; a sender killed in the middle of a batch; the
database gone for a moment; two officers saving the same thing at the same instant.

What the outbox guarantees, exactly (dialogue_app/mail/services.py): a message is marked sent in its own
transaction right after the SMTP server accepted it. So nothing is ever lost, and a sender killed at any
instant repeats at most the one message it had in flight (the server took it, the sender never recorded
that): at most one duplicate per kill, carrying the same Message-ID as the first copy.
"""

import asyncio
import email
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from dialogue_app import officetime
from dialogue_app.audit.models import AuditEntry
from dialogue_app.calendar import services as calendar_services
from dialogue_app.db import utcnow
from dialogue_app.extensions import db
from dialogue_app.issues import services as issue_services
from dialogue_app.issues.models import Issue, IssueEvent
from dialogue_app.mail import services as mail
from dialogue_app.mail.models import OutboxMessage
from dialogue_app.minutes import services as minutes_services
from dialogue_app.minutes.models import Minutes, MinutesRevision
from dialogue_app.officetime import office_zone
from dialogue_app.org.services import business_by_tax_code
from dialogue_app.scheduling import services as scheduling

from .conftest import PASSWORD, free_port, smtp_server_on

ROOT = Path(__file__).resolve().parent.parent
SENDER = "chicuc@haiquan.example.vn"


def message_id(envelope) -> str:
    return email.message_from_bytes(envelope.content, policy=policy.default)["Message-ID"]


# --- The mail server: down, refusing, back ---------------------------------------------------------------------

class MoodyServer:
    """An SMTP server whose mood the test sets: "accept", or 4xx to every RCPT ("refuse_rcpt") or to the DATA
    ("refuse_data"); mailboxes in `full` are refused (452) while the others are accepted."""

    def __init__(self):
        self.mood = "accept"
        self.full: set[str] = set()
        self.delivered: list[tuple[str, str]] = []  # (recipient, Message-ID), as accepted

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.mood == "refuse_rcpt":
            return "451 4.3.0 Try again later"
        if address in self.full:
            return "452 4.2.2 Mailbox full"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.mood == "refuse_data":
            return "451 4.3.0 Try again later"
        self.delivered += [(recipient, message_id(envelope)) for recipient in envelope.rcpt_tos]
        return "250 OK"


def next_round() -> mail.SendReport:
    """Time passes: every message waiting for its retry is due again; then one round of the sender."""
    for message in db.session.execute(select(OutboxMessage).where(OutboxMessage.status == "pending")).scalars():
        message.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    return mail.send_pending()


def test_down_then_refusing_then_back_delivers_to_each_recipient_exactly_once(app):
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_DEFAULT_SENDER=SENDER)
    singles = [f"nguoi{n}@example.vn" for n in range(4)]
    for n, address in enumerate(singles):
        mail.enqueue(to=[address], subject=f"Giấy mời số {n}", text="Kính gửi Quý doanh nghiệp.")
    pair = ["ketoan@caphe.example.vn", "giamdoc@caphe.example.vn"]
    mail.enqueue(to=pair, subject="Biên bản cuộc họp", text="Biên bản đính kèm.",
                 attachments=[mail.Attachment("bien-ban.pdf", "application/pdf", b"%PDF-1.7\n%%EOF\n")])
    db.session.commit()

    # Down: nothing listens. The first message finds nobody; the others wait for the next round.
    report = mail.send_pending()
    assert (report.sent, report.failed) == (0, 1)

    server = MoodyServer()
    with smtp_server_on(port, server):
        # Refusing for a while, at RCPT and then at DATA: each message is tried once a round and kept.
        for mood in ("refuse_rcpt", "refuse_data"):
            server.mood = mood
            report = next_round()
            assert (report.sent, report.failed, report.dead) == (0, 5, 0), mood
        # Back, but one mailbox is full: the message goes to the other recipient; the full one gets its own copy
        # later (written in the transaction that marked the message sent: nobody is dropped in between).
        server.mood, server.full = "accept", {"giamdoc@caphe.example.vn"}
        assert next_round().sent == 5
        waiting = db.session.execute(select(OutboxMessage).where(OutboxMessage.status == "pending")).scalar_one()
        assert waiting.recipients == ["giamdoc@caphe.example.vn"] and waiting.attachments[0].data.startswith(b"%PDF")
        server.full = set()
        assert next_round().sent == 1
        report = next_round()
        assert (report.sent, report.failed, report.dead) == (0, 0, 0)  # nothing left, nothing sent twice

    assert Counter(recipient for recipient, _ in server.delivered) == {address: 1 for address in singles + pair}
    rows = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
    assert {row.status for row in rows} == {"sent"}
    assert [row.attempts for row in rows[:5]] == [4, 3, 3, 3, 3]  # the first also met the server down
    assert "452" in rows[4].last_error


# --- A sender killed in the middle of a batch -----------------------------------------------------------------

class SlowServer:
    """Takes 0.3 s to answer each message. The message is the server's from the moment its data arrives (a
    real server queues it then), so a sender killed during those 0.3 s never hears the "250"."""

    def __init__(self, delay: float = 0.3):
        self.delay = delay
        self.received: list[str] = []  # Message-IDs, in order of arrival

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append(message_id(envelope))
        await asyncio.sleep(self.delay)
        return "250 OK"


def start_sender(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "send-mail"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_until(condition, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.stdout.read().decode(errors="replace")
        assert time.monotonic() < deadline, "the sender made no progress"
        time.sleep(0.01)


def statuses() -> dict[str, str]:
    return dict(db.session.execute(select(OutboxMessage.message_id, OutboxMessage.status)).all())


def test_a_sender_killed_mid_batch_loses_nothing_and_repeats_at_most_the_message_in_flight(app, tmp_path):
    port = free_port()
    for n in range(8):
        mail.enqueue(to=[f"doanhnghiep{n}@example.vn"], subject=f"Thư {n}", text="Nội dung.")
    db.session.commit()
    everything = set(statuses())
    env = {**os.environ, "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "MAIL_DEFAULT_SENDER": SENDER,
           "SECRET_KEY": "test", "BASE_URL": "http://localhost", "DIALOGUE_INSTANCE_PATH": str(tmp_path / "sender"),
           "MAIL_CLAIM_LEASE_SECONDS": "1"}
    server = SlowServer()
    sender = again = None
    try:
        with smtp_server_on(port, server):
            sender = start_sender(env)
            wait_until(lambda: len(server.received) >= 3, sender)
            os.kill(sender.pid, signal.SIGKILL)
            assert sender.wait(timeout=30) == -signal.SIGKILL
            taken = list(server.received)  # what the server has: no more can come from a dead sender
            marked = {mid for mid, status in statuses().items() if status == "sent"}
            # Every message the server answered was marked sent before the next one went out; the one it was
            # still answering (or whose "250" came just before the kill) is the only one not marked.
            in_flight = set(taken) - marked
            assert set(taken[:-1]) <= marked and marked <= set(taken) and len(in_flight) <= 1

            time.sleep(1.2)  # what the dead sender had claimed is free again when its lease runs out
            again = start_sender(env)
            output, _ = again.communicate(timeout=60)
            assert again.returncode == 0, output.decode(errors="replace")
    finally:
        for process in (sender, again):
            if process is not None:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                process.stdout.close()

    copies = Counter(server.received)
    assert set(copies) == everything  # nothing lost
    assert {mid for mid, n in copies.items() if n > 1} == in_flight  # repeated: the message in flight, only
    assert max(copies.values()) <= 2
    assert set(statuses().values()) == {"sent"}


# --- The database gone for a moment ---------------------------------------------------------------------------

@contextmanager
def database_away():
    """While inside, every new connection fails as it does with the server down: SQLite gets a file it cannot
    open, PostgreSQL a port nothing listens on. Pooled connections are closed first."""
    engine = db.engine
    closed_port = free_port()

    def unreachable(dialect, connection_record, cargs, cparams):
        if dialect.name == "sqlite":
            cargs[:] = ["/nonexistent/dialogue/unreachable.db"]
        else:
            cparams.update(host="127.0.0.1", port=closed_port, connect_timeout=2)

    db.session.commit()  # the test's own session gives its connection back, to be closed with the others
    engine.dispose()
    event.listen(engine, "do_connect", unreachable)
    try:
        yield
    finally:
        event.remove(engine, "do_connect", unreachable)
        engine.dispose()


UNAVAILABLE = "Cơ sở dữ liệu tạm thời không trả lời"


@pytest.fixture
def officer(units, topics, make_user, make_business):
    make_business(units["HCM-A"], name="Công ty TNHH Điện tử Sao Việt", tax_code="0100109106")
    return make_user("organiser", units["HCM-A"], name="Nguyễn Thị Mai")


def test_the_database_gone_for_a_moment_is_a_503_in_vietnamese_then_service_resumes(client, login, api, officer,
                                                                                    units):
    login(officer)
    caller = api(officer)
    feed = calendar_services.feed_url("unit", units["HCM-A"].id).replace("http://localhost", "")
    db.session.commit()

    with database_away():
        page = client.get("/issues")
        html = page.get_data(as_text=True)
        assert page.status_code == 503 and page.headers["Retry-After"] == "30"
        assert UNAVAILABLE in html and "Traceback" not in html and "OperationalError" not in html
        answer = caller.get("/api/v1/issues")
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "30"
        assert set(answer.json) == {"error"} and answer.json["error"]["code"] == "unavailable"
        assert UNAVAILABLE in answer.json["error"]["message"] and answer.json["error"]["fields"] == {}
        assert client.get(feed).status_code == 503  # calendar clients are told to come back, too

    assert client.get("/issues").status_code == 200  # the next request after the database is back
    assert caller.get("/api/v1/issues").status_code == 200
    assert client.get(feed).status_code == 200


def counts() -> tuple[int, ...]:
    return tuple(db.session.execute(select(func.count()).select_from(model)).scalar_one()
                 for model in (Issue, IssueEvent, OutboxMessage, AuditEntry))


@contextmanager
def cut_off(where: str):
    """The database goes away half-way through the writes of a request: after the issue's row and before its
    history event, or at the COMMIT itself."""
    engine = db.engine
    dbapi_error = engine.dialect.loaded_dbapi.OperationalError
    seen = []

    def before_execute(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.split("(")[0].strip())
        if statement.startswith("INSERT INTO issue_events"):
            raise dbapi_error("server closed the connection unexpectedly")

    def fail_commit(dbapi_connection):
        raise dbapi_error("server closed the connection unexpectedly")

    if where == "between the writes":
        event.listen(engine, "before_cursor_execute", before_execute)
    else:
        engine.dialect.do_commit, real_commit = fail_commit, engine.dialect.do_commit
    try:
        yield seen
    finally:
        if where == "between the writes":
            event.remove(engine, "before_cursor_execute", before_execute)
            assert "INSERT INTO issues" in seen, "the cut came before anything was written"
        else:
            engine.dialect.do_commit = real_commit


@pytest.mark.parametrize("where", ["between the writes", "at the commit"])
def test_a_write_cut_off_half_way_leaves_nothing_behind(client, login, officer, where):
    login(officer)
    form = {"tax_code": "0100109106", "title": "Vướng mắc C/O mẫu D", "description": "Chi tiết", "topic": "origin",
            "channel": "phone", "unit": "HCM-A"}
    before = counts()
    with cut_off(where):
        response = client.post("/issues/new", data=form)
    assert response.status_code == 503 and UNAVAILABLE in response.get_data(as_text=True)
    assert counts() == before  # no issue, no orphan event, no mail, no audit entry

    assert client.post("/issues/new", data=form).status_code == 302  # and the same form, once more, goes through
    issues, events, _, _ = counts()
    assert (issues, events) == (before[0] + 1, before[1] + 1)


# --- Two officers at the same instant -------------------------------------------------------------------------

def second_client(app, user):
    other = app.test_client()
    assert other.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return other


def at_once(*calls):
    with ThreadPoolExecutor(len(calls)) as pool:
        return [future.result(timeout=60) for future in [pool.submit(call) for call in calls]]


def test_two_officers_moving_one_issue_at_once_one_wins_the_other_is_told(app, client, login, officer, units,
                                                                          make_user, monkeypatch):
    colleague = make_user("organiser", units["HCM-A"], name="Phạm Văn Long")
    login(officer)
    other = second_client(app, colleague)
    issue = issue_services.create_issue(
        title="Vướng mắc áp mã HS", business=business_by_tax_code("0100109106"), channel="phone",
        topic=issue_services.active_topics(officer)[0], unit=units["HCM-A"], actor=officer)
    db.session.commit()
    issue_id, version = issue.id, issue.version

    # Both requests have read the issue at the same version before either writes.
    barrier = threading.Barrier(2, timeout=20)
    real = issue_services.transition

    def transition(*args, **kwargs):
        barrier.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(issue_services, "transition", transition)
    due = (officetime.today() + timedelta(days=5)).isoformat()
    assign = {"target": "assigned", "assigned-to": "assigned", "assigned-version": str(version),
              "assigned-assignee": str(colleague.id), "assigned-due_date": due}
    escalate = {"target": "escalated", "escalated-to": "escalated", "escalated-version": str(version),
                "escalated-note": "Vượt thẩm quyền"}
    answers = at_once(lambda: client.post(f"/issues/{issue_id}/transition", data=assign),
                      lambda: other.post(f"/issues/{issue_id}/transition", data=escalate))

    assert sorted(a.status_code for a in answers) == [302, 409]
    loser = next(a for a in answers if a.status_code == 409).get_data(as_text=True)
    # Told by the database's own check (the version in the UPDATE), not by an earlier read: "someone else
    # changed this at the same time; nothing of yours was saved".
    assert "cùng lúc" in loser and "chưa được lưu" in loser
    won = "assigned" if answers[0].status_code == 302 else "escalated"
    kept = db.session.execute(select(Issue.status, Issue.unit_id, Issue.version).where(Issue.id == issue_id)).one()
    assert kept.version > version  # the winner's change is the one kept
    assert (kept.status, kept.unit_id) == (("assigned", units["HCM-A"].id) if won == "assigned"
                                           else ("new", units["HCM"].id))
    events = db.session.execute(select(IssueEvent.to_status).where(IssueEvent.issue_id == issue_id)).scalars().all()
    assert len(events) == 2  # raised, and the winner's move: nothing of the loser's
    mails = db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    assert mails == (1 if won == "assigned" else 0)  # the assignee is told only when the assignment won


def test_two_officers_saving_the_same_minutes_at_once_one_wins_the_other_is_told(app, client, login, officer,
                                                                                units, make_user, monkeypatch):
    from datetime import datetime

    colleague = make_user("organiser", units["HCM-A"], name="Phạm Văn Long")
    login(officer)
    other = second_client(app, colleague)
    meeting = scheduling.create_meeting(title="Đối thoại doanh nghiệp", unit=units["HCM-A"], kind="thematic",
                                        start=datetime(2026, 3, 10, 8, tzinfo=office_zone()),
                                        duration_minutes=90, location="Hội trường")
    db.session.flush()
    minutes_services.save_minutes(meeting, actor=officer, body="Bản đầu")
    db.session.commit()
    meeting_id = meeting.id

    # Both saves read revision 1 as the latest before either writes revision 2.
    barrier = threading.Barrier(2, timeout=20)
    real = minutes_services.latest_revision

    def latest_revision(minutes):
        latest = real(minutes)
        if sys._getframe(1).f_code.co_name == "save_minutes":
            barrier.wait()  # read, then wait for the other save to have read too
        return latest

    monkeypatch.setattr(minutes_services, "latest_revision", latest_revision)
    answers = at_once(
        lambda: client.post(f"/meetings/{meeting_id}/minutes", data={"body": "Bản của Mai", "base_revision": "1"}),
        lambda: other.post(f"/meetings/{meeting_id}/minutes", data={"body": "Bản của Long", "base_revision": "1"}))

    assert sorted(a.status_code for a in answers) == [302, 409]
    loser = next(a for a in answers if a.status_code == 409).get_data(as_text=True)
    assert "cùng lúc" in loser and "chưa được lưu" in loser  # the unique revision number told them
    winner = "Bản của Mai" if answers[0].status_code == 302 else "Bản của Long"
    minutes_id = db.session.execute(select(Minutes.id).where(Minutes.meeting_id == meeting_id)).scalar_one()
    bodies = db.session.execute(select(MinutesRevision.body).where(MinutesRevision.minutes_id == minutes_id)
                                .order_by(MinutesRevision.number)).scalars().all()
    assert bodies == ["Bản đầu", winner]
    assert db.session.execute(select(Minutes.revision_count).where(Minutes.id == minutes_id)).scalar_one() == 2
