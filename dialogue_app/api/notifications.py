"""GET /api/v1/notifications and POST /api/v1/notifications/{id}/read (API.md): the caller's own only."""

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from ..extensions import db
from ..notifications import services
from .pagination import page_payload
from .schemas import Instant, PageArgsSchema

blp = Blueprint("notifications_api", __name__, url_prefix="/api/v1", description="Notifications")


class NotificationArgsSchema(PageArgsSchema):
    unread = fields.Boolean(load_default=False, metadata={"description": "Only those not read yet."})


class NotificationSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": list(services.KINDS)})
    text = fields.Function(services.describe, required=True,
                           metadata={"type": "string", "description": "In the caller's language."})
    url = fields.String(required=True, metadata={"description": "The page it is about."})
    created_at = Instant(required=True)
    read_at = Instant(allow_none=True, required=True)


class NotificationListSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema), required=True, metadata={"description": "Newest first."})
    unread = fields.Integer(required=True, metadata={"description": "How many of the caller's are unread."})
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "How many there are (unread ones, with unread)."})


class ReadSchema(Schema):
    id = fields.Integer(required=True)
    read_at = Instant(required=True)


@blp.route("/notifications")
class Notifications(MethodView):
    @blp.arguments(NotificationArgsSchema, location="query")
    @blp.response(200, NotificationListSchema)
    def get(self, args):
        """The caller's notifications, newest first, a page at a time (API.md's lists), and how many are unread."""
        return {**page_payload(services.notifications_statement(current_user, unread_only=args["unread"]), args),
                "unread": services.unread_count(current_user)}


@blp.route("/notifications/<int:notification_id>/read")
class ReadNotification(MethodView):
    @blp.response(200, ReadSchema)
    def post(self, notification_id):
        """Mark one of the caller's notifications read (again: no change); another's is not found."""
        notification = services.own_notification(current_user, notification_id) or abort(404)
        services.mark_read(notification)
        db.session.commit()
        return notification
