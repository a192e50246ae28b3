from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort

from ..attendance import services as attendance
from ..directory import businesses_statement, visible_contact
from ..extensions import db
from ..minutes.services import check_attendance_open
from ..org import services
from ..org.models import Business
from ..scheduling.models import Meeting
from ..scope import get_visible
from .access import invalid, staff_only, unit_named
from .pagination import page_payload
from .schemas import (
    AttendeeCreateSchema,
    AttendeeSchema,
    BusinessCreateSchema,
    BusinessDetailSchema,
    BusinessListArgsSchema,
    BusinessSchema,
    ContactSchema,
    page_of,
)

blp = Blueprint("businesses", __name__, url_prefix="/api/v1", description="Businesses, contacts, attendance")


def visible_business(business_id: int) -> Business:
    return get_visible(current_user, Business, business_id) or abort(404)


@blp.route("/businesses")
class Businesses(MethodView):
    @blp.arguments(BusinessListArgsSchema, location="query")
    @blp.response(200, page_of(BusinessSchema))
    def get(self, args):
        """Businesses the caller may see; `q` matches the name without accents or case, or the tax code."""
        return page_payload(businesses_statement(current_user, args.get("q", "").strip() or None), args)

    @blp.arguments(BusinessCreateSchema)
    @blp.response(201, BusinessSchema)
    def post(self, data):
        """Register a business (422 for a tax code that is not valid, 409 when it is registered already)."""
        staff_only()
        business = services.create_business(tax_code=data["tax_code"], name=data["name"], address=data["address"],
                                            unit=unit_named(data["unit"]))
        db.session.commit()
        return business


@blp.route("/businesses/<int:business_id>")
class BusinessItem(MethodView):
    @blp.response(200, BusinessDetailSchema)
    def get(self, business_id):
        """A business with its contacts."""
        return visible_business(business_id)


@blp.route("/businesses/<int:business_id>/contacts")
class BusinessContacts(MethodView):
    @blp.arguments(ContactSchema)
    @blp.response(201, ContactSchema)
    def post(self, data, business_id):
        """Add a person at the business."""
        business = visible_business(business_id)
        staff_only()
        contact = services.add_contact(business, name=data["name"], email=data["email"], phone=data["phone"],
                                       position=data["position"])
        db.session.commit()
        return contact


@blp.route("/meetings/<int:meeting_id>/attendees")
class MeetingAttendees(MethodView):
    @blp.arguments(AttendeeCreateSchema)
    @blp.response(201, AttendeeSchema)
    def post(self, data, meeting_id):
        """Record who came: an invited contact (`contact_id`), or anyone else by name."""
        meeting = get_visible(current_user, Meeting, meeting_id) or abort(404)
        staff_only()
        check_attendance_open(meeting)  # Conflict (409) once the minutes, which print it, are final
        status = "present" if data["present"] else "absent"
        if data.get("contact_id") is not None:
            contact = visible_contact(current_user, data["contact_id"])
            if contact is None:
                invalid("contact_id", _("No contact has the id %(id)d.", id=data["contact_id"]))
            attendee = attendance.check_in(meeting, contact, status)
        else:
            if not data.get("name"):
                invalid("name", _("Give a contact_id, or the person's name."))
            business = None
            if data.get("business_id") is not None:
                business = get_visible(current_user, Business, data["business_id"]) or invalid(
                    "business_id", _("No business has the id %(id)d.", id=data["business_id"]))
            attendee = attendance.add_walk_in(meeting, name=data["name"], organisation=data.get("organisation", ""),
                                              role=data["role"], business=business)
            attendance.set_attendance(attendee, status)
        if data["role"]:
            attendee.role = data["role"]
        db.session.commit()
        return attendee
