"""Dialogue: partnership dialogues between a public office and the businesses it serves."""

import os
from pathlib import Path

from flask import Flask

from . import config

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
    from .web import IdConverter

    app.url_map.converters["int"] = IdConverter
    app.config.update(config.DEFAULTS)
    app.config.update(config.from_environment(app.instance_path))
    if test_config is not None:
        app.config.update(test_config)
        if "SQLALCHEMY_DATABASE_URI" in test_config:
            app.config["SQLALCHEMY_DATABASE_URI"] = config.database_url(test_config["SQLALCHEMY_DATABASE_URI"])

    from . import clean_input, errors, i18n, logsafe, security, tasks
    from .api import init_api
    from .db import render_migration_item
    from .extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(shipped("migrations")), render_as_batch=True,
                     compare_type=True, render_item=render_migration_item)
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

    from .attendance import bp as attendance_bp
    from .audit import bp as audit_bp
    from .audit import services as _audit_listener  # noqa: F401  (registers the flush listener)
    from .auth import bp as auth_bp
    from .calendar import bp as calendar_bp
    from .calendar import services as calendar_services  # (also registers the listener giving feeds their keys)
    from .home import bp as home_bp
    from .imports import bp as imports_bp
    from .imports import services as imports_services
    from .issues import bp as issues_bp
    from .minutes import bp as minutes_bp
    from .org import bp as org_bp
    from .reports import bp as reports_bp
    from .reports import snapshots as _report_freshness  # noqa: F401  (registers the listener marking months)
    from .scheduling import bp as scheduling_bp

    for blueprint in (home_bp, auth_bp, org_bp, audit_bp, scheduling_bp, issues_bp, attendance_bp, calendar_bp,
                      imports_bp, minutes_bp, reports_bp):
        app.register_blueprint(blueprint)
    init_api(app)
    calendar_services.init_app(app)
    imports_services.init_app(app)
    from .calendar.fastpath import FeedFastPath

    app.wsgi_app = FeedFastPath(app.wsgi_app, app)

    from .cli import register_commands

    register_commands(app)
    return app
