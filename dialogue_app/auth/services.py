"""Accounts and API tokens: plain data in, objects out."""

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import utcnow
from ..exceptions import Conflict, InvalidData
from ..extensions import db, has_rows
from ..org.models import Business, Unit
from .models import ApiToken, Role, User

MIN_PASSWORD_LENGTH = 10
# Checked against when the email is unknown, so a wrong email costs the same time as a wrong password
# and the answer's timing does not tell which accounts exist.
@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16), method="scrypt")


def normalize_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise InvalidData.on("email", _l("This is not a valid email address.")) from None


def user_by_email(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()


def active_user(user_id: int) -> User | None:
    """The account signed in with this id, unless it has been deactivated since."""
    user = db.session.get(User, user_id)
    return user if user is not None and user.active else None


def _check_placement(role: Role, unit: Unit | None, business: Business | None) -> None:
    if role != Role.ADMIN and unit is None:
        raise InvalidData.on("unit", _l("Choose the unit this person works in."))
    if role == Role.BUSINESS and business is None:
        raise InvalidData.on("business_id", _l("A business account must be linked to its business."))
    if role != Role.BUSINESS and business is not None:
        raise InvalidData.on("business_id", _l("Only business accounts are linked to a business."))


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidData.on(
            "password", _l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
        )


def create_user(*, email: str, name: str, password: str, role: str, unit: Unit | None = None,
                business: Business | None = None, language: str = "vi") -> User:
    """Create an account; raises InvalidData (bad field) or Conflict (email taken)."""
    email = normalize_email(email)
    role = Role(role)
    if business is not None and unit is None:
        unit = business.unit
    _check_placement(role, unit, business)
    check_password_strength(password)
    if user_by_email(email) is not None:
        raise Conflict.on("email", _l("An account with this email already exists."))
    user = User(email=email, name=name.strip(), role=role.value, unit=unit, business=business,
                language=language, active=True)
    user.set_password(password)
    db.session.add(user)
    return user


def update_user(user: User, *, name: str, role: str, unit: Unit | None, business: Business | None,
                active: bool, language: str, password: str | None = None) -> User:
    role = Role(role)
    _check_placement(role, unit, business)
    user.name, user.role, user.unit, user.business = name.strip(), role.value, unit, business
    user.active, user.language = active, language
    if password:
        check_password_strength(password)
        user.set_password(password)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None: the caller cannot tell which part was wrong."""
    user = user_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, lifetime: timedelta) -> tuple[str, ApiToken]:
    """A new bearer token (256 random bits) for `user`: the clear token, shown once, and its row."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(user=user, token_hash=_hash_token(token), expires_at=utcnow() + lifetime)
    db.session.add(row)
    return token, row


def token_row(token: str, now: datetime | None = None) -> ApiToken | None:
    """The live token row for this clear token (not expired, not revoked, user active), else None."""
    now = now or utcnow()
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == _hash_token(token))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.active:
        return None
    return row


def revoke_token(row: ApiToken) -> None:
    row.revoked_at = utcnow()


def users_under(unit) -> str | None:
    """A unit cannot be deleted while people belong to it (receiver of signals.unit_deleting)."""
    return _l("users") if has_rows(select(User.id).where(User.unit_id == unit.id)) else None
