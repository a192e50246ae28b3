"""Languages, time zone and the way dates are written: Vietnamese first, English second."""

from datetime import date, datetime

from flask import Flask, current_app, has_request_context, session
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}

ROLE_NAMES = {
    "admin": _l("Administrator"),
    "organiser": _l("Organiser"),
    "manager": _l("Manager"),
    "business": _l("Business"),
}

LEVEL_NAMES = {
    "general": _l("General Department"),
    "department": _l("Department"),
    "branch": _l("Branch"),
}


def select_locale() -> str:
    """The signed-in user's language, else the one chosen in this browser, else Vietnamese."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # commands, and messages built outside a request
        return languages[0]
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    chosen = session.get("language")
    return chosen if chosen in languages else languages[0]


# Vietnamese write day/month/year and 24-hour time whatever the interface language: the office's
# documents and the people reading them expect it, so English keeps the same order.
def local_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return format_date(value, "dd/MM/yyyy") if not isinstance(value, datetime) else format_datetime(
        value, "dd/MM/yyyy"
    )


def local_datetime(value: datetime | None) -> str:
    return "" if value is None else format_datetime(value, "HH:mm dd/MM/yyyy")


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale else current_app.config["LANGUAGES"][0]


def init_app(app: Flask) -> None:
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.globals.update(
        LANGUAGE_NAMES=LANGUAGE_NAMES, ROLE_NAMES=ROLE_NAMES, LEVEL_NAMES=LEVEL_NAMES, current_language=current_language
    )
