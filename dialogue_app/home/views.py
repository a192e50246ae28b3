from datetime import datetime, timedelta

from flask import Blueprint, current_app, redirect, render_template, request, session
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..auth.models import Role, User
from ..db import database_answers
from ..extensions import db
from ..issues.services import issue_query
from ..org.models import Business, Unit
from ..scheduling.services import agenda, zone_named
from ..scope import unit_scoped, visible_units_condition
from ..web import local_target

bp = Blueprint("home", __name__)

COMING_WEEKS = 6


@bp.route("/")
@login_required
def index():
    now = datetime.now(zone_named(None))
    coming = agenda(current_user, now - timedelta(hours=2), now + timedelta(weeks=COMING_WEEKS))
    if current_user.role == Role.BUSINESS:
        issues = db.session.execute(issue_query(current_user).limit(10)).unique().scalars().all()
        return render_template("home/business.html", business=current_user.business, coming=coming, issues=issues)
    units = db.session.execute(
        select(Unit).where(visible_units_condition(current_user)).order_by(Unit.path)
    ).scalars().all()
    businesses = dict(db.session.execute(
        select(Business.unit_id, func.count()).where(unit_scoped(current_user, Business.unit_id))
        .group_by(Business.unit_id)
    ).all())
    users = dict(db.session.execute(
        select(User.unit_id, func.count()).where(unit_scoped(current_user, User.unit_id), User.active)
        .group_by(User.unit_id)
    ).all())
    return render_template(f"home/{current_user.role}.html", units=units, coming=coming,
                           businesses=subtree_totals(units, businesses), users=subtree_totals(units, users),
                           account_total=sum(users.values()))


def subtree_totals(units, per_unit: dict[int, int]) -> dict[int, int]:
    """Each unit's own count plus its descendants': a department answers for its branches' businesses."""
    return {unit.id: sum(n for other in units if other.path.startswith(unit.path)
                         for n in [per_unit.get(other.id, 0)]) for unit in units}


@bp.route("/language", methods=["POST"])
def set_language():
    language = request.form.get("language", "")
    if language in current_app.config["LANGUAGES"]:
        session["language"] = language
        if current_user.is_authenticated and current_user.language != language:
            current_user.language = language
            db.session.commit()
    return redirect(local_target(request.form.get("next")))


@bp.route("/healthz")
def health():
    """Liveness, for load balancers and monitoring: the process answers, without touching the database."""
    return {"status": "ok"}


@bp.route("/readyz")
def ready():
    """Readiness: 200 when the database answers, else 503 (a load balancer then sends requests elsewhere)."""
    if not database_answers(db.engine):
        return {"status": "unavailable", "database": "no answer"}, 503, {"Retry-After": "30"}
    return {"status": "ok", "database": "ok"}
