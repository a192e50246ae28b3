from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..web import select_choices
from .labels import CHANNEL_NAMES


class IssueForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title.")), Length(max=500)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=100_000)])
    tax_code = StringField(_l("Business tax code"), validators=[DataRequired(_l("Enter the business's tax code."))])
    raised_by = StringField(_l("Raised by"), validators=[Optional(), Length(max=255)],
                            description=_l("The person at the business who raised it."))
    channel = SelectField(_l("Received"), choices=select_choices(CHANNEL_NAMES.items()), default="meeting")
    topic = SelectField(_l("Topic"), choices=[], validate_choice=False,
                        validators=[DataRequired(_l("Choose a topic from the list."))])
    unit = SelectField(_l("Unit handling it"), choices=[], validate_choice=False)
    meeting_id = HiddenField()
    interaction_id = HiddenField()
    file = FileField(_l("Attachment"), description=_l("PDF, image, Word or Excel; at most 10 MB."))


class BusinessIssueForm(FlaskForm):
    """A business raises an issue online: what it is about, in its own words."""

    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title.")), Length(max=500)])
    description = TextAreaField(_l("Description"), validators=[DataRequired(_l("Describe the difficulty.")),
                                                                Length(max=100_000)])
    topic = SelectField(_l("Topic"), choices=[], validate_choice=False,
                        validators=[DataRequired(_l("Choose a topic from the list."))])
    file = FileField(_l("Attachment"), description=_l("PDF, image, Word or Excel; at most 10 MB."))


class TransitionForm(FlaskForm):
    to = HiddenField(validators=[DataRequired()])
    version = IntegerField(validators=[Optional()])
    note = TextAreaField(_l("Internal note"), validators=[Optional(), Length(max=10_000)],
                         description=_l("For the office's staff only: the business never sees it."))
    message = TextAreaField(_l("Message to the business"), validators=[Optional(), Length(max=10_000)],
                            description=_l("The business reads this on its issue."))
    assignee = SelectField(_l("Officer"), choices=[], validate_choice=False)
    due_date = DateField(_l("Due date"), validators=[Optional()])
    resolution = TextAreaField(_l("Answer"), validators=[Optional(), Length(max=100_000)])
    legal_basis = TextAreaField(_l("Legal basis"), validators=[Optional(), Length(max=10_000)],
                                description=_l("The laws, decrees and circulars the answer rests on."))


class RatingForm(FlaskForm):
    score = RadioField(_l("How satisfied are you with the answer?"), coerce=int,
                       choices=select_choices([(5, "5"), (4, "4"), (3, "3"), (2, "2"), (1, "1")]),
                       validators=[InputRequired(_l("Choose a score from 1 to 5."))])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=10_000)])


class PublishForm(FlaskForm):
    public_question = TextAreaField(_l("Question, as the public will read it"),
                                    validators=[DataRequired(_l("Write the question.")), Length(max=20_000)])
    public_answer = TextAreaField(_l("Answer, as the public will read it"),
                                  validators=[DataRequired(_l("Write the answer.")), Length(max=100_000)])


class AttachmentForm(FlaskForm):
    file = FileField(_l("Attachment"), validators=[DataRequired(_l("Choose a file."))])


class TopicForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter a code.")), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=255)])
    answer_days = IntegerField(_l("Working days to answer"), default=10,
                               validators=[InputRequired(_l("Enter a number of days.")),
                                           NumberRange(1, 120, _l("From 1 to 120 working days."))])
    sensitive = SelectField(_l("Visible to"), choices=select_choices([
        ("0", _l("Every officer of the unit")), ("1", _l("Managers only (e.g. an officer's conduct)")),
    ]))
    active = SelectField(_l("In use"), choices=select_choices([("1", _l("Yes")), ("0", _l("No"))]))


class QuickIssueForm(FlaskForm):
    """Several issues noted during a meeting, one after another, without leaving its page."""

    business = SelectField(_l("Business"), choices=[], validate_choice=False)
    tax_code = StringField(_l("or tax code"), validators=[Optional(), Length(max=20)])
    raised_by = StringField(_l("Raised by"), validators=[Optional(), Length(max=255)])
    title = StringField(_l("Issue"), validators=[DataRequired(_l("Enter a title.")), Length(max=500)])
    description = TextAreaField(_l("Details"), validators=[Optional(), Length(max=100_000)])
    topic = SelectField(_l("Topic"), choices=[], validate_choice=False,
                        validators=[DataRequired(_l("Choose a topic from the list."))])
