from sqlalchemy import func, select

from dialogue_app.auth.models import User
from dialogue_app.extensions import db
from dialogue_app.org.models import Business, Unit
from dialogue_app.org.taxcode import is_valid_tax_code


def test_create_user(runner, units):
    result = runner.invoke(args=["create-user", "Lan@Example.vn", "--password", "một mật khẩu dài",
                                 "--role", "manager", "--name", "Đỗ Thị Lan", "--unit", "qn"])
    assert result.exit_code == 0, result.output
    user = db.session.execute(select(User).where(User.email == "lan@example.vn")).scalar_one()
    assert user.unit.code == "QN" and user.check_password("một mật khẩu dài")


def test_create_user_refuses_bad_input_with_a_message(runner, units):
    no_unit = runner.invoke(args=["create-user", "a@example.vn", "--password", "một mật khẩu dài",
                                  "--role", "organiser", "--name", "A"])
    assert no_unit.exit_code != 0 and "unit" in no_unit.output
    unknown = runner.invoke(args=["create-user", "a@example.vn", "--password", "một mật khẩu dài",
                                  "--role", "organiser", "--name", "A", "--unit", "NOPE"])
    assert unknown.exit_code != 0 and "NOPE" in unknown.output
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 0


def test_admin_needs_no_unit(runner):
    result = runner.invoke(args=["create-user", "root@example.vn", "--password", "một mật khẩu dài",
                                 "--role", "admin", "--name", "Quản trị"])
    assert result.exit_code == 0, result.output


def test_seed_demo_fills_an_empty_database_once(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    for role in ("admin", "organiser", "manager", "business"):
        assert role in result.output
    names = set(db.session.execute(select(Unit.name)).scalars())
    assert {"Tổng cục Hải quan", "Chi cục Hải quan Khu công nghệ cao",
            "Chi cục Hải quan cửa khẩu cảng Hòn Gai"} <= names
    codes = list(db.session.execute(select(Business.tax_code)).scalars())
    assert len(codes) >= 10 and all(is_valid_tax_code(code) for code in codes)

    # The printed passwords are the real ones.
    line = next(line for line in result.output.splitlines() if line.strip().startswith("business"))
    _, email, password = line.split()
    user = db.session.execute(select(User).where(User.email == email)).scalar_one()
    assert user.check_password(password) and user.business is not None

    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "already has data" in again.output
    assert db.session.execute(select(func.count()).select_from(Unit)).scalar_one() == len(names)


def test_the_worker_command_refuses_to_run_without_a_queue(runner):
    """Under HUEY_IMMEDIATE (the tests) background work runs in the web process: a worker would wait for nothing.
    (tests/test_imports.py runs a real consumer, as this command does, against a SQLite queue.)"""
    result = runner.invoke(args=["worker"])
    assert result.exit_code != 0 and "HUEY_IMMEDIATE" in result.output
