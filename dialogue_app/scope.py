"""Who sees and who changes what: the one module every page, API resource, feed, export and report asks.

- an admin sees everything;
- staff (organiser, manager) see their unit and the units below it; issues on a sensitive topic only managers;
- a business user sees only their own business and what belongs to it (its issues, what it is invited to).
- reports: a manager (and an admin) reads the report of any unit they see, an organiser that of their own
  unit only, a business none.

Each model says where it belongs in a `__scope__` (which column holds its unit, which its business, which rows
are restricted to managers); the conditions here are built from that, so no domain writes a subtree query or
compares role strings. Out of scope is answered as "not found" (404), never "forbidden", so that nobody learns
that an object exists.

The rights table (RIGHTS) says which roles may use which group of pages; views declare the right they need with
`requires`, and the authorization tests are generated from the table.
"""

from collections.abc import Callable
from functools import wraps

from flask import abort, g, has_app_context
from flask_login import current_user, login_required
from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select, true
from sqlalchemy.orm import aliased

from .auth.models import Role, User
from .db import Belongs
from .extensions import db
from .org.models import Unit

# --- Role groups -------------------------------------------------------------------------------------------

ADMINS = frozenset({Role.ADMIN})
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.ORGANISER})
BUSINESSES = frozenset({Role.BUSINESS})
# Organisers run their branch's dialogues; managers read across units but do not load registries.
IMPORTERS = frozenset({Role.ADMIN, Role.ORGANISER})
# Staff who belong to a unit and take its issues (an admin belongs to none).
OFFICERS = frozenset({Role.ORGANISER, Role.MANAGER})
# Who answers for a unit: hears of its overdue issues and of what its meetings left open.
HEADS = frozenset({Role.MANAGER})


def is_admin(user) -> bool:
    return user.role in ADMINS


def is_manager(user) -> bool:
    return user.role in MANAGERS


def is_staff(user) -> bool:
    return user.role in STAFF


def is_business(user) -> bool:
    return user.role in BUSINESSES


def in_group(group: frozenset[Role]) -> ColumnElement[bool]:
    """Condition on User: their role is one of `group`."""
    return User.role.in_(sorted(role.value for role in group))


# --- The rights table --------------------------------------------------------------------------------------

# Who may use which group of pages and API calls. What they then see inside is narrowed by the conditions below.
RIGHTS: dict[str, frozenset[Role]] = {
    "staff": STAFF,  # the office's own pages: businesses, series, meetings, issues, minutes
    "import": IMPORTERS,  # loading a registry of businesses and contacts
    "export": STAFF,
    "report_reading": STAFF,  # dashboards, ranking, exports: organisers of their own unit only (report_units)
    "reports": MANAGERS,  # annual plans and waiting-room screens
    "accounts": ADMINS,  # people's accounts and roles
    "units": ADMINS,  # the tree of units
    "topics": ADMINS,  # the topics issues are filed under, and their times to answer
    "holidays": ADMINS,  # public holidays and make-up working days
    "audit": ADMINS,  # the audit trail
    "outbox": ADMINS,  # the mail the app sends: to whom, its state, its tries and last error
    "business": BUSINESSES,  # a business's own acts: rating an answer
}


def may(user, right: str) -> bool:
    return getattr(user, "is_authenticated", False) and user.role in RIGHTS[right]


def requires(right: str) -> Callable:
    """The view needs this right; a signed-in person without it gets 404 (nothing to learn there), a visitor the
    sign-in page. The right is kept on the view so the authorization tests can read it."""
    roles = RIGHTS[right]

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        wrapped.required_right = right
        return wrapped

    return decorator


# --- Where models belong -----------------------------------------------------------------------------------


def lies_below(path, top_path) -> ColumnElement[bool]:
    """Condition: the unit whose path is `path` is the one at `top_path` or under it (a unit's path is a prefix
    of the paths below it). Either side may be a column, of Unit or of an alias, or a value."""
    return path.startswith(top_path)

# Who may hold the address of which kind of calendar feed. The address alone opens the feed, so it is a
# secret that follows the scope of everything the feed shows: pages and API payloads ask here alike.
# A unit's feed shows every series and meeting of its subtree (other companies' included) and a person's
# feed their unit's: staff only. A business holds its own feed, and for each series it is invited to its
# own key to that series ("invitation"), which ends with the invitation; the series' shared key is staff's.
FEED_HOLDERS: dict[str, frozenset[Role]] = {
    "unit": STAFF,
    "user": STAFF,
    "series": STAFF,
    "business": STAFF | BUSINESSES,
    "invitation": BUSINESSES,
}


# -- The rights of higher units ---------------------------------------------------------------------------------
# What staff may do with a unit's issues and minutes, by where that unit stands from their own. Higher units
# (a Department, the General Department) read everything below them; they change only what is at their own
# unit: an issue escalated to them is theirs (they assign, answer, or return it to the unit below, "Trả lại cấp
# dưới"), and so are their own meetings' minutes. A branch's issues and its minutes, finalised ones included
# (amended by dated amendments), are changed by the branch. An admin, of no unit, reads and changes everything.
# One exception, may_handle_issue: a complaint about an officer's conduct, which only managers read, is handled
# where it stands by the managers above it too.
# README.md shows this table; tests/test_authorization.py checks pages against it.
READ, CHANGE = "read", "change"
OWN, BELOW = "own unit", "a unit below"
UNIT_RIGHTS: dict[Role, dict[str, frozenset[str]]] = {
    Role.ADMIN: {OWN: frozenset({READ, CHANGE}), BELOW: frozenset({READ, CHANGE})},
    Role.MANAGER: {OWN: frozenset({READ, CHANGE}), BELOW: frozenset({READ})},
    Role.ORGANISER: {OWN: frozenset({READ, CHANGE}), BELOW: frozenset({READ})},
}


def reach(user: User, unit: Unit) -> str | None:
    """Where `unit` stands from `user`: their own unit, a unit below it, or out of reach (None)."""
    if is_admin(user):
        return OWN
    if user.unit is None or is_business(user):
        return None
    if unit.id == user.unit_id:
        return OWN
    return BELOW if unit.path.startswith(user.unit.path) else None


def may_act(user: User, action: str, unit: Unit) -> bool:
    """True when UNIT_RIGHTS gives `user` the right `action` (READ or CHANGE) over what belongs to `unit`."""
    where = reach(user, unit)
    return where is not None and action in UNIT_RIGHTS.get(Role(user.role), {}).get(where, frozenset())


def may_change(user: User, unit: Unit) -> bool:
    return may_act(user, CHANGE, unit)


def may_handle_issue(user: User, unit: Unit, sensitive: bool) -> bool:
    """True when `user` may act on an issue now at `unit`: by UNIT_RIGHTS, or, for an issue on a sensitive topic
    (a complaint about an officer's conduct, which only managers read), as a manager of that unit or of a unit
    above it. The organisers of a branch may not read such a complaint, and a branch often has no manager: the
    managers above are the ones who see it, so they handle it where it stands."""
    if sensitive and not reads_restricted_records(user):
        return False
    if may_change(user, unit):
        return True
    return sensitive and user.role in HEADS and reach(user, unit) == BELOW


def unit_ids_up_to(unit: Unit) -> list[int]:
    """The ids of `unit` and of every unit above it, from its materialised path."""
    return [int(part) for part in unit.path.strip("/").split("/") if part.isdigit()]


def may_hold_feed(user: User, kind: str) -> bool:
    """True when `user` may be given the address of a feed of this kind (of an object they can see)."""
    return user.role in FEED_HOLDERS.get(kind, ())


def visible_units_condition(user: User) -> ColumnElement[bool]:
    """Condition on Unit: the units this user may see."""
    if is_admin(user):
        return true()
    if user.unit is None:
        return false()
    if is_business(user):
        return Unit.id == user.unit_id
    return lies_below(Unit.path, user.unit.path)


def report_units_condition(user: User) -> ColumnElement[bool]:
    """Condition on Unit: the units whose report `user` may read (an organiser: their own unit only)."""
    if not may(user, "report_reading"):
        return false()
    if user.role in OFFICERS - HEADS:
        return Unit.id == user.unit_id if user.unit_id is not None else false()
    return visible_units_condition(user)


def report_units(user: User) -> list[Unit]:
    """The units whose report `user` may read, in hierarchy order (for the report's unit picker)."""
    return list(db.session.execute(select(Unit).where(report_units_condition(user)).order_by(Unit.path)).scalars())


def visible_unit_ids(user: User):
    """A subquery of the ids of the units this user may see, to filter any model by its unit column."""
    return select(Unit.id).where(visible_units_condition(user)).scalar_subquery()


def units_below(unit: Unit):
    """A subquery of the ids of `unit` and every unit below it."""
    return select(Unit.id).where(lies_below(Unit.path, unit.path)).scalar_subquery()


def unit_ids_below(unit_id):
    """Like units_below, from a unit's id (or a subquery giving one), without loading the unit."""
    top = aliased(Unit)
    return select(Unit.id).where(lies_below(Unit.path, select(top.path).where(top.id == unit_id).scalar_subquery()))


def is_below(unit: Unit, top: Unit) -> bool:
    """True when `unit` is `top` or lies under it."""
    return unit.path.startswith(top.path)


def sees_every_unit(user: User) -> bool:
    """True for an admin, and for staff of the one root unit (the General Department sees the whole tree)."""
    if is_admin(user):
        return True
    if is_business(user) or user.unit is None or user.unit.parent_id is not None:
        return False
    if has_app_context() and "single_root" in g:  # asked several times per request: count once
        return g.single_root
    roots = db.session.execute(select(func.count()).select_from(Unit).where(Unit.parent_id.is_(None))).scalar_one()
    if has_app_context():
        g.single_root = roots == 1
    return roots == 1


def scope_key(user: User) -> tuple:
    """What the conditions built here for `user` depend on: two people with the same key are given the same
    conditions, so a statement built from them may be kept and run again for either (the search keeps its
    statements so). Whatever a condition here comes to read of a user must be named in this key."""
    unit = user.unit
    return (user.role, user.unit_id, unit.path if unit is not None else None, user.business_id,
            sees_every_unit(user))


def unit_scoped(user: User, unit_column) -> ColumnElement[bool]:
    """Condition on any model that belongs to a unit through `unit_column`.

    Where the user sees every unit, no condition at all: a list of the whole country then reads its
    indexes as they are instead of testing every row against the list of all units.
    """
    if sees_every_unit(user):
        return true()
    return unit_column.in_(visible_unit_ids(user))


def visible_users_condition(user: User) -> ColumnElement[bool]:
    if is_admin(user):
        return true()
    if is_business(user):
        return User.id == user.id
    # Admins belong to no unit: staff, even of the General Department, do not manage their accounts.
    return and_(User.unit_id.is_not(None), unit_scoped(user, User.unit_id))


def visible(user: User, model) -> ColumnElement[bool]:
    """Condition on `model`: the rows `user` may see, from where the model says it belongs."""
    if model is Unit:
        return visible_units_condition(user)
    if model is User:
        return visible_users_condition(user)
    belongs: Belongs = model.__scope__
    if is_admin(user):
        return true()
    if is_business(user):
        if belongs.business is None or not user.business_id:
            return false()
        if callable(belongs.business):
            return belongs.business(model, user.business_id)
        return getattr(model, belongs.business) == user.business_id
    if belongs.unit is None:
        return false()
    where = unit_scoped(user, getattr(model, belongs.unit))
    if belongs.restricted is not None and not is_manager(user):
        where = and_(where, not_(belongs.restricted(model)))
    return where


def get_visible(user: User, model, ident: int):
    """The object of `model` with this id if the user may see it, else None."""
    return db.session.execute(select(model).where(model.id == ident, visible(user, model))).scalar_one_or_none()


def get_visible_or_404(user: User, model, ident: int):
    found = get_visible(user, model, ident)
    if found is None:
        abort(404)
    return found


def get_unit_by_code(user: User, code: str) -> Unit | None:
    """The unit with this code if the user may see it, else None."""
    return db.session.execute(
        select(Unit).where(Unit.code == code, visible_units_condition(user))
    ).scalar_one_or_none()


def can_see_unit(user: User, unit: Unit) -> bool:
    if is_admin(user):
        return True
    if user.unit is None:
        return False
    if is_business(user):
        return unit.id == user.unit_id
    return is_below(unit, user.unit)


def visible_units(user: User) -> list[Unit]:
    """The units `user` may see, in hierarchy order (for pickers and filters)."""
    return list(db.session.execute(select(Unit).where(visible_units_condition(user)).order_by(Unit.path)).scalars())


def can_sign_minutes(user: User, unit: Unit) -> bool:
    """Who signs a unit's finalised minutes with the office's key, or uploads a copy a person signed: an admin,
    and the organisers and managers of that very unit (whose record it is; the units above read it, and
    sign their own). The caller checks that the user sees the meeting."""
    if is_admin(user):
        return True
    return user.role in OFFICERS and user.unit_id is not None and user.unit_id == unit.id


def reads_restricted_records(user: User) -> bool:
    """Whether the user reads what only managers read (issues on a sensitive topic, and a signed copy of
    minutes that prints them): managers and admins."""
    return is_manager(user)


def record_condition(user: User, unit_column, business_column=None, *, managers_only=None,
                     business_sees=None) -> ColumnElement[bool]:
    """Condition on any row that names the unit it belongs to (`unit_column`) and, where it has one, its
    business (`business_column`), such as a search index's: an admin sees every row; staff the rows of their
    unit and the units below it, except, for organisers, those for which `managers_only` holds (sensitive
    topics); a business user the rows of their own business, or those for which `business_sees` holds (the
    meetings it is invited to)."""
    if is_admin(user):
        return true()
    if is_business(user):
        own = business_column == user.business_id if business_column is not None and user.business_id else false()
        return or_(own, business_sees) if business_sees is not None else own
    where = unit_scoped(user, unit_column)
    if managers_only is not None and not is_manager(user):
        where = and_(where, ~managers_only)
    return where
