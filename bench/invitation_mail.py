"""Benchmark: invitations reach people (issue 14), the time from an invitation to its mail leaving with the worker.

Sets up a throw-away instance (a temporary instance folder with its SQLite database, or the database in
BENCH_DATABASE_URL): a branch, an organiser, a one-off meeting and a monthly series, and businesses with three
contacts with an e-mail each. Starts a real SMTP server (aiosmtpd, in this process, as tests/conftest.py does)
and a real worker in a process of its own (`flask --app wsgi worker`, as `make run` starts it: Huey on SQLite in
the instance folder). This process plays the web server (the app through the Flask test client): as the
organiser, with an API token, it invites a business (`POST /api/v1/meetings/{id}/invitations`, then
`POST /api/v1/series/{id}/invitations`), one business after the other, and times from the POST's answer until
the SMTP server has each contact's iMIP REQUEST. When Redis answers at 127.0.0.1:6379, a second round runs the
queue on Redis (REDIS_URL, database 13, flushed before and after).

The anchor, measured after each invitation on the very same three messages: the outbox's sender called
directly in this process (`send_pending`, the messages put back as waiting), and a bare smtplib session sending
the three messages as the SMTP server received them. What the invitation takes beyond them is the queue: the
commit's nudge, the worker taking the task, its reading the outbox.

Run: `.venv/bin/python bench/invitation_mail.py` (`--invitations 20`, `--no-redis`). Exit status 0 when every
contact received its REQUEST.
"""

import argparse
import email
import email.policy
import os
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from aiosmtpd.controller import Controller
from result import emit
from result import row as result_row
from sqlalchemy import func, select, update
from taxcodes import tax_codes

from dialogue_app import create_app
from dialogue_app.auth import services as auth_services
from dialogue_app.db import utcnow
from dialogue_app.extensions import db
from dialogue_app.mail.models import OutboxMessage
from dialogue_app.mail.services import send_pending
from dialogue_app.org import services as org_services
from dialogue_app.scheduling import services as scheduling

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench password 14"  # noqa: S105 (a throw-away account in a throw-away database)
CONTACTS = 3
REDIS_URL = "redis://127.0.0.1:6379/13"
WAIT_S = 30  # a mail not there after this long is a failure, not a slow figure
KINDS = ("meeting", "series")
SETTLE_S = 0.2  # after the worker has sent an invitation's mail, before the anchor sends it again


class Inbox:
    """The SMTP server's handler: when each message arrived (this process's clock), to whom, and what."""

    def __init__(self):
        self.received: list[tuple[float, tuple[str, ...], str, bytes]] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        with self.arrived:
            self.received.append((time.perf_counter(), tuple(envelope.rcpt_tos), envelope.mail_from,
                                  envelope.content))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, since: int, addresses: set[str], what: str) -> list[tuple]:
        """The first message to each of `addresses` among those received from index `since` on, when all
        have come."""
        deadline = time.perf_counter() + WAIT_S
        with self.arrived:
            while True:
                found = {}
                for item in self.received[since:]:
                    for address in item[1]:
                        if address in addresses and address not in found:
                            found[address] = item
                if len(found) == len(addresses):
                    return list(found.values())
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise TimeoutError(f"{what}: {len(addresses) - len(found)} of {len(addresses)} mails not "
                                       f"received in {WAIT_S} s")
                self.arrived.wait(left)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build(businesses: int) -> dict:
    db.drop_all()
    db.create_all()
    general = org_services.create_unit(code="TCHQ", name="Tổng cục Hải quan", level="general", parent=None)
    hcm = org_services.create_unit(code="HCM", name="Cục Hải quan TP. Hồ Chí Minh", level="department",
                                   parent=general)
    branch = org_services.create_unit(code="HCM-A", name="Chi cục HCM-A", level="branch", parent=hcm)
    organiser = auth_services.create_user(email="canbo@haiquan.example.vn", name="Trần Văn Bình",
                                          password=PASSWORD, role="organiser", unit=branch)
    invitees = []
    for i, code in enumerate(tax_codes(businesses, prefix="04")):
        business = org_services.create_business(tax_code=code, name=f"Công ty TNHH Thương mại Số {i}", unit=branch)
        addresses = {org_services.add_contact(business, name=f"Người liên hệ {i}-{j}",
                                              email=f"lienhe{j}@dn{i}.example.vn").email for j in range(CONTACTS)}
        db.session.flush()
        invitees.append((business.id, addresses))
    start = (datetime.now(UTC) + timedelta(days=20)).replace(hour=1, minute=0, second=0, microsecond=0)
    meeting = scheduling.create_meeting(title="Hội nghị đối thoại: thủ tục hải quan điện tử", unit=branch,
                                        start=start, duration_minutes=120, location="Hội trường tầng 3")
    series = scheduling.create_series(title="Cà phê sáng cùng doanh nghiệp", unit=branch, location="Hội trường",
                                      rule="FREQ=MONTHLY;BYDAY=-1MO",
                                      first_start=(datetime.now() + timedelta(days=3)).replace(
                                          hour=8, minute=0, second=0, microsecond=0),
                                      duration_minutes=120, invitees=[], notify=False)
    db.session.commit()
    return {"meeting": meeting.id, "series": series.id, "organiser": organiser.email, "invitees": invitees}


@contextmanager
def worker(env: dict, log: Path):
    """`flask --app wsgi worker` in a process of its own, ready (it has said so) while inside."""
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"],  # noqa: S603
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "Worker:" not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)
        print(log.read_text().strip().splitlines()[-1])
        yield process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def resend_directly(since_id: int, addresses: set[str], inbox: Inbox) -> tuple[float, float] | None:
    """Anchor 1: the same outbox messages put back as waiting, sent by the outbox's sender called here. Seconds
    from the call to the last arrival, and the CPU seconds of this process meanwhile (the SMTP server's thread
    included: the rest is waiting, on the database's commits or, on a busy machine, for a CPU); None if the worker
    took one of them first (a round of its own, or its clock's: not counted)."""
    # The server has a message before the worker marks it sent: put back as waiting before that, it would be
    # marked sent over it, and never sent again. Then a moment for the worker's round to end (it looks for more
    # before it does): what it takes even so is not counted.
    requests = (OutboxMessage.id > since_id) & (OutboxMessage.calendar_method == "REQUEST")
    deadline = time.perf_counter() + WAIT_S
    while db.session.execute(select(func.count()).where(requests, OutboxMessage.status == "sent")).scalar() \
            < len(addresses):
        db.session.commit()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the worker did not mark its messages sent in {WAIT_S} s")
        time.sleep(0.005)
    time.sleep(SETTLE_S)
    mark = len(inbox.received)  # before they are waiting again: whoever sends them, they are seen
    db.session.execute(update(OutboxMessage).where(requests)
                       .values(status="pending", next_attempt_at=utcnow(), claimed_by=None, sent_at=None))
    db.session.commit()
    started, cpu = time.perf_counter(), time.process_time()
    report = send_pending()
    arrived = inbox.wait_for(mark, addresses, "send_pending called directly")
    cpu = time.process_time() - cpu
    return (max(a[0] for a in arrived) - started, cpu) if report.sent == len(addresses) else None


def resend_bare(messages: list[tuple], port: int, inbox: Inbox) -> float:
    """Anchor 2: the messages as the server received them, sent again by a bare smtplib session."""
    mark = len(inbox.received)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=WAIT_S) as server:
        for _, to, sender, content in messages:
            server.sendmail(sender, list(to), content, mail_options=["BODY=8BITMIME"])
    arrived = inbox.wait_for(mark, {address for m in messages for address in m[1]}, "bare smtplib")
    return max(a[0] for a in arrived) - started


def is_request(content: bytes, address: str) -> bool:
    """An iMIP REQUEST naming `address` as ATTENDEE (checked after the timing, outside it)."""
    message = email.message_from_bytes(content, policy=email.policy.default)
    part = next((p for p in message.walk() if p.get_content_type() == "text/calendar"), None)
    if part is None:
        return False
    text = part.get_content().replace("\r\n ", "").lower()
    return "method:request" in text and f"mailto:{address}" in text


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


def run_round(storage: str, options, inbox: Inbox, port: int, database_url: str | None) -> dict:
    try:
        return measure_round(storage, options, inbox, port, database_url)
    finally:
        if storage == "redis":  # the queue's database 13 left empty, whatever happened
            redis.Redis.from_url(REDIS_URL).flushdb()


def measure_round(storage: str, options, inbox: Inbox, port: int, database_url: str | None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "DIALOGUE_INSTANCE_PATH": folder, "SECRET_KEY": "bench",
               "DATABASE_URL": database_url or f"sqlite:///{folder}/dialogue.db", "MAIL_SERVER": "127.0.0.1",
               "MAIL_PORT": str(port), "MAIL_DEFAULT_SENDER": "chicuc@haiquan.example.vn",
               "BASE_URL": "http://127.0.0.1:5000", "HUEY_IMMEDIATE": "", "PYTHONUNBUFFERED": "1"}
        env.pop("REDIS_URL", None)
        env.pop("HUEY_REDIS_URL", None)
        if storage == "redis":
            env["REDIS_URL"] = REDIS_URL
            redis.Redis.from_url(REDIS_URL).flushdb()
        os.environ.clear()
        os.environ.update(env)  # the app of this process reads the same settings as the worker
        app = create_app()
        figures = {kind: {"ours": [], "post": [], "direct": [], "direct_cpu": [], "bare": []} for kind in KINDS}
        ok = True
        with app.app_context():
            world = build(len(KINDS) * (options.invitations + 1))
            client = app.test_client()
            token = client.post("/api/v1/tokens", json={"email": world["organiser"], "password": PASSWORD})
            assert token.status_code == 201, token.json
            headers = {"Authorization": f"Bearer {token.json['token']}"}
            invitees = iter(world["invitees"])
            with worker(env, Path(folder) / "worker.log"):
                for kind in KINDS:
                    path = f"/api/v1/{'meetings' if kind == 'meeting' else 'series'}/{world[kind]}/invitations"
                    for number in range(options.invitations + 1):  # the first warms up, not counted
                        business_id, addresses = next(invitees)
                        since_id = db.session.execute(select(OutboxMessage.id).order_by(
                            OutboxMessage.id.desc()).limit(1)).scalar() or 0
                        db.session.commit()  # no transaction held open while the worker writes
                        mark = len(inbox.received)
                        started = time.perf_counter()
                        response = client.post(path, json={"business_id": business_id}, headers=headers)
                        answered = time.perf_counter()
                        assert response.status_code == 201, (response.status_code, response.json)
                        arrived = inbox.wait_for(mark, addresses, f"{kind} invitation {number} (the worker)")
                        last = max(a[0] for a in arrived)
                        ok = ok and all(is_request(a[3], to) for a in arrived for to in a[1] if to in addresses)
                        direct = resend_directly(since_id, addresses, inbox)
                        bare = resend_bare(arrived, port, inbox)
                        if number == 0:
                            continue
                        got = figures[kind]
                        got["ours"].append(last - answered)
                        got["post"].append(answered - started)
                        got["bare"].append(bare)
                        if direct is not None:
                            got["direct"].append(direct[0])
                            got["direct_cpu"].append(direct[1])
            db.session.remove()
            if database_url:
                db.drop_all()
            db.engine.dispose()
    return {"figures": figures, "ok": ok}


def redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invitations", type=int, default=20, help="timed invitations of each kind per round")
    parser.add_argument("--no-redis", action="store_true", help="only the round with Huey on SQLite")
    options = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL")
    saved = dict(os.environ)
    storages = ["sqlite"] + ([] if options.no_redis or not redis_answers() else ["redis"])
    if "redis" not in storages:
        print("Redis: " + ("not asked for" if options.no_redis else "nothing answers at 127.0.0.1:6379")
              + ": the queue on SQLite only")
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    rounds, ok = {}, True
    try:
        for storage in storages:
            print(f"round: Huey on {storage}; database "
                  f"{(database_url or 'sqlite').split('://')[0].split('+')[0]}; {options.invitations} invitations "
                  f"of each kind (+1 warm-up), {CONTACTS} contacts each; aiosmtpd on 127.0.0.1:{port}")
            outcome = run_round(storage, options, inbox, port, database_url)
            rounds[storage], ok = outcome["figures"], ok and outcome["ok"]
    except (TimeoutError, RuntimeError, AssertionError) as error:
        print(f"FAILED: {error}")
        ok = False
    finally:
        controller.stop()
        os.environ.clear()
        os.environ.update(saved)
    rows = []
    for storage, figures in rounds.items():
        for kind, got in figures.items():
            ours, direct, bare, post = got["ours"], got["direct"], got["bare"], got["post"]
            what = f"{'one meeting' if kind == 'meeting' else 'a series'}, Huey on {storage}"
            print(f"{what:<28} POST answered -> last contact's mail: median {ms(statistics.median(ours))}, "
                  f"p95 {ms(p95(ours))} | the POST itself: median {ms(statistics.median(post))} | anchors, same "
                  f"messages: send_pending median {ms(statistics.median(direct))} p95 {ms(p95(direct))} "
                  f"({len(direct)} of {len(ours)}; CPU {ms(statistics.median(got['direct_cpu']))}), "
                  f"bare smtplib median {ms(statistics.median(bare))} "
                  f"p95 {ms(p95(bare))}")
            anchor = (f"send_pending {ms(statistics.median(direct))}, bare smtplib {ms(statistics.median(bare))} "
                      "(medians)")
            rows.append(result_row(f"{what}: POST answered to the last of {CONTACTS} REQUESTs received, median",
                                   statistics.median(ours) * 1000, "ms", anchor=anchor, met=True,
                                   detail=f"{len(ours)} invitations; the POST itself took "
                                          f"{ms(statistics.median(post))} (median) before that; send_pending's "
                                          f"CPU time {ms(statistics.median(got['direct_cpu']))} (median)"))
            rows.append(result_row(f"{what}: the same, p95", p95(ours) * 1000, "ms",
                                   anchor=f"send_pending {ms(p95(direct))}, bare smtplib {ms(p95(bare))} (p95)",
                                   met=True, detail=f"slowest {ms(max(ours))}"))
    print("every contact received its REQUEST" if ok else "SOME CONTACTS DID NOT RECEIVE THEIR REQUEST")
    emit("invitation_mail", ok and bool(rows), "each contact's iMIP REQUEST received with the worker running "
                                               "(figure reported; the issue sets no target)",
         rows, database=(database_url or "sqlite").split("://")[0].split("+")[0], queues=", ".join(rounds),
         invitations=options.invitations, contacts=CONTACTS)
    return 0 if ok and rows else 1


if __name__ == "__main__":
    sys.exit(main())
