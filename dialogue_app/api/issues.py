from flask import request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort

from ..auth.models import User
from ..auth.services import user_by_email
from ..extensions import db
from ..issues import services
from ..issues.models import Issue
from ..org.models import Business
from ..scheduling.models import Meeting
from ..scope import get_visible, is_business
from .access import invalid, staff_only, unit_named
from .pagination import page_payload
from .schemas import (
    IssueCreateSchema,
    IssueDetailSchema,
    IssueListArgsSchema,
    IssueSchema,
    RatingSchema,
    TransitionSchema,
    page_of,
)

blp = Blueprint("issues_api", __name__, url_prefix="/api/v1/issues", description="Issues raised by businesses")


def visible_issue(issue_id: int) -> Issue:
    return services.get_issue(current_user, issue_id) or abort(404)


def issue_etag(issue: Issue) -> str:
    return f'"issue-{issue.id}-v{issue.version}"'


@blp.route("")
class Issues(MethodView):
    @blp.arguments(IssueListArgsSchema, location="query")
    @blp.response(200, page_of(IssueSchema))
    def get(self, args):
        """Issues the caller may see, newest first, filtered by status, unit (and below), business, overdue."""
        stmt = services.issue_query(
            current_user, status=args.get("status"), unit=unit_named(args.get("unit")),
            business_id=args.get("business_id"), topic=args.get("topic"), channel=args.get("channel"),
            overdue=args.get("overdue"),
        )
        return page_payload(stmt, args)

    @blp.arguments(IssueCreateSchema)
    @blp.response(201, IssueDetailSchema)
    def post(self, data):
        """Record an issue a business raised; it waits as "new" at the unit."""
        business = get_visible(current_user, Business, data["business_id"]) or invalid(
            "business_id", _("No business has the id %(id)d.", id=data["business_id"]))
        topic = services.topic_by_code(data["topic"], active=False) or invalid("topic", _("No topic has this code."))
        if is_business(current_user):
            # A business raises its own issues, online, at the unit that serves it.
            if data["channel"] != "web":
                invalid("channel", _("Issues raised online come through the channel “web”."))
            unit = business.unit
        else:
            unit = unit_named(data["unit"])
        meeting = None
        if data["meeting_id"] is not None:
            meeting = get_visible(current_user, Meeting, data["meeting_id"]) or invalid(
                "meeting_id", _("No meeting has the id %(id)d.", id=data["meeting_id"]))
        issue = services.create_issue(
            title=data["title"], description=data["description"], business=business, channel=data["channel"],
            topic=topic, unit=unit, actor=current_user, meeting=meeting, raised_by_name=data["raised_by"],
        )
        db.session.commit()
        return issue


@blp.route("/<int:issue_id>")
class IssueItem(MethodView):
    @blp.response(200, IssueDetailSchema)
    def get(self, issue_id):
        """One issue with its whole history."""
        issue = visible_issue(issue_id)
        return issue, 200, {"ETag": issue_etag(issue)}


@blp.route("/<int:issue_id>/transitions")
class IssueTransitions(MethodView):
    @blp.arguments(TransitionSchema)
    @blp.response(200, IssueDetailSchema)
    def post(self, data, issue_id):
        """Move the issue through the workflow. 409 when the workflow forbids it or the issue changed since
        `version` (or the `If-Match` ETag)."""
        staff_only()
        # The unit rights (scope.UNIT_RIGHTS) are applied by the transition: 409 says why.
        issue = visible_issue(issue_id)
        expected = data["version"]
        # "*" matches whatever version the issue has (RFC 9110); a list matches when it names the current one.
        if request.if_match and not request.if_match.star_tag \
                and not request.if_match.contains(issue_etag(issue).strip('"')):
            expected = -1  # any mismatch is a conflict
        assignee = None
        if data["assignee"]:
            assignee = user_by_email(data["assignee"])
            if assignee is None or get_visible(current_user, User, assignee.id) is None:
                invalid("assignee", _("No officer has this email."))
        services.transition(
            issue, to=data["to"], actor=current_user, note=data["note"], message=data["message"], assignee=assignee,
            due_date=data["due_date"], resolution=data["resolution"], legal_basis=data["legal_basis"],
            expected_version=expected,
        )
        db.session.commit()
        return issue, 200, {"ETag": issue_etag(issue)}


@blp.route("/<int:issue_id>/rating")
class IssueRating(MethodView):
    @blp.arguments(RatingSchema)
    @blp.response(201, RatingSchema)
    def post(self, data, issue_id):
        """The business that raised the issue rates the answer, once it is answered."""
        issue = visible_issue(issue_id)
        rating = services.rate(issue, user=current_user, score=data["score"], comment=data["comment"])
        db.session.commit()
        return rating
