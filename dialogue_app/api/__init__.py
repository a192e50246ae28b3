"""JSON API v1 (shared/brief/API.md) over the same services as the pages.

flask-smorest validates input with the marshmallow schemas in schemas.py and builds the OpenAPI 3.1
document at /api/v1/openapi.json from those same schemas, so the document cannot drift from the code.
"""

from flask import Flask
from flask_smorest import Api

from ..extensions import csrf
from .access import refuse_unstorable_text
from .auth import authenticate_request
from .schemas import ErrorSchema, LocalWallTime


class DialogueApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # dialogue_app.errors answers for the whole app: JSON under /api/, a page elsewhere.
        pass


def init_api(app: Flask) -> DialogueApi:
    from .businesses import blp as businesses_blp
    from .issues import blp as issues_blp
    from .meetings import blp as meetings_blp
    from .minutes import blp as minutes_blp
    from .reference import bp as reference_bp
    from .search import blp as search_blp
    from .series import blp as series_blp
    from .tokens import blp as tokens_blp
    from .units import blp as units_blp
    from .users import blp as users_blp

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
    for blp in (tokens_blp, units_blp, users_blp, businesses_blp, series_blp, meetings_blp, issues_blp,
                minutes_blp, search_blp):
        api.register_blueprint(blp)
        csrf.exempt(blp)
    app.register_blueprint(reference_bp)
    app.before_request(authenticate_request)
    app.before_request(refuse_unstorable_text)
    app.extensions["dialogue-api"] = api
    return api
