"""JSON API v1 (shared/brief/API.md) over the same services as the pages.

flask-smorest validates input with the marshmallow schemas in schemas.py and builds the OpenAPI 3.1
document at /api/v1/openapi.json from those same schemas, so the document cannot drift from the code.
"""

from flask import Flask
from flask_smorest import Api

from ..auth.bearer import authenticate_request
from ..extensions import csrf
from . import (
    businesses,
    invitations,
    issues,
    meetings,
    minutes,
    notifications,
    reference,
    search,
    series,
    signatures,
    tokens,
    topics,
    units,
    users,
)
from .access import refuse_unstorable_text
from .schemas import ErrorSchema, LocalWallTime


class DialogueApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # dialogue_app.errors answers for the whole app: JSON under /api/, a page elsewhere.
        pass


def _no_content_no_type(response):
    """A 204 carries no body, so no Content-Type either (flask-smorest labels it JSON)."""
    if response.status_code == 204:
        response.headers.pop("Content-Type", None)
    return response


def init_api(app: Flask) -> DialogueApi:
    api = DialogueApi(
        spec_kwargs={
            "info": {"description": "Dialogue: partnership dialogues between a public office and businesses."},
            "servers": [{"url": app.config["BASE_URL"]}],
            "security": [{"bearerAuth": []}],
        }
    )
    # A wall time carries no offset, so it is not an RFC 3339 "date-time": a plain string (2027-01-25T08:00).
    api.register_field(LocalWallTime, "string", None)
    api.init_app(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blp in (tokens.blp, units.blp, users.blp, businesses.blp, series.blp, meetings.blp, invitations.blp,
                issues.blp, topics.blp, minutes.blp, signatures.blp, search.blp, notifications.blp):
        api.register_blueprint(blp)
        csrf.exempt(blp)
    app.register_blueprint(reference.bp)
    app.before_request(authenticate_request)
    app.before_request(refuse_unstorable_text)
    app.after_request(_no_content_no_type)
    app.extensions["dialogue-api"] = api
    return api
