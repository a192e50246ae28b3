"""Minutes: written as append-only revisions, finalised and amended, printed and sent. Plain data in,
objects out; no `request`, no commit (the views and the API commit).

Who may do what: staff (organisers, managers, admins) who see the meeting write, finalise and send its
minutes; a business invited to the series reads them once finalised, printed as it may see them (its own
issues, its own people and the officials). The callers check that the reader sees the meeting at all.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale, format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from .. import officetime, pdf
from ..attendance.models import Attendee
from ..attendance.services import Invitation, invitations_of
from ..auth.models import Role, User
from ..db import utcnow
from ..exceptions import Conflict, Forbidden, InvalidData
from ..extensions import db
from ..issues.labels import STATUS_NAMES
from ..issues.models import Issue, Topic
from ..issues.services import carried_over_query, issue_query
from ..issues.workflow import DONE_STATUSES, OPEN_STATUSES
from ..mail.services import Attachment, enqueue
from ..org.models import Business, Contact, Unit
from ..scheduling.models import Meeting
from ..scope import HEADS, in_group, is_staff, may_change, sees_every_unit, visible
from ..signals import minutes_sent
from ..text import person_label
from ..web import external_url
from .markup import render_markdown
from .models import Minutes, MinutesPdf, MinutesRevision

OPEN_STATUS_VALUES = tuple(s.value for s in OPEN_STATUSES)
LINE_FIELDS = ("chair", "secretary", "place_name")
TEXT_FIELDS = ("agenda", "body", "conclusions")
FIELDS = (*LINE_FIELDS, "closing_time", *TEXT_FIELDS)
MAX_LINE = 255
MAX_TEXT = 100_000
MAX_NOTE = 10_000
# Rendered variants kept per meeting (drafts change often; staff and each business read their own version).
CACHED_VARIANTS = 6


# --- Who attended: the seam where attendance plugs in ---------------------------------------------------

@dataclass(frozen=True)
class AttendeeRow:
    """One line of the "who attended" table of the minutes."""

    name: str
    organisation: str
    role: str
    present: bool
    # The business the person came for (None for officials and for walk-ins of no business), and whether
    # the person is an official of the office. A business reading the minutes sees the officials and its
    # own people only.
    business_id: int | None = None
    official: bool = False
    # Absent with a reason given beforehand: printed "vắng có lý do".
    excused: bool = False


def attendee_rows(meeting: Meeting) -> list[AttendeeRow]:
    """Who was at `meeting` (dialogue_app.attendance), in the order the minutes print them: the officials
    first, then everyone else by organisation and name. One AttendeeRow per person: name; organisation (the
    business's name, or the official's unit); role at the meeting ("Giám đốc", "Chủ trì", …); present or not
    (absent and excused are both "not present", and excused says which); the business they came for; whether
    an official.

    The only place the minutes read attendance: the page, the PDF, its cache key and what a business may
    read all follow from it. One narrow query (no objects), so the PDF's cache check stays cheap.
    """
    statement = _statement("attendees", None, lambda: (
        select(Attendee.name, Attendee.organisation, Attendee.role, Attendee.attendance, Attendee.business_id,
               Attendee.user_id)
        .where(Attendee.meeting_id == bindparam("meeting_id"))
        .order_by(Attendee.user_id.is_(None), Attendee.organisation, Attendee.name, Attendee.id)))
    rows = db.session.execute(statement, {"meeting_id": meeting.id}).all()
    return [AttendeeRow(name, organisation or "", role or "", attendance == "present", business_id,
                        user_id is not None, attendance == "excused")
            for name, organisation, role, attendance, business_id, user_id in rows]


@dataclass(frozen=True)
class Recipient:
    email: str
    business_id: int | None = None  # None: an official


def attendee_recipients(meeting: Meeting) -> list[Recipient]:
    """Where finalised minutes are mailed besides the unit's managers: the attendees of `meeting` who were
    present and have an address, the officials by their account's address (business_id None), a business's
    people by their contact's address (with the business, which is sent the minutes as it may read them)."""
    rows = db.session.execute(
        select(Attendee.business_id, Attendee.user_id, Contact.email, User.email)
        .outerjoin(Contact, Contact.id == Attendee.contact_id).outerjoin(User, User.id == Attendee.user_id)
        .where(Attendee.meeting_id == meeting.id, Attendee.attendance == "present")
        .order_by(Attendee.id)
    ).all()
    recipients = []
    for business_id, user_id, contact_email, user_email in rows:
        if user_id is not None and user_email:
            recipients.append(Recipient(user_email, None))
        elif user_id is None and contact_email and business_id is not None:
            recipients.append(Recipient(contact_email, business_id))
    return recipients


# --- Reading -------------------------------------------------------------------------------------------

def get_minutes(meeting: Meeting) -> Minutes | None:
    statement = _statement("minutes", None,
                           lambda: select(Minutes).where(Minutes.meeting_id == bindparam("meeting_id")))
    return db.session.execute(statement, {"meeting_id": meeting.id}).scalar_one_or_none()


def check_attendance_open(meeting: Meeting) -> None:
    """Raises Conflict once the meeting's minutes are final: they print who came, and a final document does not
    change behind its readers' backs (a correction is an amendment, which says what changed and when)."""
    minutes = get_minutes(meeting)
    if minutes is not None and minutes.status == "final":
        raise Conflict(_l("The minutes of this meeting are final: who came can no longer be changed here. Write "
                          "the correction as an amendment to the minutes."))


def _printed_until(minutes: Minutes | None) -> datetime:
    """Final minutes print the issues recorded at the meeting by the time they were finalised: one recorded
    since (raised there, noted afterwards) is followed in the issue list, not slipped into a final document."""
    if minutes is not None and minutes.status == "final" and minutes.finalised_at is not None:
        return minutes.finalised_at
    return datetime(9999, 12, 31, tzinfo=UTC)


def latest_revision(minutes: Minutes | None) -> MinutesRevision | None:
    if minutes is None or not minutes.revision_count:
        return None
    return db.session.execute(
        select(MinutesRevision).where(MinutesRevision.minutes_id == minutes.id,
                                      MinutesRevision.number == minutes.revision_count)
    ).scalar_one_or_none()


def revision_history(minutes: Minutes | None) -> list[MinutesRevision]:
    """Every revision, newest first."""
    if minutes is None:
        return []
    return list(db.session.execute(
        select(MinutesRevision).where(MinutesRevision.minutes_id == minutes.id)
        .order_by(MinutesRevision.number.desc())
    ).scalars())


def get_revision(minutes: Minutes | None, number: int) -> MinutesRevision | None:
    if minutes is None:
        return None
    return db.session.execute(
        select(MinutesRevision).where(MinutesRevision.minutes_id == minutes.id, MinutesRevision.number == number)
    ).scalar_one_or_none()


def can_read(user: User, minutes: Minutes | None) -> bool:
    """Staff read drafts; a business reads the minutes once they are final."""
    return is_staff(user) or (minutes is not None and minutes.status == "final")


def suggested_place_name(unit: Unit) -> str:
    """The place name of the date line, guessed from the department's name ("Cục Hải quan tỉnh Quảng Ninh"
    gives "Quảng Ninh", "… Thành phố Hồ Chí Minh" gives "TP. Hồ Chí Minh"); "" when nothing fits."""
    for candidate in (unit, unit.parent):
        if candidate is None or candidate.level != "department":
            continue
        name = candidate.name
        for marker in (" tỉnh ", " Tỉnh "):
            if marker in name:
                return name.split(marker, 1)[1].strip()
        for marker in (" Thành phố ", " thành phố ", " TP. ", " TP "):
            if marker in name:
                return "TP. " + name.split(marker, 1)[1].strip()
    return ""


# --- Writing -------------------------------------------------------------------------------------------

class MinutesConflict(Conflict):
    """A save or finalisation based on a revision that is no longer the latest; `latest` is the newer one."""

    def __init__(self, latest: MinutesRevision):
        super().__init__(
            _l("These minutes were saved by %(who)s (revision %(n)d) after you started. Nothing of yours was "
               "saved: compare both versions, then save again.", who=latest.author_label or "—", n=latest.number),
            {"base_revision": [str(_l("The latest revision is %(n)d.", n=latest.number))]},
        )
        self.latest = latest


def _clean_line(value) -> str:
    return " ".join(str(value or "").replace("\x00", "").split())


def _clean_text(value) -> str:
    # PostgreSQL text holds no NUL; line ends are kept as typed, trailing blanks are not.
    return str(value or "").replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _checked(changes: dict) -> dict:
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown minutes fields: {sorted(unknown)}")
    cleaned, problems = {}, {}
    for name, value in changes.items():
        if value is None:
            continue
        if name in LINE_FIELDS:
            value = _clean_line(value)
            if len(value) > MAX_LINE:
                problems[name] = [str(_l("At most %(n)d characters.", n=MAX_LINE))]
        elif name in TEXT_FIELDS:
            value = _clean_text(value)
            if len(value) > MAX_TEXT:
                problems[name] = [str(_l("At most %(n)d characters.", n=MAX_TEXT))]
        elif name == "closing_time" and not isinstance(value, time):
            problems[name] = [str(_l("A time of day, e.g. 10:30."))]
        cleaned[name] = value
    if problems:
        raise InvalidData(_l("Some of the data is not valid"), problems)
    return cleaned


def _actor_label(user: User | None) -> str:
    return person_label(user.name, user.email) if user else "system"


def may_change_minutes(user: User, meeting: Meeting) -> bool:
    """The table of unit rights (scope.UNIT_RIGHTS): a unit writes, finalises, amends and sends its own meetings'
    minutes;
    the units above read them."""
    return may_change(user, meeting.unit)


def _check_may_change(actor: User | None, meeting: Meeting) -> None:
    if actor is not None and not may_change_minutes(actor, meeting):
        raise Forbidden(_l("These minutes belong to %(unit)s: that unit writes, finalises, amends and sends them.",
                           unit=meeting.unit.name))


def save_minutes(meeting: Meeting, *, actor: User | None, base_revision: int | None = None,
                 amendment_note: str | None = None, **changes) -> MinutesRevision:
    """Save the minutes of `meeting` as a new revision and return it; when nothing changed, the latest one.

    `changes`: any of chair, secretary, place_name, closing_time (a local time), agenda, body, conclusions
    (Markdown); those not given (or None) keep the latest revision's value. `base_revision`: the revision
    the change was made on (0: there was none yet); when another was saved since, MinutesConflict and
    nothing is saved; None skips the check. Finalised minutes change only by an amendment: `amendment_note`
    says why; without one, Conflict. Raises InvalidData for text too long or a cancelled meeting, Forbidden
    when the minutes are another unit's (scope.UNIT_RIGHTS).
    """
    _check_may_change(actor, meeting)
    if meeting.status == "cancelled":
        raise InvalidData(_l("This meeting was cancelled: it has no minutes."))
    cleaned = _checked(changes)
    note = _clean_text(amendment_note)
    if len(note) > MAX_NOTE:
        raise InvalidData.on("amendment_note", _l("At most %(n)d characters.", n=MAX_NOTE))
    minutes = get_minutes(meeting)
    latest = latest_revision(minutes)
    if base_revision is not None and latest is not None and base_revision != latest.number:
        raise MinutesConflict(latest)
    amending = minutes is not None and minutes.status == "final"
    if amending and not note:
        raise Conflict.on("amendment_note", _l("These minutes are final: a change is an amendment. Say what it "
                                               "changes and why."))
    values = {name: getattr(latest, name) if latest is not None else ("" if name != "closing_time" else None)
              for name in FIELDS}
    values.update(cleaned)
    if latest is not None and all(values[name] == getattr(latest, name) for name in FIELDS):
        if amending:
            raise InvalidData.on("amendment_note", _l("The amendment changes nothing in the minutes."))
        return latest
    if minutes is None:
        minutes = Minutes(meeting=meeting, status="draft", revision_count=0)
        db.session.add(minutes)
    number = minutes.revision_count + 1
    revision = MinutesRevision(
        minutes=minutes, number=number, kind="amendment" if amending else "edit", note=note if amending else "",
        author_id=actor.id if actor else None, author_label=_actor_label(actor), **values,
    )
    db.session.add(revision)
    minutes.revision_count = number
    db.session.flush()
    return revision


def has_begun(meeting: Meeting) -> bool:
    """Minutes are finalised once their meeting has begun (never for one still to come)."""
    return meeting.start <= utcnow()


def finalise_minutes(meeting: Meeting, *, actor: User | None, base_revision: int | None = None) -> Minutes:
    """Lock the minutes of `meeting` as they are in their latest revision (`base_revision`, when given,
    must be it). Needs a meeting that has begun and was not cancelled, and the chair's and secretary's
    names, who sign them. Raises InvalidData, Conflict (already final), MinutesConflict or Forbidden."""
    _check_may_change(actor, meeting)
    minutes = get_minutes(meeting)
    latest = latest_revision(minutes)
    if latest is None:
        raise InvalidData(_l("Write the minutes before finalising them."))
    if minutes.status == "final":
        raise Conflict(_l("These minutes are already final."))
    if base_revision is not None and base_revision != latest.number:
        raise MinutesConflict(latest)
    if meeting.status == "cancelled":
        raise InvalidData(_l("This meeting was cancelled: it has no minutes."))
    if not has_begun(meeting):
        raise InvalidData(_l("Minutes can be finalised once the meeting has begun."))
    missing = {name: [str(_l("Needed to finalise: the minutes are signed by the chair and the secretary."))]
               for name in ("chair", "secretary") if not getattr(latest, name)}
    if missing:
        raise InvalidData(_l("Name the chair and the secretary before finalising."), missing)
    minutes.status, minutes.final_number = "final", latest.number
    minutes.finalised_at, minutes.finalised_by_id = utcnow(), actor.id if actor else None
    db.session.flush()
    return minutes


def amendments(minutes: Minutes | None) -> list[MinutesRevision]:
    """The amendments made since the minutes were finalised, oldest first."""
    if minutes is None or minutes.status != "final":
        return []
    return list(db.session.execute(
        select(MinutesRevision).where(MinutesRevision.minutes_id == minutes.id, MinutesRevision.kind == "amendment")
        .order_by(MinutesRevision.number)
    ).scalars())


# --- What the printed minutes hold ---------------------------------------------------------------------

@dataclass
class IssueLine:
    number: int
    title: str
    description: str
    business: str
    raised_by: str
    topic: str
    status: str
    done: bool
    answer: str
    legal_basis: str
    due_date: date | None
    handled_by: str
    raised_on: date | None = None


@dataclass
class MinutesDocument:
    """Everything the printed minutes show, in the office's zone and in Vietnamese."""

    meeting: Meeting
    issuer: str
    issuer_parent: str
    unit_code: str
    place_name: str
    document_date: date
    start: datetime
    end: datetime
    kind: str
    title: str
    location: str
    written: bool
    status: str
    revision: MinutesRevision | None
    chair: str
    secretary: str
    closing_time: time | None
    agenda: str
    body: str
    conclusions: str
    attendees: list[AttendeeRow]
    raised: list[IssueLine]
    carried_over: list[IssueLine]
    has_series: bool
    amendments: list[MinutesRevision] = field(default_factory=list)
    # A business's copy: the name of the business it is printed for, whose issues alone it lists ("" for staff).
    extract_for: str = ""
    finalised_at: datetime | None = None
    created: datetime | None = None
    modified: datetime | None = None


KIND_PHRASES = {
    "dialogue": "Hội nghị đối thoại với doanh nghiệp",
    "thematic": "Hội nghị chuyên đề",
    "visit": "Buổi làm việc tại doanh nghiệp",
}


def _audience(reader: User) -> str:
    return "staff" if is_staff(reader) else f"business:{reader.business_id}"


def _attendees_for(reader: User, meeting: Meeting) -> list[AttendeeRow]:
    rows = attendee_rows(meeting)
    if is_staff(reader):
        return rows
    return [row for row in rows if row.official or (row.business_id is not None
                                                     and row.business_id == reader.business_id)]


def in_office_zone(value: datetime) -> datetime:
    return officetime.local(value)


def _issue_line(number: int, issue: Issue, meeting: Meeting, raised_on: date | None = None) -> IssueLine:
    with force_locale("vi"):
        status = str(STATUS_NAMES.get(issue.status, issue.status))
    return IssueLine(
        number=number, title=issue.title, description=issue.description, business=issue.business.name,
        raised_by=issue.raised_by_name, topic=issue.topic.name, status=status,
        done=issue.status in DONE_STATUSES, answer=issue.resolution, legal_basis=issue.legal_basis,
        due_date=issue.due_date, handled_by=issue.unit.name if issue.unit_id != meeting.unit_id else "",
        raised_on=raised_on,
    )


@lru_cache(maxsize=1)
def layout_version() -> str:
    """A digest of what shapes every printed page (templates, style sheet, fonts, WeasyPrint's version):
    a new release that changes the layout renders the cached PDFs again."""
    # The app's own folders, wherever they are (the checkout's top, or inside an installed package).
    templates = Path(current_app.root_path, current_app.template_folder)
    digest = hashlib.sha256(metadata.version("weasyprint").encode())
    files = sorted((templates / "pdf").glob("*.html")) + [Path(current_app.static_folder, "css", "pdf.css")]
    for path in files:
        digest.update(path.name.encode() + path.read_bytes())
    for path in sorted(Path(current_app.static_folder, "fonts").glob("*.ttf")):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()


# Statements the cached PDF's check runs on every request, built once per reader scope: building a select
# and its cache key costs more than running it. The scope decides their shape; the meeting is a parameter.
_STATEMENTS: dict[tuple, object] = {}


def _scope_key(reader: User) -> tuple:
    unit = reader.unit if reader.unit_id else None
    return (reader.role, reader.business_id, reader.unit_id, unit.path if unit else None,
            sees_every_unit(reader) if is_staff(reader) else False)


def _statement(name: str, reader: User | None, build):
    key = (name, *(_scope_key(reader) if reader is not None else ()))
    statement = _STATEMENTS.get(key)
    if statement is None:
        if len(_STATEMENTS) > 1000:
            _STATEMENTS.clear()
        statement = _STATEMENTS[key] = build()
    return statement


def _issue_signature_stmt(reader: User):
    """(id, version, business, topic, unit, meeting start) of the issues `reader` sees: what the printed tables
    show of each issue, read cheaply (no objects)."""
    handling = aliased(Unit)
    return (select(Issue.id, Issue.version, Business.name, Topic.name, handling.name, Meeting.start)
            .join(Business, Business.id == Issue.business_id).join(Topic, Topic.id == Issue.topic_id)
            .join(handling, handling.id == Issue.unit_id).join(Meeting, Meeting.id == Issue.meeting_id)
            .where(visible(reader, Issue)).order_by(Issue.id))


def visible_meeting_statement(reader: User):
    """The meeting with id `:meeting_id` if `reader` sees it, with its unit and the unit above loaded."""
    return _statement("meeting", reader, lambda: (
        select(Meeting).where(Meeting.id == bindparam("meeting_id"), visible(reader, Meeting))
        .options(joinedload(Meeting.unit).joinedload(Unit.parent))))


def get_visible_meeting(reader: User, meeting_id: int) -> Meeting | None:
    return db.session.execute(visible_meeting_statement(reader), {"meeting_id": meeting_id}).unique() \
        .scalar_one_or_none()


def fingerprint(meeting: Meeting, reader: User, minutes: Minutes | None) -> str:
    """A digest of everything the minutes of `meeting` print for `reader`: equal digests, equal PDFs.

    Cheap on purpose (two narrow queries, no rendering): it decides whether the cached PDF still holds.
    Revisions are immutable and numbered, so the latest revision's number stands for its text; an issue's
    version grows with every change to it; the names printed beside it (business, topic, unit) and the
    date of the meeting it was raised at are read as they are. `meeting` comes with its unit and the unit
    above loaded.
    """
    # One query for both tables: the issues raised at the meeting, and the open ones raised at earlier
    # meetings of its series (none when it has no series: NULL matches no series_id).
    statement = _statement("issues", reader, lambda: _issue_signature_stmt(reader).where(or_(
        and_(Issue.meeting_id == bindparam("meeting_id"), Issue.created_at <= bindparam("until")),
        and_(Meeting.series_id == bindparam("series_id"), Meeting.start < bindparam("start"),
             Issue.status.in_(OPEN_STATUS_VALUES)))))
    unit = meeting.unit
    parent = unit.parent
    issues = db.session.execute(statement, {"meeting_id": meeting.id, "series_id": meeting.series_id,
                                            "start": meeting.start, "until": _printed_until(minutes)}).all()
    parts = [
        layout_version(), _audience(reader), reader.business.name if reader.business is not None else "",
        [meeting.id, meeting.title, meeting.kind, meeting.start, meeting.end, meeting.location, meeting.status,
         meeting.series_id],
        [unit.code, unit.name, unit.level, parent.name if parent else None, parent.level if parent else None],
        [minutes.id, minutes.status, minutes.revision_count, minutes.final_number, minutes.finalised_at]
        if minutes else None,
        [tuple(row) for row in issues],
        [(r.name, r.organisation, r.role, r.present, r.business_id, r.official, r.excused)
         for r in _attendees_for(reader, meeting)],
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def build_document(meeting: Meeting, reader: User, minutes: Minutes | None = None) -> MinutesDocument:
    """What the minutes of `meeting` print for `reader`: the written parts of the latest revision, and the
    parts the data knows (attendance, the issues raised at the meeting, those carried over), in `reader`'s
    scope. Markdown stays Markdown here; the template renders it through the sanitiser."""
    minutes = minutes if minutes is not None else get_minutes(meeting)
    revision = latest_revision(minutes)
    unit = meeting.unit
    raised_issues = db.session.execute(
        issue_query(reader).where(Issue.meeting_id == meeting.id, Issue.created_at <= _printed_until(minutes))
        .order_by(None).order_by(Issue.created_at, Issue.id)
    ).unique().scalars().all()
    carried_issues = db.session.execute(
        carried_over_query(reader, meeting)
    ).unique().scalars().all() if meeting.series_id else []
    earlier_starts = dict(db.session.execute(
        select(Meeting.id, Meeting.start).where(Meeting.id.in_({i.meeting_id for i in carried_issues}))
    ).all()) if carried_issues else {}
    start = in_office_zone(meeting.start)
    return MinutesDocument(
        meeting=meeting,
        issuer=unit.name, issuer_parent=unit.parent.name if unit.parent else "", unit_code=unit.code,
        place_name=(revision.place_name if revision and revision.place_name else suggested_place_name(unit)),
        document_date=start.date(), start=start, end=in_office_zone(meeting.end),
        kind=KIND_PHRASES.get(meeting.kind, ""), title=meeting.title, location=meeting.location,
        written=revision is not None, status=minutes.status if minutes else "draft", revision=revision,
        chair=revision.chair if revision else "", secretary=revision.secretary if revision else "",
        closing_time=revision.closing_time if revision else None,
        agenda=revision.agenda if revision else "", body=revision.body if revision else "",
        conclusions=revision.conclusions if revision else "",
        attendees=_attendees_for(reader, meeting),
        raised=[_issue_line(n, issue, meeting) for n, issue in enumerate(raised_issues, 1)],
        carried_over=[_issue_line(n, issue, meeting, in_office_zone(earlier_starts[issue.meeting_id]).date()
                                  if issue.meeting_id in earlier_starts else None)
                      for n, issue in enumerate(carried_issues, 1)],
        has_series=meeting.series_id is not None,
        amendments=amendments(minutes),
        extract_for="" if is_staff(reader) or reader.business is None else reader.business.name,
        finalised_at=in_office_zone(minutes.finalised_at) if minutes and minutes.finalised_at else None,
        created=(minutes.finalised_at or minutes.created_at) if minutes else None,
        modified=revision.created_at if revision else None,
    )


def render_html(document: MinutesDocument) -> str:
    """The minutes as the HTML WeasyPrint prints (templates/pdf/minutes.html), in Vietnamese."""
    with force_locale("vi"):
        return render_template("pdf/minutes.html", doc=document, md=render_markdown, words=pdf)


def render_pdf(meeting: Meeting, reader: User, minutes: Minutes | None = None, *, digest: str | None = None) -> bytes:
    """Render the minutes of `meeting` for `reader` afresh: build, lay out, print (no cache). `digest`: their
    fingerprint when the caller has it (it becomes the PDF's identifier)."""
    document = build_document(meeting, reader, minutes)
    digest = digest or fingerprint(meeting, reader, document_minutes(meeting, minutes))
    return pdf.html_to_pdf(render_html(document), identifier=digest, static_folder=current_app.static_folder)


def document_minutes(meeting: Meeting, minutes: Minutes | None) -> Minutes | None:
    return minutes if minutes is not None else get_minutes(meeting)


@dataclass
class CachedPdf:
    etag: str
    _meeting: Meeting
    _reader: User
    _minutes: Minutes | None

    def data(self) -> bytes:
        """The PDF's bytes: from the cache, else rendered now and kept (in the current transaction)."""
        statement = _statement("pdf", None, lambda: select(MinutesPdf.data).where(
            MinutesPdf.meeting_id == bindparam("meeting_id"), MinutesPdf.fingerprint == bindparam("fingerprint")))
        cached = db.session.execute(statement, {"meeting_id": self._meeting.id, "fingerprint": self.etag}
                                    ).scalar_one_or_none()
        if cached is not None:
            return cached
        data = render_pdf(self._meeting, self._reader, self._minutes, digest=self.etag)
        try:
            with db.session.begin_nested():
                db.session.add(MinutesPdf(meeting_id=self._meeting.id, fingerprint=self.etag, data=data))
        except IntegrityError:
            pass  # rendered at the same time by another request: theirs is the same document
        keep = (select(MinutesPdf.id).where(MinutesPdf.meeting_id == self._meeting.id)
                .order_by(MinutesPdf.id.desc()).limit(CACHED_VARIANTS))
        db.session.execute(delete(MinutesPdf).where(MinutesPdf.meeting_id == self._meeting.id,
                                                    MinutesPdf.id.not_in(keep.scalar_subquery())))
        return data


def minutes_pdf(meeting: Meeting, reader: User, minutes: Minutes | None = None) -> CachedPdf:
    """The minutes of `meeting` as `reader` may read them: `.etag` at once (a digest of their content),
    `.data()` when the bytes are wanted, rendered only when nothing cached has that digest. `minutes`: the
    meeting's minutes when the caller has them at hand."""
    minutes = document_minutes(meeting, minutes)
    return CachedPdf(fingerprint(meeting, reader, minutes), meeting, reader, minutes)


def pdf_filename(meeting: Meeting) -> str:
    return f"bien-ban-{meeting.id}-{in_office_zone(meeting.start).date().isoformat()}.pdf"


# --- Sending -------------------------------------------------------------------------------------------

def unit_managers(meeting: Meeting) -> list[User]:
    """The active managers of the meeting's unit and of the unit directly above it (who oversees it)."""
    unit_ids = [meeting.unit_id] + ([meeting.unit.parent_id] if meeting.unit.parent_id else [])
    return list(db.session.execute(
        select(User).where(in_group(HEADS), User.active, User.unit_id.in_(unit_ids))
        .order_by(User.id).options(joinedload(User.unit))
    ).scalars())


def _business_reader(business_id: int) -> User:
    """A reader with a business's scope, for mailing its people what it may read. Never added to the
    session: it only carries the role and the business into the scope rules."""
    return User(id=None, role=Role.BUSINESS.value, business_id=business_id, name="", email="")


def already_sent(minutes) -> bool:
    """True when this very revision of the minutes has been mailed already."""
    return minutes is not None and minutes.sent_revision is not None and minutes.sent_revision == minutes.revision_count


def send_minutes(meeting: Meeting, *, actor: User, again: bool = False) -> int:
    """Mail the finalised minutes of `meeting`, as a PDF attachment, through the outbox: to the managers of
    its unit (and of the unit above) and the officials present, in the staff's version, and to each business
    present, in that business's version. Returns how many addresses were written to. Raises Conflict for
    minutes not yet final, InvalidData when there is nobody to send to, and Conflict naming who already has them
    when this revision was sent before and `again` is not said."""
    _check_may_change(actor, meeting)
    minutes = get_minutes(meeting)
    if minutes is None or minutes.status != "final":
        raise Conflict(_l("Only final minutes can be sent. Finalise them first."))
    if already_sent(minutes) and not again:
        raise Conflict(
            _l("These minutes were already sent on %(date)s to %(who)s. Send them again?",
               date=format_datetime(minutes.sent_at, "HH:mm dd/MM/yyyy"), who=", ".join(minutes.sent_to) or "—"),
            {"again": list(minutes.sent_to)})
    # Staff each get the version their own scope allows (an organiser's copy leaves out what only managers
    # may read, such as an officer's conduct); each business gets its own version.
    staff = {m.id: m for m in unit_managers(meeting)}
    officials = db.session.execute(
        select(User).join(Attendee, Attendee.user_id == User.id)
        .where(Attendee.meeting_id == meeting.id, Attendee.attendance == "present", User.active)
    ).scalars().all()
    for official in officials:
        staff.setdefault(official.id, official)
    businesses: dict[int, list[str]] = {}
    for recipient in attendee_recipients(meeting):
        if recipient.business_id is not None:
            businesses.setdefault(recipient.business_id, []).append(recipient.email)
    if not staff and not businesses:
        raise InvalidData(_l("Nobody to send to: the unit has no manager with an account, and no attendee "
                             "with an email address is recorded."))
    filename = pdf_filename(meeting)
    url = external_url("minutes.minutes_page", meeting_id=meeting.id)
    start = in_office_zone(meeting.start)
    sent = 0
    addressed: list[str] = []
    audiences = [([user.email], user.name, url, minutes_pdf(meeting, user, minutes).data())
                 for user in staff.values()]
    audiences += [(addresses, db.session.get(Business, business_id).name, None,
                   render_pdf(meeting, _business_reader(business_id), minutes))
                  for business_id, addresses in businesses.items()]
    for addresses, addressee, link, data in audiences:
        with force_locale("vi"):
            context = {"meeting": meeting, "start": start, "url": link, "unit": meeting.unit, "addressee": addressee}
            text = render_template("minutes/mail.txt", **context)
            html = render_template("minutes/mail.html", **context)
        subject, _, body = text.partition("\n")
        message = enqueue(to=addresses, subject=subject.removeprefix("Subject:").strip(), text=body.lstrip("\n"),
                          html=html, attachments=[Attachment(filename, "application/pdf", data)])
        sent += len(message.recipients) if message else 0
        addressed += message.recipients if message else []
    minutes.sent_at = utcnow()
    minutes.sent_revision, minutes.sent_to = minutes.revision_count, addressed
    minutes_sent.send(minutes, actor=actor)
    return sent


# -- The business portal: the meetings a business was at ----------------------------------------------------------

@dataclass(frozen=True)
class PastMeeting:
    """A past meeting a business was invited to, with its final minutes (None until finalised: drafts are the
    office's) and the issues the business raised there."""

    invitation: Invitation
    minutes: Minutes | None
    issues: list[Issue]


def past_meetings_of(user: User, window_start: datetime, window_end: datetime, limit: int = 20) -> list[PastMeeting]:
    """The latest meetings `user`'s business was invited to that began in the window, were held and had ended
    by its end, newest first. Three queries besides invitations_of's."""
    past = [i for i in reversed(invitations_of(user, window_start, window_end))
            if i.status != "cancelled" and i.end <= window_end][:limit]
    ids = [i.meeting_id for i in past if i.meeting_id is not None]
    final = {m.meeting_id: m for m in db.session.execute(
        select(Minutes).where(Minutes.meeting_id.in_(ids), Minutes.status == "final")).scalars()} if ids else {}
    raised: dict[int, list[Issue]] = {}
    if ids:
        for issue in db.session.execute(issue_query(user).where(Issue.meeting_id.in_(ids))).unique().scalars():
            raised.setdefault(issue.meeting_id, []).append(issue)
    return [PastMeeting(i, final.get(i.meeting_id), raised.get(i.meeting_id, [])) for i in past]
