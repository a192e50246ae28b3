"""Who may call a view, and the limits on signing in.

Failed sign-ins are throttled as OWASP's authentication cheat sheet advises, so that guessing is slow and
nobody can lock a known account (the administrator's) out by typing wrong passwords for it:
- per account and source address: a few failures, then that address waits for that account;
- per account from anywhere: many more (a guess spread over many addresses), then untrusted devices wait;
- per source address: many more (one address trying many accounts; an office behind one NAT stays in);
- a trusted device (a browser the person signed in from before: a signed cookie naming the account) is
  counted on its own instead, so the real person still gets in while someone else hammers the account.
The counters live in Flask-Limiter's storage: Redis when REDIS_URL is set (shared by every worker and server),
else the process's memory (one worker).
"""

import secrets
from collections.abc import Callable

from flask import current_app, g, request
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..extensions import limiter

DEVICE_COOKIE = "dialogue_device"
DEVICE_DAYS = 180


def _submitted_email() -> str:
    data = request.get_json(silent=True) if request.is_json else request.form
    email = data.get("email") if isinstance(data, dict) or hasattr(data, "get") else None
    return str(email or "").strip().lower()[:254]


def _sign_in_failed(response) -> bool:
    return bool(g.get("sign_in_failed"))


def mark_sign_in_failed() -> None:
    g.sign_in_failed = True


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="trusted-device")


def trusted_device() -> str | None:
    """The id of this browser when it carries a trusted-device cookie for the account being signed in to."""
    if "trusted_device" not in g:
        g.trusted_device = None
        raw = request.cookies.get(DEVICE_COOKIE)
        if raw and len(raw) < 1000:
            try:
                data = _serializer().loads(raw, max_age=DEVICE_DAYS * 86400)
            except BadSignature:
                data = None
            if isinstance(data, dict) and data.get("e") == _submitted_email() and isinstance(data.get("d"), str):
                g.trusted_device = data["d"]
    return g.trusted_device


def remember_device(response, email: str):
    """After a successful sign-in: this browser is trusted for this account from now on (httpOnly, signed)."""
    value = _serializer().dumps({"e": email.strip().lower(), "d": secrets.token_urlsafe(16)})
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")), path="/")
    return response


def _untrusted() -> bool:
    return trusted_device() is None


def _trusted() -> bool:
    return trusted_device() is not None


def _account_and_source() -> str:
    return f"{_submitted_email()}|{get_remote_address()}"


def sign_in_limits(view: Callable) -> Callable:
    """Count failed sign-ins (page and API together): per account and address, per account, per address, and
    per trusted device instead of those three for a browser the person signed in from before."""
    view = limiter.shared_limit(
        lambda: current_app.config["LOGIN_FAILURES_PER_ACCOUNT"], scope="sign-in-account-source",
        key_func=_account_and_source, methods=["POST"], deduct_when=_sign_in_failed, exempt_when=_trusted,
    )(view)
    view = limiter.shared_limit(
        lambda: current_app.config["LOGIN_FAILURES_PER_ACCOUNT_ANYWHERE"], scope="sign-in-account",
        key_func=_submitted_email, methods=["POST"], deduct_when=_sign_in_failed, exempt_when=_trusted,
    )(view)
    view = limiter.shared_limit(
        lambda: current_app.config["LOGIN_FAILURES_PER_ADDRESS"], scope="sign-in-address",
        methods=["POST"], deduct_when=_sign_in_failed, exempt_when=_trusted,
    )(view)
    view = limiter.shared_limit(
        lambda: current_app.config["LOGIN_FAILURES_PER_DEVICE"], scope="sign-in-device",
        key_func=lambda: trusted_device() or "-", methods=["POST"], deduct_when=_sign_in_failed,
        exempt_when=_untrusted,
    )(view)
    return view
