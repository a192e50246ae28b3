"""`flask backup` and `flask restore`: a backup restored into an empty database holds everything."""

import shutil

import pytest
from sqlalchemy import func, select

from dialogue_app import create_app
from dialogue_app.audit.services import acting_as
from dialogue_app.auth.models import User
from dialogue_app.demo.small import seed
from dialogue_app.extensions import db
from dialogue_app.issues.models import Issue, IssueEvent
from dialogue_app.org.models import Business, Unit
from dialogue_app.scheduling.models import Meeting, Series

from .conftest import TEST_DATABASE_URL

COUNTED = (Unit, User, Business, Series, Meeting, Issue, IssueEvent)


def counts() -> dict:
    return {model.__name__: db.session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in COUNTED}


@pytest.mark.skipif(bool(TEST_DATABASE_URL) and shutil.which("pg_dump") is None,
                    reason="pg_dump and pg_restore are needed (apt-get install postgresql-client)")
def test_a_backup_restored_into_an_empty_database_holds_everything(app, runner, empty_database_url, tmp_path):
    with acting_as("test"):
        seed(password="demo-password-1")
        db.session.commit()
    before = counts()
    assert before["Issue"] > 0 and before["Meeting"] > 0
    target = tmp_path / "backup.bin"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0

    empty = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url,
                        "INSTANCE_PATH": str(tmp_path / "empty-instance")})
    restored = empty.test_cli_runner().invoke(args=["restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    with empty.app_context():
        assert counts() == before
        login = db.session.execute(select(User).where(User.email == "admin@dialogue-demo.vn")).scalar_one()
        assert login.check_password("demo-password-1")
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_missing_file(runner, tmp_path):
    result = runner.invoke(args=["restore", str(tmp_path / "nothing.db"), "--yes"])
    assert result.exit_code != 0
