from datetime import timedelta

from flask import current_app, g
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort

from ..auth import services
from ..auth.access import mark_sign_in_failed, sign_in_limits
from ..extensions import db
from .schemas import ErrorSchema, TokenRequestSchema, TokenSchema

blp = Blueprint("tokens", __name__, url_prefix="/api/v1/tokens", description="Bearer tokens")


@blp.route("", methods=["POST"])
@blp.arguments(TokenRequestSchema)
@blp.response(201, TokenSchema)
@blp.alt_response(401, schema=ErrorSchema, description="Wrong email or password")
@blp.alt_response(429, schema=ErrorSchema, description="Too many failed attempts")
@blp.doc(security=[])
@sign_in_limits
def create_token(credentials):
    """Exchange an email and password for a bearer token."""
    user = services.authenticate(credentials["email"], credentials["password"])
    if user is None:
        mark_sign_in_failed()
        abort(401, message=_("Wrong email or password."))
    lifetime = timedelta(days=current_app.config["API_TOKEN_LIFETIME_DAYS"])
    token, row = services.issue_token(user, lifetime)
    db.session.commit()
    # The token is a secret: no cache on the way may keep the answer that carries it.
    return {"token": token, "expires_at": row.expires_at}, 201, {"Cache-Control": "no-store"}


@blp.route("/current", methods=["DELETE"])
@blp.response(204)
def revoke_current_token():
    """Revoke the token this call is made with."""
    services.revoke_token(g.api_token)
    db.session.commit()
