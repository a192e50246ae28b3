from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length


class ScreenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the screen a name, such as where it hangs.")),
                                               Length(max=255)],
                       description=_l("Where it hangs, e.g. “Phòng chờ tầng 1”."))
    unit = SelectField(_l("Unit whose dialogues it shows (and the units below)"), choices=[])
