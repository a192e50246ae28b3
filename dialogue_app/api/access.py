"""Who may write through the API, and lookups that answer 404/422 the way the contract says."""

import re

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import abort

from ..org.models import Business, Unit
from ..scope import get_unit_by_code, get_visible, is_admin, is_business


def admin_only() -> None:
    if not is_admin(current_user):
        abort(403, message=_("Only an administrator may do this."))


def staff_only() -> None:
    """Businesses read; staff (organisers, managers, admins) change schedules."""
    if is_business(current_user):
        abort(403, message=_("Only the office's staff may do this."))


def invalid(field: str, message: str):
    abort(422, message=_("Some of the data is not valid"), fields={field: [message]})


# Text no database keeps: a NUL character (PostgreSQL refuses it) or half of a surrogate pair (JSON can
# spell one, "\ud800", but it has no UTF-8).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
SURROGATE = re.compile("[\ud800-\udfff]")
# The minutes take text pasted from documents as it comes, and their service drops its NULs itself.
DROPS_NUL = frozenset({"minutes_api.MeetingMinutes"})


# No body of the API nests deeper than a few levels; a deeper one is refused before anything walks it (the
# parser and the validators recurse, and would run out of stack).
MAX_JSON_DEPTH = 32


def _unstorable_field(body, pattern: re.Pattern) -> str | None:
    """The name of the first string in the JSON `body` that `pattern` finds in, dotted like webargs' errors;
    a 400 when the body nests deeper than MAX_JSON_DEPTH."""
    stack = [(body, "", 0)]
    while stack:
        value, name, depth = stack.pop()
        if isinstance(value, str):
            if pattern.search(value):
                return name or "_body"
            continue
        if depth > MAX_JSON_DEPTH:
            abort(400, message=_("Invalid JSON body."))
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        stack.extend((item, f"{name}.{key}" if name else str(key), depth + 1) for key, item in reversed(list(items)))
    return None


def refuse_unstorable_text() -> None:
    """Text that could not be stored gets no further than the door, on every database: a path naming it
    names nothing (404), a query or body field holding it is not valid (422). Nor does a body nested too deep
    to walk (400)."""
    if not request.path.startswith("/api/v1/") or request.endpoint is None:
        return
    if any(isinstance(value, str) and UNSTORABLE.search(value) for value in (request.view_args or {}).values()):
        abort(404)
    field = next((name for name, value in request.args.items(multi=True) if UNSTORABLE.search(value)), None)
    if field is None and request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # nested too deep for the parser itself
            abort(400, message=_("Invalid JSON body."))
        # Whatever the parser refused (a number of more digits than Python converts, say) is refused here, once,
        # rather than by each reader of the body after it.
        if body is None and request.get_data(cache=True).strip() not in (b"", b"null"):
            abort(400, message=_("Invalid JSON body."))
        field = _unstorable_field(body, SURROGATE if request.endpoint in DROPS_NUL else UNSTORABLE)
    if field is not None:
        invalid(field, _("Not a valid string."))


def unit_named(code: str | None, field: str = "unit") -> Unit | None:
    """The unit with this code within the caller's scope, or a 422 naming the field."""
    if not code:
        return None
    unit = get_unit_by_code(current_user, code)
    if unit is None:
        invalid(field, _("No unit has this code."))
    return unit


def businesses_named(ids: list[int], field: str) -> list[Business]:
    found = []
    for ident in dict.fromkeys(ids):
        business = get_visible(current_user, Business, ident)
        if business is None:
            invalid(field, _("No business has the id %(id)d.", id=ident))
        found.append(business)
    return found
