"""Fixtures: `app`, `client`, `runner`, sign-in helpers and factories.

The suite runs on SQLite by default (a fresh file per test) and on PostgreSQL when TEST_DATABASE_URL is
set (schema made once, every table emptied after each test).
"""

import os
import re
import signal
import socket
import uuid
from contextlib import contextmanager
from datetime import date, datetime
from itertools import count

import pytest
import redis
from flask import g
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dialogue_app import create_app, tasks
from dialogue_app.auth import services as auth_services
from dialogue_app.config import database_url
from dialogue_app.extensions import db
from dialogue_app.issues import services as issue_services
from dialogue_app.issues.models import Topic
from dialogue_app.issues.topics import default_topic_rows
from dialogue_app.org import services as org_services
from dialogue_app.org.taxcode import check_digit
from dialogue_app.scheduling import services as scheduling_services

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
PASSWORD = "correct horse battery"


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + TEST_DATABASE_URL if TEST_DATABASE_URL else 'SQLite (per-test file)'}"


@pytest.fixture(scope="session")
def postgres_schema():
    """On PostgreSQL, build the schema once for the whole run."""
    if not TEST_DATABASE_URL:
        yield None
        return
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
    yield TEST_DATABASE_URL
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


def make_app(tmp_path, postgres_schema, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test",
        "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": postgres_schema or f"sqlite:///{tmp_path / 'test.db'}",
        "RATELIMIT_STORAGE_URI": "memory://",
        "HUEY_IMMEDIATE": True,  # background work runs at once, in the request (one test runs a real worker)
        "BASE_URL": "http://localhost",
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    config.update(overrides)
    app = create_app(config)
    app.teardown_request(_forget_request_state)
    if not postgres_schema:
        with app.app_context():
            db.create_all()
    return app


def _forget_request_state(exc) -> None:
    """Make each test request start afresh, as it does in production.

    The tests hold an app context open, and Flask reuses it for their requests, so `g` (where
    Flask-Login caches the signed-in user) and the session's identity map would outlive a request.
    """
    g.__dict__.clear()
    db.session.expire_all()


@pytest.fixture
def app_config():
    """Override to change the test app's settings: a dict merged over the defaults."""
    return {}


@pytest.fixture
def app(tmp_path, postgres_schema, app_config, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = make_app(tmp_path, postgres_schema, **app_config)
    with app.app_context():
        yield app
        db.session.remove()
        if postgres_schema:
            tables = ", ".join(t.name for t in db.metadata.sorted_tables)
            with db.engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def redis_url():
    """The Redis a test of servers hearing each other's changes uses; its absence skips the test, except in CI."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not answering at {url}")
        pytest.skip(f"Redis is not answering at {url}")
    return url


@pytest.fixture
def another_app(tmp_path, postgres_schema):
    """another_app(**config): one more app on the same database (a second worker), closed after the test."""
    made = []

    def make(**overrides):
        extra = make_app(tmp_path, postgres_schema, **overrides)
        made.append(extra)
        return extra

    yield make
    for extra in made:
        with extra.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_serial = count(1)


def valid_tax_code(prefix: str = "03") -> str:
    while True:
        head = f"{prefix}{next(_serial) * 7919 % 10_000_000:07d}"
        digit = check_digit(head)
        if digit is not None:
            return f"{head}{digit}"


@pytest.fixture
def make_unit(app):
    def make(code: str, level: str = "branch", parent=None, name: str | None = None):
        unit = org_services.create_unit(code=code, name=name or f"Đơn vị {code}", level=level, parent=parent)
        db.session.commit()
        return unit

    return make


@pytest.fixture
def units(make_unit):
    """General Department -> two departments -> two branches each (HCM-A, HCM-B, QN-A, QN-B)."""
    general = make_unit("TCHQ", "general", name="Tổng cục Hải quan")
    hcm = make_unit("HCM", "department", general, "Cục Hải quan TP. Hồ Chí Minh")
    qn = make_unit("QN", "department", general, "Cục Hải quan tỉnh Quảng Ninh")
    return {
        "TCHQ": general, "HCM": hcm, "QN": qn,
        "HCM-A": make_unit("HCM-A", "branch", hcm), "HCM-B": make_unit("HCM-B", "branch", hcm),
        "QN-A": make_unit("QN-A", "branch", qn), "QN-B": make_unit("QN-B", "branch", qn),
    }


@pytest.fixture
def make_business(app):
    def make(unit, name: str = "Công ty TNHH Cà phê Đà Lạt", tax_code: str | None = None, **extra):
        business = org_services.create_business(tax_code=tax_code or valid_tax_code(), name=name, unit=unit,
                                                **extra)
        db.session.commit()
        return business

    return make


@pytest.fixture
def make_user(app):
    def make(role: str = "organiser", unit=None, business=None, email: str | None = None, **extra):
        email = email or f"{role}{next(_serial)}@example.vn"
        user = auth_services.create_user(email=email, name=extra.pop("name", f"Người dùng {role}"),
                                         password=PASSWORD, role=role, unit=unit, business=business, **extra)
        db.session.commit()
        return user

    return make


LAST_MONDAY = "FREQ=MONTHLY;BYDAY=-1MO"


@pytest.fixture
def make_series(app):
    """A series of the morning coffee: make_series(unit, invitees=[business], first_start=datetime(2025, 8, 25, 8))."""

    def make(unit, title: str = "Cà phê sáng cùng doanh nghiệp", *, rule: str = LAST_MONDAY,
             first_start: datetime = datetime(2025, 8, 25, 8), location: str = "Hội trường Chi cục",
             duration_minutes: int = 120, invitees=(), notify: bool = False, **extra):
        series = scheduling_services.create_series(title=title, unit=unit, location=location, rule=rule,
                                                   first_start=first_start, duration_minutes=duration_minutes,
                                                   invitees=list(invitees), notify=notify, **extra)
        db.session.commit()
        return series

    return make


@pytest.fixture
def make_meeting(app):
    """A meeting: of a series' occurrence (make_meeting(series=s, occurrence=date(...))), or a one-off one
    (make_meeting(unit=u, start=aware datetime))."""

    def make(*, series=None, occurrence: date | None = None, unit=None, start: datetime | None = None,
             title: str = "Cà phê sáng", duration_minutes: int = 90, location: str = "Phòng họp",
             kind: str = "dialogue"):
        if series is not None:
            meeting, _ = scheduling_services.meeting_for(series, occurrence)
        else:
            meeting = scheduling_services.create_meeting(title=title, unit=unit, start=start, kind=kind,
                                                         duration_minutes=duration_minutes, location=location)
        db.session.commit()
        return meeting

    return make


@pytest.fixture
def make_issue(app, topics):
    """An issue raised by `business` at `unit`, recorded by `actor`: make_issue(unit, business, actor)."""

    def make(unit, business, actor, title: str = "Vướng mắc áp mã HS", *, channel: str = "phone",
             topic: str = "tariff", **extra):
        topic = topics[topic] if isinstance(topic, str) else topic
        issue = issue_services.create_issue(title=title, business=business, channel=channel, topic=topic,
                                            unit=unit, actor=actor, **extra)
        db.session.commit()
        return issue

    return make


@pytest.fixture
def login(client):
    """Sign a user in through the real sign-in form."""

    def do(user, password: str = PASSWORD):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return do


@pytest.fixture
def api(client):
    """Call the JSON API as a user: api(user).get("/api/v1/units")."""

    class Caller:
        def __init__(self, user):
            response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
            assert response.status_code == 201, response.json
            self.token = response.json["token"]

        def __getattr__(self, method):
            def call(path, **kwargs):
                headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
                return getattr(client, method)(path, headers=headers, **kwargs)

            return call

    return Caller


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def count_queries(app):
    """`with count_queries() as counted: ...` then `counted.n`: SQL statements run inside the block."""
    from contextlib import contextmanager

    from sqlalchemy import event

    class Counter:
        n = 0

    @contextmanager
    def counting():
        counter = Counter()

        def count(*args):
            counter.n += 1

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", count)

    return counting


@pytest.fixture
def topics(app):
    """The default customs topics, as the migration inserts them (the tests build the schema directly)."""
    rows = [Topic(**row) for row in default_topic_rows()]
    db.session.add_all(rows)
    db.session.commit()
    return {topic.code: topic for topic in rows}


def free_port() -> int:
    """A port nothing listens on (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server_on(port: int, handler):
    """A real SMTP server (aiosmtpd) on 127.0.0.1:`port`, answering through `handler`, while inside."""
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free port of 127.0.0.1; `.messages` holds what it received."""
    import email

    class Handler:
        def __init__(self):
            self.messages = []
            self.envelopes = []  # each message's envelope: mail_options (BODY=8BITMIME), raw content
            self.refuse = False
            self.eight_bit_mime = True  # False: a server that does not offer 8BITMIME

        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            session.host_name = hostname
            return [r for r in responses if self.eight_bit_mime or "8BITMIME" not in r]

        async def handle_DATA(self, server, session, envelope):
            if self.refuse:
                return "451 Try again later"
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            self.envelopes.append(envelope)
            return "250 OK"

    handler = Handler()
    handler.port = free_port()
    with smtp_server_on(handler.port, handler):
        yield handler


@pytest.fixture
def imap_server(tmp_path):
    """A real IMAP server (Debian's Dovecot, tests/dovecot.py) with one mailbox, on a free port of 127.0.0.1.
    Skipped when Dovecot is missing, except under CI=true, where that is a failure."""
    from tests import dovecot

    reason = dovecot.missing_reason()
    if reason:
        if os.environ.get("CI") == "true":  # CI installs it (make imap-deps): missing there is a failure
            pytest.fail(reason)
        pytest.skip(reason)
    with dovecot.dovecot_server(tmp_path / "imap") as server:
        yield server


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL database dropped afterwards."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    server = make_url(database_url(TEST_DATABASE_URL))
    name = f"dialogue_migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def running_worker():
    """A real Huey consumer (what `flask --app wsgi worker` runs) in threads of this process, for a while.
    Huey sets the process's signal handlers on start: they are put back afterwards."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = tasks.huey.create_consumer(workers=1, worker_type="thread", periodic=False, initial_delay=0.05,
                                          max_delay=0.2, check_worker_health=False)
    consumer.start()
    try:
        yield consumer
    finally:
        consumer.stop(graceful=True)
        for number, handler in saved.items():
            signal.signal(number, handler)
