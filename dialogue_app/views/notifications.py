"""The bell's pages: a person's notifications (each leading to its page), marking them read, and how they want
to hear of each kind. Every signed-in person has them; each sees only their own."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..exceptions import InvalidData
from ..extensions import db
from ..notifications import services
from ..web import local_target

bp = Blueprint("notifications", __name__)


@bp.route("/notifications")
@login_required
def notification_list():
    unread_only = request.args.get("unread") == "true"
    return render_template("notifications/list.html", unread_only=unread_only,
                           notifications=services.notifications_of(current_user, unread_only=unread_only))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id: int):
    """Mark one read; with `open`, go on to the page it is about."""
    notification = services.own_notification(current_user, notification_id) or abort(404)
    services.mark_read(notification)
    db.session.commit()
    if "open" in request.form:
        return redirect(local_target(notification.url))
    return redirect(url_for("notifications.notification_list"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def mark_all_read():
    services.mark_all_read(current_user)
    db.session.commit()
    flash(_("Every notification is marked as read."), "success")
    return redirect(url_for("notifications.notification_list"))


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    """Per kind: in the app only, a mail at once, or the daily digest."""
    status = 200
    if request.method == "POST":
        choices = {kind: request.form.get(kind, "") for kind in services.KINDS if kind in request.form}
        try:
            services.set_preferences(current_user, choices)
        except InvalidData as error:
            db.session.rollback()
            flash(str(error.message), "error")
            status = 422
        else:
            db.session.commit()
            flash(_("Your notification settings are saved."), "success")
            return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", chosen=services.preferences(current_user),
                           kinds=services.KINDS, deliveries=services.DELIVERY_NAMES), status
