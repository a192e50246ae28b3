"""Benchmark: the report pages on the national-scale demo (issue 8 asks for under 150 ms p95).

Uses the database in BENCH_DATABASE_URL when it already holds the national demo (for instance one built with
`flask --app wsgi seed-demo --scale national`), else builds the national demo into a throw-away SQLite
database (a few minutes). Then, as the General Department's manager and as a Department's manager, it asks
for the dashboard and the branch ranking by month, quarter and year, and reports the p50/p95 of each and the
number of SQL statements each page ran (the same for a month as for a year: the counts do not grow with
the data).

Run: `.venv/bin/python bench/reports.py` (SQLite), or
     `BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/national_demo .venv/bin/python bench/reports.py`.
"""

import os
import sys
import tempfile
import time

from pages import measure_page
from result import emit, row
from sqlalchemy import func, select

from dialogue_app import create_app, officetime
from dialogue_app.auth.models import User
from dialogue_app.demo.national import NationalSizes, seed_national
from dialogue_app.extensions import db
from dialogue_app.org.models import Unit

TARGET_MS, RUNS = 150, 30
PASSWORD = "benchmark password"


def prepare(app) -> dict[str, str]:
    """The national demo (built if missing) and one manager account per level, with the bench password."""
    with app.app_context():
        units = db.session.execute(select(func.count()).select_from(Unit)).scalar_one()
        if units < 200:
            started = time.perf_counter()
            seed_national(NationalSizes(), password=PASSWORD)
            db.session.commit()
            print(f"national demo built in {time.perf_counter() - started:.0f} s")
        root = db.session.execute(select(Unit).where(Unit.parent_id.is_(None))).scalar_one()
        department = db.session.execute(
            select(Unit).where(Unit.parent_id == root.id).order_by(Unit.code)).scalars().first()
        accounts = {}
        for label, unit in (("general", root), ("department", department)):
            email = f"bench.{label}@dialogue-demo.vn"
            user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
            if user is None:
                user = User(email=email, name=f"Benchmark {label}", role="manager", unit_id=unit.id)
                db.session.add(user)
            user.set_password(PASSWORD)
            accounts[label] = email
        db.session.commit()
        counts = {name: db.session.execute(select(func.count()).select_from(table)).scalar_one()
                  for name, table in (("units", Unit.__table__), ("issues", db.metadata.tables["issues"]),
                                      ("businesses", db.metadata.tables["businesses"]),
                                      ("meetings", db.metadata.tables["meetings"]))}
        print("data: " + ", ".join(f"{n:,} {name}" for name, n in counts.items()))
    return accounts


def main() -> int:
    url = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{folder}/bench.db", "SECRET_KEY": "bench",
                          "WTF_CSRF_ENABLED": False, "INSTANCE_PATH": folder, "RATELIMIT_ENABLED": False})
        if not url:
            with app.app_context():
                db.create_all()
                from dialogue_app.issues.models import Topic
                from dialogue_app.issues.topics import default_topic_rows
                db.session.execute(db.insert(Topic), default_topic_rows())
                db.session.commit()
        accounts = prepare(app)
        with app.app_context():
            today = officetime.today()
        year, quarter, month = today.year, (today.month - 1) // 3 + 1, today.month
        pages = [
            ("general", f"/reports?period=year&year={year - 1}"),
            ("general", f"/reports?period=year&year={year}"),
            ("general", f"/reports?period=quarter&year={year}&n={quarter}"),
            ("general", f"/reports?period=month&year={year}&n={month}"),
            ("general", f"/reports/ranking?period=year&year={year - 1}"),
            ("general", f"/reports/ranking?period=quarter&year={year}&n={quarter}"),
            ("department", f"/reports?period=year&year={year - 1}"),
            ("department", f"/reports/ranking?period=quarter&year={year}&n={quarter}"),
        ]
        print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0]}")
        worst, statements, rows = 0.0, {}, []
        for who, path in pages:
            median, p95, queries = measure_page(app, accounts[who], PASSWORD, path, RUNS)
            worst = max(worst, p95)
            statements.setdefault((who, path.split("?")[0]), set()).add(queries)
            print(f"{who:<10} {path:<44} median {median:6.1f} ms  p95 {p95:6.1f} ms  {queries} queries")
            rows.append(row(f"{who} {path}, p95", p95, "ms", f"< {TARGET_MS} ms", met=p95 < TARGET_MS,
                            detail=f"median {median:.1f} ms, {queries} SQL statements"))
        with app.app_context():
            db.engine.dispose()
    fixed = all(len(counts) == 1 for counts in statements.values())
    print("statements per page: " + ("the same for every period" if fixed else f"VARY: {statements}"))
    met = worst < TARGET_MS and fixed
    print(f"target p95 < {TARGET_MS} ms: " + ("met" if met else f"MISSED (worst p95 {worst:.1f} ms)"))
    rows.append(row("SQL statements per page, month to year", "the same" if fixed else "vary",
                    target="the same for every period", met=fixed))
    emit("reports", met, f"the report pages on the national demo under {TARGET_MS} ms (p95), with as many SQL "
         "statements for a year as for a month", rows, database=(url or "sqlite").split("://")[0].split("+")[0])
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
