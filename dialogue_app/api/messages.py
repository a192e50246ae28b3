"""marshmallow and webargs write their validation messages in English; the API's error handler passes
each one through gettext. Listing them here puts them in the translation catalog, where extraction
would otherwise never find them."""

from flask_babel import lazy_gettext as _l

LIBRARY_MESSAGES = (
    _l("Missing data for required field."),
    _l("Field may not be null."),
    _l("Unknown field."),
    _l("Not a valid string."),
    _l("Not a valid integer."),
    _l("Not a valid boolean."),
    _l("Not a valid datetime."),
    _l("Not a valid date."),
    _l("Not a valid email address."),
    _l("Invalid input type."),
    _l("Invalid value."),
    _l("Not a valid number."),
    _l("Invalid JSON body."),
)
