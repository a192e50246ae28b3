"""The migrations give exactly the models, and go back down cleanly, on SQLite and PostgreSQL."""


from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from dialogue_app import create_app
from dialogue_app.extensions import db


def test_upgrade_gives_the_models_and_downgrade_removes_them(empty_database_url, tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url,
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        upgrade()
        upgrade()  # init-db runs it on every deploy: a second run is a no-op
        with db.engine.connect() as connection:
            # As `flask db migrate` compares: the search's full-text structures are the migrations' own.
            include = app.extensions["migrate"].configure_args["include_object"]
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"the models and the migrations differ: {diff}"

        downgrade(revision="base")
        remaining = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        db.engine.dispose()


def test_init_db_command_is_idempotent(empty_database_url, tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url,
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        assert "users" in inspect(db.engine).get_table_names()
        db.engine.dispose()
