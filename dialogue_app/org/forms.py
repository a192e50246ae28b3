from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from ..i18n import LEVEL_NAMES
from ..web import select_choices


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
