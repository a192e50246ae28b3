from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort

from ..extensions import db
from ..scheduling import services
from ..scheduling.models import Meeting
from ..scope import get_visible
from .access import staff_only, unit_named
from .schemas import MeetingCreateSchema, MeetingSchema

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
        )
        db.session.commit()
        return meeting


@blp.route("/<int:meeting_id>")
class MeetingItem(MethodView):
    @blp.response(200, MeetingSchema)
    def get(self, meeting_id):
        """One meeting, with its attendees and the issues raised at it."""
        return get_visible(current_user, Meeting, meeting_id) or abort(404)
