"""The outbox against a real SMTP server (aiosmtpd): what it receives, retries, and giving up."""

import base64
import quopri
import re
from datetime import UTC, timedelta

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


# -- By the rules: 8BITMIME (RFC 6152), encoded words (RFC 2047), Date (RFC 5322), iMIP (RFC 6047) ------------

ENCODED_WORD = re.compile(r"=\?([^?]+)\?([bBqQ])\?([^?]*)\?=")
LONG_SUBJECT = ("Thư mời: Đối thoại doanh nghiệp với Chi cục Hải quan cửa khẩu cảng Sài Gòn khu vực I – Dài Dài "
                "Dài, tháng 12 năm 2026, về thủ tục hải quan điện tử và kiểm tra chuyên ngành")


def raw_header(envelope, name: str) -> str:
    """The header as it came over the wire, folding and all."""
    head = envelope.original_content.split(b"\r\n\r\n", 1)[0].decode("ascii")
    found = re.search(rf"^{name}:[^\r\n]*(?:\r\n[ \t][^\r\n]*)*", head, re.MULTILINE | re.IGNORECASE)
    return found.group(0)


def strictly_decoded(raw: str) -> str:
    """What a reader following RFC 2047 to the letter shows: whitespace between two encoded words is dropped,
    and each word must decode on its own (a character cut between two words is an error)."""
    value = re.sub(r"\r\n(?=[ \t])", "", raw).split(":", 1)[1].strip()
    value = re.sub(r"(\?=)[ \t]+(?==\?)", r"\1", value)

    def word(match):
        charset, encoding, text = match.groups()
        data = base64.b64decode(text) if encoding in "bB" else quopri.decodestring(text.replace("_", " "),
                                                                                   header=True)
        return data.decode(charset)

    return ENCODED_WORD.sub(word, value)


def test_encoded_words_are_at_most_75_characters_and_lose_no_space(app, smtp_server):
    app.config["MAIL_DEFAULT_SENDER"] = ('"Chi cục Hải quan cửa khẩu cảng Sài Gòn khu vực I, Cục Hải quan Thành phố '
                                         'Hồ Chí Minh" <chicuc@haiquan.example.vn>')
    for subject in (LONG_SUBJECT, "Ngắn", "ASCII only, but long enough to need folding: " * 3,
                    "Dài =?utf-8?q?giả?= " * 6):
        services.enqueue(to=["ngoc@saoviet.example.vn"], subject=subject, text="Nội dung")
    db.session.commit()
    assert services.send_pending().sent == 4
    for envelope, subject in zip(smtp_server.envelopes, (LONG_SUBJECT, "Ngắn"), strict=False):
        for name, expected in (("Subject", subject), ("From", "Chi cục Hải quan cửa khẩu cảng Sài Gòn khu vực I, "
                                                      "Cục Hải quan Thành phố Hồ Chí Minh")):
            raw = raw_header(envelope, name)
            words = [match.group(0) for match in ENCODED_WORD.finditer(raw)]
            assert words and all(len(word) <= 75 for word in words), raw
            assert all(len(line) <= 76 for line in raw.split("\r\n")), raw
            decoded = strictly_decoded(raw)
            assert decoded.removesuffix(" <chicuc@haiquan.example.vn>") == expected, raw
    assert [m["Subject"] for m in smtp_server.messages[2:]] == [" ".join(s.split()) for s in (
        "ASCII only, but long enough to need folding: " * 3, "Dài =?utf-8?q?giả?= " * 6)]
    assert strictly_decoded(raw_header(smtp_server.envelopes[3], "Subject")) == " ".join(
        ("Dài =?utf-8?q?giả?= " * 6).split())  # text that looks like an encoded word is encoded, not read as one


def test_the_date_says_the_office_offset(app, smtp_server):
    queue(1)
    services.send_pending()
    raw = raw_header(smtp_server.envelopes[0], "Date")
    assert raw.endswith("+0700") and "-0000" not in raw
    sent = smtp_server.messages[0]["Date"].datetime
    assert sent.utcoffset() == timedelta(hours=7) and abs(sent - utcnow().replace(tzinfo=UTC)) < timedelta(minutes=1)


def test_8bit_parts_go_with_body_8bitmime(app, smtp_server):
    queue(1)  # Vietnamese text: 8-bit parts
    services.enqueue(to=["x@example.vn"], subject="Plain", text="ASCII only.")
    db.session.commit()
    services.send_pending()
    vietnamese, ascii_only = smtp_server.envelopes
    assert "BODY=8BITMIME" in vietnamese.mail_options
    assert any(byte > 127 for byte in vietnamese.original_content)
    assert not any(o.startswith("BODY=") for o in ascii_only.mail_options)  # nothing 8-bit: nothing to declare


def test_a_server_without_8bitmime_gets_seven_bits(app, smtp_server):
    smtp_server.eight_bit_mime = False
    queue(1, calendar="BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nX-NAME:Cà phê sáng\r\nEND:VCALENDAR\r\n",
          calendar_method="REQUEST")
    assert services.send_pending().sent == 1
    envelope = smtp_server.envelopes[0]
    assert not any(o.startswith("BODY=") for o in envelope.mail_options) and envelope.original_content.isascii()
    received = smtp_server.messages[0]
    assert received.get_body(("plain",)).get_content().strip() == "Nội dung tiếng Việt có dấu."
    calendar = next(part for part in received.walk() if part.get_content_type() == "text/calendar")
    assert "Cà phê sáng" in calendar.get_content()


def test_the_calendar_part_says_the_method_inside(app, smtp_server):
    ics = "BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nEND:VCALENDAR\r\n"
    queue(1, calendar=ics, calendar_method="REQUEST")
    services.send_pending()
    calendar = next(part for part in smtp_server.messages[0].walk() if part.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == "CANCEL"
