"""Languages, time zone and the way dates are written: Vietnamese first, English second."""

from datetime import date, datetime

from flask import Flask, current_app, has_request_context, session
from flask_babel import format_date, format_datetime, format_decimal, get_locale
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


def local_time(value: datetime | None) -> str:
    return "" if value is None else format_datetime(value, "HH:mm")


def local_weekday_datetime(value: datetime | None) -> str:
    """"Thứ Hai, 08:00 26/01/2026": the way a meeting's time is written on an invitation."""
    return "" if value is None else format_datetime(value, "EEEE, HH:mm dd/MM/yyyy")


def local_weekday_date(value: date | None) -> str:
    return "" if value is None else format_date(value, "EEEE, dd/MM/yyyy")


WEEKDAY_SHORT = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))


def number(value: float | None, digits: int = 0) -> str:
    """A figure as the reader writes it (1.234,5 in Vietnamese); a dash where there is nothing to show."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""))


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale else current_app.config["LANGUAGES"][0]


def init_app(app: Flask) -> None:
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_weekday_datetime"] = local_weekday_datetime
    app.jinja_env.filters["local_weekday_date"] = local_weekday_date
    app.jinja_env.globals.update(
        LANGUAGE_NAMES=LANGUAGE_NAMES, ROLE_NAMES=ROLE_NAMES, LEVEL_NAMES=LEVEL_NAMES, WEEKDAY_SHORT=WEEKDAY_SHORT,
        current_language=current_language,
    )
