from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, StringField, TextAreaField, TimeField
from wtforms.validators import Length, NumberRange, Optional

from .services import MAX_LINE, MAX_NOTE, MAX_TEXT

MARKDOWN_HINT = _l("Formatting: **bold**, *italic*, lists starting with - or 1., tables with |.")


class MinutesForm(FlaskForm):
    chair = StringField(_l("Chair"), validators=[Optional(), Length(max=MAX_LINE)],
                        description=_l("Name, then position after a comma: the signature shows the name."))
    secretary = StringField(_l("Secretary"), validators=[Optional(), Length(max=MAX_LINE)],
                            description=_l("Name, then position after a comma: the signature shows the name."))
    place_name = StringField(_l("Place name in the date line"), validators=[Optional(), Length(max=MAX_LINE)],
                             description=_l("E.g. TP. Hồ Chí Minh: printed before the date."))
    closing_time = TimeField(_l("Closed at"), validators=[Optional()])
    agenda = TextAreaField(_l("Programme"), validators=[Optional(), Length(max=MAX_TEXT)], description=MARKDOWN_HINT)
    body = TextAreaField(_l("What was said"), validators=[Optional(), Length(max=MAX_TEXT)],
                         description=MARKDOWN_HINT)
    conclusions = TextAreaField(_l("Conclusions and decisions"), validators=[Optional(), Length(max=MAX_TEXT)],
                                description=MARKDOWN_HINT)
    amendment_note = TextAreaField(_l("What the amendment changes, and why"),
                                   validators=[Optional(), Length(max=MAX_NOTE)])
    base_revision = IntegerField(validators=[Optional(), NumberRange(min=0, max=2**31 - 1)])


class FinaliseForm(FlaskForm):
    base_revision = IntegerField(validators=[Optional(), NumberRange(min=0, max=2**31 - 1)])


class SendForm(FlaskForm):
    pass


class SignForm(FlaskForm):
    """Sign with the office's key: the CSRF token is all it carries."""


class SignedUploadForm(FlaskForm):
    file = FileField(_l("The signed PDF"), validators=[FileRequired(_l("Choose a file."))],
                     description=_l("The final minutes as downloaded here, signed with your token's tool (PDF)."))


class VerifyForm(FlaskForm):
    file = FileField(_l("PDF file"), validators=[FileRequired(_l("Choose a file."))],
                     description=_l("Any PDF: its digital signatures are checked; the file is not kept."))
