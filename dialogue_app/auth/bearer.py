"""Bearer tokens: every /api/v1 call but the public ones carries one, and the file endpoints (minutes.pdf,
invite.ics) take one as well as a browser session."""

from datetime import timedelta

from flask import abort, g, request
from flask_login import current_user

from ..db import utcnow
from ..extensions import db
from .services import token_row

# Endpoints that answer without a token: signing in, and the API's own description.
PUBLIC_ENDPOINTS = frozenset({"tokens.create_token", "api-docs.openapi_json"})
# How stale a token's last use may get before it is written again: one write per call would turn
# every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate_request() -> None:
    """Sign the request in from its bearer token; a session cookie does not count for the API.

    The API is exempt from CSRF, which is safe only because browsers never send a bearer token by
    themselves.
    """
    if not request.path.startswith("/api/v1/") or request.endpoint in PUBLIC_ENDPOINTS:
        return
    if request.endpoint is None:  # unknown path or method: let routing answer 404/405
        return
    sign_in_by_token()


def sign_in_by_token():
    """The request's bearer token, made the signed-in user for this request; 401 when it is missing, wrong,
    expired or revoked."""
    token = bearer_token()
    row = token_row(token) if token else None
    if row is None:
        abort(401)
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
        db.session.commit()
    g.api_token = row
    # Flask-Login caches the signed-in user here; setting it makes `current_user` the token's user
    # for the services, the audit trail and the language of messages, without touching the session.
    g._login_user = row.user
    return row.user


def file_reader():
    """Who asks for a file endpoint (minutes.pdf, invite.ics): the bearer token's user when the request carries
    one (a wrong or expired token is 401, never a fall-back to the session), else the signed-in user, else
    None (the caller then sends browsers to the sign-in page). Another scheme (`Basic`, which a proxy in front
    of the site may add for itself) is not ours: the session decides."""
    scheme = request.headers.get("Authorization", "").partition(" ")[0]
    if scheme.lower() == "bearer":
        return sign_in_by_token()
    return current_user if current_user.is_authenticated else None
