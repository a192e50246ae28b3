from flask import g
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort

from ..auth import services
from ..auth.models import User
from ..directory import users_statement
from ..extensions import db
from ..scope import get_visible
from .access import admin_only, businesses_named, unit_named
from .pagination import page_payload
from .schemas import PageArgsSchema, PasswordChangeSchema, UserCreateSchema, UserPatchSchema, UserSchema, page_of

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

    @blp.arguments(UserPatchSchema)
    @blp.response(200, UserSchema)
    def patch(self, data, user_id):
        """Change an account (administrators). A new password, role or unit, or `active: false`, ends every
        session, remember cookie and API token of that person."""
        admin_only()
        user = get_visible(current_user, User, user_id) or abort(404)
        if user.id == current_user.id and (data.get("role", user.role) != "admin" or not data.get("active", True)):
            abort(409, message=_("You cannot remove your own administrator access."))
        # A business's account follows its business's unit unless one is named (and then it must be that one).
        kept = None if data.get("role", user.role) == "business" else user.unit
        unit = unit_named(data["unit"]) if data.get("unit") else (None if "unit" in data else kept)
        services.update_user(
            user, name=data.get("name", user.name), role=data.get("role", user.role), unit=unit,
            business=user.business, active=data.get("active", user.active),
            language=data.get("language", user.language), password=data.get("password"),
        )
        db.session.commit()
        return user


@blp.route("/me/password")
class OwnPassword(MethodView):
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    def put(self, data):
        """Set a new password; every other session and API token of the caller ends (this token stays)."""
        services.change_own_password(current_user, current_password=data["current_password"],
                                     new_password=data["new_password"], keep_token=g.get("api_token"))
        db.session.commit()
