"""Who may write through the API, and lookups that answer 404/422 the way the contract says."""

from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import abort

from ..auth.models import Role
from ..org.models import Business, Unit
from ..scope import get_unit_by_code, get_visible


def admin_only() -> None:
    if current_user.role != Role.ADMIN:
        abort(403, message=_("Only an administrator may do this."))


def staff_only() -> None:
    """Businesses read; staff (organisers, managers, admins) change schedules."""
    if current_user.role == Role.BUSINESS:
        abort(403, message=_("Only the office's staff may do this."))


def invalid(field: str, message: str):
    abort(422, message=_("Some of the data is not valid"), fields={field: [message]})


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
