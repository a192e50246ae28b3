from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort

from ..attendance import services as attendance
from ..extensions import db
from ..org.models import Business
from ..scheduling import services
from ..scheduling.models import Meeting
from ..scope import get_visible
from .access import businesses_named, staff_only, unit_named
from .schemas import InvitationCreateSchema, MeetingCreateSchema, MeetingInvitationSchema, MeetingSchema

blp = Blueprint("meetings", __name__, url_prefix="/api/v1/meetings", description="Meetings")


@blp.route("")
class Meetings(MethodView):
    @blp.arguments(MeetingCreateSchema)
    @blp.response(201, MeetingSchema)
    def post(self, data):
        """Create a one-off meeting: a thematic session or a visit to a company's premises."""
        staff_only()
        meeting = services.create_meeting(
            title=data["title"], unit=unit_named(data["unit"]), start=data["start"],
            duration_minutes=data["duration_minutes"], location=data["location"], kind=data["kind"],
            description=data["description"],
        )
        db.session.commit()
        return meeting


@blp.route("/<int:meeting_id>")
class MeetingItem(MethodView):
    @blp.response(200, MeetingSchema)
    def get(self, meeting_id):
        """One meeting, with its attendees and the issues raised at it."""
        return get_visible(current_user, Meeting, meeting_id) or abort(404)


def _staff_meeting(meeting_id: int) -> Meeting:
    meeting = get_visible(current_user, Meeting, meeting_id) or abort(404)
    staff_only()
    return meeting


@blp.route("/<int:meeting_id>/invitations")
class MeetingInvitations(MethodView):
    @blp.arguments(InvitationCreateSchema)
    @blp.response(201, MeetingInvitationSchema)
    @blp.alt_response(200, schema=MeetingInvitationSchema, description="The business was invited already")
    def post(self, data, meeting_id):
        """Invite a business to this meeting alone: each of its contacts with an e-mail is sent an iMIP REQUEST
        naming them as attendee, and the meeting appears on its portal and in its feed."""
        meeting = _staff_meeting(meeting_id)
        business = businesses_named([data["business_id"]], "business_id")[0]
        created = attendance.invite_to_meeting(meeting, business) is not None
        db.session.commit()
        return {"meeting_id": meeting.id, "business_id": business.id}, 201 if created else 200


@blp.route("/<int:meeting_id>/invitations/<int:business_id>")
class MeetingInvitationItem(MethodView):
    @blp.response(204)
    def delete(self, meeting_id, business_id):
        """End a business's invitation to this meeting: its contacts are sent a CANCEL; the meeting leaves its
        portal, its feed and its API. 422 when the business is invited through the meeting's series."""
        meeting = _staff_meeting(meeting_id)
        business = get_visible(current_user, Business, business_id)
        if business is None or not attendance.uninvite_from_meeting(meeting, business):
            abort(404, message=_("This business is not invited to this meeting."))
        db.session.commit()
