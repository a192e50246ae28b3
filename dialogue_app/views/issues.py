from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import officetime
from ..directory import officers, unit_options
from ..exceptions import Conflict, ServiceError
from ..extensions import db, paginate
from ..issues import attachments, services
from ..issues.forms import (
    AttachmentForm,
    BusinessIssueForm,
    IssueForm,
    PublishForm,
    QuickIssueForm,
    RatingForm,
    TopicForm,
    TransitionForm,
)
from ..issues.labels import CHANNEL_NAMES, STATUS_GROUP_NAMES, STATUS_NAMES, TRANSITION_NAMES
from ..issues.models import Issue, Topic
from ..org.models import Business, Unit
from ..org.services import business_by_tax_code, normalize_tax_code
from ..scheduling.models import Meeting
from ..scope import (
    get_unit_by_code,
    get_visible,
    is_business,
    is_staff,
    requires,
    sees_every_unit,
)
from ..search.services import issues_matching
from ..spreadsheets import to_csv, to_xlsx
from ..web import select_choices, show_service_error
from .common import unit_choices

bp = Blueprint("issues", __name__)

PER_PAGE = 50
FILTERS = ("status", "topic", "channel", "unit", "raised_in", "assignee", "overdue", "from", "to", "q")


@bp.app_context_processor
def issue_names() -> dict:
    return {"CHANNEL_NAMES": CHANNEL_NAMES, "STATUS_NAMES": STATUS_NAMES, "STATUS_GROUP_NAMES": STATUS_GROUP_NAMES,
            "TRANSITION_NAMES": TRANSITION_NAMES,
            "is_overdue": services.is_overdue}


def _date_arg(name: str) -> date | None:
    """A date filter from the URL, or None when it is malformed or outside the years meetings are held in."""
    try:
        value = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    return value if 2000 <= value.year <= 2100 else None


def _filters() -> dict:
    """The list's filters from the URL, as the service takes them; unknown or malformed values are ignored."""
    args = request.args

    def visible_unit(code: str | None) -> Unit | None:
        if not code:
            return None
        return get_unit_by_code(current_user, code)

    assignee = args.get("assignee", type=int)
    unit, raised_in = visible_unit(args.get("unit")), visible_unit(args.get("raised_in"))
    # A part of the country (the person's, or a unit below the top chosen): its issues are each looked up among
    # the words, rather than the whole country's matches gathered first.
    few = not sees_every_unit(current_user) or any(u is not None and u.parent_id is not None
                                                   for u in (unit, raised_in))
    return {
        "status": args.get("status") if args.get("status") in {**STATUS_NAMES, **STATUS_GROUP_NAMES} else None,
        "raised_in": raised_in,
        "topic": args.get("topic") or None,
        "channel": args.get("channel") if args.get("channel") in CHANNEL_NAMES else None,
        "unit": unit,
        "assignee_id": assignee,
        "overdue": True if args.get("overdue") in ("1", "true") else None,
        "created_from": _date_arg("from"),
        "created_to": _date_arg("to"),
        "matching": issues_matching(args.get("q"), few=few),
    }


@bp.route("/issues")
@login_required
def issue_list():
    page = paginate(services.issue_query(current_user, ids_only=True, **_filters()), per_page=PER_PAGE)
    page.items = services.issues_in_order(page.items)
    current = {name: request.args.get(name, "") for name in FILTERS}
    return render_template("issues/list.html", page=page, topics=services.active_topics(current_user),
                           units=unit_options(current_user),
                           officers=officers(current_user) if is_staff(current_user) else [], current=current,
                           filter_args={k: v for k, v in current.items() if v})


EXPORT_COLUMNS = ("id", "created", "title", "business", "tax_code", "channel", "topic", "unit", "status",
                  "assignee", "due_date", "overdue", "answered", "rating")


def _export_rows():
    for issue in services.issue_list(current_user, limit=100_000, **_filters()):
        yield [
            issue.id, issue.created_at.astimezone(officetime.office_zone()).strftime("%d/%m/%Y %H:%M"),
            issue.title, issue.business.name, issue.business.tax_code, str(CHANNEL_NAMES[issue.channel]),
            issue.topic.name, issue.unit.name, str(STATUS_NAMES[issue.status]),
            issue.assignee.email if issue.assignee else "",
            issue.due_date.strftime("%d/%m/%Y") if issue.due_date else "",
            _("yes") if services.is_overdue(issue) else "",
            issue.answered_at.astimezone(officetime.office_zone()).strftime("%d/%m/%Y") if issue.answered_at else "",
            issue.rating.score if issue.rating else "",
        ]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/issues.csv")
@requires("export")
def export_csv():
    return Response(to_csv(list(EXPORT_COLUMNS), _export_rows()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=issues.csv"})


@bp.route("/issues.xlsx")
@requires("export")
def export_xlsx():
    return Response(to_xlsx(list(EXPORT_COLUMNS), _export_rows(), "Issues"), mimetype=XLSX,
                    headers={"Content-Disposition": "attachment; filename=issues.xlsx"})


def _topic_choices():
    # Nothing chosen at first: a preselected first topic was kept by whoever did not look, and skewed the reports.
    return select_choices([("", _("— Choose a topic —")),
                           *((t.code, t.name) for t in services.active_topics(current_user))])


def _topic(code: str) -> Topic | None:
    return services.topic_by_code(code)


def _attach_upload(issue: Issue, upload) -> None:
    if upload and upload.filename:
        # One byte more than allowed is enough to know it is too large.
        attachments.add_attachment(issue, filename=upload.filename, data=upload.read(attachments.MAX_BYTES + 1),
                                   uploaded_by_id=current_user.id)


@bp.route("/issues/new", methods=["GET", "POST"])
@login_required
def create_issue():
    if is_business(current_user):
        return _create_business_issue()
    form = IssueForm()
    form.topic.choices = _topic_choices()
    form.unit.choices = unit_choices(current_user)
    if request.method == "GET":
        form.unit.data = current_user.unit.code if current_user.unit else None
        form.meeting_id.data = request.args.get("meeting", "")
        form.interaction_id.data = request.args.get("interaction", "")
        form.channel.data = request.args.get("channel") or form.channel.data
        form.tax_code.data = request.args.get("tax_code", "")
    if form.validate_on_submit():
        issue = _create_from_form(form)
        if issue is not None:
            flash(_("Issue #%(id)d recorded.", id=issue.id), "success")
            return redirect(url_for("issues.issue_page", issue_id=issue.id))
    _ask_for_the_file_again(form)
    return render_template("issues/new.html", form=form)


def _ask_for_the_file_again(form) -> None:
    """A form sent back with errors cannot hold the file chosen (no browser refills a file field): said on the
    field, so that the issue is not saved without it by someone who did not notice."""
    upload = request.files.get(form.file.name)
    if request.method == "POST" and upload is not None and upload.filename and not form.file.errors:
        form.file.errors = [*form.file.errors, _("The file “%(name)s” was not kept: choose it again before "
                                                  "sending.", name=upload.filename[:100])]


def _record_id(text: str | None) -> int | None:
    """The id a hidden field holds, or None when it could name no row (not digits, or more than 18 of them)."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= 18 else None


def _create_from_form(form: IssueForm) -> Issue | None:
    """Record the issue a staff form describes; errors go on the form and nothing is saved."""
    business = business_by_tax_code(normalize_tax_code(form.tax_code.data))
    if business is None or get_visible(current_user, Business, business.id) is None:
        form.tax_code.errors.append(_("No business with this tax code is registered."))
    topic = _topic(form.topic.data)
    if topic is None:
        form.topic.errors.append(_("Choose a topic from the list."))
    unit = get_unit_by_code(current_user, form.unit.data)
    if unit is None:
        form.unit.errors.append(_("Choose a unit from the list."))
    meeting = interaction = None
    if (form.meeting_id.data or "").strip():
        meeting_id = _record_id(form.meeting_id.data)
        meeting = get_visible(current_user, Meeting, meeting_id) if meeting_id else None
    if (form.interaction_id.data or "").strip():
        interaction_id = _record_id(form.interaction_id.data)
        interaction = services.get_interaction(current_user, interaction_id) if interaction_id else None
    if (form.meeting_id.data or "").strip() and meeting is None or \
            (form.interaction_id.data or "").strip() and interaction is None:
        # The page it was opened from named a meeting or a contact that is not (or no longer) there: said, not
        # dropped unseen, lest the issue be recorded as raised nowhere; taken off the form sent back, so that
        # sending it again records the issue on its own.
        flash(_("The meeting or contact this issue was to be recorded for cannot be found: nothing was saved."),
              "error")
        form.meeting_id.data = form.interaction_id.data = ""
        return None
    if form.errors:
        return None
    try:
        issue = services.create_issue(
            title=form.title.data, description=form.description.data or "", business=business,
            channel="meeting" if meeting else form.channel.data, topic=topic, unit=unit, actor=current_user,
            meeting=meeting, raised_by_name=form.raised_by.data or "", interaction=interaction,
        )
        db.session.flush()
        _attach_upload(issue, form.file.data)
        db.session.commit()
    except ServiceError as error:
        show_service_error(form, error, {"business": "tax_code"})
        return None
    return issue


def _create_business_issue():
    form = BusinessIssueForm()
    form.topic.choices = _topic_choices()
    if form.validate_on_submit():
        topic = _topic(form.topic.data)
        if topic is None:
            form.topic.errors.append(_("Choose a topic from the list."))
        else:
            business = current_user.business
            try:
                issue = services.create_issue(
                    title=form.title.data, description=form.description.data, business=business, channel="web",
                    topic=topic, unit=business.unit, actor=current_user, raised_by_name=current_user.name,
                )
                db.session.flush()
                _attach_upload(issue, form.file.data)
                db.session.commit()
            except ServiceError as error:
                show_service_error(form, error)
            else:
                flash(_("Your issue has been sent to %(unit)s. You will be told when it is answered.",
                        unit=business.unit.name), "success")
                return redirect(url_for("issues.issue_page", issue_id=issue.id))
    _ask_for_the_file_again(form)
    return render_template("issues/new_business.html", form=form)


def _issue_or_404(issue_id: int) -> Issue:
    return services.get_issue(current_user, issue_id) or abort(404)


def _issue_to_change_or_404(issue_id: int) -> Issue:
    return services.get_issue_to_change(current_user, issue_id) or abort(404)


@bp.route("/issues/<int:issue_id>")
@login_required
def issue_page(issue_id: int):
    issue = _issue_or_404(issue_id)
    return _render_issue(issue)


def _render_issue(issue: Issue, transition_form: TransitionForm | None = None, status: int = 200):
    staff = is_staff(current_user)
    forms = {}
    # A higher unit reads a branch's issue, the branch acts (a conduct complaint: the managers who read it).
    if staff and services.may_handle(current_user, issue):
        for target in services.offered_steps(issue):
            form = TransitionForm(prefix=target, formdata=None)
            form.to.data, form.version.data = target, issue.version
            if target == "assigned":
                officers = services.officers_for(issue)
                form.assignee.choices = select_choices((u.id, f"{u.name} ({u.unit.code})") for u in officers)
                form.due_date.data = issue.due_date or services.default_due_date(issue.topic)
                if issue.assignee:
                    form.assignee.data = str(issue.assignee.id)
            forms[target] = form
        if transition_form is not None:
            forms[transition_form.to.data] = transition_form
    rating_form = RatingForm() if is_business(current_user) and issue.rating is None else None
    publish_form = PublishForm(formdata=None, public_question=issue.public_question or issue.description,
                               public_answer=issue.public_answer or issue.resolution) if staff else None
    return render_template(
        "issues/issue.html", issue=issue, forms=forms, staff=staff, rating_form=rating_form,
        publish_form=publish_form, attachment_form=AttachmentForm(formdata=None),
        overdue=services.is_overdue(issue), days_taken=services.working_days_taken(issue),
    ), status


@bp.route("/issues/<int:issue_id>/transition", methods=["POST"])
@requires("staff")
def transition(issue_id: int):
    issue = _issue_to_change_or_404(issue_id)
    target = request.form.get("target", "")
    form = TransitionForm(prefix=target)
    officers = services.officers_for(issue) if target == "assigned" else []
    if target == "assigned":
        form.assignee.choices = select_choices((u.id, u.name) for u in officers)
    if not form.validate_on_submit() or form.to.data != target:
        flash(_("Nothing changed: check the fields of this step."), "error")
        return _render_issue(issue, form, 422)
    assignee = None
    if target == "assigned" and (chosen := _record_id(form.assignee.data)) is not None:
        assignee = next((u for u in officers if u.id == chosen), None)
    source = issue.status
    try:
        if target == "answered":  # one action: taken and started first where the workflow needs it
            steps = services.answer(issue, actor=current_user, resolution=form.resolution.data or "",
                                    legal_basis=form.legal_basis.data, note=form.note.data or "",
                                    message=form.message.data or "", expected_version=form.version.data)
        else:
            services.transition(
                issue, to=target, actor=current_user, note=form.note.data or "", message=form.message.data or "",
                assignee=assignee,
                due_date=form.due_date.data, resolution=form.resolution.data, legal_basis=form.legal_basis.data,
                expected_version=form.version.data,
            )
            steps = [target]
        db.session.commit()
    except (Conflict, services.TransitionRefused) as error:  # said on the page, never a silent refusal
        db.session.rollback()
        flash(str(error.message), "error")
        fresh = _issue_or_404(issue_id)
        return _render_issue(fresh, status=409)
    except ServiceError as error:
        show_service_error(form, error)
        return _render_issue(_issue_or_404(issue_id), form, 422)
    flash(services.what_happened(issue, steps, source), "success")
    if services.get_issue(current_user, issue.id) is None:
        return redirect(url_for("issues.issue_list"))  # escalated out of this user's sight
    return redirect(url_for("issues.issue_page", issue_id=issue.id))


@bp.route("/issues/<int:issue_id>/rating", methods=["POST"])
@requires("business")
def rate(issue_id: int):
    issue = _issue_or_404(issue_id)
    form = RatingForm()
    if form.validate_on_submit():
        try:
            services.rate(issue, user=current_user, score=form.score.data, comment=form.comment.data or "")
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            flash(str(error.message), "error")
        else:
            flash(_("Thank you: your rating has been recorded."), "success")
    else:
        for messages in form.errors.values():  # the form's own words: a missing score, a comment too long
            for message in messages:
                flash(str(message), "error")
    return redirect(url_for("issues.issue_page", issue_id=issue.id))


@bp.route("/issues/<int:issue_id>/publish", methods=["POST"])
@requires("staff")
def publish(issue_id: int):
    issue = _issue_to_change_or_404(issue_id)
    if request.form.get("action") == "unpublish":
        services.unpublish(issue, actor=current_user)
        db.session.commit()
        flash(_("The question and answer are no longer public."), "success")
        return redirect(url_for("issues.issue_page", issue_id=issue.id))
    form = PublishForm()
    if form.validate_on_submit():
        try:
            services.publish(issue, actor=current_user, question=form.public_question.data,
                             answer=form.public_answer.data)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            flash(str(error.message), "error")
        else:
            flash(_("Published among the public questions and answers."), "success")
    else:
        for errors in form.errors.values():  # empty, or longer than the public page takes
            for message in errors:
                flash(str(message), "error")
    return redirect(url_for("issues.issue_page", issue_id=issue.id))


@bp.route("/issues/<int:issue_id>/attachments", methods=["POST"])
@login_required
def upload(issue_id: int):
    issue = _issue_or_404(issue_id)
    form = AttachmentForm()
    if form.validate_on_submit():
        try:
            _attach_upload(issue, form.file.data)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            flash(str(error.message), "error")
        else:
            flash(_("“%(name)s” is attached to issue #%(id)d.", name=issue.attachments[-1].filename, id=issue.id),
                  "success")
    else:
        flash(_("Choose a file."), "error")
    return redirect(url_for("issues.issue_page", issue_id=issue.id))


@bp.route("/issues/<int:issue_id>/attachments/<int:attachment_id>")
@login_required
def download(issue_id: int, attachment_id: int):
    issue = _issue_or_404(issue_id)
    attachment = services.get_attachment(issue, attachment_id) or abort(404)
    path = attachments.stored_path(attachment.sha256)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachments.download_name(attachment.filename, attachment.content_type))


@bp.route("/issues/ratings")
@requires("staff")
def ratings():
    """How satisfied businesses are with the answers, per unit and per officer."""
    return render_template("issues/ratings.html", rollup=services.rating_rollup(current_user))


@bp.route("/qa")
def public_answers():
    """Answered questions published without the business's name: for every business, no sign-in needed."""
    page = paginate(services.published_statement(), per_page=20)
    return render_template("issues/qa.html", page=page)


@bp.route("/admin/topics", methods=["GET", "POST"])
@requires("topics")
def topics():
    form = TopicForm()
    if form.validate_on_submit():
        topic = services.save_topic(code=form.code.data, name=form.name.data, answer_days=form.answer_days.data,
                                    sensitive=form.sensitive.data == "1", active=form.active.data == "1")
        db.session.commit()
        flash(_("Topic “%(name)s” saved.", name=topic.name), "success")
        return redirect(url_for("issues.topics"))
    return render_template("issues/topics.html", form=form, topics=services.all_topics())


@bp.route("/meetings/<int:meeting_id>/issues", methods=["POST"])
@requires("staff")
def quick_issue(meeting_id: int):
    """Record an issue raised at this meeting and come back to the meeting, ready for the next one."""
    meeting = get_visible(current_user, Meeting, meeting_id) or abort(404)
    form = QuickIssueForm()
    back = url_for("scheduling.meeting_page", meeting_id=meeting.id) + "#quick-entry"
    if not form.validate_on_submit():
        # A missing title is the usual slip; otherwise say what is wrong (a text too long, say).
        problems = [str(m) for errors in form.errors.values() for m in errors] \
            if (form.title.data or "").strip() else []
        for message in problems or [_("Enter the issue's title.")]:
            flash(message, "error")
        return redirect(back)
    tax_code = normalize_tax_code(form.tax_code.data or form.business.data or "")
    business = business_by_tax_code(tax_code) if tax_code else None
    topic = _topic(form.topic.data)
    if business is None or get_visible(current_user, Business, business.id) is None or topic is None:
        flash(_("Choose the business (or type its tax code) and the topic."), "error")
        return redirect(back)
    try:
        issue = services.create_issue(
            title=form.title.data, description=form.description.data or "", business=business, channel="meeting",
            topic=topic, unit=meeting.unit, actor=current_user, meeting=meeting, raised_by_name=form.raised_by.data,
        )
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(back)
    flash(_("Issue #%(id)d recorded.", id=issue.id), "success")
    return redirect(back)
