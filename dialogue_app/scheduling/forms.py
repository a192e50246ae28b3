from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..web import select_choices
from .presets import WEEKDAY_NAMES

KIND_NAMES = {
    "dialogue": _l("Dialogue session"), "thematic": _l("Thematic meeting"), "visit": _l("Visit to a business"),
}
POLICY_NAMES = {
    "keep": _l("Keep the date (flag the holiday)"),
    "skip": _l("Skip the meeting"),
    "previous_workday": _l("Move to the previous working day"),
    "next_workday": _l("Move to the next working day"),
}
PRESET_CHOICES = {
    "last_weekday": _l("Last … of the month"),
    "first_weekday": _l("First … of the month"),
    "weekly": _l("Every week on …"),
    "monthday": _l("A fixed day of each month"),
    "custom": _l("Custom rule (RFC 5545)"),
}
ADJUSTMENT_NAMES = {
    "day_off": _l("Extra day off"),
    "working_day": _l("Working weekend day"),
    "not_a_holiday": _l("Not a day off after all"),
}
END_CHOICES = {"never": _l("Never"), "count": _l("After a number of meetings"), "until": _l("On a date")}


class SeriesForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title.")), Length(max=255)])
    kind = SelectField(_l("Kind"), choices=select_choices(KIND_NAMES.items()))
    unit = SelectField(_l("Organising unit"), choices=[], validate_choice=False)
    location = StringField(_l("Place"), validators=[DataRequired(_l("Enter a place.")), Length(max=500)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10_000)])
    preset = SelectField(_l("Repeats"), choices=select_choices(PRESET_CHOICES.items()), default="last_weekday")
    weekday = SelectField(_l("Day of the week"), choices=select_choices(WEEKDAY_NAMES.items()), default="MO")
    monthday = IntegerField(_l("Day of the month"), default=15,
                            validators=[Optional(), NumberRange(1, 31, _l("A day from 1 to 31."))])
    rule = StringField(_l("Rule (RRULE)"), validators=[Optional(), Length(max=500)],
                       description=_l("For experts: an RFC 5545 RRULE value, e.g. FREQ=MONTHLY;BYDAY=-1MO."))
    start_date = DateField(_l("First meeting on"),
                           validators=[InputRequired(_l("Choose the date of the first meeting."))])
    start_time = TimeField(_l("Starts at"), default=None,
                           validators=[InputRequired(_l("Choose the time the meetings start."))])
    duration_minutes = IntegerField(
        _l("Duration (minutes)"), default=120,
        validators=[InputRequired(_l("Enter the duration.")),
                    NumberRange(5, 720, _l("A meeting lasts from 5 minutes to 12 hours."))],
    )
    holiday_policy = SelectField(_l("When a meeting falls on a public holiday"),
                                 choices=select_choices(POLICY_NAMES.items()), default="keep")
    end = SelectField(_l("Ends"), choices=select_choices(END_CHOICES.items()), default="never")
    count = IntegerField(_l("Number of meetings"), validators=[Optional(), NumberRange(1, 1000)])
    until = DateField(_l("Last date"), validators=[Optional()])
    invitees = SelectMultipleField(_l("Invited businesses"), choices=[], validate_choice=False, coerce=int)


class OccurrenceForm(FlaskForm):
    """Move one occurrence: a new date and time, and optionally a new place."""

    new_date = DateField(_l("New date"), validators=[InputRequired(_l("Choose the new date."))])
    new_time = TimeField(_l("New time"), validators=[InputRequired(_l("Choose the new time."))])
    location = StringField(_l("Place"), validators=[Optional(), Length(max=500)])


class MeetingForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title.")), Length(max=255)])
    kind = SelectField(_l("Kind"), choices=select_choices(KIND_NAMES.items()), default="thematic")
    unit = SelectField(_l("Organising unit"), choices=[], validate_choice=False)
    location = StringField(_l("Place"), validators=[DataRequired(_l("Enter a place.")), Length(max=500)])
    date = DateField(_l("Date"), validators=[InputRequired(_l("Choose the date."))])
    time = TimeField(_l("Starts at"), validators=[InputRequired(_l("Choose the time."))])
    duration_minutes = IntegerField(
        _l("Duration (minutes)"), default=90,
        validators=[InputRequired(_l("Enter the duration.")),
                    NumberRange(5, 720, _l("A meeting lasts from 5 minutes to 12 hours."))],
    )
    description = TextAreaField(_l("Meeting agenda"), validators=[Optional(), Length(max=10_000)])


class AdjustmentForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired(_l("Choose the date."))])
    kind = SelectField(_l("Kind of change"), choices=select_choices(ADJUSTMENT_NAMES.items()))
    name = StringField(_l("Name"), validators=[Optional(), Length(max=255)])
