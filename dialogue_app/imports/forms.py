from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired, Length


class ImportForm(FlaskForm):
    file = FileField(
        _l("File"), validators=[FileRequired(_l("Choose a file."))],
        description=_l("CSV saved as “CSV UTF-8” (separated by commas or semicolons), or an Excel workbook "
                       "(.xlsx); at most 20 MB and 50,000 rows."),
    )
    update_existing = BooleanField(_l("Update businesses that already exist"))


class ConfirmForm(FlaskForm):
    """Names the rows kept on the server: the rows themselves are never taken back from the browser."""

    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    update_existing = HiddenField()
