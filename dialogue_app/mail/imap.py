"""Reading a mailbox over IMAP (IMAPClient): the calendar parts of the messages not handled yet, and marking
what became of each.

Nothing here knows what a calendar answer means (calendar/replies.py does). What it guarantees:
- a message's body is never downloaded whole: its structure (BODYSTRUCTURE) and size come first, and only its
  calendar parts (text/calendar, application/ics, *.ics attachments) of at most CALENDAR_PART_LIMIT bytes are
  fetched, PEEKed so that reading one does not mark it read;
- a message handled is marked with the keyword HANDLED (and \\Seen when it was an answer recorded, or moved to
  the "Dialogue/Set aside" folder for a person), so the next run does not see it again;
- a mailbox that cannot be reached, or refuses the password, raises MailboxUnreachable with one line that says
  which, without the password;
- with IMAP_TRUSTED_AUTHSERV_ID set (the name the organisation's own mail server writes in the
  Authentication-Results headers it adds, RFC 8601), a message's sender counts as authenticated only when that
  server found DMARC, or DKIM or SPF for the From address's domain, to pass: the From header alone can be forged.
"""

import base64
import binascii
import quopri
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser

import authres
import authres.dmarc
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

HANDLED = b"$DialogueHandled"
SET_ASIDE = ("Dialogue", "Set aside")
# An iTIP REPLY is a few kilobytes; a calendar part larger than this is not one (and is not downloaded).
CALENDAR_PART_LIMIT = 512 * 1024
BATCH = 200  # messages per FETCH
TIMEOUT = 30  # seconds for connecting and for each command
AUTHENTICATION_RESULTS = "BODY.PEEK[HEADER.FIELDS (AUTHENTICATION-RESULTS)]"
_RESULTS = authres.FeatureContext(authres.dmarc)


class MailboxUnreachable(Exception):
    """The mailbox cannot be read: no server answers, TLS fails, or the password is refused."""


@dataclass(frozen=True)
class CalendarPart:
    text: str | None  # decoded; None when it was too large or could not be decoded
    method: str  # the Content-Type's method parameter, upper case ("" when absent)
    size: int
    problem: str = ""  # why `text` is None


@dataclass
class Incoming:
    uid: int
    sender: str  # the From address, lower case ("" when there is none)
    arrived: datetime  # INTERNALDATE, in UTC
    size: int
    parts: list[CalendarPart] = field(default_factory=list)
    # Whether the organisation's mail server vouched for the sender's address; None when it is not asked.
    authenticated: bool | None = None


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else (value or "")


def _params(raw) -> dict[str, str]:
    """A BODYSTRUCTURE parameter list (name, value, name, value …) as a dict, names lower case."""
    if not raw or not isinstance(raw, tuple | list):
        return {}
    items = list(raw)
    return {_text(items[i]).lower(): _text(items[i + 1]) for i in range(0, len(items) - 1, 2)}


def _calendar_parts(structure, number: str = "") -> Iterator[tuple[str, str, dict, str, int]]:
    """(part number, content type, parameters, transfer encoding, size) of each calendar part of a message's
    BODYSTRUCTURE. A forwarded message (message/rfc822) is not looked into: its answer is someone else's."""
    if structure.is_multipart:
        for index, child in enumerate(structure[0], start=1):
            yield from _calendar_parts(child, f"{number}.{index}" if number else str(index))
        return
    kind = f"{_text(structure[0])}/{_text(structure[1])}".lower()
    params = _params(structure[2])
    disposition = structure[8] if len(structure) > 8 else None
    filename = ""
    if isinstance(disposition, tuple) and len(disposition) > 1:
        filename = _params(disposition[1]).get("filename", "")
    filename = filename or params.get("name", "")
    if kind in ("text/calendar", "application/ics") or filename.lower().endswith(".ics"):
        size = structure[6] if isinstance(structure[6], int) else 0
        yield number or "1", kind, params, _text(structure[5]).lower(), size


def _aligned(domain: str, sender_domain: str) -> bool:
    """DMARC's relaxed alignment: the authenticated domain is the sender's or one above it."""
    domain = domain.lower().rstrip(".")
    return bool(domain) and (sender_domain == domain or sender_domain.endswith("." + domain))


def sender_authenticated(headers: bytes, authserv_id: str, sender: str) -> bool:
    """Whether the Authentication-Results that the server named `authserv_id` added to a message (its header
    lines in `headers`, topmost first) vouch for the From address `sender`: DMARC passed for its domain, or DKIM
    (a signature of its domain) or SPF (its envelope sender's domain) passed, aligned with it.

    Only the topmost header bearing that name counts: the server adds its own above whatever the message came
    with, and a sender may have written one bearing the same name further down (RFC 8601 asks the server to
    remove those; not every one does). A header that cannot be read vouches for nothing."""
    sender_domain = sender.rpartition("@")[2].lower()
    if not sender_domain:
        return False
    ours = next((" ".join(str(value).split()) for value in
                 BytesHeaderParser().parsebytes(headers).get_all("Authentication-Results") or ()
                 if (str(value).split(";", 1)[0].split() or [""])[0].lower() == authserv_id.lower()), None)
    if ours is None:
        return False
    try:
        found = _RESULTS.parse("Authentication-Results: " + ours)
    except Exception:  # noqa: BLE001 (authres raises several kinds on what a stranger may have written)
        return False
    if (found.authserv_id or "").lower() == authserv_id.lower():
        for result in found.results:
            if str(result.result).lower() != "pass":
                continue
            properties = {(p.type, p.name): str(p.value or "") for p in result.properties}
            method = str(result.method).lower()
            if method == "dmarc" and _aligned(properties.get(("header", "from"), ""), sender_domain) or \
                    method == "dkim" and _aligned(properties.get(("header", "d"), ""), sender_domain) or \
                    method == "spf" and _aligned(properties.get(("smtp", "mailfrom"), "").rpartition("@")[2],
                                                 sender_domain):
                return True
    return False


def _decode(raw: bytes, encoding: str, charset: str) -> str:
    if encoding == "base64":
        data = base64.b64decode(raw, validate=False)
    elif encoding == "quoted-printable":
        data = quopri.decodestring(raw)
    else:
        data = raw
    try:
        return data.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return data.decode("utf-8", "replace")


class Mailbox:
    """One connection to the mailbox's folder. Use as a context manager: `with Mailbox.open(config) as box:`."""

    def __init__(self, client: IMAPClient, folder: str, authserv_id: str | None = None):
        self.client, self.folder, self.authserv_id = client, folder, authserv_id
        self._aside: str | None = None

    @classmethod
    def open(cls, config) -> "Mailbox":
        host, port = config.get("IMAP_SERVER"), int(config.get("IMAP_PORT") or 993)
        where = f"{host}:{port}"
        if not host:
            raise MailboxUnreachable("IMAP_SERVER is not set: there is no mailbox to read")
        use_ssl = bool(config.get("IMAP_USE_SSL", True))
        folder = config.get("IMAP_FOLDER") or "INBOX"
        try:
            client = IMAPClient(host, port=port, ssl=use_ssl, timeout=TIMEOUT,
                                ssl_context=ssl.create_default_context() if use_ssl else None)
        except (OSError, IMAPClientError) as error:
            raise MailboxUnreachable(f"cannot reach the mailbox at {where}: {_reason(error)}") from None
        client.normalise_times = False  # INTERNALDATE with its offset, not in this machine's local time
        try:
            client.login(config.get("IMAP_USERNAME") or "", config.get("IMAP_PASSWORD") or "")
            client.select_folder(folder)
        except LoginError:
            _close(client)
            raise MailboxUnreachable(f"the mailbox at {where} refused the user name or password "
                                     f"for {config.get('IMAP_USERNAME') or '(none)'}") from None
        except (OSError, IMAPClientError) as error:
            _close(client)
            raise MailboxUnreachable(f"cannot open the folder {folder!r} at {where}: {_reason(error)}") from None
        return cls(client, folder, config.get("IMAP_TRUSTED_AUTHSERV_ID") or None)

    def __enter__(self) -> "Mailbox":
        return self

    def __exit__(self, *exc) -> None:
        _close(self.client)

    @contextmanager
    def _talking(self, doing: str):
        """A connection lost (or a command refused) mid-run is the mailbox being away: MailboxUnreachable."""
        try:
            yield
        except (OSError, IMAPClientError) as error:
            raise MailboxUnreachable(f"the mailbox failed while {doing}: {_reason(error)}") from None

    def pending(self) -> Iterator[list[Incoming]]:
        """The messages not handled yet, oldest first, in batches of at most BATCH, each with its calendar parts
        decoded."""
        with self._talking("searching the folder"):
            uids = sorted(self.client.search(["NOT", "KEYWORD", HANDLED.decode(), "NOT", "DELETED"]))
        for start in range(0, len(uids), BATCH):
            with self._talking("fetching messages"):
                batch = list(self._fetch(uids[start:start + BATCH]))
            yield batch

    def _fetch(self, uids: list[int]) -> Iterator[Incoming]:
        heads = self.client.fetch(uids, ["RFC822.SIZE", "INTERNALDATE", "ENVELOPE", "BODYSTRUCTURE",
                                         *([AUTHENTICATION_RESULTS] if self.authserv_id else [])])
        messages: dict[int, Incoming] = {}
        wanted: dict[int, list[tuple[str, str, dict, str, int]]] = {}
        for uid in uids:
            data = heads.get(uid)
            if data is None:  # expunged meanwhile
                continue
            envelope = data.get(b"ENVELOPE")
            sender = ""
            if envelope is not None and envelope.from_:
                address = envelope.from_[0]
                sender = f"{_text(address.mailbox)}@{_text(address.host)}".lower() if address.host else ""
            arrived = data.get(b"INTERNALDATE") or datetime.now(UTC)
            arrived = arrived.astimezone(UTC) if arrived.tzinfo else arrived.replace(tzinfo=UTC)
            messages[uid] = Incoming(uid, sender, arrived, data.get(b"RFC822.SIZE") or 0)
            if self.authserv_id:
                # The server names the item it answers with as it likes (quoted field names or not).
                headers = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER.FIELDS")), b"") or b""
                messages[uid].authenticated = sender_authenticated(headers, self.authserv_id, sender)
            try:
                wanted[uid] = list(_calendar_parts(data[b"BODYSTRUCTURE"]))
            except (IndexError, KeyError, TypeError, AttributeError):
                wanted[uid] = []
        # One FETCH per part number (most messages of one client have the same shape).
        by_part: dict[str, list[int]] = {}
        for uid, parts in wanted.items():
            for number, _, _, _, size in parts:
                if size <= CALENDAR_PART_LIMIT:
                    by_part.setdefault(number, []).append(uid)
        bodies: dict[tuple[int, str], bytes] = {}
        for number, part_uids in by_part.items():
            key = f"BODY[{number}]".encode()
            for uid, data in self.client.fetch(part_uids, [f"BODY.PEEK[{number}]"]).items():
                bodies[(uid, number)] = data.get(key) or b""
        for uid, message in messages.items():
            for number, _kind, params, encoding, size in wanted[uid]:
                method = params.get("method", "").upper()
                if size > CALENDAR_PART_LIMIT:
                    message.parts.append(CalendarPart(None, method, size, f"a calendar part of {size:,} bytes"))
                    continue
                try:
                    text = _decode(bodies.get((uid, number), b""), encoding, params.get("charset", ""))
                except (binascii.Error, ValueError):
                    message.parts.append(CalendarPart(None, method, size, "a calendar part that cannot be decoded"))
                    continue
                message.parts.append(CalendarPart(text, method, size))
            yield message

    def mark_done(self, uids: list[int], *, seen: bool) -> None:
        """Handled here: never looked at again; marked read when nobody needs to read them."""
        if not uids:
            return
        with self._talking("marking messages"):
            self.client.add_flags(uids, [HANDLED, b"\\Seen"] if seen else [HANDLED])

    def set_aside(self, uids: list[int]) -> None:
        """Handled here, but a person must look at them: moved to the set-aside folder, left unread."""
        if not uids:
            return
        with self._talking("setting messages aside"):
            self.client.add_flags(uids, [HANDLED])
            folder = self._aside_folder()
            if self.client.has_capability("MOVE"):
                self.client.move(uids, folder)
            else:
                self.client.copy(uids, folder)
                self.client.delete_messages(uids)
                if self.client.has_capability("UIDPLUS"):
                    self.client.uid_expunge(uids)

    def _aside_folder(self) -> str:
        if self._aside is None:
            prefix, delimiter = "", "/"
            if self.client.has_capability("NAMESPACE") and self.client.namespace().personal:
                prefix, delimiter = self.client.namespace().personal[0]
            name = _text(prefix) + (_text(delimiter) or "/").join(SET_ASIDE)
            if not self.client.folder_exists(name):
                self.client.create_folder(name)
            self._aside = name
        return self._aside


def _reason(error: Exception) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return "no answer (timed out)"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ssl.SSLError):
        return f"TLS failed ({error.reason or error})"
    if isinstance(error, socket.gaierror):
        return "unknown host"
    return " ".join(str(error).split())[:200] or type(error).__name__


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except (OSError, IMAPClientError):
        with suppress(OSError, IMAPClientError):
            client.shutdown()
