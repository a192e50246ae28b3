"""Reading mail, for people: the outbox as the admin page lists it, and a message laid out for a page.

Also the development mail folder: `make run` starts a small SMTP server (aiosmtpd's Mailbox handler) that keeps
every message it receives in a Maildir in the instance folder (DEV_MAIL_DIR), so that a newcomer reads the
demo's mail at /dev/mail with no mail server to install.
"""

import mailbox
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.orm import load_only

from ..extensions import db
from .models import OutboxMessage
from .services import build_email

STATUSES = ("pending", "sending", "sent", "dead")


def outbox_statement(status: str | None) -> Select:
    """The outbox, newest first, with what the list shows and not the bodies (one query a page, and a count)."""
    statement = (select(OutboxMessage)
                 .options(load_only(OutboxMessage.recipients, OutboxMessage.subject, OutboxMessage.status,
                                    OutboxMessage.attempts, OutboxMessage.last_error, OutboxMessage.next_attempt_at,
                                    OutboxMessage.created_at, OutboxMessage.sent_at))
                 .order_by(OutboxMessage.id.desc()))
    return statement.where(OutboxMessage.status == status) if status in STATUSES else statement


def outbox_message(message_id: int) -> OutboxMessage | None:
    return db.session.get(OutboxMessage, message_id)


def outbox_email(message: OutboxMessage) -> EmailMessage:
    """The message as the sender writes it for the mail server."""
    return build_email(message, current_app.config["MAIL_DEFAULT_SENDER"])


@dataclass(frozen=True)
class Shown:
    """A message laid out for a page: its headers, its plain text, and the names of its parts."""

    subject: str
    sender: str
    to: str
    date: datetime | None  # as its Date header says (shown in office time)
    text: str
    parts: list[tuple[str, str, int]]  # (filename or "", content type, bytes)


def shown(message: EmailMessage) -> Shown:
    body = message.get_body(("plain",))
    parts = [(part.get_filename() or "", part.get_content_type(), len(part.get_payload(decode=True) or b""))
             for part in message.walk() if not part.is_multipart() and part is not body]
    return Shown(subject=str(message["Subject"] or ""), sender=str(message["From"] or ""),
                 to=str(message["To"] or ""), date=_date(message),
                 text=body.get_content() if body is not None else "", parts=parts)


@dataclass(frozen=True)
class Received:
    key: str
    subject: str
    to: str
    date: datetime | None


def _date(message) -> datetime | None:
    return getattr(message["Date"], "datetime", None)


def _folder() -> mailbox.Maildir | None:
    path = current_app.config.get("DEV_MAIL_DIR")
    try:
        return mailbox.Maildir(path, factory=None, create=False) if path else None
    except OSError:
        return None


def received(limit: int = 200) -> list[Received]:
    """The newest `limit` messages the development mail server kept."""
    folder = _folder()
    if folder is None:
        return []
    found = []
    for key in folder.iterkeys():
        try:
            headers = BytesParser(policy=policy.default).parsebytes(folder.get_bytes(key), headersonly=True)
        except (KeyError, OSError):  # taken away meanwhile
            continue
        date = _date(headers)
        found.append((date.timestamp() if date else 0, Received(
            key=key, subject=str(headers["Subject"] or ""), to=str(headers["To"] or ""), date=date)))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [item for _, item in found[:limit]]


def received_bytes(key: str) -> bytes | None:
    """The raw message `key` of the development folder, or None."""
    folder = _folder()
    if folder is None:
        return None
    try:
        return folder.get_bytes(key)
    except (KeyError, OSError):
        return None


def parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)
