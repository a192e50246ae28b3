"""The outbox: mail written in the same transaction as the change that causes it, sent by the worker.

The outbox is the record; the queue only drives it: the transaction that queued a message asks the worker for a
round of `send-mail` once it has committed, so the message leaves within seconds, and the worker's clock
(tasks.SCHEDULE) runs one every minute for retries and for anything a lost nudge missed.
"""

import threading

from flask import Flask
from sqlalchemy.orm import Session

from .. import tasks
from ..db import listen, utcnow
from .services import MAIL_QUEUED, next_due, send_all

SEND_TASK = "send-mail"


def init_app(app: Flask) -> None:
    tasks.register(SEND_TASK, _send_in_background)
    listen(Session, "after_commit", _nudge_after_commit)
    listen(Session, "after_rollback", _forget_after_rollback)


def _nudge_after_commit(session: Session) -> None:
    if session.info.pop(MAIL_QUEUED, False):
        tasks.nudge(SEND_TASK)


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(MAIL_QUEUED, None)


# One sender per process. A round asked for while another runs (the clock's and a commit's nudge, taken by two of
# the worker's threads) is left to the one running, which looks again before it stops. Two senders in one process
# only share the work the other workers share anyway, and a process killed mid-send would leave two messages
# between the server's answer and their commit instead of one: each sent twice once its lease runs out.
_sending = threading.Lock()
_asked = threading.Event()


def _send_in_background(app: Flask) -> None:
    """The task: send everything due. What comes due before the next minute's round (a claim left by a worker
    that died, once its lease runs out) gets a round of its own then."""
    _asked.set()
    while _asked.is_set():
        if not _sending.acquire(blocking=False):
            return  # the round running will look again
        try:
            _asked.clear()
            send_all()
        finally:
            _sending.release()
    due = next_due()
    if due is not None:
        wait = (due - utcnow()).total_seconds()
        if wait < 60:
            tasks.nudge(SEND_TASK, delay=max(wait, 0) + 0.5)
