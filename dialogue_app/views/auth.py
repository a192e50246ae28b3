from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..auth import services
from ..auth.access import mark_sign_in_failed, remember_device, sign_in_limits
from ..auth.forms import LoginForm, PasswordForm, UserForm
from ..auth.models import User
from ..db import utcnow
from ..directory import users_statement
from ..exceptions import ServiceError
from ..extensions import db, login_manager, paginate
from ..org.services import business_by_tax_code, normalize_tax_code
from ..scope import ADMINS, get_unit_by_code, get_visible, requires
from ..web import local_target, show_service_error
from .common import unit_choices

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = None  # the sign-in page itself says what to do


@login_manager.user_loader
def load_user(ident: str) -> User | None:
    """The session cookie and the remember cookie both carry get_id(): a live session of an active person."""
    return services.session_user(ident)


@bp.route("/login", methods=["GET", "POST"])
@sign_in_limits
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            mark_sign_in_failed()
            flash(_("Wrong email or password."), "error")
        else:
            user.last_login_at = utcnow()
            services.start_session(user, user_agent=request.user_agent.string, address=request.remote_addr or "",
                                   remember=form.remember.data)
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return remember_device(redirect(local_target(request.args.get("next"))), user.email)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        services.end_session(current_user)  # a copy of the cookie stops working too
        db.session.commit()
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


def _placement(form: UserForm):
    """The unit and business the form names, within the editor's scope; errors go on the form."""
    unit = None
    if form.unit.data:
        unit = get_unit_by_code(current_user, form.unit.data)
        if unit is None:
            form.unit.errors.append(_("Choose a unit from the list."))
    business = None
    if form.business_tax_code.data:
        business = business_by_tax_code(normalize_tax_code(form.business_tax_code.data))
        if business is None:
            form.business_tax_code.errors.append(_("No business with this tax code is registered."))
    return unit, business


FORM_FIELDS = {"business_id": "business_tax_code"}


@bp.route("/admin/users")
@requires("accounts")
def users():
    q = request.args.get("q", "").strip()
    page = paginate(users_statement(current_user, q or None), per_page=50)
    return render_template("auth/users.html", page=page, q=q)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@requires("accounts")
def create_user():
    form = UserForm()
    form.unit.choices = unit_choices(current_user, blank=True)
    if form.validate_on_submit():
        unit, business = _placement(form)
        if not form.password.data:
            form.password.errors.append(_("Enter a password."))
        elif not form.errors:
            try:
                user = services.create_user(
                    email=form.email.data, name=form.name.data, password=form.password.data,
                    role=form.role.data, unit=unit, business=business, language=form.language.data,
                )
                db.session.commit()
            except ServiceError as error:
                show_service_error(form, error, FORM_FIELDS)
            else:
                flash(_("Account %(email)s created.", email=user.email), "success")
                return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@requires("accounts")
def edit_user(user_id: int):
    user = get_visible(current_user, User, user_id) or abort(404)
    form = UserForm(obj=user)
    form.unit.choices = unit_choices(current_user, blank=True)
    if request.method == "GET":
        form.unit.data = user.unit.code if user.unit else ""
        form.business_tax_code.data = user.business.tax_code if user.business else ""
    # The email is the sign-in name and the key other systems know a person by: it is not edited here.
    form.email.data = user.email
    if form.validate_on_submit():
        unit, business = _placement(form)
        if form.role.data == "business" and unit is not None and unit.id == user.unit_id:
            unit = None  # left as it was: the account follows its business's unit (which may have moved since)
        if user.id == current_user.id and (form.role.data not in ADMINS or not form.active.data):
            flash(_("You cannot remove your own administrator access."), "error")
        elif not form.errors:
            try:
                services.update_user(
                    user, name=form.name.data, role=form.role.data, unit=unit, business=business,
                    active=form.active.data, language=form.language.data, password=form.password.data or None,
                )
                db.session.commit()
            except ServiceError as error:
                show_service_error(form, error, FORM_FIELDS)
            else:
                flash(_("Account %(email)s saved.", email=user.email), "success")
                return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user)


@bp.route("/account/sessions")
@login_required
def sessions():
    """Where the person is signed in (browsers and API tokens), each of which they can end."""
    return _sessions_page(PasswordForm())


def _sessions_page(form: PasswordForm, status: int = 200):
    live, tokens = services.live_sessions(current_user)
    current = services.current_session_row(current_user)
    return render_template("auth/sessions.html", sessions=live, tokens=tokens,
                           current_id=current.id if current else None, form=form), status


@bp.route("/account/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_session(session_id: int):
    if not services.end_session(current_user, session_id):
        abort(404)
    db.session.commit()
    flash(_("That session has ended."), "success")
    return redirect(url_for("auth.sessions"))


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    services.end_sessions(current_user, keep_session=current_user.session_key)
    db.session.commit()
    flash(_("Every other session and API token has ended."), "success")
    return redirect(url_for("auth.sessions"))


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    if not services.revoke_own_token(current_user, token_id):
        abort(404)
    db.session.commit()
    flash(_("That API token no longer works."), "success")
    return redirect(url_for("auth.sessions"))


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_own_password(current_user, current_password=form.current_password.data,
                                         new_password=form.new_password.data, keep_session=current_user.session_key)
            db.session.commit()
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("Your password is changed; every other session has ended."), "success")
            return redirect(url_for("auth.sessions"))
    return _sessions_page(form, 422)
