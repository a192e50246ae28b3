from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort

from ..auth import services
from ..auth.models import User
from ..directory import users_statement
from ..extensions import db
from ..scope import get_visible
from .access import admin_only, businesses_named, unit_named
from .pagination import page_payload
from .schemas import PageArgsSchema, UserCreateSchema, UserSchema, page_of

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Accounts")


@blp.route("")
class Users(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_of(UserSchema))
    def get(self, args):
        """The accounts the caller may see."""
        return page_payload(users_statement(current_user), args)

    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Create an account (administrators)."""
        admin_only()
        unit = unit_named(data["unit"])
        business = None
        if data["business_id"] is not None:
            business = businesses_named([data["business_id"]], "business_id")[0]
        user = services.create_user(
            email=data["email"], name=data["name"], password=data["password"], role=data["role"],
            unit=unit, business=business, language=data["language"],
        )
        db.session.commit()
        return user


@blp.route("/<int:user_id>")
class UserById(MethodView):
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """One account."""
        return get_visible(current_user, User, user_id) or abort(404)
