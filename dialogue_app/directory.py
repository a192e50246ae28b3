"""The directory: the units, accounts and businesses a user may see, listed and found as pages and the API both
show them (one function per list, so the registry page and GET /api/v1/businesses cannot drift apart).

It sits above scope (which says who sees what) and below the domains that pick people and businesses (issues,
attendance, scheduling): org and auth, underneath scope, cannot ask it themselves. Lists are statements, for
the caller to paginate with extensions.paginate; choices and counts are loaded here, each in one query.
"""

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from .auth.models import User
from .extensions import db
from .org.models import Business, Contact, Unit
from .org.services import search_condition
from .scope import OFFICERS, STAFF, in_group, unit_scoped, visible, visible_units_condition

# --- Units -------------------------------------------------------------------------------------------------


def units_statement(user: User):
    """The units `user` may see, in hierarchy order, each with its parent loaded (the API's list)."""
    return select(Unit).where(visible_units_condition(user)).order_by(Unit.path).options(joinedload(Unit.parent))


def unit_options(user: User) -> list:
    """The units `user` may see, in hierarchy order, as plain rows of id, code and name (pickers and filters,
    drawn on many pages: up to 236 units, not built as objects only to write two of their fields)."""
    return db.session.execute(
        select(Unit.id, Unit.code, Unit.name).where(visible_units_condition(user)).order_by(Unit.path)).all()


def parent_units(user: User) -> list[Unit]:
    """The units `user` may see that can hold others (every level but the branch), for a parent picker."""
    return list(db.session.execute(
        select(Unit).where(Unit.level != "branch", visible_units_condition(user)).order_by(Unit.path)).scalars())


def unit_tree() -> dict:
    """Every unit in hierarchy order, with how many accounts, businesses and child units each holds (the
    administrators' page; three grouped counts, whatever the size of the tree)."""

    def counts(column) -> dict[int, int]:
        return dict(db.session.execute(select(column, func.count()).group_by(column)).all())

    return {"units": db.session.execute(select(Unit).order_by(Unit.path)).scalars().all(),
            "users": counts(User.unit_id), "businesses": counts(Business.unit_id),
            "children": counts(Unit.parent_id)}


def unit_totals(user: User) -> dict:
    """The units `user` may see, with each unit's businesses and active accounts counted with its subtree's
    (a department answers for its branches), and the accounts in all."""
    units = db.session.execute(select(Unit).where(visible_units_condition(user)).order_by(Unit.path)).scalars().all()
    businesses = dict(db.session.execute(
        select(Business.unit_id, func.count()).where(unit_scoped(user, Business.unit_id)).group_by(Business.unit_id)
    ).all())
    users = dict(db.session.execute(
        select(User.unit_id, func.count()).where(unit_scoped(user, User.unit_id), User.active).group_by(User.unit_id)
    ).all())
    return {"units": units, "businesses": subtree_totals(units, businesses), "users": subtree_totals(units, users),
            "account_total": sum(users.values())}


def subtree_totals(units, per_unit: dict[int, int]) -> dict[int, int]:
    """Each unit's own count plus its descendants'. Each count is added to the unit's ancestors, read off its
    path ("/1/4/9/"): a pass over the units rather than every pair of them (the General Department's 236 units
    made 55,000 comparisons, 20 ms, twice on its managers' home page)."""
    totals = {unit.id: 0 for unit in units}
    for unit in units:
        count = per_unit.get(unit.id, 0)
        if count:
            for ancestor in filter(None, unit.path.split("/")):
                if int(ancestor) in totals:
                    totals[int(ancestor)] += count
    return totals


# --- Accounts ----------------------------------------------------------------------------------------------


def users_statement(user: User, text: str | None = None):
    """The accounts `user` may see, by email; `text` matches the email or the name."""
    stmt = select(User).where(visible(user, User)).order_by(User.email)
    if text:
        stmt = stmt.where(or_(User.email.contains(text.lower()), User.name.ilike(f"%{text}%")))
    return stmt.options(joinedload(User.unit), joinedload(User.business))


def officials(user: User) -> list[User]:
    """Active staff accounts `user` may see, by name: who can be marked present for the office."""
    return list(db.session.execute(
        select(User).where(visible(user, User), User.active, in_group(STAFF)).order_by(User.name)).scalars())


def officers(user: User) -> list:
    """Organisers and managers `user` may see, by name, as plain rows of id and name (an issue list's assignee
    filter, on every view of the list: the General Department's hundreds of officers are not built as
    accounts only to write two of their fields)."""
    return db.session.execute(
        select(User.id, User.name).where(visible(user, User), in_group(OFFICERS)).order_by(User.name)).all()


# --- Businesses --------------------------------------------------------------------------------------------


def businesses_statement(user: User, text: str | None = None):
    """The businesses `user` may see, by name, each with its unit; `text` matches the name without accents or
    case, or the tax code. The registry page and the API list both read this."""
    stmt = select(Business).where(visible(user, Business)).order_by(Business.search_text) \
        .options(joinedload(Business.unit))
    if text:
        stmt = stmt.where(search_condition(text))
    return stmt


def visible_businesses(user: User) -> list[Business]:
    """Every business `user` may see, by name (for pickers)."""
    return list(db.session.execute(select(Business).where(visible(user, Business)).order_by(Business.search_text))
                .scalars())


def visible_contact(user: User, contact_id: int) -> Contact | None:
    """The contact with this id if `user` may see its business, else None."""
    return db.session.execute(
        select(Contact).join(Business, Business.id == Contact.business_id)
        .where(Contact.id == contact_id, visible(user, Business))
    ).scalar_one_or_none()
