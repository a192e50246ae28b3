"""Accounts and API tokens: plain data in, objects out."""

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, bindparam, select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import signals
from ..db import utcnow
from ..exceptions import Conflict, InvalidData
from ..extensions import db, has_rows
from ..org.models import Business, Unit
from .models import ApiToken, Role, User, UserSession

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


def _unit_of(role: Role, unit: Unit | None, business: Business | None) -> Unit | None:
    """A business's account belongs to the unit that serves its business (another would show it that unit's
    lists): another unit named is refused, none named is that one; staff belong to the unit named."""
    if role == Role.BUSINESS and business is not None:
        if unit is not None and unit.id != business.unit_id:
            raise InvalidData.on("unit", _l("A business's account belongs to the unit that serves its business: "
                                            "%(unit)s.", unit=business.unit.name))
        return business.unit
    return unit


def check_password_strength(password: str, field: str = "password") -> None:
    """Raises InvalidData on `field` (the name the caller's form or payload gives the password)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidData.on(
            field, _l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
        )
    # Twelve spaces, or one letter typed twelve times, have the length and none of the strength.
    if len(set(password.strip())) < 3:
        raise InvalidData.on(field, _l("This password is too easy to guess: use several different characters."))


def create_user(*, email: str, name: str, password: str, role: str, unit: Unit | None = None,
                business: Business | None = None, language: str = "vi") -> User:
    """Create an account; raises InvalidData (bad field) or Conflict (email taken)."""
    email = normalize_email(email)
    role = Role(role)
    unit = _unit_of(role, unit, business)
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
    """Change an account. A new password, role or unit, or deactivation, ends every session, remember cookie and
    API token of the person: what they were let in for has changed, and a stolen cookie must not outlive it."""
    role = Role(role)
    unit = _unit_of(role, unit, business)
    _check_placement(role, unit, business)
    if password:
        check_password_strength(password)
    moved = role.value != user.role or unit != user.unit or business != user.business
    changed_rights = moved or (user.active and not active) or bool(password)
    user.name, user.role, user.unit, user.business = name.strip(), role.value, unit, business
    user.active, user.language = active, language
    if password:
        user.set_password(password)
    if changed_rights:
        end_sessions(user)
    if moved:
        db.session.flush()
        signals.rights_changed.send(user)
    return user


def change_own_password(user: User, *, current_password: str, new_password: str, keep_session: str | None = None,
                        keep_token: ApiToken | None = None) -> None:
    """The person sets a new password; every other session and token of theirs ends (the one in use stays)."""
    if not user.check_password(current_password):
        raise InvalidData.on("current_password", _l("This is not your current password."))
    check_password_strength(new_password, "new_password")
    user.set_password(new_password)
    end_sessions(user, keep_session=keep_session, keep_token=keep_token)


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


# -- Sessions: ended on the server, not only by forgetting a cookie ----------------------------------------------

# How stale a session's "last seen" may get before it is written again (one write per request otherwise).
LAST_SEEN_RESOLUTION = timedelta(minutes=5)
# A sign-in without "keep me signed in" lives as long as its browser window, which the server cannot see: it
# ends after this long unused, so that a copied cookie does not work for ever. A remembered one lives as long
# as the remember cookie (Flask-Login's REMEMBER_COOKIE_DURATION, a year).
IDLE_LIMIT = timedelta(hours=12)
REMEMBER_LIMIT = timedelta(days=365)


def _alive(row: UserSession, now: datetime) -> bool:
    if row.ended_at is not None:
        return False
    return now - (row.created_at if row.remember else row.last_seen_at) <= \
        (REMEMBER_LIMIT if row.remember else IDLE_LIMIT)


def start_session(user: User, *, user_agent: str = "", address: str = "", remember: bool = False) -> str:
    """A new session for `user` on one device; its key (256 random bits) goes into the cookies through
    `user.session_key`, only its hash into the database."""
    key = secrets.token_urlsafe(32)
    db.session.add(UserSession(user=user, key_hash=_hash_token(key), user_agent=(user_agent or "")[:255],
                               address=(address or "")[:64], remember=remember))
    user.session_key = key
    return key


# Figures every page shows of the signed-in person, read in the session lookup's own statement (one round trip
# fewer per page): name -> a scalar subquery on the user's id. Registered by the packages above that own them
# (notifications: the bell's unread count); the user carries the values read as `session_figures`.
_SESSION_FIGURES: dict[str, Callable[[ColumnElement[int]], ColumnElement]] = {}


def read_with_session(name: str, figure: Callable[[ColumnElement[int]], ColumnElement]) -> None:
    _SESSION_FIGURES[name] = figure
    _session_statement.cache_clear()


@cache
def _session_statement():
    """Built once: making the statement costs more than SQLite takes to run it, on every page."""
    return (
        select(UserSession, *(figure(UserSession.user_id).label(name) for name, figure in _SESSION_FIGURES.items()))
        .where(UserSession.key_hash == bindparam("key_hash"), UserSession.ended_at.is_(None))
        # The unit too: nearly every page asks what the user's unit sees (one query fewer per request).
        .options(db.joinedload(UserSession.user).joinedload(User.unit))
    )


def session_user(ident: str, now: datetime | None = None) -> User | None:
    """The active user whose live session `ident` (what get_id() gave, "<user id>:<key>") names, else None."""
    user_id, _, key = (ident or "").partition(":")
    if not user_id.isdigit() or not key or len(key) > 100:
        return None
    found = db.session.execute(_session_statement(), {"key_hash": _hash_token(key)}).one_or_none()
    row = found[0] if found is not None else None
    now = now or utcnow()
    if row is None or row.user_id != int(user_id) or not row.user.active or not _alive(row, now):
        return None
    row.user.session_figures = dict(zip(_SESSION_FIGURES, found[1:], strict=True))
    if now - row.last_seen_at > LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
        db.session.commit()
    row.user.session_key = key
    return row.user


SESSION_STATE = (
    select(UserSession.user_id, UserSession.created_at, UserSession.last_seen_at, UserSession.remember,
           UserSession.ended_at)
    .join(User, User.id == UserSession.user_id)
    .where(UserSession.key_hash == bindparam("key_hash"), UserSession.ended_at.is_(None), User.active)
)


def live_session_user_id(connection, ident: str, now: datetime | None = None) -> int | None:
    """The id of the active user whose live session `ident` names, by one statement on a plain `connection`,
    as `session_user` decides it; None as well when the session's last use is due to be written (the caller
    then goes the usual way, which writes it)."""
    user_id, _, key = (ident or "").partition(":")
    if not user_id.isdigit() or not key or len(key) > 100:
        return None
    row = connection.execute(SESSION_STATE, {"key_hash": _hash_token(key)}).one_or_none()
    now = now or utcnow()
    if row is None or row.user_id != int(user_id) or not _alive(row, now) \
            or now - row.last_seen_at > LAST_SEEN_RESOLUTION:
        return None
    return row.user_id


def current_session_row(user: User) -> UserSession | None:
    if not user.session_key:
        return None
    return db.session.execute(
        select(UserSession).where(UserSession.key_hash == _hash_token(user.session_key))).scalar_one_or_none()


def end_session(user: User, session_id: int | None = None) -> bool:
    """End one of `user`'s sessions (by id), or the one this request came with; False when there is none."""
    if session_id is None:
        row = current_session_row(user)
    else:
        row = db.session.execute(select(UserSession).where(UserSession.id == session_id,
                                                           UserSession.user_id == user.id)).scalar_one_or_none()
    if row is None or row.ended_at is not None:
        return False
    row.ended_at = utcnow()
    return True


def end_sessions(user: User, *, keep_session: str | None = None, keep_token: ApiToken | None = None) -> None:
    """End every session and revoke every API token of `user`, but the session with the key `keep_session`
    and the token `keep_token` (the ones the person is using to ask for it)."""
    now = utcnow()
    kept = _hash_token(keep_session) if keep_session else None
    for row in db.session.execute(select(UserSession).where(UserSession.user_id == user.id,
                                                            UserSession.ended_at.is_(None))).scalars():
        if row.key_hash != kept:
            row.ended_at = now
    for token in db.session.execute(select(ApiToken).where(ApiToken.user_id == user.id,
                                                           ApiToken.revoked_at.is_(None))).scalars():
        if keep_token is None or token.id != keep_token.id:
            token.revoked_at = now


def live_sessions(user: User) -> tuple[list[UserSession], list[ApiToken]]:
    """The person's sessions and API tokens still alive, newest first (the page under their account)."""
    now = utcnow()
    sessions = [row for row in db.session.execute(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())).scalars() if _alive(row, now)]
    tokens = db.session.execute(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
                               ApiToken.expires_at > now).order_by(ApiToken.created_at.desc())).scalars().all()
    return sessions, tokens


def revoke_own_token(user: User, token_id: int) -> bool:
    row = db.session.execute(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id,
                                                    ApiToken.revoked_at.is_(None))).scalar_one_or_none()
    if row is None:
        return False
    row.revoked_at = utcnow()
    return True
