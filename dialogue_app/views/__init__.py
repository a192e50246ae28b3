"""The pages: one blueprint per domain, at the top of the house (nothing below imports them).

Each module validates what a person sent, calls one service of its domain, commits, and renders or
redirects. The blueprints' names are the domains' names, so endpoints read `issues.detail`.
"""

from flask import Flask

from ..scope import may
from . import (
    attendance,
    audit,
    auth,
    calendar,
    home,
    imports,
    issues,
    mail,
    minutes,
    notifications,
    org,
    reports,
    scheduling,
    search,
    signatures,
)

BLUEPRINTS = (home.bp, auth.bp, org.bp, audit.bp, scheduling.bp, issues.bp, attendance.bp, calendar.bp,
              imports.bp, minutes.bp, signatures.bp, reports.bp, search.bp, mail.bp, notifications.bp)


def rights() -> dict:
    """Templates ask the rights table too, `may(current_user, "reports")`, rather than compare roles."""
    return {"may": may}


def init_app(app: Flask) -> None:
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    if app.config.get("DEV_MAIL_DIR"):  # development only (`make run`): what the local mail server received
        app.register_blueprint(mail.dev)
    app.context_processor(rights)
