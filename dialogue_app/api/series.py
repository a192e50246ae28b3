from datetime import date, datetime, time, timedelta

from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort

from .. import officetime
from ..extensions import db
from ..org.models import Business
from ..scheduling import services
from ..scheduling.models import Series
from ..scope import get_visible
from .access import businesses_named, staff_only, unit_named
from .pagination import page_payload
from .schemas import (
    InvitationCreateSchema,
    MeetingSchema,
    OccurrenceListSchema,
    OccurrencePatchSchema,
    OccurrenceSchema,
    OccurrenceWindowSchema,
    PageArgsSchema,
    SeriesCreateSchema,
    SeriesInvitationSchema,
    SeriesSchema,
    page_of,
)

blp = Blueprint("series", __name__, url_prefix="/api/v1/series", description="Recurring meetings and occurrences")


def visible_series(series_id: int) -> Series:
    return get_visible(current_user, Series, series_id) or abort(404)


def occurrence_payload(series: Series, occurrences) -> list[dict]:
    """Occurrences as the API gives them, with the meeting each has become, found in one query."""
    meeting_ids = services.meeting_ids(series, [o.occurrence for o in occurrences])
    return [{
        "occurrence": o.occurrence, "start": o.start, "end": o.end, "status": o.status.value,
        "holiday": o.holiday, "meeting_id": meeting_ids.get(o.occurrence), "location": o.location or series.location,
    } for o in occurrences]


@blp.route("")
class SeriesCollection(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_of(SeriesSchema))
    def get(self, args):
        """The series the caller may see."""
        return page_payload(services.series_statement(current_user), args, feed_kind="series")

    @blp.arguments(SeriesCreateSchema)
    @blp.response(201, SeriesSchema)
    def post(self, data):
        """Create a recurring meeting: an RFC 5545 rule from a first start in local wall time."""
        staff_only()
        series = services.create_series(
            title=data["title"], unit=unit_named(data["unit"]), location=data["location"], rule=data["rrule"],
            first_start=data["dtstart"], duration_minutes=data["duration_minutes"], timezone=data["timezone"],
            holiday_policy=data["holiday_policy"], kind=data["kind"], description=data["description"],
            invitees=businesses_named(data["invitees"], "invitees"),
        )
        db.session.commit()
        return series


@blp.route("/<int:series_id>")
class SeriesItem(MethodView):
    @blp.response(200, SeriesSchema)
    def get(self, series_id):
        """One series."""
        return visible_series(series_id)


def _window_bound(value, zone, default: datetime) -> datetime:
    if value is None:
        return default
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time.min).replace(tzinfo=zone)
    return value


@blp.route("/<int:series_id>/occurrences")
class Occurrences(MethodView):
    @blp.arguments(OccurrenceWindowSchema, location="query")
    @blp.response(200, OccurrenceListSchema)
    def get(self, window, series_id):
        """Occurrences starting in [from, to); dates are read in the series' zone and `to` is inclusive.

        Without `from`, from today; without `to`, one year after `from`; at most 5 years.
        """
        series = visible_series(series_id)
        zone = services.series_zone(series)
        start = _window_bound(window["from_"], zone, datetime.combine(officetime.today_in(zone), time.min, tzinfo=zone))
        end = window["to"]
        if isinstance(end, date) and not isinstance(end, datetime):
            end = datetime.combine(end + timedelta(days=1), time.min).replace(tzinfo=zone)
        end = end or start + timedelta(days=366)
        return {"items": occurrence_payload(series, services.occurrences(series, start, end))}


def occurrence_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(404)


@blp.route("/<int:series_id>/occurrences/<string:occurrence>")
class OccurrenceItem(MethodView):
    @blp.arguments(OccurrencePatchSchema)
    @blp.response(200, OccurrenceSchema)
    def patch(self, data, series_id, occurrence):
        """Move, relocate, cancel or restore one occurrence, known by the date the rule produced."""
        series = visible_series(series_id)
        staff_only()
        changed = services.change_occurrence(series, occurrence_date(occurrence), start=data.get("start"),
                                             location=data.get("location"), status=data.get("status"))
        db.session.commit()
        return occurrence_payload(series, [changed])[0]


@blp.route("/<int:series_id>/occurrences/<string:occurrence>/meeting")
class OccurrenceMeeting(MethodView):
    @blp.response(201, MeetingSchema)
    @blp.alt_response(200, schema=MeetingSchema, description="The meeting already existed")
    def post(self, series_id, occurrence):
        """Make the occurrence a meeting (for attendance, issues, minutes); once only."""
        series = visible_series(series_id)
        staff_only()
        meeting, created = services.meeting_for(series, occurrence_date(occurrence))
        db.session.commit()
        return meeting, 201 if created else 200


@blp.route("/<int:series_id>/invitations")
class SeriesInvitations(MethodView):
    @blp.arguments(InvitationCreateSchema)
    @blp.response(201, SeriesInvitationSchema)
    @blp.alt_response(200, schema=SeriesInvitationSchema, description="The business was invited already")
    def post(self, data, series_id):
        """Invite a business to every meeting of the series: each of its contacts with an e-mail is sent the
        series' iMIP REQUEST naming them as attendee."""
        series = visible_series(series_id)
        staff_only()
        business = businesses_named([data["business_id"]], "business_id")[0]
        created = services.invite_to_series(series, business)
        db.session.commit()
        return {"series_id": series.id, "business_id": business.id}, 201 if created else 200


@blp.route("/<int:series_id>/invitations/<int:business_id>")
class SeriesInvitationItem(MethodView):
    @blp.response(204)
    def delete(self, series_id, business_id):
        """End a business's invitation to the series: its contacts are sent a CANCEL, and its access to the
        series (API, portal and its key to the series' feed) ends at once."""
        series = visible_series(series_id)
        staff_only()
        business = get_visible(current_user, Business, business_id)
        if business is None or not services.uninvite_from_series(series, business):
            abort(404, message=_("This business is not invited to this series."))
        db.session.commit()
