from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..directory import businesses_statement, parent_units, unit_tree
from ..exceptions import ServiceError
from ..extensions import db, paginate
from ..org import services
from ..org.forms import INTERACTION_NAMES, BusinessForm, ContactForm, InteractionForm, UnitForm
from ..org.models import Business, Unit
from ..reports.timeline import business_timeline
from ..scheduling.services import series_inviting
from ..scope import get_unit_by_code, get_visible, requires
from ..web import select_choices, show_service_error
from .common import unit_choices

bp = Blueprint("org", __name__)


def _parent_choices(exclude: Unit | None = None) -> list[tuple[str, str]]:
    return select_choices([("", "—")] + [(u.code, f"{u.code} · {u.name}") for u in parent_units(current_user)
                                         if u is not exclude])


@bp.route("/admin/units", methods=["GET", "POST"])
@requires("units")
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
    return render_template("org/units.html", form=form, **unit_tree())


@bp.route("/admin/units/<int:unit_id>", methods=["GET", "POST"])
@requires("units")
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
@requires("units")
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


# -- The business registry -----------------------------------------------------------------------------------



@bp.app_context_processor
def registry_names() -> dict:
    return {"INTERACTION_NAMES": INTERACTION_NAMES}


def _business_or_404(business_id: int) -> Business:
    return get_visible(current_user, Business, business_id) or abort(404)


@bp.route("/businesses")
@requires("staff")
def businesses():
    q = request.args.get("q", "").strip()[:200]
    page = paginate(businesses_statement(current_user, q or None), per_page=50)
    return render_template("org/businesses.html", page=page, q=q)


@bp.route("/businesses/new", methods=["GET", "POST"])
@requires("staff")
def create_business():
    form = BusinessForm()
    form.unit.choices = unit_choices(current_user)
    if request.method == "GET":
        form.unit.data = current_user.unit.code if current_user.unit else None
    if form.validate_on_submit():
        unit = get_unit_by_code(current_user, form.unit.data)
        if unit is None:
            form.unit.errors.append(_("Choose a unit from the list."))
        else:
            try:
                business = services.create_business(tax_code=form.tax_code.data, name=form.name.data,
                                                    address=form.address.data, unit=unit)
                db.session.commit()
            except ServiceError as error:
                show_service_error(form, error)
            else:
                flash(_("%(name)s registered.", name=business.name), "success")
                return redirect(url_for("org.business_page", business_id=business.id))
    return render_template("org/business_form.html", form=form)


@bp.route("/businesses/<int:business_id>")
@requires("staff")
def business_page(business_id: int):
    business = _business_or_404(business_id)
    return render_template(
        "org/business.html", business=business, timeline=business_timeline(current_user, business),
        contact_form=ContactForm(formdata=None), interaction_form=InteractionForm(formdata=None),
        series=series_inviting(current_user, business),
    )


@bp.route("/businesses/<int:business_id>/contacts", methods=["POST"])
@requires("staff")
def add_contact(business_id: int):
    business = _business_or_404(business_id)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = services.add_contact(business, name=form.name.data, email=form.email.data,
                                           phone=form.phone.data, position=form.position.data)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            flash(str(error.message), "error")
        else:
            flash(_("%(name)s added.", name=contact.name), "success")
    else:
        for errors in form.errors.values():  # "Enter a name.", or what else is wrong (a name too long)
            for message in errors:
                flash(str(message), "error")
    return redirect(url_for("org.business_page", business_id=business.id) + "#contacts")


@bp.route("/businesses/<int:business_id>/interactions", methods=["POST"])
@requires("staff")
def add_interaction(business_id: int):
    business = _business_or_404(business_id)
    form = InteractionForm()
    if form.validate_on_submit():
        try:
            services.record_interaction(business=business, unit=current_user.unit or business.unit,
                                        officer=current_user, channel=form.channel.data,
                                        happened_on=form.happened_on.data, summary=form.summary.data)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            flash(str(error.message), "error")
        else:
            flash(_("The contact with %(business)s is recorded.", business=business.name), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
    return redirect(url_for("org.business_page", business_id=business.id) + "#timeline")
