from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..auth.access import roles_required
from ..auth.models import Role, User
from ..exceptions import ServiceError
from ..extensions import db
from ..scope import get_visible, visible_units_condition
from ..web import select_choices, show_service_error
from . import services
from .forms import UnitForm
from .models import Business, Unit

bp = Blueprint("org", __name__)


def _parent_choices(exclude: Unit | None = None) -> list[tuple[str, str]]:
    units = db.session.execute(
        select(Unit).where(Unit.level != "branch", visible_units_condition(current_user)).order_by(Unit.path)
    ).scalars()
    return select_choices([("", "—")] + [(u.code, f"{u.code} · {u.name}") for u in units if u is not exclude])


def _counts(column) -> dict[int, int]:
    return dict(db.session.execute(select(column, func.count()).group_by(column)).all())


@bp.route("/admin/units", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def units():
    form = UnitForm()
    form.parent.choices = _parent_choices()
    if form.validate_on_submit():
        parent = services.unit_by_code(form.parent.data) if form.parent.data else None
        try:
            unit = services.create_unit(code=form.code.data, name=form.name.data, level=form.level.data,
                                        parent=parent)
            db.session.commit()
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("Unit %(code)s created.", code=unit.code), "success")
            return redirect(url_for("org.units"))
    all_units = db.session.execute(select(Unit).order_by(Unit.path)).scalars().all()
    return render_template(
        "org/units.html", units=all_units, form=form,
        users=_counts(User.unit_id), businesses=_counts(Business.unit_id), children=_counts(Unit.parent_id),
    )


@bp.route("/admin/units/<int:unit_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_unit(unit_id: int):
    unit = get_visible(current_user, Unit, unit_id) or abort(404)
    form = UnitForm(obj=unit)
    form.parent.choices = _parent_choices(exclude=unit)
    form.level.data = unit.level  # a unit's level is what it is; moving it between levels is not a thing
    if request.method == "GET":
        form.parent.data = unit.parent.code if unit.parent else ""
    if form.validate_on_submit():
        parent = services.unit_by_code(form.parent.data) if form.parent.data else None
        try:
            services.update_unit(unit, code=form.code.data, name=form.name.data, parent=parent)
            db.session.commit()
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("Unit %(code)s saved.", code=unit.code), "success")
            return redirect(url_for("org.units"))
    return render_template("org/unit_form.html", form=form, unit=unit)


@bp.route("/admin/units/<int:unit_id>/delete", methods=["POST"])
@roles_required(Role.ADMIN)
def delete_unit(unit_id: int):
    unit = get_visible(current_user, Unit, unit_id) or abort(404)
    try:
        services.delete_unit(unit)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        flash(_("Unit %(code)s deleted.", code=unit.code), "success")
    return redirect(url_for("org.units"))
