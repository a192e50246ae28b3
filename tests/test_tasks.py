"""The worker's clock and queue (dialogue_app/tasks.py): the schedule read in office time, a name nobody
registered skipped, one start per minute however many workers keep the clock, a failing task tried again later,
and mail leaving right after the transaction that queued it."""

import logging
import time
from datetime import datetime

from huey import crontab

from dialogue_app import tasks
from dialogue_app.extensions import db
from dialogue_app.mail import services as mail
from dialogue_app.mail.models import OutboxMessage

from .conftest import running_worker


def test_the_schedule_is_read_in_office_time(app):
    seven = tasks._at_office(crontab(minute="0", hour="7"), tasks.ZoneInfo("Asia/Ho_Chi_Minh"))
    assert seven(datetime(2026, 12, 7, 0, 0))  # 07:00 in Hanoi is midnight UTC, as Huey gives it
    assert not seven(datetime(2026, 12, 7, 7, 0))
    assert set(tasks.SCHEDULE) >= {"send-mail", "refresh-reports", "send-digests", "receive-mail", "notify-overdue"}


def test_a_scheduled_name_nobody_registered_is_skipped_with_a_line_in_the_log(app, caplog):
    with caplog.at_level(logging.WARNING, logger="dialogue_app.tasks"):
        tasks._start("not-written-yet")
    assert "not-written-yet" in caplog.text and "skipped" in caplog.text


def test_each_worker_keeps_the_clock_and_the_task_starts_once_a_minute(app):
    runs = []
    tasks.register("test-clock-once", lambda app: runs.append(1))
    for _ in range(3):  # three workers' clocks, the same minute
        tasks._start("test-clock-once")
    assert runs == [1]


def test_mail_leaves_right_after_the_commit_that_queued_it(app, another_app, smtp_server):
    queued = another_app(HUEY_IMMEDIATE=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with queued.app_context():
        mail.enqueue(to=["ketoan@caphe.example.vn"], subject="Giấy mời", text="Kính mời Quý doanh nghiệp.")
        db.session.commit()  # the nudge: a send-mail round queued for the worker
        db.session.remove()
    with running_worker():
        deadline = time.monotonic() + 20
        while not smtp_server.messages:
            assert time.monotonic() < deadline, "the mail did not leave"
            time.sleep(0.05)
    assert smtp_server.messages[0]["Subject"] == "Giấy mời"
    with queued.app_context():
        assert db.session.execute(db.select(OutboxMessage.status)).scalar_one() == "sent"


def test_a_failing_task_is_tried_again_later_and_later(app, another_app):
    """Retries with backoff, on a real consumer: the second try waits `backoff`, the third twice as long."""
    queued = another_app(HUEY_IMMEDIATE=False)
    tries: list[float] = []

    def flaky(app):
        tries.append(time.monotonic())
        if len(tries) < 3:
            raise RuntimeError("the mail server is away for now")

    tasks.register("test-flaky", flaky, retries=3, backoff=0.5)
    with queued.app_context():
        tasks.enqueue("test-flaky")
    with running_worker():
        deadline = time.monotonic() + 20
        while len(tries) < 3:
            assert time.monotonic() < deadline, f"{len(tries)} tries"
            time.sleep(0.05)
        time.sleep(1.5)
    assert len(tries) == 3  # it worked the third time: no fourth
    first_wait, second_wait = tries[1] - tries[0], tries[2] - tries[1]
    assert first_wait >= 0.5 and second_wait >= 1.0 and second_wait > first_wait


def test_a_queue_that_is_away_does_not_fail_the_commit_that_queued_mail(app, another_app):
    unreachable = another_app(HUEY_IMMEDIATE=False, REDIS_URL="redis://127.0.0.1:1/0")
    with unreachable.app_context():
        mail.enqueue(to=["ketoan@caphe.example.vn"], subject="Giấy mời", text="Kính mời Quý doanh nghiệp.")
        db.session.commit()  # the nudge fails, and is only logged: the mail waits for the minute's round
        assert db.session.execute(db.select(OutboxMessage.status)).scalar_one() == "pending"
        db.session.remove()
