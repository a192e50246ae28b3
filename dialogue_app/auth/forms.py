from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from ..i18n import LANGUAGE_NAMES, ROLE_NAMES
from ..web import select_choices
from .services import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    remember = BooleanField(_l("Keep me signed in on this device"))


class UserForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter an email.")), Email(_l("This is not a valid email address.")),
                    Length(max=254)],
    )
    name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter a name.")), Length(max=255)])
    role = SelectField(_l("Role"), choices=select_choices(ROLE_NAMES.items()))
    unit = SelectField(_l("Unit"), choices=[], validate_choice=False)
    business_tax_code = StringField(
        _l("Business tax code"), validators=[Optional(), Length(max=14)],
        description=_l("Only for business accounts."),
    )
    language = SelectField(_l("Language"), choices=select_choices(LANGUAGE_NAMES.items()))
    active = BooleanField(_l("Account active"), default=True)
    password = PasswordField(
        _l("Password"),
        validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH,
                                       message=_l("At least %(min)d characters."))],
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(_l("Enter your password."))])
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Enter a password.")),
                    Length(min=MIN_PASSWORD_LENGTH, message=_l("At least %(min)d characters."))],
    )
