"""Languages, time zone and the way dates are written: Vietnamese first, English second."""

from datetime import UTC, date, datetime
from functools import lru_cache

from babel import Locale
from flask import Flask, current_app, g, has_request_context, session
from flask_babel import Domain, format_date, format_datetime, get_locale, get_timezone, lazy_ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtforms_translations
from jinja2 import pass_eval_context
from markupsafe import Markup

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
# documents and the people reading them expect it, so English keeps the same order. Digits only: written
# straight (Babel parses its pattern at every call, which a list of fifty rows of dates feels).
def _shown(value: datetime) -> datetime:
    """`value` in the zone times are shown in (Flask-Babel's, the office's); stored times are UTC."""
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(get_timezone())


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return f"{_shown(value) if isinstance(value, datetime) else value:%d/%m/%Y}"


def local_datetime(value: datetime | None) -> str:
    return "" if value is None else f"{_shown(value):%H:%M %d/%m/%Y}"


def local_time(value: datetime | None) -> str:
    return "" if value is None else f"{_shown(value):%H:%M}"


def local_weekday_datetime(value: datetime | None) -> str:
    """"08:00, Thứ Hai, 26/01/2026": the way a meeting's time is written on an invitation (the hour, then the
    day, as in "08 giờ 00, Thứ Hai, ngày 26/01/2026")."""
    return "" if value is None else format_datetime(value, "HH:mm, EEEE, dd/MM/yyyy")


def local_meeting_time(start: datetime | None, end: datetime | None) -> str:
    """"08:00–10:00, Thứ Hai, 28/12/2026"; both ends in full when the meeting runs into another day."""
    if start is None:
        return ""
    if end is None:
        return local_weekday_datetime(start)
    if _shown(start).date() != _shown(end).date():
        return f"{local_weekday_datetime(start)} – {local_weekday_datetime(end)}"
    return f"{local_time(start)}–{local_time(end)}, {format_datetime(start, 'EEEE, dd/MM/yyyy')}"


def local_weekday_date(value: date | None) -> str:
    return "" if value is None else format_date(value, "EEEE, dd/MM/yyyy")


WEEKDAY_SHORT = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))


def number(value: float | None, digits: int = 0) -> str:
    """A figure as the reader writes it (1.234,5 in Vietnamese); a dash where there is nothing to show."""
    if value is None:
        return "—"
    # Babel parses its pattern at every call, which a table of a few thousand cells feels; the separators
    # are the reader's, the grouping is the same in both languages.
    text = f"{value:,.{digits}f}"
    locale = get_locale()
    return text.translate(_separators(locale.language if locale else ""))


@lru_cache(maxsize=8)
def _separators(locale: str) -> dict[int, str]:
    symbols = Locale.parse(locale).number_symbols.get("latn", {}) if locale else {}
    return str.maketrans({",": symbols.get("group", ","), ".": symbols.get("decimal", ".")})


def catalog():
    """The catalog of the locale in force, as Flask-Babel finds it, but found once per request and locale:
    Flask-Babel looks the request's state up three times and rebuilds the locale's name at every string
    (about 15 µs; the top bar alone has thirty, a list of fifty issues hundreds). Kept beside Flask-Babel's own
    state, with the locale it was found for, so that force_locale (a mail in its reader's language) gets its
    own."""
    state = g.get("_flask_babel") if g else None
    kept = getattr(state, "dialogue_catalog", None)
    if kept is not None and kept[0] is getattr(state, "babel_locale", None):
        return kept[1]
    translations = Domain.get_translations(_DOMAIN)
    state = g.get("_flask_babel") if g else None
    if state is not None:
        state.dialogue_catalog = (getattr(state, "babel_locale", None), translations)
    return translations


class _KeptCatalogDomain(Domain):
    """Flask-Babel's default domain, its catalog found by `catalog`: gettext in the code, the lazy strings
    (names of statuses, channels...) and the templates all go through it."""

    def get_translations(self):
        return catalog()


_DOMAIN = _KeptCatalogDomain()


@pass_eval_context
def template_gettext(eval_context, string: str, /, **variables) -> str:
    translated = catalog().ugettext(string)
    if eval_context.autoescape:  # the catalog's own text, trusted as Jinja trusts it; the variables are escaped
        translated = Markup(translated)  # noqa: S704
    return translated % variables


@pass_eval_context
def template_ngettext(eval_context, singular: str, plural: str, n: int, /, **variables) -> str:
    variables.setdefault("num", n)
    translated = catalog().ungettext(singular, plural, n)
    if eval_context.autoescape:
        translated = Markup(translated)  # noqa: S704
    return translated % variables


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale else current_app.config["LANGUAGES"][0]


# WTForms writes its own validation messages ("Field cannot be longer than 255 characters.") and has no
# Vietnamese catalog. Listed here, they are in Dialogue's catalog, which every form asks first.
WTFORMS_MESSAGES = (
    lazy_ngettext("Field cannot be longer than %(max)d character.",
                  "Field cannot be longer than %(max)d characters.", 1),
    lazy_ngettext("Field must be at least %(min)d character long.",
                  "Field must be at least %(min)d characters long.", 1),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("This field is required."),
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    _l("Invalid choice(s): one or more data inputs could not be coerced."),
    _l("Not a valid integer value."),
    _l("Not a valid date value."),
    _l("Not a valid time value."),
)


class FormMessages:
    """The translations a form's messages are looked up in: Dialogue's catalog, then WTForms' own."""

    def __init__(self):
        self.fallback = wtforms_translations

    def gettext(self, string: str) -> str:
        translated = catalog().ugettext(string)
        return translated if translated != string else self.fallback.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        translated = catalog().ungettext(singular, plural, n)
        return translated if translated not in (singular, plural) else self.fallback.ngettext(singular, plural, n)


def _form_messages(meta, form) -> FormMessages:
    return FORM_MESSAGES


FORM_MESSAGES = FormMessages()


def init_app(app: Flask) -> None:
    # Flask-Babel's domain is a cached property of the (shared) Babel object: set once, for every app.
    app.extensions["babel"].instance.__dict__["domain_instance"] = _DOMAIN
    # Templates' _(), gettext() and ngettext() (and {% trans %}) straight to the kept catalog, with what
    # Jinja's new-style gettext does (autoescaping, % formatting), without its two layers of wrappers; the
    # parameters are positional-only, so that a template's variable may be called `n` or `string`.
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)
    # Meta.get_translations is WTForms' hook for a form's messages; every form of the app derives from FlaskForm.
    FlaskForm.Meta.get_translations = _form_messages
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_weekday_datetime"] = local_weekday_datetime
    app.jinja_env.filters["local_meeting_time"] = local_meeting_time
    app.jinja_env.filters["local_weekday_date"] = local_weekday_date
    app.jinja_env.globals.update(
        LANGUAGE_NAMES=LANGUAGE_NAMES, ROLE_NAMES=ROLE_NAMES, LEVEL_NAMES=LEVEL_NAMES, WEEKDAY_SHORT=WEEKDAY_SHORT,
        current_language=current_language,
    )
