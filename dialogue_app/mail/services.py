"""Writing mail into the outbox, and sending what waits there.

Delivery guarantee, exactly: a message is written in the same transaction as the change that causes it,
so it exists if and only if the change does. The sender marks it sent only after the SMTP server has
accepted it ("250"), and commits that right away, one message per transaction. A sender killed between the
server's acceptance and that commit sends the message again when restarted: at least once, and at most one
message twice per sender killed (the one in flight), with the same Message-ID, which mail clients use to
show it once (tests/test_faults.py kills one to check). Recipients the server refuses for now while it
takes the others get a copy of their own, retried later. Two senders never send the same message at once:
on PostgreSQL each claims its message with SELECT … FOR UPDATE SKIP LOCKED. SQLite has no row locks: run a
single sender there.
"""

import re
import smtplib
import ssl
from base64 import b64encode
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select

from ..db import utcnow
from ..extensions import db
from .models import OutboxAttachment, OutboxMessage

MAX_ATTEMPTS = 8
BATCH = 50


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 1, 2, 4 … minutes, at most 6 hours."""
    return timedelta(minutes=min(2 ** (attempts - 1), 360))


def one_line(text: str) -> str:
    """Text fit for a header: line breaks and other control or invisible characters become single spaces."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


def _sender_domain() -> str:
    """The domain of Message-IDs: the sender's, whether MAIL_DEFAULT_SENDER is an address or "Name <address>"."""
    return parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1].rpartition("@")[2] or "localhost"


def enqueue(*, to: list[str], subject: str, text: str, html: str | None = None, calendar: str | None = None,
            calendar_method: str | None = None, attachments: list[Attachment] = (),
            headers: dict | None = None) -> OutboxMessage | None:
    """Write a message to the outbox in the current transaction; None when there is nobody to send to."""
    recipients = sorted({address.strip().lower() for address in to if address and address.strip()})
    if not recipients:
        return None
    domain = _sender_domain()
    # A subject is one header line: line breaks and other control characters become spaces.
    subject = one_line(subject)[:400].rstrip()
    message = OutboxMessage(
        message_id=make_msgid(domain=domain), recipients=recipients, subject=subject, text_body=text,
        html_body=html, calendar_body=calendar, calendar_method=calendar_method, headers=headers or {},
        attachments=[OutboxAttachment(filename=a.filename, content_type=a.content_type, data=a.data)
                     for a in attachments],
    )
    db.session.add(message)
    return message


def enqueue_template(template: str, *, to: list[str], language: str = "vi", **context) -> OutboxMessage | None:
    """A message from templates/mail/<template>.txt (first line "Subject: …") and .html, in `language`."""
    with force_locale(language):
        text = render_template(f"mail/{template}.txt", **context)
        html = render_template(f"mail/{template}.html", **context)
    subject, _, body = text.partition("\n")
    return enqueue(to=to, subject=subject.removeprefix("Subject:").strip(), text=body.lstrip("\n"), html=html)


# RFC 2047: an encoded word is at most 75 characters long, and a header line holding one at most 76.
WORD_MAX, LINE_MAX = 75, 76
WORD_START, WORD_END = "=?utf-8?b?", "?="
# A server without 8BITMIME (RFC 6152) gets every part in 7 bits: quoted-printable or base64.
SEVEN_BIT = SMTP.clone(cte_type="7bit")


def _word_length(size: int) -> int:
    return len(WORD_START) + 4 * -(-size // 3) + len(WORD_END)


def encoded_words(text: str, room: int = WORD_MAX) -> str:
    """`text` as RFC 2047 encoded words (UTF-8, base64) on folded lines: each word at most 75 characters, each
    line at most 76, the first having `room` characters left after the header's name. A word holds whole
    characters, and the spaces stay inside the words, since readers drop whitespace between two encoded words.
    The email package's own folder can write 76-character words and move a space out of a word (CPython 3.11):
    "Dài Dài" then reads "DàiDài"."""
    words, chunk, limit = [], b"", min(WORD_MAX, room)
    for char in text:
        encoded = char.encode()
        if chunk and _word_length(len(chunk) + len(encoded)) > limit:
            words.append(chunk)
            chunk, limit = b"", WORD_MAX  # a continuation line: a space, then the word
        chunk += encoded
    words.append(chunk)
    return "\n ".join(WORD_START + b64encode(word).decode() + WORD_END for word in words)


def _plain(value: str) -> bool:
    """Text a header can carry as it is: ASCII, and nothing a reader would take for an encoded word."""
    return value.isascii() and "=?" not in value


def set_header(email: EmailMessage, name: str, value: str) -> None:
    value = one_line(value)
    if _plain(value):
        email[name] = value
    else:
        email.set_raw(name, encoded_words(value, LINE_MAX - len(name) - 2))


def set_address(email: EmailMessage, name: str, address: str) -> None:
    """An address header whose display name may be Vietnamese ("Chi cục Hải quan <chicuc@…>")."""
    display, mailbox = parseaddr(address)
    if _plain(display):
        email[name] = address
    else:
        email.set_raw(name, f"{encoded_words(one_line(display), LINE_MAX - len(name) - 2)}\n <{mailbox}>")


def _office_now() -> datetime:
    """Now, in the office's zone: the Date header then says +0700, the offset the people here live at."""
    return datetime.now(ZoneInfo(current_app.config.get("OFFICE_TIMEZONE") or "UTC"))


def calendar_method(message: OutboxMessage) -> str:
    """The METHOD the calendar itself says, which its MIME part must repeat (RFC 6047); else the one given."""
    found = re.search(r"^METHOD:([A-Za-z-]+)\r?$", message.calendar_body, re.MULTILINE)
    return (found.group(1) if found else message.calendar_method or "PUBLISH").upper()


def build_email(message: OutboxMessage, sender: str, eight_bit: bool = True) -> EmailMessage:
    """The message as it goes out; `eight_bit` False for a server without 8BITMIME."""
    email = EmailMessage(policy=SMTP if eight_bit else SEVEN_BIT)
    set_address(email, "From", sender)
    email["To"] = ", ".join(message.recipients)
    set_header(email, "Subject", message.subject)
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(_office_now())
    for name, value in (message.headers or {}).items():
        set_header(email, name, value)
    email.set_content(message.text_body)
    if message.html_body:
        email.add_alternative(message.html_body, subtype="html")
    if message.calendar_body:
        # Outlook wants the invitation both as an alternative and as an attached .ics file.
        email.add_alternative(message.calendar_body, subtype="calendar", params={"method": calendar_method(message)})
        email.add_attachment(message.calendar_body.encode(), maintype="application", subtype="ics",
                             filename="invite.ics")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return email


def eight_bit_parts(email: EmailMessage) -> bool:
    return any(part.get("Content-Transfer-Encoding") == "8bit" for part in email.walk())


def _deliver(server: smtplib.SMTP, email: EmailMessage, message: OutboxMessage, sender: str) -> dict:
    """Send `email`, saying BODY=8BITMIME when it has 8-bit parts (RFC 6152 asks it of the client); to a server
    that does not offer 8BITMIME, the message rebuilt in 7 bits."""
    if not eight_bit_parts(email):
        return server.send_message(email)
    server.ehlo_or_helo_if_needed()
    if server.has_extn("8bitmime"):
        return server.send_message(email, mail_options=["BODY=8BITMIME"])
    return server.send_message(build_email(message, sender, eight_bit=False))


def _connect(config) -> smtplib.SMTP:
    server = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30)
    if config.get("MAIL_USE_TLS"):
        server.starttls(context=ssl.create_default_context())
    if config.get("MAIL_USERNAME"):
        server.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return server


def _claim_batch(limit: int) -> list[OutboxMessage]:
    stmt = (select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= utcnow())
            .order_by(OutboxMessage.id).limit(limit))
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(db.session.execute(stmt).scalars())


def _keep_refused(message: OutboxMessage, refused: dict) -> None:
    """The server took `message` for some recipients and refused the others. Those refused for now (4xx) get a
    copy of their own, tried again later: written in the transaction that marks the message sent, so that
    nobody is lost between the two. Those refused for good (5xx) are only noted."""
    message.last_error = "; ".join(f"{address}: {code} {reply.decode(errors='replace')}"
                                   for address, (code, reply) in sorted(refused.items()))[:2000]
    later = sorted(address for address, (code, _) in refused.items() if 400 <= code < 500)
    if later:
        domain = _sender_domain()
        db.session.add(OutboxMessage(
            message_id=make_msgid(domain=domain), recipients=later, subject=message.subject,
            text_body=message.text_body, html_body=message.html_body, calendar_body=message.calendar_body,
            calendar_method=message.calendar_method, headers=dict(message.headers or {}), attempts=1,
            next_attempt_at=utcnow() + backoff(1), last_error=message.last_error,
            attachments=[OutboxAttachment(filename=a.filename, content_type=a.content_type, data=a.data)
                         for a in message.attachments],
        ))


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0


def send_pending(limit: int = BATCH) -> SendReport:
    """Send what waits in the outbox, one message per transaction; failures are retried with backoff."""
    config = current_app.config
    report = SendReport()
    server = None
    try:
        for _ in range(limit):
            batch = _claim_batch(1)
            if not batch:
                break
            message = batch[0]
            try:
                email = build_email(message, config["MAIL_DEFAULT_SENDER"])
            except (ValueError, TypeError) as error:
                # A message that cannot be written will never be: set it aside, and go on with the others.
                message.status, message.last_error = "dead", f"{type(error).__name__}: {error}"[:2000]
                db.session.commit()
                report.dead += 1
                continue
            try:
                if server is None:
                    server = _connect(config)
                refused = _deliver(server, email, message, config["MAIL_DEFAULT_SENDER"])
            except (smtplib.SMTPException, OSError) as error:
                message.attempts += 1
                message.last_error = f"{type(error).__name__}: {error}"[:2000]
                if message.attempts >= MAX_ATTEMPTS:
                    message.status = "dead"
                    report.dead += 1
                else:
                    message.next_attempt_at = utcnow() + backoff(message.attempts)
                    report.failed += 1
                db.session.commit()
                if server is not None:
                    server.close()
                    server = None
                # SMTPException is an OSError too: only a lost connection is the server being away.
                if isinstance(error, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError) \
                        or not isinstance(error, smtplib.SMTPException):
                    break  # the server is away: the rest waits for the next round
                continue  # this message was refused: the others may not be
            message.status, message.sent_at, message.attempts = "sent", utcnow(), message.attempts + 1
            if refused:
                _keep_refused(message, refused)
            db.session.commit()
            report.sent += 1
    finally:
        if server is not None:
            try:
                server.quit()
            except (smtplib.SMTPException, OSError):
                server.close()
    return report
