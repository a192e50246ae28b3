import calendar as month_calendar
from datetime import date, datetime, time, timedelta

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import officetime
from ..attendance import services as attendance
from ..directory import visible_businesses
from ..exceptions import InvalidData, ServiceError
from ..extensions import db
from ..i18n import local_datetime
from ..issues import services as issue_services
from ..issues.forms import QuickIssueForm
from ..officetime.days import AdjustmentKind
from ..org.models import Business
from ..scheduling import services
from ..scheduling.forms import (
    ADJUSTMENT_NAMES,
    KIND_NAMES,
    POLICY_NAMES,
    AdjustmentForm,
    MeetingForm,
    OccurrenceForm,
    SeriesForm,
)
from ..scheduling.models import Meeting, Series
from ..scheduling.presets import describe, preset_of, preset_rule, with_end
from ..scheduling.recurrence import Status
from ..scope import get_unit_by_code, get_visible, is_staff, may, requires
from ..web import select_choices, show_service_error
from .common import unit_choices

bp = Blueprint("scheduling", __name__)

PREVIEW_COUNT = 12


def entry_url(entry: services.AgendaEntry) -> str:
    """Where a calendar entry leads: its meeting page once it has one, else its place on the series page."""
    if entry.meeting is not None:
        return url_for("scheduling.meeting_page", meeting_id=entry.meeting.id)
    return url_for("scheduling.series_page", series_id=entry.series_id,
                   year=entry.occurrence.year) + f"#o-{entry.occurrence.isoformat()}"


@bp.app_context_processor
def scheduling_names() -> dict:
    return {"KIND_NAMES": KIND_NAMES, "POLICY_NAMES": POLICY_NAMES, "ADJUSTMENT_NAMES": ADJUSTMENT_NAMES,
            "entry_url": entry_url}


@bp.app_template_filter("describe_rule")
def describe_rule(rule: str) -> str:
    return describe(rule)


def _business_choices():
    return select_choices((b.id, f"{b.name} ({b.tax_code})") for b in visible_businesses(current_user))


def rule_from_form(form: SeriesForm) -> str:
    """The RRULE value the builder's fields describe."""
    if form.preset.data == "custom":
        rule = (form.rule.data or "").strip()
        if any(part in rule.upper() for part in ("COUNT=", "UNTIL=")):
            return rule
    else:
        try:
            rule = preset_rule(form.preset.data, form.weekday.data, form.monthday.data or 15)
        except (KeyError, ValueError):
            raise InvalidData.on("preset", _("Choose how the meetings repeat.")) from None
    if form.end.data == "count":
        return with_end(rule, count=form.count.data)
    if form.end.data == "until" and form.until.data:
        return with_end(rule, until=form.until.data)
    return rule


def preview(form: SeriesForm) -> tuple[list, str | None]:
    """The next occurrences the form would give, or the reason it gives none."""
    if not form.start_date.data or not form.start_time.data:
        return [], _("Choose the date and time of the first meeting.")
    try:
        occurrences = services.preview(
            rule_from_form(form), datetime.combine(form.start_date.data, form.start_time.data),
            form.duration_minutes.data or 60, form.holiday_policy.data or "keep", count=PREVIEW_COUNT,
        )
    except ServiceError as error:
        return [], str(error.message)
    return occurrences, None


def _series_or_404(series_id: int) -> Series:
    return get_visible(current_user, Series, series_id) or abort(404)


def _date_or_none(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


def _day_or_404(value: str) -> date:
    return _date_or_none(value) or abort(404)


@bp.route("/series")
@requires("staff")
def series_list():
    all_series = services.series_list(current_user)
    now = datetime.now(officetime.office_zone())
    calendar = officetime.holiday_calendar(range(now.year, now.year + 2))
    upcoming = {}
    for series in all_series:
        coming = [o for o in services.occurrences(series, now, now + timedelta(days=366), calendar)
                  if o.status is not Status.CANCELLED]
        upcoming[series.id] = coming[0] if coming else None
    return render_template("scheduling/series_list.html", all_series=all_series, upcoming=upcoming)


def _fill_choices(form) -> None:
    form.unit.choices = unit_choices(current_user)
    if hasattr(form, "invitees"):
        form.invitees.choices = _business_choices()


@bp.route("/series/new", methods=["GET", "POST"])
@requires("staff")
def create_series():
    form = SeriesForm()
    _fill_choices(form)
    if request.method == "GET":
        form.unit.data = current_user.unit.code if current_user.unit else None
    occurrences, problem = [], None
    if form.is_submitted() and "preview" in request.form:
        occurrences, problem = preview(form)
    elif form.validate_on_submit():
        unit = get_unit_by_code(current_user, form.unit.data)
        if unit is None:
            form.unit.errors.append(_("Choose a unit from the list."))
        else:
            try:
                series = services.create_series(
                    title=form.title.data, unit=unit, location=form.location.data, rule=rule_from_form(form),
                    first_start=datetime.combine(form.start_date.data, form.start_time.data),
                    duration_minutes=form.duration_minutes.data, holiday_policy=form.holiday_policy.data,
                    kind=form.kind.data, description=form.description.data or "",
                    invitees=[b for b in (get_visible(current_user, Business, i) for i in form.invitees.data) if b],
                )
                db.session.commit()
            except ServiceError as error:
                show_service_error(form, error, {"rrule": "rule"})
            else:
                flash(_("Series “%(title)s” created.", title=series.title), "success")
                return redirect(url_for("scheduling.series_page", series_id=series.id))
    return render_template("scheduling/series_form.html", form=form, series=None, occurrences=occurrences,
                           problem=problem)


@bp.route("/series/preview")
@requires("staff")
def series_preview():
    """The live preview of the rule builder: the next 12 occurrences, holidays flagged and shifts shown."""
    form = SeriesForm(request.args, meta={"csrf": False})
    occurrences, problem = preview(form)
    return jsonify({
        "problem": problem,
        "items": [{
            "occurrence": o.occurrence.isoformat(),
            "label": render_template("scheduling/_occurrence_label.html", occurrence=o),
            "status": o.status.value,
            "holiday": o.holiday,
        } for o in occurrences],
    })


@bp.route("/series/<int:series_id>")
@login_required
def series_page(series_id: int):
    series = _series_or_404(series_id)
    zone = services.series_zone(series)
    year = request.args.get("year", type=int) or datetime.now(zone).year
    first_year = series.first_start.year
    year = max(first_year, min(year, first_year + 200))
    window_start = datetime(year, 1, 1, tzinfo=zone)
    occurrences = services.occurrences(series, window_start, datetime(year + 1, 1, 1, tzinfo=zone))
    meetings = services.meeting_ids(series)
    return render_template("scheduling/series.html", series=series, occurrences=occurrences, meetings=meetings,
                           invitees=services.invitees_for(current_user, series),
                           year=year, move_form=OccurrenceForm(), can_edit=is_staff(current_user),
                           later=services.has_occurrences_from(series, year + 1), now=datetime.now(zone))


@bp.route("/series/<int:series_id>/edit", methods=["GET", "POST"])
@requires("staff")
def edit_series(series_id: int):
    series = _series_or_404(series_id)
    form = SeriesForm(obj=series)
    _fill_choices(form)
    if request.method == "GET":
        form.unit.data = series.unit.code
        # The rule as the builder made it (a preset), else as written.
        fields = preset_of(series.rule) or {"preset": "custom", "end": "never"}
        for name, value in fields.items():
            getattr(form, name).data = value
        form.rule.data = series.rule
        form.start_date.data, form.start_time.data = series.first_start.date(), series.first_start.time()
        form.invitees.data = [b.id for b in series.invitees]
    occurrences, problem = [], None
    apply_from = request.form.get("apply_from") or None
    if form.is_submitted() and "preview" in request.form:
        occurrences, problem = preview(form)
    elif form.validate_on_submit():
        unit = get_unit_by_code(current_user, form.unit.data)
        if unit is None:
            form.unit.errors.append(_("Choose a unit from the list."))
            return render_template("scheduling/series_form.html", form=form, series=series, occurrences=[],
                                   problem=None, apply_from=apply_from)
        changes = {
            "unit": unit,
            "title": form.title.data, "kind": form.kind.data, "location": form.location.data,
            "description": form.description.data or "", "rule": rule_from_form(form),
            "duration_minutes": form.duration_minutes.data, "holiday_policy": form.holiday_policy.data,
            "invitees": [b for b in (get_visible(current_user, Business, i) for i in form.invitees.data) if b],
        }
        split_day = _date_or_none(apply_from)
        try:
            if apply_from and split_day is None:
                raise InvalidData.on("from_date", _("Choose a valid date."))
            if split_day is not None:
                services.check_year(split_day, "from_date")
                changes["first_start"] = datetime.combine(split_day, form.start_time.data)
                target = services.split_series(series, split_day, **changes)
            else:
                changes["first_start"] = datetime.combine(form.start_date.data, form.start_time.data)
                target = services.update_series(series, **changes)
            db.session.commit()
        except ServiceError as error:
            show_service_error(form, error, {"rrule": "rule"})
        else:
            flash(_("Series “%(title)s” saved.", title=target.title), "success")
            return redirect(url_for("scheduling.series_page", series_id=target.id))
    return render_template("scheduling/series_form.html", form=form, series=series, occurrences=occurrences,
                           problem=problem, apply_from=apply_from)


def _occurrence_action(series_id: int, day: str, **change):
    series = _series_or_404(series_id)
    try:
        services.change_occurrence(series, _day_or_404(day), **change)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return None
    return series


@bp.route("/series/<int:series_id>/occurrences/<day>/cancel", methods=["POST"])
@requires("staff")
def cancel_occurrence(series_id: int, day: str):
    if _occurrence_action(series_id, day, status="cancelled"):
        flash(_("The meeting of %(day)s is cancelled; the other meetings are unchanged.", day=_vn(day)), "success")
    return redirect(_back_to_series(series_id, day))


@bp.route("/series/<int:series_id>/occurrences/<day>/restore", methods=["POST"])
@requires("staff")
def restore_occurrence(series_id: int, day: str):
    if _occurrence_action(series_id, day, status="scheduled"):
        flash(_("The meeting of %(day)s is restored.", day=_vn(day)), "success")
    return redirect(_back_to_series(series_id, day))


@bp.route("/series/<int:series_id>/occurrences/<day>/move", methods=["POST"])
@requires("staff")
def move_occurrence(series_id: int, day: str):
    form = OccurrenceForm()
    if not form.validate():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        return redirect(_back_to_series(series_id, day))
    series = _series_or_404(series_id)
    start = datetime.combine(form.new_date.data, form.new_time.data).replace(tzinfo=services.series_zone(series))
    if _occurrence_action(series_id, day, start=start, location=form.location.data or None):
        flash(_("The meeting of %(day)s is moved; the other meetings are unchanged.", day=_vn(day)), "success")
        _say_clashes(series.unit, start, start + timedelta(minutes=series.duration_minutes), series_id=series.id,
                     occurrence=_day_or_404(day))
    return redirect(_back_to_series(series_id, day))


def _say_clashes(unit, start: datetime, end: datetime, **itself) -> None:
    """A warning for each meeting of the unit at the same time as the one just placed there."""
    for other in services.clashes(unit, start, end, **itself):
        flash(_("Note: “%(title)s” takes place at the same time (%(when)s).", title=other.title,
                when=local_datetime(other.start)), "warning")


@bp.route("/series/<int:series_id>/occurrences/<day>/meeting", methods=["POST"])
@requires("staff")
def open_meeting(series_id: int, day: str):
    series = _series_or_404(series_id)
    try:
        meeting, _created = services.meeting_for(series, _day_or_404(day))
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(_back_to_series(series_id, day))
    return redirect(url_for("scheduling.meeting_page", meeting_id=meeting.id))


def _vn(day: str) -> str:
    return f"{day[8:10]}/{day[5:7]}/{day[0:4]}"


def _back_to_series(series_id: int, day: str) -> str:
    return url_for("scheduling.series_page", series_id=series_id, year=day[:4]) + f"#o-{day}"


@bp.route("/meetings/new", methods=["GET", "POST"])
@requires("staff")
def create_meeting():
    form = MeetingForm()
    _fill_choices(form)
    if request.method == "GET":
        form.unit.data = current_user.unit.code if current_user.unit else None
    if form.validate_on_submit():
        unit = get_unit_by_code(current_user, form.unit.data)
        if unit is None:
            form.unit.errors.append(_("Choose a unit from the list."))
        else:
            try:
                meeting = services.create_meeting(
                    title=form.title.data, unit=unit, location=form.location.data, kind=form.kind.data,
                    start=datetime.combine(form.date.data, form.time.data).replace(tzinfo=officetime.office_zone()),
                    duration_minutes=form.duration_minutes.data, description=form.description.data or "",
                )
                db.session.commit()
            except ServiceError as error:
                show_service_error(form, error)
            else:
                flash(_("The meeting “%(title)s” is created.", title=meeting.title), "success")
                _say_clashes(unit, meeting.start, meeting.end, meeting_id=meeting.id)
                return redirect(url_for("scheduling.meeting_page", meeting_id=meeting.id))
    return render_template("scheduling/meeting_form.html", form=form)


@bp.route("/meetings/<int:meeting_id>")
@login_required
def meeting_page(meeting_id: int):
    meeting = get_visible(current_user, Meeting, meeting_id) or abort(404)
    raised, carried_over = issue_services.meeting_issues(current_user, meeting)
    quick_form = None
    staff = is_staff(current_user)
    invited, invited_alone = attendance.invitations(meeting) if staff else ([], [])
    attendees = attendance.attendees_of(meeting) if staff else []
    if staff:
        quick_form = QuickIssueForm(formdata=None)
        quick_form.topic.choices = select_choices((t.code, t.name) for t in issue_services.active_topics(current_user))
        # Whoever may have raised it: every business invited (through the series or to this meeting alone)
        # and every business present, walk-ins' included.
        present = {b.id: b for b in [*invited, *(a.business for a in attendees if a.business is not None)]}
        quick_form.business.choices = select_choices(
            [("", "—")] + [(b.tax_code, b.name) for b in sorted(present.values(), key=lambda b: b.name)])
    return render_template("scheduling/meeting.html", meeting=meeting, raised=raised, carried_over=carried_over,
                           quick_form=quick_form, staff=staff, invited=invited, attendees=attendees,
                           invited_alone=invited_alone,
                           expected=attendance.expected(meeting, invited, attendees) if staff else [])


@bp.route("/calendar")
@login_required
def month():
    zone = officetime.office_zone()
    today = officetime.today_in(zone)
    try:
        year, month_number = (int(x) for x in request.args.get("month", "").split("-"))
        first = date(year, month_number, 1)
        services.check_year(first, "month")
    except (ValueError, ServiceError):
        first = today.replace(day=1)
    weeks = month_calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    window_start = datetime.combine(weeks[0][0], time.min, tzinfo=zone)
    window_end = datetime.combine(weeks[-1][-1] + timedelta(days=1), time.min, tzinfo=zone)
    holidays = services.agenda_holidays(window_start, window_end)
    entries = services.agenda(current_user, window_start, window_end, holidays)
    by_day: dict[date, list] = {}
    for entry in entries:
        by_day.setdefault(entry.start.astimezone(zone).date(), []).append(entry)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return render_template("scheduling/calendar.html", weeks=weeks, first=first, by_day=by_day, today=today,
                           holidays=holidays, previous=previous, following=following)


@bp.route("/agenda")
@login_required
def agenda():
    zone = officetime.office_zone()
    now = datetime.now(zone)
    weeks = min(max(request.args.get("weeks", 8, type=int), 1), 52)
    entries = services.agenda(current_user, now - timedelta(hours=2), now + timedelta(weeks=weeks))
    return render_template("scheduling/agenda.html", entries=entries, weeks=weeks)


@bp.route("/holidays", methods=["GET", "POST"])
@login_required
def holidays_page():
    year = request.args.get("year", type=int) or officetime.today_in(officetime.office_zone()).year
    year = min(max(year, 2000), 2100)
    form = AdjustmentForm()
    if request.method == "POST":
        if not may(current_user, "holidays"):
            abort(404)
        if form.validate_on_submit():
            try:
                services.set_adjustment(form.day.data, AdjustmentKind(form.kind.data), form.name.data or "")
                db.session.commit()
                services.announce_in_background()
            except ServiceError as error:
                show_service_error(form, error)
            else:
                flash(_("The calendar of %(year)d is updated.", year=form.day.data.year), "success")
                return redirect(url_for("scheduling.holidays_page", year=form.day.data.year))
    library_days, library_working = officetime.library_year(year)
    adjustments = services.adjustments_of(year)
    calendar = officetime.holiday_calendar([year])
    return render_template("scheduling/holidays.html", year=year, form=form, calendar=calendar,
                           library_days=dict(library_days), library_working=library_working,
                           adjustments=adjustments)


@bp.route("/holidays/adjustments/<int:adjustment_id>/delete", methods=["POST"])
@requires("holidays")
def delete_adjustment(adjustment_id: int):
    adjustment = services.get_adjustment(adjustment_id) or abort(404)
    year = adjustment.day.year
    services.remove_adjustment(adjustment)
    db.session.commit()
    services.announce_in_background()
    flash(_("The calendar of %(year)d is updated.", year=year), "success")
    return redirect(url_for("scheduling.holidays_page", year=year))
