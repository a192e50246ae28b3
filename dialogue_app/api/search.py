"""GET /api/v1/search: one search over issues, businesses, contacts, series, meetings and minutes (API.md)."""

from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from ..exceptions import InvalidData
from ..search import services
from ..search.sources import KINDS
from .schemas import Instant, PageArgsSchema, PlannedDate, length, one_of

blp = Blueprint("search_api", __name__, url_prefix="/api/v1", description="Search")


class SearchArgsSchema(PageArgsSchema):
    q = fields.String(load_default="", validate=length(max=2000),
                      metadata={"description": "Words in any order, with or without accents; prefixes match."})
    type = fields.String(validate=one_of(KINDS))
    unit = fields.String(validate=length(min=1, max=32), metadata={"description": "A unit's code: it and below."})
    date_from = PlannedDate(data_key="from")
    date_to = PlannedDate(data_key="to")
    status = fields.String(validate=one_of(services.STATUS_FILTERS))


class SearchHitSchema(Schema):
    type = fields.String(required=True, attribute="kind", metadata={"enum": list(KINDS)})
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    snippet = fields.String(required=True)
    url = fields.String(required=True)
    at = Instant(allow_none=True)
    status = fields.String(required=True)


class SearchPageSchema(Schema):
    items = fields.List(fields.Nested(SearchHitSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={
        "description": "How many were found; per kind, at most the 250 most recent are ranked and counted."})
    more = fields.Boolean(required=True, metadata={"description": "True when some kind had more matches than counted."})
    message = fields.String(required=True, metadata={"description": "Why nothing was searched (a query too short)."})


@blp.route("/search")
class Search(MethodView):
    @blp.arguments(SearchArgsSchema, location="query")
    @blp.response(200, SearchPageSchema)
    def get(self, args):
        """What the caller may open matching `q`, best first: titles holding every word, then the newest."""
        filters = services.Filters(kind=args.get("type"), unit=args.get("unit"), date_from=args.get("date_from"),
                                   date_to=args.get("date_to"), status=args.get("status"))
        try:
            found = services.search(current_user, args["q"], filters, page=args["page"], per_page=args["per_page"],
                                    grouped=False)
        except InvalidData as error:
            abort(422, message=_("Some of the data is not valid"),
                  fields={k: [str(m) for m in v] for k, v in error.fields.items()})
        return {"items": found.hits, "page": args["page"], "per_page": args["per_page"], "total": found.total,
                "more": found.more, "message": found.message}
