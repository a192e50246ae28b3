"""Dialogue: partnership dialogues between a public office and the businesses it serves."""

import os
from pathlib import Path

from flask import Flask

from . import audit, auth, calendar, config, errors, i18n, issues, reports, scheduling, search, security, views
from . import db as database
from .api import init_api
from .calendar.fastpath import FeedFastPath
from .cli import register_commands
from .db import render_migration_item
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .search.models import include_in_autogenerate
from .web import IdConverter

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, commands and error pages."""
    app = Flask(
        __name__,
        # Tests (and operators who keep data elsewhere) may name the instance folder.
        instance_path=(test_config or {}).get("INSTANCE_PATH") or os.environ.get("DIALOGUE_INSTANCE_PATH"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.json.sort_keys = False  # answers keep the field order of their schema
    app.url_map.converters["int"] = IdConverter
    app.config.update(config.DEFAULTS)
    app.config.update(config.from_environment(app.instance_path))
    if test_config is not None:
        app.config.update(test_config)
        if "SQLALCHEMY_DATABASE_URI" in test_config:
            app.config["SQLALCHEMY_DATABASE_URI"] = config.database_url(test_config["SQLALCHEMY_DATABASE_URI"])

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True,
                     compare_type=True, render_item=render_migration_item, include_object=include_in_autogenerate)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, default_translation_directories="translations")
    login_manager.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)

    # What every write must bring along (revisions, feed keys, the audit trail, report freshness), registered
    # here rather than by whichever module happens to be imported first.
    database.init_app(app)
    auth.init_app(app)
    scheduling.init_app(app)
    issues.init_app(app)
    calendar.init_app(app)
    audit.init_app(app)
    reports.init_app(app)
    search.init_app(app)

    views.init_app(app)
    init_api(app)
    app.wsgi_app = FeedFastPath(app.wsgi_app, app)
    register_commands(app)
    return app
