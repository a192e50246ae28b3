"""Benchmark: the filtered issue list with 300,000 issues (issue 5 asks for under 150 ms p95).

Builds a throw-away database (SQLite by default, or the one in BENCH_DATABASE_URL, e.g. a PostgreSQL
database made for it), fills it with 200 branches, 20,000 businesses and 300,000 issues in bulk, then asks
the list page (through the app, as the General Department's manager and as a branch officer) for common
filters and reports the p50/p95 of each and the number of SQL statements each page ran.

Run: `.venv/bin/python bench/issues_list.py` (about a minute on SQLite).
"""

import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

from pages import measure_page
from result import emit, row
from sqlalchemy import insert

from dialogue_app import create_app
from dialogue_app.auth.models import User
from dialogue_app.extensions import db
from dialogue_app.issues.models import Issue, Topic
from dialogue_app.issues.topics import default_topic_rows
from dialogue_app.org.models import Business, Unit

ISSUES, BUSINESSES, DEPARTMENTS, BRANCHES_PER_DEPARTMENT = 300_000, 20_000, 35, 6
TARGET_MS, RUNS = 150, 40
PASSWORD = "benchmark password"


def build(app) -> dict:
    rng = random.Random(5)
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.execute(insert(Topic), default_topic_rows())
        units = [{"id": 1, "code": "TCHQ", "name": "Tổng cục Hải quan", "level": "general", "parent_id": None,
                  "path": "/1/"}]
        branches = []
        for d in range(DEPARTMENTS):
            dept_id = len(units) + 1
            units.append({"id": dept_id, "code": f"C{d:02d}", "name": f"Cục Hải quan {d}", "level": "department",
                          "parent_id": 1, "path": f"/1/{dept_id}/"})
            for b in range(BRANCHES_PER_DEPARTMENT):
                branch_id = len(units) + 1
                units.append({"id": branch_id, "code": f"C{d:02d}-{b}", "name": f"Chi cục {d}-{b}",
                              "level": "branch", "parent_id": dept_id, "path": f"/1/{dept_id}/{branch_id}/"})
                branches.append(branch_id)
        now = datetime.now(UTC)
        db.session.execute(insert(Unit), [{**u, "created_at": now, "updated_at": now} for u in units])
        db.session.execute(insert(Business), [
            {"id": i + 1, "tax_code": f"{i:010d}", "name": f"Công ty số {i}", "search_text": f"cong ty so {i}",
             "unit_id": branches[i % len(branches)], "created_at": now, "updated_at": now}
            for i in range(BUSINESSES)
        ])
        manager = User(email="manager@bench.vn", name="Lãnh đạo Tổng cục", role="manager", unit_id=1)
        officer = User(email="officer@bench.vn", name="Cán bộ", role="organiser", unit_id=branches[0])
        for user in (manager, officer):
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.flush()
        statuses = ["new", "assigned", "in_progress", "answered", "closed", "closed", "closed"]
        today = date.today()
        rows = []
        for i in range(ISSUES):
            business = rng.randrange(BUSINESSES)
            branch = branches[business % len(branches)]
            created = now - timedelta(minutes=rng.randrange(5 * 365 * 24 * 60))
            status = rng.choice(statuses)
            rows.append({
                "title": f"Vướng mắc số {i}", "description": "", "business_id": business + 1, "channel": "phone",
                "topic_id": rng.randrange(1, 12), "unit_id": branch, "origin_unit_id": branch, "status": status,
                "due_date": today + timedelta(days=rng.randrange(-30, 30)) if status != "new" else None,
                "created_at": created, "updated_at": created, "version": 1, "raised_by_name": "",
                "resolution": "", "legal_basis": "", "published": False, "public_question": "",
                "public_answer": "",
            })
            if len(rows) == 20_000:
                db.session.execute(insert(Issue), rows)
                rows = []
        db.session.commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    return {"general": "manager@bench.vn", "branch": "officer@bench.vn"}


def measure(app, email: str, path: str) -> tuple[float, float, int]:
    return measure_page(app, email, PASSWORD, path, RUNS)


def main() -> int:
    url = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{folder}/bench.db", "SECRET_KEY": "bench",
                          "WTF_CSRF_ENABLED": False, "INSTANCE_PATH": folder, "RATELIMIT_ENABLED": False})
        started = time.perf_counter()
        accounts = build(app)
        print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0]}; "
              f"{ISSUES:,} issues built in {time.perf_counter() - started:.0f} s")
        worst, rows = 0.0, []
        for who, path in [("general", "/issues"), ("general", "/issues?status=in_progress"),
                          ("general", "/issues?overdue=1"), ("general", "/issues?topic=origin&page=20"),
                          ("general", "/issues?unit=C03"), ("branch", "/issues"), ("branch", "/issues?overdue=1")]:
            median, p95, queries = measure(app, accounts[who], path)
            worst = max(worst, p95)
            print(f"{who:<8} {path:<36} median {median:6.1f} ms  p95 {p95:6.1f} ms  {queries} queries")
            rows.append(row(f"{who} {path}, p95", p95, "ms", f"< {TARGET_MS} ms", met=p95 < TARGET_MS,
                            detail=f"median {median:.1f} ms, {queries} SQL statements"))
        with app.app_context():
            db.drop_all() if url else None
            db.engine.dispose()
    met = worst < TARGET_MS
    print(f"target p95 < {TARGET_MS} ms: " + ("met" if met else f"MISSED (worst p95 {worst:.1f} ms)"))
    emit("issues_list", met, f"the filtered issue list with {ISSUES:,} issues under {TARGET_MS} ms (p95)", rows,
         database=(url or "sqlite").split("://")[0].split("+")[0])
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
