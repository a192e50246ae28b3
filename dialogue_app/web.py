"""Small helpers for anything that answers on the web: pages, the API, mail and feed links, forms."""

from urllib.parse import urlsplit

from flask import current_app, flash, url_for
from werkzeug.routing import IntegerConverter
from wtforms import SelectChoice

from .extensions import db


def local_target(target: str | None) -> str:
    """`target` if it is a path on this site, else the home page.

    Redirecting to any address a form or link names would make the site an open redirect.
    """
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc \
            and "\\" not in target:
        return target
    return url_for("home.index")


def show_service_error(form, error, field_names: dict[str, str] | None = None) -> None:
    """Put a service's refusal on the form fields it names (or flash it), after undoing the change."""
    db.session.rollback()
    field_names = field_names or {}
    unplaced = []
    for name, messages in error.fields.items():
        field = getattr(form, field_names.get(name, name), None)
        if field is None:
            unplaced.extend(messages)
        else:
            field.errors = [*field.errors, *(str(m) for m in messages)]
    if not error.fields or unplaced:
        flash(str(error.message), "error")


def select_choices(pairs) -> list:
    """(value, label) pairs as WTForms select options."""
    return [SelectChoice(value, label) for value, label in pairs]


def external_url(endpoint: str, **values) -> str:
    """An absolute URL under BASE_URL (the public address), for mail and feeds, in or out of a request.

    Built from the URL map alone: pushing a request context to call url_for would run the app's
    teardown handlers in the middle of the current request.
    """
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


class IdConverter(IntegerConverter):
    """`<int:…>` in URLs, bounded by the database's integer: a longer number is not found (404), not an
    overflow deep in the driver."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)
