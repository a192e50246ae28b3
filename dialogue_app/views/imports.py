"""Import of businesses and contacts from a file (upload, preview, confirm) and their export."""

import math
from pathlib import Path

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
from werkzeug.exceptions import RequestEntityTooLarge

from ..exceptions import InvalidData
from ..imports import services
from ..imports.forms import ConfirmForm, ImportForm
from ..scope import requires
from ..spreadsheets import to_csv, to_xlsx

bp = Blueprint("imports", __name__)

# Organisers keep their branch's registry; managers read it (and may export it), as admins do everything.
ROWS_PER_PAGE = 200
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _folder() -> Path:
    return Path(current_app.config.get("IMPORT_DIR") or Path(current_app.instance_path) / "imports")


@bp.url_value_preprocessor
def _limit_upload_size(endpoint, values) -> None:
    # Runs before the app's before_request handlers, so before the CSRF check reads the form: a file far
    # over the limit is cut off at the door instead of being spooled to disk first.
    if endpoint == "imports.upload" and request.method == "POST":
        request.max_content_length = services.MAX_BYTES + 256 * 1024  # the form's own fields and boundaries


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    flash(str(services.TOO_LARGE()), "error")
    return redirect(url_for("imports.upload"))


def _load(token: str) -> services.StoredUpload | None:
    """The current user's rows under `token`, if they are still there. Another user's token is answered
    exactly as one that has expired: nothing to learn from it."""
    stored = services.load_upload(_folder(), token, user_id=current_user.id)
    return None if stored is None or stored.expired else stored


def _expired_answer():
    flash(_("This preview has expired: nothing was imported. Upload the file again."), "error")
    return _reply(url_for("imports.upload"))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _reply(target: str, status: int = 200):
    """Where to go next: a redirect for a form, or {"redirect": ...} for the page's script."""
    if _wants_json():
        return jsonify({"redirect": target}), status
    return redirect(target)


def _flag(value) -> bool:
    return str(value or "").lower() in ("1", "true", "y", "yes", "on")


@bp.route("/businesses/import", methods=["GET", "POST"])
@requires("import")
def upload():
    form = ImportForm()
    if form.validate_on_submit():
        upload_file = form.file.data
        data = upload_file.read(services.MAX_BYTES + 1)
        filename = Path((upload_file.filename or "").replace("\\", "/")).name[:200] or "import"
        try:
            parsed = services.read_upload(filename, data)
        except InvalidData as error:
            form.file.errors = [*form.file.errors, str(error.message)]
        else:
            token = services.save_upload(_folder(), parsed, user_id=current_user.id,
                                         update_existing=form.update_existing.data)
            return redirect(url_for("imports.preview", token=token))
    columns = [(services.FIELD_LABELS[name], name, name in services.REQUIRED, services.VIETNAMESE_HEADERS[name])
               for name in services.FIELDS]
    return render_template("imports/upload.html", form=form, columns=columns)


class RowPage:
    """A page of the preview's rows, shaped as the `pager` macro expects."""

    def __init__(self, rows: list, page: int, per_page: int):
        self.total = len(rows)
        self.pages = max(1, math.ceil(self.total / per_page))
        self.page = min(max(page, 1), self.pages)
        self.items = rows[(self.page - 1) * per_page:self.page * per_page]
        self.has_prev, self.has_next = self.page > 1, self.page < self.pages
        self.prev_num, self.next_num = self.page - 1, self.page + 1


@bp.route("/businesses/import/<token>")
@requires("import")
def preview(token: str):
    stored = _load(token)
    if stored is None:
        return _expired_answer()
    update_existing = _flag(request.args["update"]) if "update" in request.args else stored.update_existing
    plan = services.plan_import(stored.rows, user=current_user, update_existing=update_existing)
    only_errors = _flag(request.args.get("errors"))
    rows = [r for r in plan.rows if r.errors] if only_errors else plan.rows
    page = RowPage(rows, request.args.get("page", 1, type=int), ROWS_PER_PAGE)
    form = ConfirmForm(token=token, update_existing="1" if update_existing else "0")
    return render_template(
        "imports/preview.html", stored=stored, plan=plan, page=page, form=form, token=token,
        update_existing=update_existing, only_errors=only_errors, labels=services.FIELD_LABELS,
        has_contacts=any(name in stored.columns for name in services.CONTACT_FIELDS),
    )


@bp.route("/businesses/import/confirm", methods=["POST"])
@requires("import")
def confirm():
    """Hand the confirmed rows to the worker; the page then follows the progress (or waits on the outcome)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    token = form.token.data
    if _load(token) is None:
        return _expired_answer()
    update = _flag(form.update_existing.data)
    started = services.start_import(_folder(), token, user_id=current_user.id, update_existing=update)
    if started == services.Start.DONE:
        flash(_("This file has already been imported."), "info")
        return _reply(url_for("org.businesses"))
    if started == services.Start.RUNNING:
        flash(_("This file is being imported already; wait for it to finish."), "info")
        return _reply(url_for("imports.outcome", token=token, update="1" if update else "0"))
    return _outcome_answer(token, update)


def _outcome_answer(token: str, update: bool):
    """Done: the summary, on the registry. Failed: why, on the preview. Still running: where to wait."""
    state, detail = services.outcome(_folder(), token)
    if state == "done":
        _flash_summary(detail)
        return _reply(url_for("org.businesses"))
    if state == "failed":
        flash(detail, "error")
        return _reply(url_for("imports.preview", token=token, update="1" if update else "0"))
    waiting = url_for("imports.outcome", token=token, update="1" if update else "0")
    if _wants_json():
        return jsonify({"redirect": waiting, "wait": True})
    return redirect(waiting)


def _flash_summary(summary: dict) -> None:
    parts = [
        ngettext("%(num)d business created", "%(num)d businesses created", summary["businesses_created"]),
        ngettext("%(num)d business updated", "%(num)d businesses updated", summary["businesses_updated"]),
        ngettext("%(num)d contact added", "%(num)d contacts added", summary["contacts_added"]),
    ]
    if summary["contacts_updated"]:
        parts.append(ngettext("%(num)d contact updated", "%(num)d contacts updated", summary["contacts_updated"]))
    flash(_("Imported from %(file)s: %(what)s.", file=summary.get("file", ""), what=", ".join(parts)), "success")


@bp.route("/businesses/import/<token>/outcome")
@requires("import")
def outcome(token: str):
    """Where a confirmed import stands: a page that reloads itself while the worker writes, then the result."""
    stored = _load(token)
    if stored is None:
        return _expired_answer()
    state, _detail = services.outcome(_folder(), token)
    if state != "running":
        return _outcome_answer(token, _flag(request.args.get("update")))
    return render_template("imports/running.html", stored=stored, token=token,
                           state=services.progress_state(_folder(), token))


@bp.route("/businesses/import/<token>/progress")
@requires("import")
def progress(token: str):
    if _load(token) is None:
        abort(404)
    state = services.progress_state(_folder(), token)
    if state.get("finished"):
        label = _("Done.")
    elif state["failed"]:
        label = _("Stopped: nothing was imported.")
    elif state["total"]:
        label = _("%(done)d of %(total)d written", done=state["done"], total=state["total"])
    else:
        label = _("Checking the rows…")
    return jsonify({**state, "label": label})


@bp.route("/businesses/export.csv")
@requires("export")
def export_csv():
    body = to_csv(services.export_header(), services.export_rows(current_user, request.args.get("q")))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=businesses.csv"})


@bp.route("/businesses/export.xlsx")
@requires("export")
def export_xlsx():
    body = to_xlsx(services.export_header(), services.export_rows(current_user, request.args.get("q")),
                            title=_("Businesses"))
    return Response(body, mimetype=XLSX_MIME, headers={
        "Content-Disposition": "attachment; filename=businesses.xlsx"})
