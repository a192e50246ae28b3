"""Benchmark: answers from calendars (issue 14), REPLYs processed per second from a mailbox of 1,000 messages.

Starts a private Dovecot (Debian's dovecot-imapd, as the tests do: tests/dovecot.py) and builds a throw-away
database (SQLite, or the one in BENCH_DATABASE_URL) with a monthly series and five one-off meetings, 100 invited
businesses with two contacts each. Puts 1,000 messages into the mailbox: 900 REPLYs shaped as Outlook (one
occurrence of the series, base64), Apple Calendar (one occurrence, quoted-printable) and Gmail (a one-off meeting,
the file inline and attached) send them, 50 ordinary mails and 50 REPLYs from people who are not invited
contacts. Then `receive_mail` (what `flask --app wsgi receive-mail` runs) reads them all, and must record 900
answers, set 50 aside and leave 50 alone.

The anchor, measured in the same run on the same mailbox: a bare IMAPClient session fetching the same 1,000
messages whole (SELECT, SEARCH, FETCH RFC822), which is the least any reader of that mailbox does. Rounds
alternate the two; between rounds the mailbox and the answers are put back as they were.

Run: `.venv/bin/python bench/receive_mail.py` (`--rounds 3`). Exit status 0 when every message was handled as
expected in every round.
"""

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/dovecot.py, tests/itip_replies.py

from result import emit  # noqa: E402
from result import row as result_row  # noqa: E402
from sqlalchemy import delete  # noqa: E402
from taxcodes import tax_codes

from dialogue_app import create_app  # noqa: E402
from dialogue_app.attendance.models import Rsvp  # noqa: E402
from dialogue_app.attendance.services import invite_to_meeting  # noqa: E402
from dialogue_app.calendar.replies import IGNORED, RECORDED, SET_ASIDE, receive_mail  # noqa: E402
from dialogue_app.calendar.services import meeting_uid, series_uid  # noqa: E402
from dialogue_app.extensions import db  # noqa: E402
from dialogue_app.mail.imap import HANDLED  # noqa: E402
from dialogue_app.org import services as org_services  # noqa: E402
from dialogue_app.scheduling import services as scheduling  # noqa: E402
from tests import dovecot  # noqa: E402
from tests.itip_replies import apple_reply, gmail_reply, outlook_reply, plain_mail  # noqa: E402

MESSAGES, REPLIES, PLAIN, STRANGERS = 1000, 900, 50, 50
BUSINESSES, MEETINGS = 100, 5
PARTSTATS = ("ACCEPTED", "DECLINED", "TENTATIVE")


def build():
    db.drop_all()
    db.create_all()
    general = org_services.create_unit(code="TCHQ", name="Tổng cục Hải quan", level="general", parent=None)
    hcm = org_services.create_unit(code="HCM", name="Cục Hải quan TP. Hồ Chí Minh", level="department",
                                   parent=general)
    branch = org_services.create_unit(code="HCM-A", name="Chi cục HCM-A", level="branch", parent=hcm)
    businesses, contacts = [], []
    for i, code in enumerate(tax_codes(BUSINESSES)):
        business = org_services.create_business(tax_code=code, name=f"Công ty TNHH Số {i}", unit=branch)
        businesses.append(business)
        for j in range(2):
            contacts.append(org_services.add_contact(business, name=f"Người liên hệ {i}-{j}",
                                                     email=f"lienhe{i}-{j}@dn{i}.example.vn"))
    db.session.flush()
    series = scheduling.create_series(title="Cà phê sáng cùng doanh nghiệp", unit=branch, location="Hội trường",
                                      rule="FREQ=MONTHLY;BYDAY=-1MO", first_start=datetime(2025, 8, 25, 8),
                                      duration_minutes=120, invitees=businesses, notify=False)
    now = datetime.now(UTC)
    visits = []
    for k in range(MEETINGS):
        visit = scheduling.create_meeting(title=f"Thăm doanh nghiệp {k}", unit=branch, kind="visit",
                                          start=now + timedelta(days=10 + k), duration_minutes=90, location="Nhà máy")
        db.session.flush()
        for business in businesses:
            invite_to_meeting(visit, business)
        visits.append(visit)
    db.session.commit()
    coming = [o for o in scheduling.expand_series(series, now, now + timedelta(days=366))
              if o.status.value != "cancelled"]
    return series, visits, coming, contacts


def messages(series, visits, coming, contacts) -> list[bytes]:
    out = []
    for i in range(REPLIES):
        contact, partstat = contacts[i % len(contacts)], PARTSTATS[i % 3]
        occurrence = coming[i % len(coming)].rule_start.replace(tzinfo=None)
        if i % 3 == 0:
            out.append(outlook_reply(contact.email, series_uid(series), occurrence, partstat, comment=f"Ý kiến {i}"))
        elif i % 3 == 1:
            out.append(apple_reply(contact.email, series_uid(series), partstat, occurrence))
        else:
            visit = visits[i % len(visits)]
            out.append(gmail_reply(contact.email, meeting_uid(visit), partstat, visit.start))
    out += [plain_mail(f"khach{i}@example.vn") for i in range(PLAIN)]
    out += [gmail_reply(f"la{i}@example.vn", meeting_uid(visits[0]), "ACCEPTED", visits[0].start)
            for i in range(STRANGERS)]
    # Interleaved, as a mailbox receives them.
    return [out[(i * 7) % MESSAGES] for i in range(MESSAGES)]


def reset(server) -> None:
    """The mailbox and the answers as before the first round."""
    with server.client() as client:
        aside = [name for _, _, name in client.list_folders() if name.endswith("Set aside")]
        if aside:
            client.select_folder(aside[0])
            uids = client.search("ALL")
            if uids:
                client.move(uids, "INBOX")
        client.select_folder("INBOX")
        uids = client.search("ALL")
        client.remove_flags(uids, [HANDLED, b"\\Seen"])
    db.session.execute(delete(Rsvp))
    db.session.commit()


def anchor(server) -> float:
    started = time.perf_counter()
    with server.client() as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        fetched = client.fetch(uids, ["RFC822"])
    elapsed = time.perf_counter() - started
    assert len(fetched) == MESSAGES, len(fetched)
    return elapsed


def ours(server) -> tuple[float, float, dict]:
    """Wall-clock seconds, this process's CPU seconds (Dovecot's not counted), and what became of the messages."""
    started, cpu = time.perf_counter(), time.process_time()
    report = receive_mail(server.config())
    return time.perf_counter() - started, time.process_time() - cpu, report.counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    reason = dovecot.missing_reason()
    if reason:
        print(reason)
        return 2
    url = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory() as folder, dovecot.dovecot_server(Path(folder) / "imap") as server:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{folder}/bench.db", "SECRET_KEY": "bench",
                          "INSTANCE_PATH": folder, "RATELIMIT_ENABLED": False, "HUEY_IMMEDIATE": True,
                          "BASE_URL": "http://localhost"})
        with app.app_context():
            series, visits, coming, contacts = build()
            mail = messages(series, visits, coming, contacts)
            with server.client() as client:
                for message in mail:
                    client.append("INBOX", message)
            size = sum(len(m) for m in mail)
            print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0]}; mailbox: {MESSAGES:,} "
                  f"messages, {size / 1e6:.1f} MB ({REPLIES} REPLYs: Outlook, Apple, Gmail; {PLAIN} ordinary mails; "
                  f"{STRANGERS} REPLYs from strangers); Dovecot {server.host}:{server.port}")
            app.logger.setLevel(logging.ERROR)  # one line per message, 1,000 per round: not in the report
            ours_times, cpu_times, anchor_times, ok = [], [], [], True
            for number in range(1, options.rounds + 1):
                if number > 1:
                    reset(server)
                anchor_times.append(anchor(server))
                elapsed, cpu, counts = ours(server)
                ours_times.append(elapsed)
                cpu_times.append(cpu)
                expected = {RECORDED: REPLIES, SET_ASIDE: STRANGERS, IGNORED: PLAIN}
                handled = {k: counts[k] for k in expected}
                ok = ok and handled == expected and counts["retry"] == 0
                print(f"round {number}: receive-mail {elapsed:6.2f} s = {MESSAGES / elapsed:7.1f} messages/s "
                      f"({REPLIES / elapsed:7.1f} answers recorded/s; {cpu:5.2f} CPU-s in this process); "
                      f"bare fetch {anchor_times[-1]:5.2f} s = "
                      f"{MESSAGES / anchor_times[-1]:7.1f} messages/s; {handled}")
            db.session.remove()
            if url:
                db.drop_all()
            db.engine.dispose()
    ours_s, anchor_s = statistics.median(ours_times), statistics.median(anchor_times)
    cpu_s = statistics.median(cpu_times)
    rate, anchor_rate = MESSAGES / ours_s, MESSAGES / anchor_s
    print(f"median of {options.rounds} rounds: {rate:.1f} messages/s ({REPLIES / ours_s:.1f} REPLYs recorded/s), "
          f"bare fetch {anchor_rate:.1f} messages/s, ratio {ours_s / anchor_s:.1f}x the bare fetch's time; "
          + ("every message handled as expected" if ok else "SOME MESSAGES WERE NOT HANDLED AS EXPECTED"))
    emit("receive_mail", ok, f"{MESSAGES:,} messages read and each handled as expected (figure reported; the issue "
                             "sets no target)",
         [result_row("messages processed per second (receive-mail)", rate, "msg/s",
                     anchor=f"{anchor_rate:.0f} msg/s bare fetch", met=ok,
                     detail=f"median of {options.rounds} rounds; {ours_s:.2f} s for {MESSAGES:,} messages, "
                            f"{ours_s / anchor_s:.1f}x the bare fetch"),
          result_row("messages per CPU-second of the reading process", MESSAGES / cpu_s, "msg/CPU-s",
                     detail=f"median {cpu_s:.2f} CPU-s per round (Dovecot's and the database server's not counted): "
                            "what the figure above would approach on an idle machine"),
          result_row("REPLYs recorded per second", REPLIES / ours_s, "REPLY/s", met=ok,
                     detail=f"{REPLIES} answers recorded, {STRANGERS} set aside, {PLAIN} left alone per round"),
          result_row("bare IMAPClient fetch of the same messages (anchor)", anchor_rate, "msg/s",
                     detail=f"median {anchor_s:.2f} s; SELECT, SEARCH, FETCH RFC822")],
         database=(url or "sqlite").split("://")[0].split("+")[0], rounds=options.rounds)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
