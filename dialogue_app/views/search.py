"""The search pages: results grouped by kind (from the box in the top bar), suggestions as one types, and the
public questions and answers searched by anyone."""

from datetime import date

from flask import Blueprint, jsonify, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..exceptions import InvalidData
from ..search import services
from ..search.services import Filters

bp = Blueprint("search", __name__)

PER_PAGE = 20
MAX_PAGE = 500
UNITS_KEPT = 300  # seconds a browser keeps the list of units: a unit added or renamed shows within five minutes


def _date(name: str, problems: list[str]) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2100:
        problems.append(_("“%(value)s” is not a date: write it as 2027-01-25.", value=value[:20]))
        return None
    return day


def _page_number() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


@bp.route("/search")
@login_required
def results():
    """The results page; a tax code or an issue number the person may open goes straight to its page."""
    typed = request.args.get("q", "")
    problems: list[str] = []
    filters = Filters(kind=request.args.get("type") or None, unit=request.args.get("unit") or None,
                      date_from=_date("from", problems), date_to=_date("to", problems),
                      status=request.args.get("status") or None)
    if filters == Filters() and (target := services.jump_target(current_user, typed)):
        return redirect(target)
    try:
        found = services.search(current_user, typed, filters, page=_page_number(), per_page=PER_PAGE)
    except InvalidData as error:
        problems += [str(m) for messages in error.fields.values() for m in messages] or [str(error.message)]
        found = services.search(current_user, typed, Filters(), page=_page_number(), per_page=PER_PAGE)
    current = {name: request.args.get(name, "") for name in ("q", "type", "unit", "from", "to", "status")}
    kind_names, kind_name, status_names = services.names_in(str(get_locale()))
    return render_template("search/results.html", found=found, problems=problems, current=current,
                           kind_names=kind_names, kind_name=kind_name, status_names=status_names,
                           units=services.unit_options(current_user, filters.unit, every=False),
                           units_version=services.units_version(current_user), page=_page_number(),
                           per_page=PER_PAGE)


@bp.route("/search/units")
@login_required
def units():
    """Every unit the person may filter by, for the results page's script to fill the unit filter: the page
    itself renders only the top levels. Kept by the browser, under a name that changes with what they see."""
    response = jsonify(items=[{"code": code, "name": name} for code, name in services.unit_options(current_user)])
    response.cache_control.private = True
    response.cache_control.max_age = UNITS_KEPT
    return response


@bp.route("/search/suggest")
@login_required
def suggest():
    """A few things matching what is being typed (three letters or more), as JSON for the box's list."""
    hits = services.suggest(current_user, request.args.get("q", ""))
    return jsonify(items=[{"type": h.kind, "kind": str(services.KIND_NAME[h.kind]), "title": h.title, "url": h.url,
                           "day": h.day if h.kind in ("meeting", "minutes") else ""} for h in hits])


@bp.route("/qa/search")
def public_answers():
    """The published questions and answers matching what a business typed: no sign-in needed."""
    found = services.public_answers(request.args.get("q", ""), page=_page_number(), per_page=PER_PAGE)
    return render_template("search/qa.html", found=found, typed=request.args.get("q", ""), page=_page_number(),
                           per_page=PER_PAGE)
