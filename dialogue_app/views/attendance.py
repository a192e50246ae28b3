from datetime import date

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..attendance import services
from ..auth.models import User
from ..db import utcnow
from ..directory import officials as visible_officials
from ..directory import visible_contact
from ..exceptions import InvalidData, ServiceError
from ..extensions import db
from ..minutes.services import check_attendance_open
from ..org.models import Business
from ..pdf import date_words, html_to_pdf
from ..scheduling.models import Meeting
from ..scope import get_visible, is_business, requires
from ..text import fold

bp = Blueprint("attendance", __name__)

ATTENDANCE_NAMES = {"present": _l("present"), "absent": _l("absent"), "excused": _l("excused")}
ANSWER_NAMES = {"accepted": _l("will attend"), "declined": _l("will not attend"), "tentative": _l("maybe")}
ANSWERED_VIA_NAMES = {"portal": _l("on the portal"), "link": _l("by the link in the mail"),
                      "calendar": _l("from their calendar")}


def _meeting_or_404(meeting_id: int) -> Meeting:
    return get_visible(current_user, Meeting, meeting_id) or abort(404)


def _attendance_closed_message(meeting: Meeting) -> str:
    """Why attendance can no longer change (the minutes, which print it, are final), or ""."""
    try:
        check_attendance_open(meeting)
    except ServiceError as error:
        return str(error.message)
    return ""


def _attendance_closed(meeting: Meeting):
    """The answer refusing a change of attendance once the minutes are final, else None."""
    message = _attendance_closed_message(meeting)
    return _done(meeting, message, ok=False) if message else None


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _done(meeting: Meeting, message: str, anchor: str = "", ok: bool = True, **payload):
    """Answer the check-in page's script with JSON, or a plain form with a redirect back to the page."""
    if _wants_json():
        return jsonify({"ok": ok, "message": message, **payload}), 200 if ok else 422
    flash(message, "success" if ok else "error")
    return redirect(url_for("attendance.check_in_page", meeting_id=meeting.id) + anchor)


@bp.route("/meetings/<int:meeting_id>/attendance")
@requires("staff")
def check_in_page(meeting_id: int):
    """The page used at the door, on a tablet: find an invited person as you type, one tap marks them present."""
    meeting = _meeting_or_404(meeting_id)
    other = None  # a business not invited whose people came: its contacts can be checked in as themselves
    if request.args.get("tax_code", "").strip():
        try:
            other = services.business_to_invite(current_user, request.args["tax_code"])
        except ServiceError as error:
            flash(str(error.message), "error")
    closed = _attendance_closed_message(meeting)
    return render_template("attendance/check_in.html", meeting=meeting, expected=services.expected(meeting),
                           attendees=services.attendees_of(meeting), counts=services.counts_by_business(meeting),
                           officials=visible_officials(current_user), invited=services.invited_businesses(meeting),
                           other=other, closed=closed)


@bp.route("/meetings/<int:meeting_id>/attendance/contacts/<int:contact_id>", methods=["POST"])
@requires("staff")
def mark_contact(meeting_id: int, contact_id: int):
    meeting = _meeting_or_404(meeting_id)
    if (closed := _attendance_closed(meeting)) is not None:
        return closed
    contact = visible_contact(current_user, contact_id) or abort(404)
    attendance = request.form.get("attendance", "present")
    try:
        attendee = services.check_in(meeting, contact, attendance)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        return _done(meeting, str(error.message), ok=False)
    return _done(meeting, _("%(name)s: %(status)s.", name=contact.name, status=ATTENDANCE_NAMES[attendance]),
                 f"#c-{contact.id}", attendance=attendee.attendance)


@bp.route("/meetings/<int:meeting_id>/attendance/walk-in", methods=["POST"])
@requires("staff")
def walk_in(meeting_id: int):
    meeting = _meeting_or_404(meeting_id)
    if (closed := _attendance_closed(meeting)) is not None:
        return closed
    form = request.form
    business = None
    try:
        if form.get("tax_code", "").strip():
            business = services.business_to_invite(current_user, form["tax_code"])
        attendee = services.add_walk_in(meeting, name=form.get("name", ""), organisation=form.get("organisation", ""),
                                        phone=form.get("phone", ""), role=form.get("role", ""), business=business)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        return _done(meeting, str(error.message), ok=False)
    return _done(meeting, _("%(name)s added as present.", name=attendee.name), "#attendees")


@bp.route("/meetings/<int:meeting_id>/attendance/officials", methods=["POST"])
@requires("staff")
def add_official(meeting_id: int):
    meeting = _meeting_or_404(meeting_id)
    if (closed := _attendance_closed(meeting)) is not None:
        return closed
    user_id = request.form.get("user_id", type=int)
    user = get_visible(current_user, User, user_id) if user_id else None
    if user is None or is_business(user):
        return _done(meeting, _("Choose an officer from the list."), ok=False)
    services.add_official(meeting, user, role=request.form.get("role", ""))
    db.session.commit()
    return _done(meeting, _("%(name)s added as present.", name=user.name), "#attendees")


@bp.route("/meetings/<int:meeting_id>/attendance/<int:attendee_id>", methods=["POST"])
@requires("staff")
def set_attendance(meeting_id: int, attendee_id: int):
    meeting = _meeting_or_404(meeting_id)
    if (closed := _attendance_closed(meeting)) is not None:
        return closed
    attendee = services.attendee_of(meeting, attendee_id) or abort(404)
    try:
        services.set_attendance(attendee, request.form.get("attendance", ""))
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        return _done(meeting, str(error.message), ok=False)
    return _done(meeting, _("%(name)s: %(status)s.", name=attendee.name, status=ATTENDANCE_NAMES[attendee.attendance]),
                 "#attendees")


@bp.route("/meetings/<int:meeting_id>/invitations", methods=["POST"])
@requires("staff")
def invite(meeting_id: int):
    """Invite one more business to this meeting only."""
    meeting = _meeting_or_404(meeting_id)
    try:
        business = services.business_to_invite(current_user, request.form.get("tax_code", ""))
    except ServiceError as error:
        flash(str(error.message), "error")
        # What was typed comes back in the box, to be corrected rather than typed again.
        return redirect(url_for("scheduling.meeting_page", meeting_id=meeting.id,
                                tax_code=request.form.get("tax_code", "")[:30]) + "#invitations")
    if services.invite_to_meeting(meeting, business) is None:
        flash(_("%(name)s is invited already.", name=business.name), "info")
    else:
        db.session.commit()
        if meeting.start <= utcnow():  # invited afterwards, to record who came: nothing is sent to answer
            flash(_("%(name)s is added to this meeting's invited. It has begun: no invitation is sent.",
                    name=business.name), "success")
        else:
            flash(_("%(name)s is invited to this meeting.", name=business.name), "success")
    return redirect(url_for("scheduling.meeting_page", meeting_id=meeting.id) + "#invitations")


@bp.route("/meetings/<int:meeting_id>/invitations/<int:business_id>/delete", methods=["POST"])
@requires("staff")
def uninvite(meeting_id: int, business_id: int):
    """End a business's invitation to this meeting alone: its contacts are sent a CANCEL."""
    meeting = _meeting_or_404(meeting_id)
    business = get_visible(current_user, Business, business_id) or abort(404)
    try:
        if services.uninvite_from_meeting(meeting, business):
            db.session.commit()
            flash(_("The invitation of %(name)s is ended.", name=business.name), "success")
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    return redirect(url_for("scheduling.meeting_page", meeting_id=meeting.id) + "#invitations")


@bp.route("/invitations/answer", methods=["POST"])
@requires("business")
def portal_answer():
    """A business user answers an invitation from their portal (home page): for a meeting, or for an occurrence
    of a series known by its date."""
    form = request.form
    try:
        day = date.fromisoformat(form.get("occurrence", "")) if form.get("series_id") else None
    except ValueError:
        day = None
    ticked = form.getlist("attendee")
    try:
        if not all(value.isascii() and value.isdigit() and len(value) <= 18 for value in ticked):
            raise InvalidData.on("attendees", _("Choose who will come among your business's contact people."))
        item = services.answer_invitation(current_user, form.get("answer", ""), form.get("comment", ""),
                                          meeting_id=form.get("meeting_id", type=int),
                                          series_id=form.get("series_id", type=int), occurrence=day,
                                          attendees=[int(value) for value in ticked])
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("home.index") + "#invitations")
    flash(_("Your answer “%(answer)s” to “%(title)s” is recorded. You can change it until the meeting starts.",
            answer=ANSWER_NAMES[item.answer], title=item.title), "success")
    return redirect(url_for("home.index") + f"#i-{item.meeting_id}")


@bp.route("/meetings/<int:meeting_id>/sign-in-sheet")
@requires("staff")
def sign_in_sheet(meeting_id: int):
    """A sheet to print for offices that still sign on paper: every invited person, with a signature column."""
    meeting = _meeting_or_404(meeting_id)
    return render_template("attendance/sign_in_sheet.html", meeting=meeting, expected=services.expected(meeting))


@bp.route("/meetings/<int:meeting_id>/sign-in-sheet.pdf")
@requires("staff")
def sign_in_sheet_pdf(meeting_id: int):
    """The same sheet as a PDF, as offices file it."""
    meeting = _meeting_or_404(meeting_id)
    html = render_template("pdf/sign_in_sheet.html", meeting=meeting, expected=services.expected(meeting),
                           date_words=date_words)
    body = html_to_pdf(html, static_folder=current_app.static_folder)
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=danh-sach-ky-ten-{meeting.id}.pdf"})


@bp.route("/rsvp/<token>", methods=["GET", "POST"])
def rsvp(token: str):
    """An invited contact answers, without an account, through the signed link in their invitation."""
    try:
        target = services.read_rsvp_token(token)
    except services.RsvpRefused as error:
        return render_template("attendance/rsvp.html", refused=str(error.message), target=None), 400
    answered = None
    if request.method == "POST":
        try:
            answered = services.record_rsvp(target, request.form.get("answer", ""), request.form.get("comment", ""),
                                            via="link")
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            flash(str(error.message), "error")
    return render_template("attendance/rsvp.html", target=target, answered=answered,
                           answer=answered or services.answer_of(target), refused=None, token=token)




@bp.app_template_filter("fold")
def fold_filter(text: str) -> str:
    return fold(text or "")


@bp.app_context_processor
def attendance_names() -> dict:
    # Names every template reads: each distinct from the issues' (CHANNEL_NAMES is how an issue came in).
    return {"ATTENDANCE_NAMES": ATTENDANCE_NAMES, "ANSWER_NAMES": ANSWER_NAMES,
            "ANSWERED_VIA_NAMES": ANSWERED_VIA_NAMES}
