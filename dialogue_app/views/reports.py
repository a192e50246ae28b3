"""Report pages: the dashboard, the branch ranking, their PDF and exports, plans, waiting-room screens."""

from datetime import datetime, timedelta

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import officetime
from ..exceptions import NotFound, ServiceError
from ..extensions import db, paginate
from ..issues.labels import CHANNEL_NAMES
from ..minutes.services import suggested_place_name
from ..officetime import office_zone
from ..pdf import date_words, html_to_pdf
from ..reports import charts, index, services
from ..reports.forms import ScreenForm
from ..reports.periods import ROMAN, Period, PeriodKind, parse_period
from ..scheduling.services import unit_agenda
from ..scope import report_units, requires, visible_units
from ..spreadsheets import to_csv, to_xlsx
from ..web import external_url
from .common import unit_choices

bp = Blueprint("reports", __name__)

# Reports are for managers (and admins): they count every issue, those about an officer's conduct included.
PERIOD_NAMES = {PeriodKind.MONTH: _l("Month"), PeriodKind.QUARTER: _l("Quarter"), PeriodKind.YEAR: _l("Year")}
PART_NAMES = {
    "on_time": _l("Answered on time"), "speed": _l("Speed of answer"), "rating": _l("Businesses' rating"),
    "dialogues": _l("Dialogues held against plan"), "engaged": _l("Businesses engaged against plan"),
}


def period_label(period: Period) -> str:
    if period.kind is PeriodKind.MONTH:
        return _("Month %(month)02d/%(year)d", month=period.number, year=period.year)
    if period.kind is PeriodKind.QUARTER:
        return _("Quarter %(quarter)s/%(year)d", quarter=ROMAN[period.number - 1], year=period.year)
    return _("Year %(year)d", year=period.year)


def issues_url(unit, period: Period, **filters) -> str:
    """The issue list behind a figure: raised at `unit` or below during `period`, with `filters`."""
    return url_for("issues.issue_list", raised_in=unit.code, **{"from": period.start.isoformat(),
                                                                  "to": period.last_day.isoformat()}, **filters)


def month_period(key: str) -> Period:
    year, month = key.split("-")
    return Period(PeriodKind.MONTH, int(year), int(month))


@bp.app_context_processor
def report_names() -> dict:
    return {"period_label": period_label, "issues_url": issues_url, "month_period": month_period,
            "PERIOD_NAMES": PERIOD_NAMES, "PART_NAMES": PART_NAMES,
            "INDEX_WEIGHTS": index.WEIGHTS, "SLOWEST_WORKDAYS": index.SLOWEST_WORKDAYS}


def _report_args() -> tuple[services.ReportScope, Period]:
    """The unit and period a report page is about, from the URL; a bad value is a 404 with a clear message."""
    try:
        period = parse_period(request.args, officetime.today())
    except ValueError:
        raise NotFound(_l("There is no such period: choose a month, a quarter or a year between 2000 and 2100.")) \
            from None
    return services.report_scope(current_user, request.args.get("unit") or None), period


def _dashboard(scope, period) -> services.Dashboard:
    return services.dashboard(scope, period, CHANNEL_NAMES)


def dashboard_charts(board: services.Dashboard) -> dict:
    return {
        "months": charts.column_chart(_("Issues raised and answered, month by month"),
                                      [b.label for b in board.months],
                                      [(_("Raised"), [b.raised for b in board.months]),
                                       (_("Answered"), [b.answered for b in board.months])]),
        "topics": charts.bar_chart(_("Issues by topic"), [(b.label, b.raised) for b in board.topics if b.raised]),
        "channels": charts.bar_chart(_("Issues by channel"),
                                     [(b.label, b.raised) for b in board.channels if b.raised]),
    }


@bp.route("/reports")
@requires("report_reading")
def dashboard():
    scope, period = _report_args()
    board = _dashboard(scope, period)
    return render_template("reports/dashboard.html", board=board, scope=scope, period=period,
                           charts=dashboard_charts(board), units=report_units(current_user),
                           today=officetime.today())


@bp.route("/reports/ranking")
@requires("report_reading")
def ranking():
    scope, period = _report_args()
    rows, as_of = services.ranking(scope, period)
    chart = charts.bar_chart(_("Ranking index"), [(r.unit.name, round(r.score.index, 1)) for r in rows
                                                   if r.score.index is not None][:30])
    return render_template("reports/ranking.html", rows=rows, scope=scope, period=period, chart=chart, as_of=as_of,
                           units=report_units(current_user), today=officetime.today())


@bp.route("/reports/report.pdf")
@requires("report_reading")
def report_pdf():
    scope, period = _report_args()
    with force_locale("vi"):  # an administrative document is written in Vietnamese, whoever prints it
        board = _dashboard(scope, period)
        rows = services.ranking(scope, period)[0] if scope.unit.level != "branch" else []
        html = render_template("pdf/report.html", board=board, scope=scope, period=period, rows=rows,
                               charts=dashboard_charts(board), date_words=date_words, today=officetime.today(),
                               place=suggested_place_name(scope.unit), author=current_user.name)
    body = html_to_pdf(html, static_folder=current_app.static_folder,
                       identifier=f"report-{scope.unit.code}-{period.slug}")
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="bao-cao-{scope.unit.code}-{period.slug}.pdf"'})


def _figures_row(f: services.Figures) -> list:
    return [f.raised, f.answered, f.overdue, _round(f.median_workdays), _round(f.on_time_share),
            _round(f.rating, 2), f.held, _round(f.dialogues_target), f.engaged, _round(f.engaged_target)]


def _round(value: float | None, digits: int = 1):
    return None if value is None else round(value, digits)


FIGURE_COLUMNS = (_l("Issues raised"), _l("Answered"), _l("Overdue"), _l("Median working days to answer"),
                  _l("Answered on time (%)"), _l("Average rating"), _l("Dialogues held"), _l("Dialogues planned"),
                  _l("Businesses engaged"), _l("Businesses planned"))


def export_table(name: str) -> tuple[list[str], list[list]]:
    """The header and rows of one of the report's tables, as shown on the page."""
    scope, period = _report_args()
    if name == "ranking":
        rows = services.ranking(scope, period)[0]
        header = [_("Rank"), _("Unit code"), _("Unit"), _("Index"), *(str(PART_NAMES[p]) for p in index.WEIGHTS),
                  _("Index last period"), _("Change"), *(str(c) for c in FIGURE_COLUMNS)]
        return header, [[r.rank, r.unit.code, r.unit.name, _round(r.score.index),
                         *(_round(r.score.parts[p]) for p in index.WEIGHTS), _round(r.previous_score.index),
                         _round(r.change), *_figures_row(r.figures)] for r in rows]
    board = _dashboard(scope, period)
    if name == "units":
        return ([_("Unit code"), _("Unit"), *(str(c) for c in FIGURE_COLUMNS)],
                [[u.code, u.name, *_figures_row(f)] for u, f in board.units]
                + [[scope.unit.code, _("Total"), *_figures_row(board.total)]])
    breakdown = {"topics": board.topics, "channels": board.channels, "months": board.months}.get(name)
    if breakdown is None:
        abort(404)
    first = {"topics": _("Topic"), "channels": _("Channel"), "months": _("Month")}[name]
    return ([first, _("Issues raised"), _("Answered"), _("Overdue")],
            [[b.label, b.raised, b.answered, b.overdue] for b in breakdown])


@bp.route("/reports/<any(units, topics, channels, months, ranking):table>.<any(csv, xlsx):fmt>")
@requires("report_reading")
def export(table: str, fmt: str):
    scope, period = _report_args()
    header, rows = export_table(table)
    filename = f"bao-cao-{table}-{scope.unit.code}-{period.slug}.{fmt}"
    if fmt == "csv":
        return Response(to_csv(header, rows), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    return Response(to_xlsx(header, rows, title=table),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/reports/businesses")
@requires("report_reading")
def engaged_businesses():
    """The list behind "businesses engaged"."""
    scope, period = _report_args()
    page = paginate(services.engaged_businesses_query(scope, period), per_page=50)
    return render_template("reports/businesses.html", page=page, scope=scope, period=period)


@bp.route("/reports/dialogues")
@requires("report_reading")
def held_dialogues():
    """The list behind "dialogues held"."""
    scope, period = _report_args()
    page = paginate(services.held_meetings_query(scope, period), per_page=50)
    return render_template("reports/dialogues.html", page=page, scope=scope, period=period)


def _whole_number(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text else None


@bp.route("/reports/plans", methods=["GET", "POST"])
@requires("reports")
def plans():
    """The annual plan of each unit: dialogues to hold and businesses to meet."""
    scope = services.report_scope(current_user, request.values.get("unit") or None)
    year = request.values.get("year", type=int) or officetime.today().year
    if not 2000 <= year <= 2100:
        year = officetime.today().year
    errors: dict[int, str] = {}
    if request.method == "POST":
        numbers: dict = {}
        for unit in scope.units:
            try:
                numbers[unit] = tuple(_whole_number(request.form.get(f"{name}-{unit.id}"))
                                      for name in ("dialogues", "businesses"))
            except ValueError:
                errors[unit.id] = _("Enter whole numbers.")
        try:
            if not errors:
                services.set_plans(current_user, year, numbers)
                db.session.commit()
                flash(_("The plans for %(year)d are saved.", year=year), "success")
                return redirect(url_for(".plans", unit=scope.unit.code, year=year))
        except ServiceError as error:
            db.session.rollback()
            errors = {int(key): str(messages[0]) for key, messages in error.fields.items() if key.isdigit()}
            if not errors:
                flash(str(error.message), "error")
        if errors:
            flash(_("Nothing was saved: correct the rows marked below."), "error")
    return render_template("reports/plans.html", scope=scope, year=year, plans=services.plans_for(scope, year),
                           errors=errors, form=request.form if request.method == "POST" else None,
                           units=visible_units(current_user)), 422 if request.method == "POST" else 200


@bp.route("/reports/screens", methods=["GET", "POST"])
@requires("reports")
def screens():
    """Waiting-room screens: each shows a unit's coming dialogues and public answers to whoever has its link."""
    units = visible_units(current_user)
    form = ScreenForm()
    form.unit.choices = unit_choices(current_user)
    new_link = None
    if form.validate_on_submit():
        unit = next(u for u in units if u.code == form.unit.data)
        screen, token = services.create_display(current_user, unit, form.name.data)
        db.session.commit()
        new_link = external_url("reports.display", token=token)  # the public address, not the one asked on
        flash(_("The screen “%(name)s” is ready: open the link below on it. The link is shown only once.",
                name=screen.name), "success")
        form = ScreenForm(formdata=None)
        form.unit.choices = unit_choices(current_user)
    return render_template("reports/screens.html", screens=services.screens_of(current_user), form=form,
                           new_link=new_link)


@bp.route("/reports/screens/<int:screen_id>/revoke", methods=["POST"])
@requires("reports")
def revoke_screen(screen_id: int):
    screen = services.revoke_display(current_user, screen_id) or abort(404)
    db.session.commit()
    flash(_("The screen “%(name)s” is turned off.", name=screen.name), "success")
    return redirect(url_for(".screens"))


# How often a screen reloads itself, in seconds.
DISPLAY_REFRESH = 300


@bp.route("/display/<token>")
def display(token: str):
    """A waiting-room screen: no sign-in, only the screen's token. Read-only, reloads itself."""
    screen = services.display_for_token(token)
    if screen is None:
        abort(404)
    zone = office_zone()
    now = datetime.now(zone)
    coming = unit_agenda(screen.unit, now - timedelta(hours=1), now + timedelta(days=45))
    coming = [e for e in coming if e.status != "cancelled"][:6]  # what a screen shows without scrolling
    response = Response(render_template("reports/display.html", screen=screen, coming=coming, now=now,
                                        answers=services.published_answers(screen.unit),
                                        refresh=DISPLAY_REFRESH))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the address
    return response
