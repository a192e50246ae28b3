"""Marshmallow schemas: they validate what comes in and describe, in the OpenAPI document, what goes out."""

from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import Schema as BaseSchema
from marshmallow import ValidationError, fields, pre_load, validate

from .. import officetime
from ..attendance.services import ANSWERS, answers_to, attendees_of
from ..auth.models import Role
from ..calendar.services import feed_url_for
from ..clean_input import clean_tree
from ..issues.services import is_overdue, issues_raised_at
from ..org.models import UnitLevel
from ..scheduling.services import invitees_for
from ..scope import is_business


class Schema(BaseSchema):
    """Every schema of the API cleans the strings it is given (control characters out, line breaks plain)
    before it validates them: the pages' forms do the same (clean_input.py)."""

    @pre_load
    def _clean_text(self, data, **kwargs):
        return clean_tree(data)


def feed_url_of(kind: str, target_id: int) -> str | None:
    """The feed address the caller may hold (the same rule as the pages': scope.FEED_HOLDERS), else null."""
    return feed_url_for(current_user, kind, target_id)


PLANNING_YEARS = (2000, 2100)
MAX_ID = 2**31 - 1  # the database's integer: a larger id names nothing


def in_planning_years(value: date | datetime) -> None:
    """Dates outside the years meetings are planned in are refused: they only ever come from mistakes."""
    if not PLANNING_YEARS[0] <= value.year <= PLANNING_YEARS[1]:
        raise ValidationError(str(_l("Choose a date from the year 2000 to 2100.")))


# Validators with their messages in the reader's language (marshmallow formats them with str.format).
def one_of(choices) -> validate.OneOf:
    return validate.OneOf(list(choices), error=_l("Must be one of: {choices}."))


def length(min: int = 0, max: int | None = None) -> validate.Length:
    if max is None:
        return validate.Length(min=min, error=_l("Must have at least {min} characters."))
    return validate.Length(min=min, max=max, error=_l("Must have between {min} and {max} characters."))


def number_range(min: int, max: int | None = None) -> validate.Range:
    if max is None:
        return validate.Range(min=min, error=_l("Must be at least {min}."))
    return validate.Range(min=min, max=max, error=_l("Must be between {min} and {max}."))


class Instant(fields.DateTime):
    """An instant, written ISO 8601 with the office's offset (2027-01-25T08:00:00+07:00).

    Input must carry an offset: a wall time without one names no instant.
    """

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        if value is None:
            return None
        # Stored instants come back in UTC: show them in the office's zone. A value already in a zone
        # of its own (an occurrence, in its series' zone) keeps it.
        if value.utcoffset() == timedelta(0):
            value = officetime.local(value)
        return value.isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            raise ValidationError(str(_l("An instant needs its UTC offset, e.g. 2027-01-25T08:00:00+07:00.")))
        in_planning_years(parsed)
        return parsed


class PlannedDate(fields.Date):
    """A date within the years meetings are planned in."""

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        in_planning_years(parsed)
        return parsed


class StrictBoolean(fields.Boolean):
    """JSON true or false, nothing else: marshmallow's Boolean takes "yes", 1 and 1.0 as true."""

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is not bool:
            raise self.make_error("invalid", input=value)
        return value


class ErrorBodySchema(Schema):
    code = fields.String(
        required=True,
        # API.md's codes (a 405 and a 413 are bad requests); and the two the server answers on its own failures
        # in the same shape: a 500 that should never happen, and 503 while the database does not answer.
        metadata={"enum": ["validation_error", "bad_request", "unauthorized", "forbidden", "not_found",
                           "conflict", "rate_limited", "server_error", "unavailable"]},
    )
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=number_range(1, 1_000_000))
    per_page = fields.Integer(load_default=50, validate=number_range(1, 200))


_page_schemas: dict[type, type] = {}


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The list envelope {"items", "page", "per_page", "total"} around `item_schema`, one class per item."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _page_schemas[item_schema] = type(name, (Schema,), {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(required=True),
        })
    return _page_schemas[item_schema]


class TokenRequestSchema(Schema):
    email = fields.String(required=True, validate=length(min=1, max=254))
    password = fields.String(required=True, validate=length(min=1, max=1024),
                             load_only=True)


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = Instant(required=True)


class UnitSchema(Schema):
    code = fields.String(required=True, validate=[
        length(min=1, max=32),
        validate.Regexp(r"^[A-Za-z0-9_.-]+$", error=_l("Letters, digits, dot, dash and underscore only.")),
    ])
    name = fields.String(required=True, validate=length(min=1, max=255))
    level = fields.String(required=True, validate=one_of(level.value for level in UnitLevel))
    parent = fields.Method("_parent_code", deserialize="_load_parent", allow_none=True,
                           metadata={"type": "string", "description": "The parent unit's code."})
    feed_url = fields.Method("_feed_url", dump_only=True,
                             metadata={"type": ["string", "null"],
                                       "description": "The unit's calendar feed (its subtree's meetings)."})

    def _parent_code(self, unit) -> str | None:
        return unit.parent.code if unit.parent else None

    def _load_parent(self, value):
        if value is not None and not isinstance(value, str):
            raise ValidationError(str(_l("Not a valid string.")))
        return value

    def _feed_url(self, unit) -> str | None:
        return feed_url_of("unit", unit.id)


class TopicSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    answer_days = fields.Integer(dump_only=True, metadata={"description": "Working days allowed to answer."})
    sensitive = fields.Boolean(dump_only=True, metadata={
        "description": "Issues on it are read only by managers of the unit handling them and above."})
    active = fields.Boolean(dump_only=True)


class UserCreateSchema(Schema):
    email = fields.String(required=True, validate=length(min=3, max=254))
    name = fields.String(required=True, validate=length(min=1, max=255))
    password = fields.String(required=True, load_only=True, validate=length(min=1, max=1024))
    role = fields.String(required=True, validate=one_of(role.value for role in Role))
    unit = fields.String(load_default=None, allow_none=True, validate=length(max=32))
    business_id = fields.Integer(load_default=None, allow_none=True, strict=True, validate=number_range(1, MAX_ID))
    language = fields.String(load_default="vi", validate=one_of(["vi", "en"]))


class UserSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    unit = fields.Function(lambda user: user.unit.code if user.unit else None,
                           metadata={"type": ["string", "null"]})
    business_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    language = fields.String()


class UserPatchSchema(Schema):
    """What an administrator changes on an account; a new password, role or unit, or `active: false`, ends
    every session, remember cookie and API token of that person."""

    name = fields.String(validate=length(min=1, max=255))
    role = fields.String(validate=one_of(role.value for role in Role))
    unit = fields.String(allow_none=True, validate=length(max=32))
    active = StrictBoolean()
    password = fields.String(load_only=True, validate=length(min=1, max=1024))
    language = fields.String(validate=one_of(("vi", "en")))


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, load_only=True, validate=length(min=1, max=1024))
    new_password = fields.String(required=True, load_only=True, validate=length(min=1, max=1024))



class LocalWallTime(fields.DateTime):
    """A series' local wall time, written without offset: 2027-01-25T08:00."""

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        return None if value is None else value.strftime("%Y-%m-%dT%H:%M")

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        in_planning_years(parsed)
        return parsed


class DateOrInstant(fields.Field):
    """A date (YYYY-MM-DD, read in the series' time zone) or an instant with its offset."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError(str(_l("Not a valid date.")))
        try:
            parsed = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(str(_l("Not a valid date."))) from None
        if isinstance(parsed, datetime) and parsed.tzinfo is None:
            raise ValidationError(str(_l("An instant needs its UTC offset, e.g. 2027-01-25T08:00:00+07:00.")))
        in_planning_years(parsed)
        return parsed


MEETING_KINDS = ("dialogue", "thematic", "visit")
HOLIDAY_POLICIES = ("keep", "skip", "previous_workday", "next_workday")


class SeriesCreateSchema(Schema):
    title = fields.String(required=True, validate=length(min=1, max=255))
    unit = fields.String(required=True, validate=length(min=1, max=32))
    location = fields.String(required=True, validate=length(min=1, max=500))
    rrule = fields.String(required=True, validate=length(min=1, max=500),
                          metadata={"example": "FREQ=MONTHLY;BYDAY=-1MO"})
    dtstart = LocalWallTime(required=True, metadata={"example": "2027-01-25T08:00"})
    duration_minutes = fields.Integer(required=True, strict=True, validate=number_range(5, 720))
    timezone = fields.String(load_default="Asia/Ho_Chi_Minh", validate=length(min=1, max=64))
    holiday_policy = fields.String(load_default="keep", validate=one_of(HOLIDAY_POLICIES))
    invitees = fields.List(fields.Integer(strict=True, validate=number_range(1, MAX_ID)), load_default=list)
    kind = fields.String(load_default="dialogue", validate=one_of(MEETING_KINDS))
    description = fields.String(load_default="", validate=length(max=10_000))


def visible_invitees(series) -> list:
    return invitees_for(current_user, series)


class SeriesSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True)
    unit = fields.Function(lambda s: s.unit.code, metadata={"type": "string"})
    location = fields.String(required=True)
    description = fields.String()
    rrule = fields.String(attribute="rule", required=True)
    dtstart = LocalWallTime(attribute="first_start", required=True)
    duration_minutes = fields.Integer(required=True)
    timezone = fields.String(required=True)
    holiday_policy = fields.String(required=True)
    invitees = fields.Function(lambda s: [b.id for b in visible_invitees(s)],
                               metadata={"type": "array", "items": {"type": "integer"},
                                         "description": "Invited businesses (a business sees only itself)."})
    previous_id = fields.Integer(allow_none=True)
    feed_url = fields.Function(lambda s: feed_url_of("series", s.id), metadata={
        "type": ["string", "null"], "description": "The series' calendar feed."})


class OccurrenceWindowSchema(Schema):
    from_ = DateOrInstant(data_key="from", load_default=None, metadata={"type": "string",
                                                                       "example": "2027-01-01"})
    to = DateOrInstant(load_default=None, metadata={"type": "string", "example": "2027-12-31"})


class OccurrenceSchema(Schema):
    occurrence = fields.Date(required=True)
    start = Instant(required=True)
    end = Instant(required=True)
    status = fields.String(required=True, metadata={"enum": ["scheduled", "moved", "cancelled"]})
    holiday = fields.String(allow_none=True, required=True)
    meeting_id = fields.Integer(allow_none=True, required=True)
    location = fields.String(required=True)


class OccurrenceListSchema(Schema):
    items = fields.List(fields.Nested(OccurrenceSchema), required=True)


class OccurrencePatchSchema(Schema):
    start = Instant()
    location = fields.String(validate=length(min=1, max=500))
    status = fields.String(validate=one_of(["cancelled", "scheduled"]))


class MeetingCreateSchema(Schema):
    title = fields.String(required=True, validate=length(min=1, max=255))
    unit = fields.String(required=True, validate=length(min=1, max=32))
    start = Instant(required=True)
    duration_minutes = fields.Integer(required=True, strict=True, validate=number_range(5, 720))
    location = fields.String(required=True, validate=length(min=1, max=500))
    kind = fields.String(load_default="thematic", validate=one_of(MEETING_KINDS))
    description = fields.String(load_default="", validate=length(max=10_000), metadata={"description": "The agenda."})


class MeetingSchema(Schema):
    id = fields.Integer(required=True)
    series_id = fields.Integer(allow_none=True)
    occurrence = fields.Date(allow_none=True)
    title = fields.String(required=True)
    kind = fields.String(required=True)
    unit = fields.Function(lambda m: m.unit.code, metadata={"type": "string"})
    start = Instant(required=True)
    end = Instant(required=True)
    location = fields.String(required=True)
    description = fields.String(metadata={"description": "The agenda (an occurrence's is its series')."})
    status = fields.String(required=True)
    attendees = fields.Method("_attendees", metadata={"type": "array", "items": {"type": "object"}})
    issues = fields.Method("_issues", metadata={"type": "array", "items": {"type": "object"}})
    answers = fields.Method("_answers", metadata={
        "type": "array", "items": {"type": "object"},
        "description": "Invited contacts' answers: {business_id, contact_id, email, answer, via}, via one of "
                       "portal, link, calendar (a business sees its own contacts' only)."})

    def _answers(self, meeting) -> list[dict]:
        business_id = current_user.business_id if is_business(current_user) else None
        if is_business(current_user) and not business_id:
            return []
        return [{"business_id": r.contact.business_id, "contact_id": r.contact_id, "email": r.contact.email,
                 "answer": r.answer, "via": r.via} for r in answers_to(meeting, business_id)]

    def _attendees(self, meeting) -> list[dict]:
        people = attendees_of(meeting)
        if is_business(current_user):  # the officials, and its own people: no other business
            people = [a for a in people if a.user_id is not None or a.business_id == current_user.business_id]
        return AttendeeSchema(many=True).dump(people)

    def _issues(self, meeting) -> list[dict]:
        return [{"id": i.id, "title": i.title, "status": i.status} for i in issues_raised_at(current_user, meeting)]


ISSUE_STATUSES = ("new", "assigned", "in_progress", "answered", "closed")
TRANSITION_TARGETS = ("assigned", "in_progress", "answered", "closed", "escalated", "returned")


class IssueCreateSchema(Schema):
    title = fields.String(required=True, validate=length(min=1, max=500))
    description = fields.String(load_default="", validate=length(max=100_000))
    business_id = fields.Integer(required=True, strict=True, validate=number_range(1, MAX_ID))
    channel = fields.String(required=True, validate=one_of(["meeting", "phone", "email", "zalo", "fanpage",
                                                             "counter", "visit", "web"]))
    topic = fields.String(required=True, validate=length(min=1, max=32), metadata={"description": "A topic code."})
    unit = fields.String(required=True, validate=length(min=1, max=32))
    meeting_id = fields.Integer(load_default=None, allow_none=True, strict=True, validate=number_range(1, MAX_ID))
    raised_by = fields.String(load_default="", validate=length(max=255),
                              metadata={"description": "The name of the person who raised it."})


def _staff_reads() -> bool:
    return not is_business(current_user)


class IssueEventSchema(Schema):
    """One step of an issue's history. A business reads what it was told (`message`), never the internal `note`
    nor an officer's e-mail address."""

    at = Instant(required=True)
    by = fields.Method("_by", required=True, metadata={"type": "string"})
    from_ = fields.String(attribute="from_status", data_key="from", allow_none=True, required=True)
    to = fields.String(attribute="to_status", required=True)
    note = fields.Method("_note", required=True, metadata={"type": "string",
                                                           "description": "Internal: empty for a business."})
    message = fields.String(required=True, metadata={"description": "What the business was told."})

    def _by(self, event) -> str:
        if _staff_reads():
            return event.by_label
        return event.by.name if event.by is not None else str(_l("the customs office"))

    def _note(self, event) -> str:
        return event.note if _staff_reads() else ""


class RatingSchema(Schema):
    score = fields.Integer(required=True, strict=True, validate=number_range(1, 5))
    comment = fields.String(load_default="", validate=length(max=10_000))


class IssueSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    business_id = fields.Integer(required=True)
    channel = fields.String(required=True)
    topic = fields.Function(lambda i: i.topic.code, metadata={"type": "string"})
    unit = fields.Function(lambda i: i.unit.code, metadata={"type": "string"})
    origin_unit = fields.Function(lambda i: i.origin_unit.code, metadata={"type": "string"})
    meeting_id = fields.Integer(allow_none=True)
    raised_by = fields.String(attribute="raised_by_name")
    status = fields.String(required=True, metadata={"enum": list(ISSUE_STATUSES)})
    assignee = fields.Function(lambda i: i.assignee.email if i.assignee and _staff_reads() else None,
                               metadata={"type": ["string", "null"],
                                         "description": "The officer's e-mail (null for a business)."})
    due_date = fields.Date(allow_none=True)
    overdue = fields.Method("_overdue", metadata={"type": "boolean"})
    resolution = fields.String()
    legal_basis = fields.String()
    answered_at = Instant(allow_none=True)
    rating = fields.Function(lambda i: {"score": i.rating.score, "comment": i.rating.comment} if i.rating else None,
                             metadata={"type": ["object", "null"]})
    version = fields.Integer(required=True)
    created_at = Instant(required=True)

    def _overdue(self, issue) -> bool:
        return is_overdue(issue)


class IssueDetailSchema(IssueSchema):
    history = fields.List(fields.Nested(IssueEventSchema), attribute="events", required=True)


class IssueListArgsSchema(PageArgsSchema):
    status = fields.String(validate=one_of(ISSUE_STATUSES))
    unit = fields.String(validate=length(min=1, max=32))
    business_id = fields.Integer(validate=number_range(1, MAX_ID))
    overdue = fields.Boolean()
    topic = fields.String(validate=length(min=1, max=32))
    channel = fields.String(validate=length(min=1, max=16))


class TransitionSchema(Schema):
    to = fields.String(required=True, validate=one_of(TRANSITION_TARGETS))
    note = fields.String(load_default="", validate=length(max=10_000),
                         metadata={"description": "Internal, for staff only."})
    message = fields.String(load_default="", validate=length(max=10_000),
                            metadata={"description": "Said to the business: it reads this on its issue."})
    assignee = fields.String(load_default=None, allow_none=True, validate=length(max=254),
                             metadata={"description": "The officer's email."})
    due_date = PlannedDate(load_default=None, allow_none=True)
    resolution = fields.String(load_default=None, allow_none=True, validate=length(max=100_000))
    legal_basis = fields.String(load_default=None, allow_none=True, validate=length(max=10_000))
    version = fields.Integer(load_default=None, allow_none=True, strict=True,
                             metadata={"description": "The version the change is based on (409 if it moved on)."})


class BusinessCreateSchema(Schema):
    tax_code = fields.String(required=True, validate=length(min=1, max=20))
    name = fields.String(required=True, validate=length(min=1, max=255))
    address = fields.String(load_default=None, allow_none=True, validate=length(max=2000))
    unit = fields.String(required=True, validate=length(min=1, max=32))


class ContactSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=length(min=1, max=255))
    email = fields.String(load_default=None, allow_none=True, validate=length(max=254))
    phone = fields.String(load_default=None, allow_none=True, validate=length(max=32))
    position = fields.String(load_default=None, allow_none=True, validate=length(max=255))


class BusinessSchema(Schema):
    id = fields.Integer(required=True)
    tax_code = fields.String(required=True)
    name = fields.String(required=True)
    address = fields.String(allow_none=True)
    unit = fields.Function(lambda b: b.unit.code, metadata={"type": "string"})


class BusinessDetailSchema(BusinessSchema):
    contacts = fields.List(fields.Nested(ContactSchema), required=True)
    feed_url = fields.Function(lambda b: feed_url_of("business", b.id), metadata={
        "type": ["string", "null"], "description": "The business's calendar feed: every series it is invited to."})


class BusinessListArgsSchema(PageArgsSchema):
    q = fields.String(validate=length(max=200))


class AttendeeCreateSchema(Schema):
    contact_id = fields.Integer(strict=True, validate=number_range(1, MAX_ID))
    name = fields.String(validate=length(min=1, max=255))
    business_id = fields.Integer(strict=True, allow_none=True, validate=number_range(1, MAX_ID))
    organisation = fields.String(validate=length(max=255))
    role = fields.String(load_default="", validate=length(max=255))
    present = StrictBoolean(load_default=True)


class AttendeeSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    business_id = fields.Integer(allow_none=True)
    role = fields.String()
    present = fields.Boolean()


class InvitationCreateSchema(Schema):
    business_id = fields.Integer(required=True, strict=True, validate=number_range(1, MAX_ID))


class MeetingInvitationSchema(Schema):
    meeting_id = fields.Integer(required=True)
    business_id = fields.Integer(required=True)


class SeriesInvitationSchema(Schema):
    series_id = fields.Integer(required=True)
    business_id = fields.Integer(required=True)


class InvitationItemSchema(Schema):
    meeting_id = fields.Integer(allow_none=True, required=True, metadata={
        "description": "null for an occurrence of a series not yet made a meeting (answering makes it one)."})
    series_id = fields.Integer(allow_none=True, required=True)
    occurrence = fields.Date(allow_none=True, required=True)
    title = fields.String(required=True)
    start = Instant(required=True)
    end = Instant(required=True)
    location = fields.String(required=True)
    description = fields.String(required=True, metadata={"description": "The agenda."})
    status = fields.String(required=True, metadata={"enum": ["scheduled", "moved", "cancelled"]})
    answer = fields.String(allow_none=True, required=True, metadata={"enum": list(ANSWERS)})
    comment = fields.String(required=True)
    attendees = fields.List(fields.Integer(), required=True, metadata={
        "description": "The ids of the business's contacts whose latest answer is accepted or tentative."})
    answer_url = fields.String(required=True, metadata={
        "description": "PUT {answer, comment?, attendees?} here to answer."})


class InvitationListSchema(Schema):
    items = fields.List(fields.Nested(InvitationItemSchema), required=True)


class AnswerSchema(Schema):
    answer = fields.String(required=True, validate=one_of(ANSWERS))
    comment = fields.String(load_default="", validate=length(max=2000))
    attendees = fields.List(fields.Integer(strict=True), load_default=None, validate=length(max=500), metadata={
        "description": "Accepting (or tentative): the ids of the business's contacts who will come; the others "
                       "are recorded as not attending. Left out: the answer is the company's (see the portal)."})
