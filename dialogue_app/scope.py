"""Who sees what: the one rule every query of every domain goes through.

- an admin sees everything;
- staff (organiser, manager) see their unit and the units below it;
- a business user sees only their own business and what belongs to it.

Out of scope is answered as "not found" by the callers (404), never as "forbidden", so that nobody
learns that an object exists. Each function returns a SQL condition to put in a WHERE clause.
"""

from flask import g, has_app_context
from sqlalchemy import ColumnElement, and_, false, func, or_, select, true

from .auth.models import Role, User
from .extensions import db
from .org.models import Business, Unit
from .scheduling.models import Meeting, Series, series_invitations

STAFF_ROLES = (Role.ADMIN, Role.ORGANISER, Role.MANAGER)

# Who may hold the address of which kind of calendar feed. The address alone opens the feed, so it is a
# secret that follows the scope of everything the feed shows: pages and API payloads ask here alike.
# A unit's feed shows every series and meeting of its subtree (other companies' included) and a person's
# feed their unit's: staff only. A business holds its own feed, and for each series it is invited to its
# own key to that series ("invitation"), which ends with the invitation; the series' shared key is staff's.
FEED_HOLDERS: dict[str, tuple[Role, ...]] = {
    "unit": STAFF_ROLES,
    "user": STAFF_ROLES,
    "series": STAFF_ROLES,
    "business": (*STAFF_ROLES, Role.BUSINESS),
    "invitation": (Role.BUSINESS,),
}


# -- The rights of higher units ---------------------------------------------------------------------------------
# What staff may do with a unit's issues and minutes, by where that unit stands from their own. Higher units
# (a Department, the General Department) read everything below them; they change only what is at their own
# unit: an issue escalated to them is theirs (they assign, answer, or return it to the unit below, "Trả lại cấp
# dưới"), and so are their own meetings' minutes. A branch's issues and its minutes, finalised ones included
# (amended by dated amendments), are changed by the branch. An admin, of no unit, reads and changes everything.
# README.md shows this table; tests/test_authorization.py is generated from it.
READ, CHANGE = "read", "change"
OWN, BELOW = "own unit", "a unit below"
RIGHTS: dict[Role, dict[str, frozenset[str]]] = {
    Role.ADMIN: {OWN: frozenset({READ, CHANGE}), BELOW: frozenset({READ, CHANGE})},
    Role.MANAGER: {OWN: frozenset({READ, CHANGE}), BELOW: frozenset({READ})},
    Role.ORGANISER: {OWN: frozenset({READ, CHANGE}), BELOW: frozenset({READ})},
}


def reach(user: User, unit: Unit) -> str | None:
    """Where `unit` stands from `user`: their own unit, a unit below it, or out of reach (None)."""
    if user.role == Role.ADMIN:
        return OWN
    if user.unit is None or user.role == Role.BUSINESS:
        return None
    if unit.id == user.unit_id:
        return OWN
    return BELOW if unit.path.startswith(user.unit.path) else None


def may(user: User, action: str, unit: Unit) -> bool:
    """True when the table gives `user` the right `action` (READ or CHANGE) over what belongs to `unit`."""
    where = reach(user, unit)
    return where is not None and action in RIGHTS.get(Role(user.role), {}).get(where, frozenset())


def may_change(user: User, unit: Unit) -> bool:
    return may(user, CHANGE, unit)


def may_hold_feed(user: User, kind: str) -> bool:
    """True when `user` may be given the address of a feed of this kind (of an object they can see)."""
    return user.role in FEED_HOLDERS.get(kind, ())


def visible_units_condition(user: User) -> ColumnElement[bool]:
    """Condition on Unit: the units this user may see."""
    if user.role == Role.ADMIN:
        return true()
    if user.unit is None:
        return false()
    if user.role == Role.BUSINESS:
        return Unit.id == user.unit_id
    return Unit.path.startswith(user.unit.path)


def visible_unit_ids(user: User):
    """A subquery of the ids of the units this user may see, to filter any model by its unit column."""
    return select(Unit.id).where(visible_units_condition(user)).scalar_subquery()


def sees_every_unit(user: User) -> bool:
    """True for an admin, and for staff of the one root unit (the General Department sees the whole tree)."""
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.BUSINESS or user.unit is None or user.unit.parent_id is not None:
        return False
    if has_app_context() and "single_root" in g:  # asked several times per request: count once
        return g.single_root
    roots = db.session.execute(select(func.count()).select_from(Unit).where(Unit.parent_id.is_(None))).scalar_one()
    if has_app_context():
        g.single_root = roots == 1
    return roots == 1


def unit_scoped(user: User, unit_column) -> ColumnElement[bool]:
    """Condition on any model that belongs to a unit through `unit_column`.

    Where the user sees every unit, no condition at all: a list of the whole country then reads its
    indexes as they are instead of testing every row against the list of all units.
    """
    if sees_every_unit(user):
        return true()
    return unit_column.in_(visible_unit_ids(user))


def visible_businesses_condition(user: User) -> ColumnElement[bool]:
    """Condition on Business: a business user sees their own; staff see those served by their subtree."""
    if user.role == Role.BUSINESS:
        return Business.id == user.business_id if user.business_id else false()
    return unit_scoped(user, Business.unit_id)


def visible_users_condition(user: User) -> ColumnElement[bool]:
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.BUSINESS:
        return User.id == user.id
    # Admins belong to no unit: staff, even of the General Department, do not manage their accounts.
    return and_(User.unit_id.is_not(None), unit_scoped(user, User.unit_id))


def visible_series_condition(user: User) -> ColumnElement[bool]:
    """Condition on Series: staff see their subtree's series; a business sees the series it is invited to."""
    if user.role == Role.BUSINESS:
        return Series.id.in_(
            select(series_invitations.c.series_id).where(series_invitations.c.business_id == user.business_id)
        )
    return unit_scoped(user, Series.unit_id)


def visible_meetings_condition(user: User) -> ColumnElement[bool]:
    """Condition on Meeting: staff see their subtree's; a business sees the meetings it is invited to (through
    their series, or to one meeting alone)."""
    if user.role == Role.BUSINESS:
        from .attendance.models import MeetingInvitation

        return or_(
            Meeting.series_id.in_(
                select(series_invitations.c.series_id).where(series_invitations.c.business_id == user.business_id)),
            Meeting.id.in_(select(MeetingInvitation.meeting_id)
                           .where(MeetingInvitation.business_id == user.business_id)),
        )
    return unit_scoped(user, Meeting.unit_id)


def get_unit_by_code(user: User, code: str) -> Unit | None:
    """The unit with this code if the user may see it, else None."""
    return db.session.execute(
        select(Unit).where(Unit.code == code, visible_units_condition(user))
    ).scalar_one_or_none()


def get_visible(user: User, model, ident: int):
    """The object of `model` with this id if the user may see it, else None."""
    conditions = {
        Unit: visible_units_condition,
        Business: visible_businesses_condition,
        User: visible_users_condition,
        Series: visible_series_condition,
        Meeting: visible_meetings_condition,
    }
    return db.session.execute(select(model).where(model.id == ident, conditions[model](user))).scalar_one_or_none()


def can_see_unit(user: User, unit: Unit) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.unit is None:
        return False
    if user.role == Role.BUSINESS:
        return unit.id == user.unit_id
    return unit.path.startswith(user.unit.path)


def visible_units(user: User) -> list[Unit]:
    """The units `user` may see, in hierarchy order (for pickers and filters)."""
    return list(db.session.execute(select(Unit).where(visible_units_condition(user)).order_by(Unit.path)).scalars())
