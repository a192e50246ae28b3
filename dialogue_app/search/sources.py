"""What each kind of thing gives the search: how to load it, what of it is searched, and where its page is.

One definition per kind serves both the index (a rebuild streams every thing through `entry`) and the page of
results (the things found are loaded again, and their title and snippet read from the same `entry`), so what is
shown is what was searched.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Bundle, joinedload, selectinload

from ..issues.models import Issue
from ..minutes.markup import plain_text
from ..minutes.models import Minutes
from ..org.models import Business, Contact
from ..scheduling.models import Meeting, Series


@dataclass
class Entry:
    """One thing as the search sees it: `title` and `body` (texts, searched and shown), and what it is filtered
    and scoped by."""

    title: str
    body: list[str]
    unit_id: int | None
    business_id: int | None = None
    topic_id: int | None = None
    status: str = ""
    at: datetime | None = None

    @property
    def body_text(self) -> str:
        return "\n".join(part for part in self.body if part)


@dataclass(frozen=True)
class Source:
    kind: str
    model: type
    key: object  # the column that identifies the thing: its id, or the meeting's for minutes
    load: Callable[[], Select]
    entry: Callable[[object], Entry | None]  # None: not to be found (an answer not published)
    endpoint: str  # the page of the thing
    url_values: Callable[[object], dict]
    anchor: str = ""
    # The page of results: only the columns `entry` and `url_values` read, as plain rows named as the model's
    # attributes (a Bundle for a related thing's), so that the same `entry` reads them. None: the things whole.
    shown: Callable[[], Select] | None = None

    def statement(self) -> Select:
        return self.load()

    def shown_statement(self) -> Select:
        return self.shown() if self.shown is not None else self.load()


def _issue_shown() -> Select:
    return select(Issue.id, Issue.title, Issue.description, Issue.resolution, Issue.legal_basis,
                  Issue.raised_by_name, Issue.origin_unit_id, Issue.business_id, Issue.topic_id, Issue.status,
                  Issue.created_at, Bundle("business", Business.name, Business.tax_code)).join(Issue.business)


def _issue(issue: Issue) -> Entry:
    business = issue.business
    return Entry(
        title=issue.title,
        body=[issue.description, issue.resolution, issue.legal_basis, business.name, business.tax_code,
              issue.raised_by_name],
        unit_id=issue.origin_unit_id, business_id=issue.business_id, topic_id=issue.topic_id, status=issue.status,
        at=issue.created_at,
    )


def _answer(issue: Issue) -> Entry | None:
    """A published question and its answer, in the words staff checked to name no business: only those."""
    if not issue.published:
        return None
    return Entry(title=issue.public_question, body=[issue.public_answer, issue.legal_basis], unit_id=issue.unit_id,
                 topic_id=issue.topic_id, status="published", at=issue.answered_at or issue.updated_at)


def _business(business: Business) -> Entry:
    return Entry(title=business.name, body=[business.tax_code, business.address or ""], unit_id=business.unit_id,
                 business_id=business.id, at=business.created_at)


def _contact_shown() -> Select:
    return select(Contact.id, Contact.name, Contact.email, Contact.phone, Contact.position, Contact.business_id,
                  Contact.created_at, Bundle("business", Business.name, Business.tax_code, Business.unit_id,
                                             Business.id)).join(Contact.business)


def _contact(contact: Contact) -> Entry:
    business = contact.business
    return Entry(title=contact.name,
                 body=[contact.email or "", contact.phone or "", contact.position or "", business.name,
                       business.tax_code],
                 unit_id=business.unit_id, business_id=business.id, at=contact.created_at)


def _series(series: Series) -> Entry:
    return Entry(title=series.title, body=[series.location, series.description], unit_id=series.unit_id,
                 at=series.created_at)


def _meeting(meeting: Meeting) -> Entry:
    return Entry(title=meeting.title, body=[meeting.location], unit_id=meeting.unit_id, status=meeting.status,
                 at=meeting.start)


def _minutes(minutes: Minutes) -> Entry:
    latest = minutes.revisions[-1] if minutes.revisions else None
    texts = [plain_text(latest.agenda), plain_text(latest.body), plain_text(latest.conclusions), latest.chair,
             latest.secretary] if latest else []
    meeting = minutes.meeting
    return Entry(title=meeting.title, body=[*texts, meeting.location], unit_id=meeting.unit_id,
                 status=minutes.status, at=meeting.start)


SOURCES: dict[str, Source] = {
    source.kind: source for source in (
        Source("issue", Issue, Issue.id, lambda: select(Issue).options(joinedload(Issue.business)), _issue,
               "issues.issue_page", lambda issue: {"issue_id": issue.id}, shown=_issue_shown),
        Source("business", Business, Business.id, lambda: select(Business), _business,
               "org.business_page", lambda business: {"business_id": business.id},
               shown=lambda: select(Business.id, Business.name, Business.tax_code, Business.address,
                                    Business.unit_id, Business.created_at)),
        Source("contact", Contact, Contact.id, lambda: select(Contact).options(joinedload(Contact.business)),
               _contact, "org.business_page", lambda contact: {"business_id": contact.business_id},
               anchor="#contacts", shown=_contact_shown),
        Source("series", Series, Series.id, lambda: select(Series), _series,
               "scheduling.series_page", lambda series: {"series_id": series.id},
               shown=lambda: select(Series.id, Series.title, Series.location, Series.description, Series.unit_id,
                                    Series.created_at)),
        Source("meeting", Meeting, Meeting.id, lambda: select(Meeting), _meeting,
               "scheduling.meeting_page", lambda meeting: {"meeting_id": meeting.id},
               shown=lambda: select(Meeting.id, Meeting.title, Meeting.location, Meeting.unit_id, Meeting.status,
                                    Meeting.start)),
        Source("minutes", Minutes, Minutes.meeting_id,
               lambda: select(Minutes).options(joinedload(Minutes.meeting), selectinload(Minutes.revisions)),
               _minutes, "minutes.minutes_page", lambda minutes: {"meeting_id": minutes.meeting_id}),
        # The public questions and answers: searched on the Q&A page only, never with the staff's kinds.
        Source("answer", Issue, Issue.id, lambda: select(Issue).where(Issue.published), _answer,
               "issues.public_answers", lambda issue: {}),
    )
}
# The kinds a search over everything covers (API.md): the public answers are searched on their own page.
KINDS = ("issue", "business", "contact", "series", "meeting", "minutes")


def object_id(source: Source, obj) -> int:
    return obj.meeting_id if source.kind == "minutes" else obj.id
