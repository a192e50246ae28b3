from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..auth.bearer import file_reader
from ..exceptions import ServiceError
from ..extensions import db
from ..issues import services as issue_services
from ..minutes import served, services, signed
from ..minutes.forms import FinaliseForm, MinutesForm, SendForm, SignedUploadForm, SignForm
from ..minutes.markup import render_markdown
from ..scheduling.models import Meeting
from ..scope import requires
from ..web import show_service_error

bp = Blueprint("minutes", __name__)

PREVIEW_FIELDS = ("agenda", "body", "conclusions")


@bp.app_context_processor
def minutes_helpers() -> dict:
    """`minutes_of(meeting)` for the meeting page's minutes section (templates/minutes/_meeting_section.html)."""
    return {"minutes_of": services.get_minutes}


def visible_meeting(meeting_id: int, user=None) -> Meeting:
    """The meeting if the user sees it (with its unit and the unit above, printed in the heading), else 404."""
    return services.get_visible_meeting(user or current_user, meeting_id) or abort(404)


def _form_from(revision, meeting: Meeting) -> MinutesForm:
    form = MinutesForm(formdata=None)
    if revision is not None:
        for name in services.FIELDS:
            getattr(form, name).data = getattr(revision, name)
        form.place_name.data = revision.place_name or services.suggested_place_name(meeting.unit)
    else:
        form.place_name.data = services.suggested_place_name(meeting.unit)
        form.closing_time.data = services.in_office_zone(meeting.end).time().replace(second=0, microsecond=0)
    form.base_revision.data = revision.number if revision is not None else 0
    return form


def _page(meeting: Meeting, form: MinutesForm, *, conflict=None, preview: dict | None = None, status: int = 200):
    minutes = services.get_minutes(meeting)
    latest = services.latest_revision(minutes)
    raised, carried_over = issue_services.meeting_issues(current_user, meeting)
    finalise_form = FinaliseForm(formdata=None, base_revision=latest.number if latest else 0)
    return render_template(
        "minutes/minutes.html", meeting=meeting, minutes=minutes, latest=latest, form=form, conflict=conflict,
        preview=preview, attendees=services.attendee_rows(meeting), raised=raised, carried_over=carried_over,
        revisions=services.revision_history(minutes), finalise_form=finalise_form, send_form=SendForm(formdata=None),
        managers=services.unit_managers(meeting) if minutes and minutes.status == "final" else [],
        md=render_markdown, signed_copies=signed.signed_copies(minutes),
        may_sign=signed.may_sign(current_user, meeting), may_read_copy=signed.may_read_copy,
        sign_form=SignForm(formdata=None), upload_form=SignedUploadForm(formdata=None),
        may_change=services.may_change_minutes(current_user, meeting), begun=services.has_begun(meeting),
    ), status


@bp.route("/meetings/<int:meeting_id>/minutes", methods=["GET", "POST"])
@requires("staff")
def minutes_page(meeting_id: int):
    """Write the minutes: each save is a revision; a save on top of a newer one shows both versions."""
    meeting = visible_meeting(meeting_id)
    if request.method == "GET":
        return _page(meeting, _form_from(services.latest_revision(services.get_minutes(meeting)), meeting))
    form = MinutesForm()
    if not form.validate():
        return _page(meeting, form, status=422)
    if "preview" in request.form:
        return _page(meeting, form, preview={name: render_markdown(getattr(form, name).data)
                                             for name in PREVIEW_FIELDS})
    try:
        before = services.latest_revision(services.get_minutes(meeting))
        revision = services.save_minutes(
            meeting, actor=current_user, base_revision=form.base_revision.data,
            amendment_note=form.amendment_note.data,
            **{name: getattr(form, name).data if name != "closing_time" else form.closing_time.data
               for name in services.FIELDS},
        )
        db.session.commit()
    except services.MinutesConflict:
        db.session.rollback()
        latest = services.latest_revision(services.get_minutes(meeting))
        form.base_revision.data = latest.number  # the next save is made knowing the newer revision
        return _page(meeting, form, conflict=latest, status=409)
    except ServiceError as error:
        show_service_error(form, error)
        return _page(meeting, form, status=error.status)
    if before is not None and revision.id == before.id:
        flash(_("Nothing changed: no new revision was saved."), "info")
    elif revision.kind == "amendment":
        flash(_("Amendment saved as revision %(n)d.", n=revision.number), "success")
    else:
        flash(_("Minutes saved as revision %(n)d.", n=revision.number), "success")
    return redirect(url_for("minutes.minutes_page", meeting_id=meeting.id))


@bp.route("/meetings/<int:meeting_id>/minutes/preview", methods=["POST"])
@requires("staff")
def preview(meeting_id: int):
    """The live preview: each Markdown field as the page and the PDF will show it (sanitised)."""
    visible_meeting(meeting_id)
    texts = {name: request.form.get(name, "")[: services.MAX_TEXT] for name in PREVIEW_FIELDS}
    return jsonify({name: str(render_markdown(text)) for name, text in texts.items()})


@bp.route("/meetings/<int:meeting_id>/minutes/finalise", methods=["POST"])
@requires("staff")
def finalise(meeting_id: int):
    meeting = visible_meeting(meeting_id)
    form = FinaliseForm()
    back = redirect(url_for("minutes.minutes_page", meeting_id=meeting.id))
    if not form.validate():
        flash(_("Reload the page and try again; nothing was saved."), "error")
        return back
    try:
        services.finalise_minutes(meeting, actor=current_user, base_revision=form.base_revision.data)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        for messages in error.fields.values():
            for message in messages:
                flash(str(message), "error")
        return back
    flash(_("The minutes are final. Any later change is an amendment."), "success")
    return back


@bp.route("/meetings/<int:meeting_id>/minutes/send", methods=["POST"])
@requires("staff")
def send(meeting_id: int):
    meeting = visible_meeting(meeting_id)
    back = redirect(url_for("minutes.minutes_page", meeting_id=meeting.id))
    if not SendForm().validate():
        flash(_("Reload the page and try again; nothing was saved."), "error")
        return back
    try:
        count = services.send_minutes(meeting, actor=current_user, again=request.form.get("again") == "1")
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return back
    flash(ngettext("The minutes were put in the outbox for %(num)d recipient.",
                   "The minutes were put in the outbox for %(num)d recipients.", count), "success")
    return back


@bp.route("/meetings/<int:meeting_id>/minutes/revisions/<int:number>")
@requires("staff")
def revision_page(meeting_id: int, number: int):
    meeting = visible_meeting(meeting_id)
    minutes = services.get_minutes(meeting)
    revision = services.get_revision(minutes, number) or abort(404)
    return render_template("minutes/revision.html", meeting=meeting, minutes=minutes, revision=revision,
                           md=render_markdown)


@bp.route("/meetings/<int:meeting_id>/minutes.pdf")
def minutes_pdf(meeting_id: int):
    """The minutes as PDF: for a bearer token (the API's) or a browser session. Answers with an ETag, and 304
    when the client's copy is still the current one; renders only when nothing cached has that content."""
    reader = file_reader()
    if reader is None:
        return current_app.login_manager.unauthorized()  # the usual redirect to the sign-in page
    answer = served.served_pdf(reader, meeting_id) or abort(404)
    headers = {"ETag": f'"{answer.etag}"', "Cache-Control": "private, no-cache",
               "Content-Disposition": f'inline; filename="{answer.filename}"'}
    if request.if_none_match.contains_weak(answer.etag):
        db.session.commit()
        return Response(status=304, headers=headers)
    data = answer.data()
    db.session.commit()
    return Response(data, mimetype="application/pdf", headers=headers)
