"""iTIP REPLY messages as Outlook, Gmail and Apple Calendar mail them to the ORGANIZER address, for the tests
and the benchmark of answers from calendars (their MIME shapes and iCalendar dialects, as those clients send
them)."""

from datetime import UTC, datetime, timedelta
from email.charset import QP, Charset
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr

ORGANISER = "dialogue@localhost"


def _ics(lines: list[str]) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", *lines, "END:VCALENDAR", ""])


def outlook_reply(sender: str, uid: str, recurrence: datetime | None, partstat: str, comment: str = "",
                  name: str = "Nguyen Van An", attendee: str | None = None) -> bytes:
    """Outlook / Exchange: multipart/alternative, the calendar part base64 with method=REPLY in its Content-Type,
    a Windows time zone name with its VTIMEZONE."""
    event = ["BEGIN:VEVENT", f"ATTENDEE;PARTSTAT={partstat};CN={name}:mailto:{attendee or sender}"]
    if comment:
        event.append(f"COMMENT;LANGUAGE=vi-VN:{comment}")
    event.append("SUMMARY;LANGUAGE=vi-VN:Đã chấp nhận: Cà phê sáng cùng doanh nghiệp")
    if recurrence is not None:
        event.append(f"RECURRENCE-ID;TZID=SE Asia Standard Time:{recurrence:%Y%m%dT%H%M%S}")
    event += [f"UID:{uid}", "SEQUENCE:0", "DTSTAMP:20260101T010000Z", "CLASS:PUBLIC", "PRIORITY:5",
              "STATUS:CONFIRMED", "TRANSP:OPAQUE", "END:VEVENT"]
    ics = _ics(["METHOD:REPLY", "PRODID:Microsoft Exchange Server 2010", "VERSION:2.0",
                "BEGIN:VTIMEZONE", "TZID:SE Asia Standard Time", "BEGIN:STANDARD", "DTSTART:16010101T000000",
                "TZOFFSETFROM:+0700", "TZOFFSETTO:+0700", "END:STANDARD", "END:VTIMEZONE", *event])
    message = MIMEMultipart("alternative")
    message["From"] = formataddr((name, sender))
    message["To"] = ORGANISER
    message["Subject"] = "Accepted: Cà phê sáng cùng doanh nghiệp"
    message.attach(MIMEText("Tôi sẽ tham dự.", "plain", "utf-8"))
    calendar = MIMEText(ics, "calendar", "utf-8")  # base64, as Outlook sends it
    calendar.set_param("method", "REPLY")
    message.attach(calendar)
    return message.as_bytes()


def gmail_reply(sender: str, uid: str, partstat: str, start: datetime, recurrence: datetime | None = None) -> bytes:
    """Gmail: multipart/mixed holding a multipart/alternative (text, HTML, text/calendar) and invite.ics
    attached, the same file twice; times in UTC, RECURRENCE-ID too (`recurrence`: aware)."""
    start = start.astimezone(UTC)
    occurrence = [f"RECURRENCE-ID:{recurrence.astimezone(UTC):%Y%m%dT%H%M%SZ}"] if recurrence is not None else []
    ics = _ics(["PRODID:-//Google Inc//Google Calendar 70.9054//EN", "VERSION:2.0", "CALSCALE:GREGORIAN",
                "METHOD:REPLY", "BEGIN:VEVENT", *occurrence, f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
                f"DTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%SZ}", "DTSTAMP:20260101T010000Z",
                f"ORGANIZER;CN=Chi cục:mailto:{ORGANISER}", f"UID:{uid}",
                f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};CN=Nguyễn Văn An;"
                f"X-NUM-GUESTS=0:mailto:{sender}", "SEQUENCE:0", "STATUS:CONFIRMED", "SUMMARY:Thăm nhà máy",
                "TRANSP:OPAQUE", "END:VEVENT"])
    message = MIMEMultipart("mixed")
    message["From"] = formataddr(("Nguyễn Văn An", sender))
    message["To"] = ORGANISER
    message["Subject"] = "Declined: Thăm nhà máy"
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText("Nguyễn Văn An has declined this invitation.", "plain", "utf-8"))
    alternative.attach(MIMEText("<p>Nguyễn Văn An has declined this invitation.</p>", "html", "utf-8"))
    inline = MIMEText(ics, "calendar", "utf-8")
    inline.set_param("method", "REPLY")
    alternative.attach(inline)
    message.attach(alternative)
    attached = MIMEApplication(ics.encode(), "ics", name="invite.ics")
    attached.add_header("Content-Disposition", "attachment", filename="invite.ics")
    message.attach(attached)
    return message.as_bytes()


def apple_reply(sender: str, uid: str, partstat: str, recurrence: datetime | None = None) -> bytes:
    """Apple Calendar: the message is the text/calendar part alone, quoted-printable; the ATTENDEE carries CN
    and EMAIL parameters."""
    event = ["BEGIN:VEVENT", f'ATTENDEE;CN="Nguyễn Văn An";CUTYPE=INDIVIDUAL;EMAIL="{sender}";'
                             f"PARTSTAT={partstat}:mailto:{sender}",
             "DTSTAMP:20260101T010000Z", f"UID:{uid}", "SEQUENCE:0", "SUMMARY:Cà phê sáng cùng doanh nghiệp"]
    if recurrence is not None:
        event.append(f"RECURRENCE-ID;TZID=Asia/Ho_Chi_Minh:{recurrence:%Y%m%dT%H%M%S}")
    event.append("END:VEVENT")
    ics = _ics(["METHOD:REPLY", "PRODID:-//Apple Inc.//macOS 14.5//EN", "VERSION:2.0", "CALSCALE:GREGORIAN",
                *event])
    charset = Charset("utf-8")
    charset.body_encoding = QP
    message = MIMEText(ics, "calendar", charset)
    message.set_param("method", "REPLY")
    message["From"] = formataddr(("Nguyễn Văn An", sender))
    message["To"] = ORGANISER
    message["Subject"] = "Lời mời: Cà phê sáng cùng doanh nghiệp (Có thể)"
    return message.as_bytes()


def plain_mail(sender: str, text: str = "Xin chào Chi cục, cho tôi hỏi về thủ tục.") -> bytes:
    message = MIMEText(text, "plain", "utf-8")
    message["From"] = sender
    message["To"] = ORGANISER
    message["Subject"] = "Câu hỏi"
    return message.as_bytes()
