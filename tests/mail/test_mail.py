"""The outbox against a real SMTP server (aiosmtpd): what it receives, retries, and giving up."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from dialogue_app.db import utcnow
from dialogue_app.extensions import db
from dialogue_app.mail import services
from dialogue_app.mail.models import OutboxMessage


@pytest.fixture
def app_config(smtp_server):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port,
            "MAIL_DEFAULT_SENDER": "dialogue@haiquan.example.vn"}


def queue(n=1, **overrides):
    for index in range(n):
        services.enqueue(to=[f"nguoi{index}@example.vn"], subject=f"Thư số {index}: Cà phê sáng",
                         text="Nội dung tiếng Việt có dấu.", html="<p>Nội dung <b>HTML</b></p>", **overrides)
    db.session.commit()


def test_queued_mail_is_delivered_once(app, smtp_server, runner):
    queue(3)
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0 and "sent 3" in result.output
    assert len(smtp_server.messages) == 3
    received = smtp_server.messages[0]
    assert received["Subject"] == "Thư số 0: Cà phê sáng"
    assert received["From"] == "dialogue@haiquan.example.vn"
    assert received.get_body(("plain",)).get_content().strip() == "Nội dung tiếng Việt có dấu."
    assert "<b>HTML</b>" in received.get_body(("html",)).get_content()
    runner.invoke(args=["send-mail"])
    assert len(smtp_server.messages) == 3  # nothing is sent twice
    statuses = set(db.session.execute(select(OutboxMessage.status)).scalars())
    assert statuses == {"sent"}


def test_a_refusing_server_delays_then_delivers(app, smtp_server):
    queue(1)
    smtp_server.refuse = True
    report = services.send_pending()
    assert report.failed == 1 and smtp_server.messages == []
    message = db.session.execute(select(OutboxMessage)).scalar_one()
    assert message.status == "pending" and message.attempts == 1 and "451" in message.last_error
    assert message.next_attempt_at > utcnow()
    assert services.send_pending().sent == 0  # not before its time
    smtp_server.refuse = False
    message.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert services.send_pending().sent == 1
    assert len(smtp_server.messages) == 1
    assert smtp_server.messages[0]["Message-ID"] == message.message_id


def test_a_server_that_is_down_loses_nothing_and_gives_up_visibly(app):
    app.config["MAIL_PORT"] = 1  # nothing listens there
    queue(2)
    report = services.send_pending()
    assert report.failed == 1  # the first failure stops the round; the other waits
    messages = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
    assert [m.attempts for m in messages] == [1, 0]
    for _ in range(2 * services.MAX_ATTEMPTS):  # one message is tried per round while the server is down
        for message in messages:
            message.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        services.send_pending()
    assert {m.status for m in db.session.execute(select(OutboxMessage)).scalars()} == {"dead"}


def test_a_calendar_invite_is_an_alternative_and_an_attachment(app, smtp_server):
    ics = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    queue(1, calendar=ics, calendar_method="request")
    services.send_pending()
    received = smtp_server.messages[0]
    calendar = next(part for part in received.walk() if part.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == "REQUEST"
    assert any(part.get_filename() == "invite.ics" for part in received.walk())


def test_nobody_to_write_to_writes_nothing(app):
    assert services.enqueue(to=["", None], subject="x", text="y") is None


def test_a_subject_with_line_breaks_is_one_line_and_blocks_nothing(app, smtp_server):
    queue(1)
    services.enqueue(to=["x@example.vn"], subject="Tiêu đề\r\nBcc: everyone@example.vn\x01", text="Nội dung")
    db.session.commit()
    assert services.send_pending().sent == 2
    assert {m["Subject"] for m in smtp_server.messages} >= {"Tiêu đề Bcc: everyone@example.vn"}
    assert all(m["Bcc"] is None for m in smtp_server.messages)
