"""Writing mail into the outbox, and sending what waits there.

Delivery guarantee, exactly: a message is written in the same transaction as the change that causes it,
so it exists if and only if the change does. The sender marks it sent only after the SMTP server has
accepted it ("250"), and commits that right away, one message per transaction. A sender killed between the
server's acceptance and that commit sends the message again when restarted: at least once, and at most one
message twice per sender killed (the one in flight), with the same Message-ID, which mail clients use to
show it once (tests/test_faults.py kills one to check). Recipients the server refuses for now while it
takes the others get a copy of their own, retried later.

Any number of senders (worker processes on any machine) share the outbox. A sender claims a batch in one
statement (status "sending", its claim token, and a lease: `next_attempt_at` moved to the lease's end,
MAIL_CLAIM_LEASE_SECONDS), commits, then sends. Before each message it renews that message's lease, and only if
the claim is still its own: a sender that dies (SIGKILL, the machine gone) holds its batch no longer than the
lease, after which any other sender takes what it had not sent (tests/test_two_of_everything.py kills one). The
claim is one UPDATE … RETURNING (with FOR UPDATE SKIP LOCKED on PostgreSQL, a single writer on SQLite), so two
senders never claim the same message, and nothing holds a transaction open while talking to the mail server.
"""

import re
import smtplib
import ssl
import uuid
from base64 import b64encode
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import func, select, update

from ..db import utcnow
from ..extensions import db
from .models import OutboxAttachment, OutboxMessage

MAX_ATTEMPTS = 8
BATCH = 50
MAIL_QUEUED = "dialogue.mail_queued"  # a session's flag: this transaction wrote to the outbox


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
    db.session.info[MAIL_QUEUED] = True
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


def _claim_batch(limit: int, token: str) -> list[OutboxMessage]:
    """Take up to `limit` due messages (waiting, or claimed by a sender whose lease ran out) for `token`."""
    now = utcnow()
    due = (select(OutboxMessage.id)
           .where(OutboxMessage.status.in_(("pending", "sending")), OutboxMessage.next_attempt_at <= now)
           .order_by(OutboxMessage.id).limit(limit))
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(due.scalar_subquery()))
        .values(status="sending", claimed_by=token, next_attempt_at=now + _lease())
        .returning(OutboxMessage.id)).scalars().all()
    db.session.commit()
    if not claimed:
        return []
    return list(db.session.execute(select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
                                   .order_by(OutboxMessage.id)).scalars())


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config.get("MAIL_CLAIM_LEASE_SECONDS", 120))


def _still_mine(message: OutboxMessage, token: str) -> bool:
    """Renew the lease on `message` for the time of one sending, if the claim is still `token`'s (a slow sender's
    lease may have run out and another sender taken it)."""
    renewed = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message.id, OutboxMessage.status == "sending",
                                    OutboxMessage.claimed_by == token)
        .values(next_attempt_at=utcnow() + _lease()).execution_options(synchronize_session=False))
    db.session.commit()
    return renewed.rowcount == 1


def _release(token: str) -> None:
    """Give back what `token` claimed and did not try: due again at once, for whichever sender comes next."""
    db.session.execute(update(OutboxMessage)
                       .where(OutboxMessage.claimed_by == token, OutboxMessage.status == "sending")
                       .values(status="pending", next_attempt_at=utcnow())
                       .execution_options(synchronize_session=False))
    db.session.commit()


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


def send_pending(limit: int | None = None) -> SendReport:
    """Send one batch of what waits in the outbox (MAIL_CLAIM_BATCH messages unless `limit` says), one message
    per transaction; failures are retried with backoff."""
    config = current_app.config
    report = SendReport()
    token = uuid.uuid4().hex
    server = None
    try:
        for message in _claim_batch(limit or config.get("MAIL_CLAIM_BATCH", BATCH), token):
            if not _still_mine(message, token):
                continue
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
                    message.status, message.next_attempt_at = "pending", utcnow() + backoff(message.attempts)
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
        db.session.rollback()
        _release(token)
    return report


def send_all() -> SendReport:
    """Send batches until none is left that is due (what the worker's send-mail task does)."""
    total = SendReport()
    while True:
        report = send_pending()
        total.sent, total.failed, total.dead = (total.sent + report.sent, total.failed + report.failed,
                                                total.dead + report.dead)
        if not (report.sent or report.dead) or report.failed:
            return total


def next_due() -> datetime | None:
    """When the earliest message not yet sent is due (a retry, or a claim whose lease runs out), if any."""
    return db.session.execute(select(func.min(OutboxMessage.next_attempt_at))
                              .where(OutboxMessage.status.in_(("pending", "sending")))).scalar_one()
