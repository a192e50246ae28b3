from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort

from ..directory import units_statement
from ..extensions import db
from ..org import services
from ..scope import get_unit_by_code
from .access import admin_only, unit_named
from .pagination import page_payload
from .schemas import PageArgsSchema, UnitSchema, page_of

blp = Blueprint("units", __name__, url_prefix="/api/v1/units", description="Units of the hierarchy")


@blp.route("")
class Units(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_of(UnitSchema))
    def get(self, args):
        """The units the caller may see: their unit and the units below it."""
        return page_payload(units_statement(current_user), args, feed_kind="unit")

    @blp.arguments(UnitSchema)
    @blp.response(201, UnitSchema)
    def post(self, data):
        """Create a unit (administrators)."""
        admin_only()
        parent = unit_named(data.get("parent"), "parent")
        unit = services.create_unit(code=data["code"], name=data["name"], level=data["level"], parent=parent)
        db.session.commit()
        return unit


@blp.route("/<code>")
class UnitByCode(MethodView):
    @blp.response(200, UnitSchema)
    def get(self, code):
        """One unit, by its code."""
        return get_unit_by_code(current_user, code) or abort(404)
