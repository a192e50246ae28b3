from datetime import datetime, timedelta
from pathlib import Path

from flask import Blueprint, Response, current_app, redirect, render_template, request, session
from flask_login import current_user, login_required

from ..attendance.services import business_contacts_of, invitations_of
from ..db import database_answers
from ..directory import unit_totals
from ..extensions import db
from ..issues.services import issue_list
from ..minutes.services import past_meetings_of
from ..officetime import office_zone
from ..scheduling.services import agenda
from ..scope import is_business
from ..web import local_target

bp = Blueprint("home", __name__)

COMING_WEEKS = 6
# A business's portal: what it is invited to in the coming months, and what it was at in the past year.
PORTAL_COMING = timedelta(days=120)
PORTAL_PAST = timedelta(days=366)
LONGEST_MEETING = timedelta(days=1)  # how long before now a meeting still under way may have begun


@bp.route("/")
@login_required
def index():
    now = datetime.now(office_zone())
    # A meeting is coming until it ends (one under way included), and past once it has ended.
    if is_business(current_user):
        issues = issue_list(current_user, limit=10)
        invitations = invitations_of(current_user, now - LONGEST_MEETING, now + PORTAL_COMING)
        return render_template("home/business.html", business=current_user.business, issues=issues,
                               contacts=business_contacts_of(current_user),
                               invitations=[i for i in invitations if i.end > now],
                               past=past_meetings_of(current_user, now - PORTAL_PAST, now))
    coming = agenda(current_user, now - LONGEST_MEETING, now + timedelta(weeks=COMING_WEEKS))
    return render_template(f"home/{current_user.role}.html", coming=[e for e in coming if e.end > now],
                           **unit_totals(current_user))


@bp.route("/language", methods=["POST"])
def set_language():
    language = request.form.get("language", "")
    if language in current_app.config["LANGUAGES"]:
        session["language"] = language
        if current_user.is_authenticated and current_user.language != language:
            current_user.language = language
            db.session.commit()
    return redirect(local_target(request.form.get("next")))


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page links to: the icon, rather than a 404 in every log."""
    icon = (Path(current_app.static_folder) / "favicon.ico").read_bytes()  # 2 KB, read whole (no open file)
    return Response(icon, mimetype="image/vnd.microsoft.icon", headers={"Cache-Control": "public, max-age=86400"})


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
