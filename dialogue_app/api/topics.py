from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from ..issues.services import topics_statement
from .pagination import page_payload
from .schemas import PageArgsSchema, TopicSchema, page_of

blp = Blueprint("topics_api", __name__, url_prefix="/api/v1/topics", description="What issues are about")


@blp.route("")
class Topics(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_of(TopicSchema))
    def get(self, args):
        """The topics an issue may be recorded under (`code` in POST /api/v1/issues): staff read them all, in
        use or not; a business user the ones in use (a sensitive one among them: an officer's conduct, which only
        managers handle)."""
        return page_payload(topics_statement(current_user), args)
