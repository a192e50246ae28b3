"""Dialogue: partnership dialogues between a public office and the businesses it serves."""

import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    audit,
    auth,
    calendar,
    clean_input,
    config,
    errors,
    i18n,
    imports,
    issues,
    logsafe,
    mail,
    minutes,
    notifications,
    reports,
    scheduling,
    search,
    security,
    tasks,
    views,
)
from . import db as database
from .api import init_api
from .calendar.fastpath import FeedFastPath
from .cli import register_commands
from .db import render_migration_item
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .minutes.served import PdfFastPath
from .search.models import include_in_autogenerate
from .web import IdConverter

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent


def shipped(name: str) -> Path:
    """templates/, static/ or migrations/: inside the package in an installed wheel (setup.py puts them there),
    else at the top of the checkout."""
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PROJECT_ROOT / name


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, commands and error pages."""
    app = Flask(
        __name__,
        # Tests (and operators who keep data elsewhere) may name the instance folder.
        instance_path=(test_config or {}).get("INSTANCE_PATH") or os.environ.get("DIALOGUE_INSTANCE_PATH"),
        instance_relative_config=True,
        template_folder=str(shipped("templates")),
        static_folder=str(shipped("static")),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.json.sort_keys = False  # answers keep the field order of their schema
    app.json.ensure_ascii = False  # Vietnamese as it is written (API.md), not as \u escapes
    app.url_map.converters["int"] = IdConverter
    app.config.update(config.DEFAULTS)
    app.config.update(config.from_environment(app.instance_path))
    if test_config is not None:
        app.config.update(test_config)
        if "SQLALCHEMY_DATABASE_URI" in test_config:
            app.config["SQLALCHEMY_DATABASE_URI"] = config.database_url(test_config["SQLALCHEMY_DATABASE_URI"])

    db.init_app(app)
    migrate.init_app(app, db, directory=str(shipped("migrations")), render_as_batch=True,
                     compare_type=True, render_item=render_migration_item, include_object=include_in_autogenerate)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, default_translation_directories="translations")
    login_manager.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    logsafe.init_app(app)
    clean_input.init_app(app)
    tasks.init_app(app)
    errors.init_app(app)

    # What every write must bring along (revisions, feed keys, the audit trail, report freshness), registered
    # here rather than by whichever module happens to be imported first.
    database.init_app(app)
    auth.init_app(app)
    scheduling.init_app(app)
    issues.init_app(app)
    calendar.init_app(app)
    minutes.init_app(app)
    audit.init_app(app)
    reports.init_app(app)
    imports.init_app(app)
    search.init_app(app)
    mail.init_app(app)
    notifications.init_app(app)

    views.init_app(app)
    init_api(app)
    app.wsgi_app = FeedFastPath(app.wsgi_app, app)
    app.wsgi_app = PdfFastPath(app.wsgi_app, app)
    if app.config["PROXY_COUNT"]:  # behind nginx: the client's address and scheme from its X-Forwarded-* headers
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_COUNT"], x_proto=app.config["PROXY_COUNT"])
    register_commands(app)
    return app
