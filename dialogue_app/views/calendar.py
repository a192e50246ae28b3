from datetime import UTC
from email.utils import format_datetime as http_date

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import officetime
from ..auth.bearer import file_reader
from ..auth.models import User
from ..calendar import ical, services
from ..extensions import db
from ..org.models import Business, Unit
from ..scheduling.models import Meeting, Series
from ..scope import get_visible, is_business

bp = Blueprint("calendar", __name__)

@bp.route("/feeds/<token>.ics")
def feed(token: str):
    """A subscribable calendar: no sign-in, the token is the key. ETag and 304 for clients that poll."""
    row = services.token_target(token)
    if row is None:
        abort(404)
    today = officetime.today_in(officetime.office_zone())
    version, last_modified = services.feed_version(row, today)
    headers = {"ETag": f'"{version}"', "Cache-Control": "private, max-age=300"}
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified.astimezone(UTC), usegmt=True)
    # RFC 9110 13.1.2: If-None-Match compares weakly (a proxy that compresses the feed weakens its ETag).
    if request.if_none_match.contains_weak(version):
        return Response(status=304, headers=headers)
    key = (row.id, version)
    body = services.cache.get(key)
    if body is None:
        body = services.feed_bytes(row, today)
        services.cache.put(key, body)
    return Response(body, content_type=services.FEED_CONTENT_TYPE,
                    headers={**headers, "Content-Disposition": "inline; filename=dialogue.ics"})


@bp.route("/meetings/<int:meeting_id>/invite.ics")
def meeting_invite(meeting_id: int):
    user = file_reader()
    if user is None:
        return current_app.login_manager.unauthorized()  # a browser goes to the sign-in page
    meeting = get_visible(user, Meeting, meeting_id) or abort(404)
    body, method = services.meeting_invite(meeting, user)
    return Response(body, content_type=ical.content_type(method),
                    headers={"Content-Disposition": f"attachment; filename=meeting-{meeting.id}.ics"})


FEED_MODELS = {"series": Series, "business": Business, "unit": Unit, "user": User}


def _feed_target(kind: str, target_id: int):
    """The object whose feed the signed-in user may manage, or 404."""
    if kind not in FEED_MODELS:
        abort(404)
    if kind == "user":
        if target_id != current_user.id or is_business(current_user):
            abort(404)
        return current_user
    if kind == "unit" and is_business(current_user):
        abort(404)
    return get_visible(current_user, FEED_MODELS[kind], target_id) or abort(404)


@bp.route("/feeds/manage/<kind>/<int:target_id>", methods=["GET", "POST"])
@login_required
def manage(kind: str, target_id: int):
    """The address to subscribe to, how to add it to Google Calendar and Outlook, and rotation/revocation."""
    target = _feed_target(kind, target_id)
    may_change = not is_business(current_user) or kind == "business"
    if request.method == "POST" and may_change:
        if request.form.get("action") == "revoke":
            services.revoke(kind, target_id)
            flash(_("The feed is closed: its address no longer works."), "success")
        else:
            services.rotate(kind, target_id)
            flash(_("A new address was made; the old one no longer works."), "success")
        db.session.commit()
        return redirect(url_for("calendar.manage", kind=kind, target_id=target_id))
    url = services.feed_url_for(current_user, kind, target_id)
    db.session.commit()  # a feed of an object older than the feeds gets its key now
    webcal = "webcal://" + url.split("://", 1)[1] if url else None
    return render_template("calendar/manage.html", kind=kind, target=target, url=url, webcal=webcal,
                           may_change=may_change, name=getattr(target, "title", None) or target.name)
