"""Benchmark: what a signed-in page costs before it shows anything, beside the capacity benchmark's bare page
(issue 19 asks each main staff page at half the bare page's throughput or more).

In process, through the test client, on the national demo in PostgreSQL (BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/national_demo): the bare page of bench/capacity.py (bench/bare_app.py's
`/rows`: no sign-in, one indexed query, 50 rows, a two-line layout), a Flask route returning one word, Dialogue's
empty page (signed in, the layout alone: the session's lookup, the top bar, the menu for the role, the unread
count) and the five main pages of the capacity benchmark as a branch organiser. Medians and p95 of the clock and
of this process's CPU, the SQL statements each runs, and each page's time beside the bare page's (the share of its
throughput a page can have on the same workers): one figure per page of what bench/capacity.py measures under
gunicorn, without the HTTP server and the load generator in between, so that where the time goes can be seen.

Run: `.venv/bin/python bench/page_floor.py` (the national demo built with `flask --app wsgi seed-demo --scale
national`).
"""

import gc
import os
import statistics
import sys
import tempfile
import time
from urllib.parse import quote

from result import emit, row
from sqlalchemy import event, func, select

URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/national_demo")
os.environ.setdefault("DATABASE_URL", URL)  # bare_app reads it when imported
import bare_app  # noqa: E402
from flask import Flask  # noqa: E402
from pages import add_empty_page, add_rows_page  # noqa: E402

from dialogue_app import create_app  # noqa: E402
from dialogue_app.auth import services as auth_services  # noqa: E402
from dialogue_app.extensions import db  # noqa: E402
from dialogue_app.issues.models import Issue, Topic  # noqa: E402
from dialogue_app.org.models import Business, Unit  # noqa: E402
from dialogue_app.scheduling.models import Meeting  # noqa: E402
from dialogue_app.text import fold  # noqa: E402

RUNS, WARM_UP, SHARE = 300, 20, 0.5
PASSWORD = "bench floor password"
EMAIL = "bench.floor.organiser@dialogue-demo.vn"


def timed(client, path: str, engine=None) -> dict:
    """Median and p95 (ms) of the clock and the CPU of GET `path`, and the SQL statements it ran."""
    for _ in range(WARM_UP):
        assert client.get(path).status_code == 200, path
    statements, started = [], []

    def before(*args):
        started.append(time.perf_counter())

    def after(*args):
        statements.append((time.perf_counter() - started.pop()) * 1000)

    if engine is not None:
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
    clock, cpu = [], []
    for _ in range(RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        client.get(path)
        clock.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    if engine is not None:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    clock.sort()
    return {"median": statistics.median(clock), "p95": clock[int(RUNS * 0.95) - 1], "cpu": statistics.median(cpu),
            "statements": len(statements) / RUNS if engine is not None else 1,
            "sql": sum(statements) / RUNS if engine is not None else None}


def prepare(app) -> dict[str, str]:
    """The organiser of the branch with the most issues (made or reset), and the pages bench/capacity.py opens."""
    with app.app_context():
        busiest = db.session.execute(select(Issue.origin_unit_id).group_by(Issue.origin_unit_id)
                                     .order_by(func.count().desc()).limit(1)).scalar_one()
        branch = db.session.get(Unit, busiest)
        user = auth_services.user_by_email(EMAIL)
        if user is None:
            user = auth_services.create_user(email=EMAIL, name="Đo trang", password=PASSWORD, role="organiser",
                                             unit=branch)
        else:
            user.role, user.unit, user.active = "organiser", branch, True
            user.set_password(PASSWORD)
        db.session.commit()
        topic = db.session.execute(select(Topic.code).where(Topic.active, Topic.sensitive.is_(False))
                                   .order_by(Topic.position).limit(1)).scalar_one()
        meeting = db.session.execute(select(Meeting.id).where(Meeting.unit_id == branch.id, Meeting.start <= func.now())
                                     .order_by(Meeting.start.desc()).limit(1)).scalar_one()
        name = db.session.execute(select(Business.name).where(Business.unit_id == branch.id)
                                  .order_by(Business.id).limit(1)).scalar_one()
        words = fold(name).split()
        print(f"organiser of {branch.code} ({branch.name}); meeting {meeting}; topic {topic}")
        return {"issue list, filtered": f"/issues?status=open&topic={topic}", "meeting page": f"/meetings/{meeting}",
                "calendar": "/calendar", "business search": f"/businesses?q={quote(' '.join(words[-2:]))}",
                "dashboard": "/"}


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"SQLALCHEMY_DATABASE_URI": URL, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                          "INSTANCE_PATH": folder, "RATELIMIT_ENABLED": False})
        empty, rows_inside = add_empty_page(app), add_rows_page(app, bare_app.UNIT)
        pages = prepare(app)
        with app.app_context():
            engine = db.engine
        gc.collect()
        gc.freeze()  # as wsgi.py does for the served app
        print("load average: " + ", ".join(f"{load:.2f}" for load in os.getloadavg()))
        bare = timed(bare_app.app.test_client(), "/rows")
        word = Flask("word")
        word.add_url_rule("/word", "word", lambda: "x")
        nothing = timed(word.test_client(), "/word")
        client = app.test_client()
        assert client.post("/login", data={"email": EMAIL, "password": PASSWORD}).status_code == 302
        measured = {"empty page (signed in, layout only)": timed(client, empty, engine),
                    "the bare page's rows in the layout": timed(client, rows_inside, engine)}
        for label, path in pages.items():
            measured[label] = timed(client, path, engine)
        print("load average: " + ", ".join(f"{load:.2f}" for load in os.getloadavg()))
        with app.app_context():
            db.engine.dispose()
    print(f"bare page /rows (no sign-in, 1 statement, 50 rows): median {bare['median']:.2f} ms, p95 "
          f"{bare['p95']:.2f} ms, CPU {bare['cpu']:.2f} ms")
    print(f"a Flask route answering one word: median {nothing['median']:.2f} ms, CPU {nothing['cpu']:.2f} ms")
    # At half the bare page's throughput a page may take twice its time: what that leaves beside the layout.
    budget = 2 * bare["median"] - measured["empty page (signed in, layout only)"]["median"]
    print(f"half the bare page's throughput allows {2 * bare['median']:.2f} ms a page: {budget:.2f} ms beside the "
          "empty page's layout, for a page's own statements and rendering")
    rows, worst = [], float("inf")
    for label, figures in measured.items():
        share = bare["median"] / figures["median"]
        if label in pages:
            worst = min(worst, share)
        print(f"{label:<38} median {figures['median']:6.2f} ms  p95 {figures['p95']:6.2f} ms  CPU "
              f"{figures['cpu']:6.2f} ms  {figures['statements']:4.1f} statements, {figures['sql']:5.2f} ms in "
              f"the driver  |  bare/page {share:4.2f}")
        rows.append(row(f"{label}, median", figures["median"], "ms", f"≥ {SHARE}× the bare page",
                        anchor=f"bare page median {bare['median']:.2f} ms (bare/page {share:.2f})",
                        met=share >= SHARE if label in pages else None,
                        detail=f"p95 {figures['p95']:.2f} ms; CPU {figures['cpu']:.2f} ms (bare {bare['cpu']:.2f}); "
                               f"{figures['statements']:.0f} SQL statements taking {figures['sql']:.2f} ms at the "
                               "driver"))
    met = worst >= SHARE
    emit("page_floor", met, f"each main page at ≥ {SHARE}× the bare page (in process)", rows)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
