from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from ..i18n import LEVEL_NAMES
from ..web import select_choices

INTERACTION_NAMES = {
    "visit": _l("Visit to the premises"), "phone": _l("Phone call"), "email": _l("Email"), "zalo": _l("Zalo"),
    "fanpage": _l("Fanpage message"), "counter": _l("At the counter"),
}


class UnitForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(_l("Enter a code.")), Length(max=32),
                    Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Letters, digits, dot, dash and underscore only."))],
        description=_l("A short code other systems use, e.g. HCM-KCNC."),
    )
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=255)])
    level = SelectField(_l("Level"), choices=select_choices(LEVEL_NAMES.items()))
    parent = SelectField(_l("Parent unit"), choices=[], validate_choice=False)


class BusinessForm(FlaskForm):
    tax_code = StringField(_l("Tax code"), validators=[DataRequired(_l("Enter the tax code.")), Length(max=20)],
                           description=_l("10 digits, or 10 digits, a dash and 3 digits for a dependent unit."))
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=255)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=2000)])
    unit = SelectField(_l("Served by"), choices=[], validate_choice=False)


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=255)])
    position = StringField(_l("Position"), validators=[Optional(), Length(max=255)])
    email = StringField(_l("Email"), validators=[Optional(), Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])


class InteractionForm(FlaskForm):
    channel = SelectField(_l("How"), choices=select_choices(INTERACTION_NAMES.items()))
    happened_on = DateField(_l("Date"), validators=[InputRequired(_l("Choose the date."))])
    summary = TextAreaField(_l("What it was about"), validators=[DataRequired(_l("Write what it was about.")),
                                                                  Length(max=20_000)])
