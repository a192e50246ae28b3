"""Pages of signed minutes: sign with the office's key, upload a copy a person signed, download any signed
copy, and verify any PDF. Thin: each validates, calls one service of minutes.signed, commits, answers."""

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from ..auth.bearer import file_reader
from ..exceptions import ServiceError
from ..extensions import db
from ..minutes import services, signed
from ..minutes.forms import SignedUploadForm, SignForm, VerifyForm
from ..scope import requires
from .minutes import visible_meeting

bp = Blueprint("signatures", __name__)



@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    flash(_("The file is too large: a signed PDF of the minutes is at most %(mb)d MB.",
            mb=signed.MAX_PDF_BYTES // 2**20), "error")
    return redirect(request.referrer or url_for("signatures.verify"))


def _back(meeting_id: int):
    return redirect(url_for("minutes.minutes_page", meeting_id=meeting_id) + "#signed")


def _refused(error: ServiceError) -> None:
    db.session.rollback()
    flash(str(error.message), "error")


@bp.route("/meetings/<int:meeting_id>/minutes/sign", methods=["POST"])
@requires("staff")
def sign(meeting_id: int):
    meeting = visible_meeting(meeting_id)
    if not SignForm().validate():
        flash(_("Reload the page and try again; nothing was saved."), "error")
        return _back(meeting.id)
    try:
        copy = signed.sign_minutes(meeting, actor=current_user)
        db.session.commit()
    except ServiceError as error:
        _refused(error)
        return _back(meeting.id)
    flash(_("The minutes are signed by %(signer)s. The signed copy is now the official one.",
            signer=copy.signers.split("; ")[-1]), "success")
    return _back(meeting.id)


@bp.route("/meetings/<int:meeting_id>/minutes/signed", methods=["POST"])
@requires("staff")
def upload(meeting_id: int):
    meeting = visible_meeting(meeting_id)
    form = SignedUploadForm()
    if not form.validate():
        for messages in form.errors.values():
            for message in messages:
                flash(str(message), "error")
        return _back(meeting.id)
    try:
        copy = signed.store_signed_upload(meeting, actor=current_user, data=form.file.data.read())
        db.session.commit()
    except ServiceError as error:
        _refused(error)
        return _back(meeting.id)
    flash(_("The signed copy was checked and kept as the official one (signed by %(signers)s).",
            signers=copy.signers), "success")
    return _back(meeting.id)


@bp.route("/meetings/<int:meeting_id>/minutes/signed/<int:copy_id>.pdf")
def signed_copy(meeting_id: int, copy_id: int):
    """One signed copy, as it was signed (earlier revisions too): for a bearer token or a browser session,
    like minutes.pdf."""
    reader = file_reader()
    if reader is None:
        return current_app.login_manager.unauthorized()
    meeting = visible_meeting(meeting_id, reader)
    copy = signed.get_copy(services.get_minutes(meeting), copy_id)
    if copy is None or not signed.may_read_copy(reader, copy):
        abort(404)
    etag = f"signed-{copy.sha256[:40]}"
    headers = {"ETag": f'"{etag}"', "Cache-Control": "private, no-cache",
               "Content-Disposition": f'inline; filename="bien-ban-{meeting.id}-ky-so-{copy.id}.pdf"'}
    if request.if_none_match.contains_weak(etag):
        return Response(status=304, headers=headers)
    return Response(copy.data, mimetype="application/pdf", headers=headers)


@bp.route("/signatures/verify", methods=["GET", "POST"])
@login_required
def verify():
    """Check the signatures of any PDF; nothing is kept."""
    form = VerifyForm()
    reports, refusal, status = None, None, 200
    if request.method == "POST":
        if form.validate():
            try:
                reports = signed.verify(form.file.data.read())
            except ServiceError as error:
                refusal, status = error.message, error.status
        else:
            status = 422
    return render_template("minutes/verify.html", form=form, reports=reports, refusal=refusal,
                           name=form.file.data.filename if reports is not None else None), status
