"""Who may call a view, and the limits on signing in."""

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, g, request
from flask_login import current_user, login_required

from ..extensions import limiter
from .models import Role


def roles_required(*roles: Role) -> Callable:
    """The view answers 404 (not 403) to a signed-in user of another role: nothing to learn there."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _submitted_email() -> str:
    data = request.get_json(silent=True) if request.is_json else request.form
    email = data.get("email") if isinstance(data, dict) or hasattr(data, "get") else None
    return str(email or "").strip().lower()[:254]


def _sign_in_failed(response) -> bool:
    return bool(g.get("sign_in_failed"))


def mark_sign_in_failed() -> None:
    g.sign_in_failed = True


def sign_in_limits(view: Callable) -> Callable:
    """Count failed sign-ins (page and API together) per account and per address."""
    view = limiter.shared_limit(
        lambda: current_app.config["LOGIN_FAILURES_PER_ACCOUNT"], scope="sign-in-account",
        key_func=_submitted_email, methods=["POST"], deduct_when=_sign_in_failed,
    )(view)
    view = limiter.shared_limit(
        lambda: current_app.config["LOGIN_FAILURES_PER_ADDRESS"], scope="sign-in-address",
        methods=["POST"], deduct_when=_sign_in_failed,
    )(view)
    return view
