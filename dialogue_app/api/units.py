from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from ..auth.models import Role
from ..extensions import db
from ..org import services
from ..org.models import Unit
from ..scope import get_unit_by_code, visible_units_condition
from .pagination import page_payload
from .schemas import PageArgsSchema, UnitSchema, page_of

blp = Blueprint("units", __name__, url_prefix="/api/v1/units", description="Units of the hierarchy")


def admin_only() -> None:
    if current_user.role != Role.ADMIN:
        abort(403, message=_("Only an administrator may do this."))


@blp.route("")
class Units(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_of(UnitSchema))
    def get(self, args):
        """The units the caller may see: their unit and the units below it."""
        stmt = (select(Unit).where(visible_units_condition(current_user)).order_by(Unit.path)
                .options(db.joinedload(Unit.parent)))
        return page_payload(stmt, args)

    @blp.arguments(UnitSchema)
    @blp.response(201, UnitSchema)
    def post(self, data):
        """Create a unit (administrators)."""
        admin_only()
        parent = None
        if data.get("parent"):
            parent = services.unit_by_code(data["parent"])
            if parent is None:
                abort(422, message=_("Some of the data is not valid"),
                      fields={"parent": [_("No unit has this code.")]})
        unit = services.create_unit(code=data["code"], name=data["name"], level=data["level"], parent=parent)
        db.session.commit()
        return unit


@blp.route("/<code>")
class UnitByCode(MethodView):
    @blp.response(200, UnitSchema)
    def get(self, code):
        """One unit, by its code."""
        return get_unit_by_code(current_user, code) or abort(404)
