"""No log line carries a secret: the keys some addresses hold (calendar feeds, display screens, RSVP links,
import previews) are cut out of every record before any handler writes it.

The request line of the development server (werkzeug), of gunicorn's access and error logs and of the app's
own error log all name the path, and the path is the key: whoever reads the log could open the feed.
"""

import logging
import re

from flask import Flask

# /feeds/<key>.ics, /display/<key>, /rsvp/<key> (signed: it holds dots), /businesses/import/<key>[/progress]:
# the key up to the next slash, question mark, quote or space.
SECRET_FEED = re.compile(r"(/feeds/)(?!manage/)[^/?#\s\"']+?(\.ics)")
SECRET_IN_PATH = re.compile(r"(/(?:display|rsvp|businesses/import)/)[^/?#\s\"']{8,}")
# A token given as a query parameter or an Authorization header that a log line quotes.
SECRET_IN_QUERY = re.compile(r"((?:token|key|password|secret)=)[^&\s\"']+", re.IGNORECASE)
BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
REDACTED = "[redacted]"

# The loggers that write request paths: the app's, the development server's, gunicorn's.
LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


def redact(text: str) -> str:
    """`text` without the secrets it may hold."""
    text = SECRET_FEED.sub(lambda m: m.group(1) + REDACTED + m.group(2), text)
    text = SECRET_IN_PATH.sub(lambda m: m.group(1) + REDACTED, text)
    text = SECRET_IN_QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    return BEARER.sub(lambda m: m.group(1) + REDACTED, text)


def _clean(value):
    return redact(value) if isinstance(value, str) else value


class RedactSecrets(logging.Filter):
    """Rewrites a record's message, arguments and traceback with the secrets cut out; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _clean(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_clean(value) for value in record.args)
        if record.exc_info and not record.exc_text:
            # Formatted here, once, so that the handler writes this cleaned text instead of its own.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactSecrets()


def init_app(app: Flask) -> None:
    """Put the filter on every logger that names requests, and on the root logger's handlers (which write what
    every other logger hands up to them)."""
    for logger in (app.logger, *(logging.getLogger(name) for name in LOGGERS)):
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
