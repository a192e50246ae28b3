"""Error answers: a page in the reader's language, or the API's JSON error shape under /api/.

No input, however malformed, is answered with a traceback; a 500 is logged and answered politely.
"""

import math
import time

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from .exceptions import Conflict, InvalidData, ServiceError
from .extensions import db, limiter

API_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "bad_request",  # API.md's list is closed: a method the address does not take is a bad request (405)
    409: "conflict",
    413: "bad_request",
    415: "bad_request",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}

TITLES = {
    400: _l("The request could not be understood"),
    401: _l("Please sign in"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    409: _l("This conflicts with the current data"),
    413: _l("The upload is too large"),
    422: _l("Some of the data is not valid"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("The service is briefly unavailable"),
}

# The API speaks of resources and tokens, not pages.
API_MESSAGES = {
    401: _l("A valid bearer token is required."),
    404: _l("Not found."),
    405: _l("This method is not allowed on this resource."),
}

DESCRIPTIONS = {
    400: _l("Check what you entered and try again."),
    401: _l("Sign in to continue."),
    403: _l("Ask an administrator if you think you should have access."),
    404: _l("The address may be mistyped, or the page is not available to you."),
    405: _l("Go back and use the buttons on the page."),
    409: _l("Reload the page to see the latest data, then try again."),
    413: _l("Choose a smaller file."),
    422: _l("Check what you entered and try again."),
    500: _l("The error has been logged. Nothing was saved; please try again in a moment."),
    503: _l("The database is not answering for the moment. Nothing was saved; please try again in a minute."),
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def retry_after_minutes() -> int:
    limit = limiter.current_limit
    if limit is None:
        return 1
    # Flask-Limiter rounds the reset up to the next whole second, so a window just opened can read as 900.4 s
    # away: never say more minutes than the window has ("16 minutes" for a 15-minute lock).
    window_minutes = math.ceil(limit.limit.get_expiry() / 60)
    return max(1, min(window_minutes, math.ceil((limit.reset_at - time.time()) / 60)))


def api_error(status: int, message: str, fields: dict | None = None, headers: dict | None = None):
    body = {"error": {"code": API_CODES.get(status, "bad_request" if status < 500 else "server_error"),
                      "message": message, "fields": fields or {}}}
    response = jsonify(body)
    response.status_code = status
    if status == 401:  # RFC 6750: a 401 names the scheme it asks for
        response.headers["WWW-Authenticate"] = 'Bearer realm="Dialogue API"'
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten(messages, prefix: str, out: dict[str, list[str]]) -> None:
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            _flatten(value, name, out)
    elif isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        out.setdefault(prefix or "_body", []).extend(_(m) for m in messages)
    elif isinstance(messages, list | tuple):
        for index, value in enumerate(messages):
            _flatten(value, f"{prefix}.{index}" if prefix else str(index), out)
    else:
        out.setdefault(prefix or "_body", []).append(_(str(messages)))


def _fields_from_webargs(messages) -> dict[str, list[str]]:
    """webargs reports {"json": {"email": ["..."]}}; the API names the field alone: {"email": ["..."]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for location_messages in messages.values():
            _flatten(location_messages, "", out)
    return out


def _message(status: int) -> str:
    if status == 429:
        return ngettext("Too many failed attempts. Try again in %(num)d minute.",
                        "Too many failed attempts. Try again in %(num)d minutes.", retry_after_minutes())
    return str(TITLES.get(status, TITLES[500]))


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    if status >= 500:
        db.session.rollback()
    headers = dict(error.get_headers()) if status in (405, 429) else {}
    headers.pop("Content-Type", None)
    if wants_json():
        data = getattr(error, "data", None) or {}
        fields = data.get("fields") or _fields_from_webargs(data.get("messages"))
        message = data.get("message") or API_MESSAGES.get(status) or _message(status)
        return api_error(status, str(message), fields, headers)
    body = render_template(
        "errors/error.html", status=status, title=TITLES.get(status, TITLES[500]),
        description=_message(status) if status == 429 else DESCRIPTIONS.get(status, ""),
    )
    return body, status, headers


def handle_csrf_error(error: CSRFError):
    if wants_json():
        return api_error(400, _("The form has expired. Reload the page and try again."))
    return render_template(
        "errors/error.html", status=400, title=_("The form has expired"),
        description=_("Reload the page and try again; nothing was saved."),
    ), 400


def handle_service_error(error: ServiceError):
    db.session.rollback()
    fields = {k: [str(m) for m in v] for k, v in error.fields.items()}
    if wants_json():
        return api_error(error.status, str(error.message), fields)
    return render_template(
        "errors/error.html", status=error.status, title=TITLES.get(error.status, TITLES[400]),
        description=str(error.message),
    ), error.status


def handle_out_of_range(error: OverflowError):
    """A number or date too large for the arithmetic: the input was out of range, not a fault of ours."""
    db.session.rollback()
    return handle_service_error(InvalidData(_l("A number or date is out of range.")))


def handle_concurrent_change(error: Exception):
    """Two people saved the same thing at once (a version check or a unique key caught it)."""
    db.session.rollback()
    return handle_service_error(Conflict(
        _l("Someone else changed this at the same time. Nothing of yours was saved: reload and try again.")))


def handle_unexpected(error: Exception):
    # Logged with its traceback; the person sees a polite page and nothing half-written is kept.
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    return handle_http_exception(InternalServerError())


def handle_database_unavailable(error: Exception):
    """The database did not answer (down, restarting, unreachable, locked, out of connections): 503, "try again".

    Nothing of the request is kept. The page is written without the database: the person is not looked up
    again (that is a query), so it is the page a visitor sees, in the language of the session or Vietnamese.
    """
    current_app.logger.warning("Database unavailable on %s %s: %s", request.method, request.path,
                               str(error).splitlines()[0] if str(error) else type(error).__name__)
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the connection is gone for good: drop it, a new one is made next time
        db.session.close()
    current_app.login_manager._update_request_context_with_user()  # anonymous, without a query
    message = str(DESCRIPTIONS[503])
    headers = {"Retry-After": "30"}
    if wants_json():
        return api_error(503, message, headers=headers)
    return render_template("errors/error.html", status=503, title=TITLES[503], description=message), 503, headers


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ServiceError, handle_service_error)
    app.register_error_handler(OverflowError, handle_out_of_range)
    app.register_error_handler(StaleDataError, handle_concurrent_change)
    app.register_error_handler(IntegrityError, handle_concurrent_change)
    for error in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(error, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
