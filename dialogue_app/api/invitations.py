"""A business user's invitations, and their answers (the portal's, through the API)."""

from datetime import date, datetime, time, timedelta

from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort

from .. import officetime
from ..attendance import services
from ..extensions import db
from ..scope import is_business
from ..web import external_url
from .schemas import AnswerSchema, InvitationItemSchema, InvitationListSchema, OccurrenceWindowSchema
from .series import occurrence_date

blp = Blueprint("invitations", __name__, url_prefix="/api/v1/invitations",
                description="A business's invitations and its answers")

DEFAULT_DAYS = 366


def business_only() -> None:
    if not is_business(current_user):
        abort(403, message=_("Only a business's users have invitations to answer."))


def _bound(value, default: datetime, *, end: bool = False) -> datetime:
    if value is None:
        return default
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value + timedelta(days=1) if end else value  # `to` as a date is inclusive
        return datetime.combine(day, time.min, tzinfo=officetime.office_zone())
    return value


def item_payload(item: services.Invitation) -> dict:
    """The item as the API gives it; `answer_url` is where a PUT answers it: the meeting's once it exists,
    else the series occurrence's (by the date the rule gave it). Absolute, as `feed_url`: a client PUTs to it as
    given, without resolving it against the list's address."""
    if item.meeting_id is not None:
        answer_url = external_url("invitations.MeetingAnswer", meeting_id=item.meeting_id)
    else:
        answer_url = external_url("invitations.OccurrenceAnswer", series_id=item.series_id,
                                  occurrence=item.occurrence.isoformat())
    return {"meeting_id": item.meeting_id, "series_id": item.series_id, "occurrence": item.occurrence,
            "title": item.title, "start": item.start, "end": item.end, "location": item.location,
            "description": item.description,
            "status": item.status, "answer": item.answer, "comment": item.comment,
            "attendees": list(item.attending), "answer_url": answer_url}


@blp.route("")
class Invitations(MethodView):
    @blp.arguments(OccurrenceWindowSchema, location="query")
    @blp.response(200, InvitationListSchema)
    def get(self, window):
        """The caller's business's invitations starting in [from, to) (dates in the office's zone, `to`
        inclusive; by default from today, for a year), one-off meetings and series occurrences alike, by start.
        `meeting_id` is null for an occurrence not yet made a meeting."""
        business_only()
        zone = officetime.office_zone()
        start = _bound(window["from_"], datetime.combine(officetime.today_in(zone), time.min, tzinfo=zone))
        end = _bound(window["to"], start + timedelta(days=DEFAULT_DAYS), end=True)
        items = services.invitations_of(current_user, *services.checked_window(start, end))
        return {"items": [item_payload(i) for i in items]}


@blp.route("/meetings/<int:meeting_id>/answer")
class MeetingAnswer(MethodView):
    @blp.arguments(AnswerSchema)
    @blp.response(200, InvitationItemSchema)
    def put(self, data, meeting_id):
        """Answer for a meeting (one-off, or an occurrence made a meeting): accepted, declined or tentative,
        until it starts."""
        business_only()
        item = services.answer_invitation(current_user, data["answer"], data["comment"], meeting_id=meeting_id,
                                          attendees=data["attendees"])
        db.session.commit()
        return item_payload(item)


@blp.route("/series/<int:series_id>/<string:occurrence>/answer")
class OccurrenceAnswer(MethodView):
    @blp.arguments(AnswerSchema)
    @blp.response(200, InvitationItemSchema)
    def put(self, data, series_id, occurrence):
        """Answer for an occurrence of a series, known by the date its rule gave it."""
        business_only()
        item = services.answer_invitation(current_user, data["answer"], data["comment"], series_id=series_id,
                                          occurrence=occurrence_date(occurrence), attendees=data["attendees"])
        db.session.commit()
        return item_payload(item)
