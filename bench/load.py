"""Load test (issue 9): a realistic mix against gunicorn and PostgreSQL with the national-scale demo.

What runs at once, for ten minutes by default (bench/locustfile.py has the users):
  - 200 businesses' calendar clients polling their feeds every 30-60 s with If-None-Match (mostly 304s);
  - 20 staff signed in through the real form, browsing with 2-5 s of thought between pages: issue lists with
    filters, issues, meeting pages, the month calendar, the business search, (managers) the reports and ranking;
  - 2 integrations writing every 20-40 s through the API: a new issue, or a person who came to a meeting.
The target: no failed request at all; the figures reported are the throughput and the p50/p95/p99.

Steps: in an app context on DATABASE_URL it prepares the plan (a JSON file in a temporary folder): the feed
addresses of N businesses invited to dialogues, derived with the app's own functions and the SECRET_KEY the
server gets (when the database's feed keys were made with another key, those N feeds get new keys); bench staff
accounts with a known password (the General Department's manager, two Departments' managers, organisers of six
branches; made or reset on each run) and, for each, ids of issues and meetings they may see and search words
from their own scope; an API bearer token per writer. Then it starts gunicorn on 127.0.0.1, waits for /healthz,
runs locust headless, stops gunicorn and prints the totals, throughput and p50/p95/p99 overall, per class of
request and per request, the CPU each side took, and a `RESULT {json}` line for bench/report.py.
Exit status: 0 when nothing failed, 1 when a request failed (or the server logged an error), 2 when it could
not run.

The writes stay in the database: issue titles and attendee names start with "[bench]".

Run: `.venv/bin/python bench/load.py` (or `make load`); `--duration 1m` for a smoke run.
Options: --database-url (default postgresql://postgres@127.0.0.1:5432/national_demo, or BENCH_LOAD_DATABASE_URL),
--duration (10m), --businesses (200), --staff (20), --writers (2), --workers (4), --threads (2),
--processes (locust worker processes; default: one process), --feed-wait/--staff-wait/--write-wait "MIN-MAX"
seconds, --spawn-seconds (30), --upgrade (run the migrations first when the schema is behind the code's; without
it such a database is refused), --secret-key (default: SECRET_KEY, else the instance folder's, as `flask --app
wsgi` uses), --keep (keep the temporary folder with the plan, the logs and locust's CSV files).

Note: locust runs on the same machine as gunicorn and PostgreSQL and takes CPU from them; the report says how much.
"""

import argparse
import contextlib
import json
import math
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from feeds import Processes, cpu_times, free_port, request, tree_seconds, wait_ready  # noqa: E402

from dialogue_app import officetime  # noqa: E402

DEFAULT_URL = os.environ.get("BENCH_LOAD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/national_demo")
HOST = "127.0.0.1"
PASSWORD = "bench load password"
MARKER = "[bench]"
DOMAIN = "dialogue-demo.vn"
CLASS_ORDER = ("feeds", "staff", "writes")


# -- The plan ---------------------------------------------------------------------------------------------------

def default_secret_key() -> str:
    """The SECRET_KEY `flask --app wsgi` (and so `seed-demo`) uses: the environment's, else the instance folder's."""
    from dialogue_app import config, create_app

    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return config.secret_key(app.instance_path)


def check_schema(app, engine, upgrade: bool) -> None:
    """The server would fail on a database whose schema is behind the code: say so (or upgrade it, as
    `flask --app wsgi init-db` does, with --upgrade)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config()).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == heads:
        return
    if not upgrade:
        raise RuntimeError(f"the database's schema is at {', '.join(sorted(current)) or 'nothing'}, the code's "
                           f"migrations at {', '.join(sorted(heads))}: upgrade it first (`DATABASE_URL=... "
                           "flask --app wsgi init-db`) or pass --upgrade")
    from flask_migrate import upgrade as run_migrations

    print(f"Upgrading the schema from {', '.join(sorted(current))} to {', '.join(sorted(heads))}", flush=True)
    run_migrations()


def sample(rng: random.Random, items: list, n: int) -> list:
    return rng.sample(items, min(n, len(items)))


def prepare(database_url: str, secret_key: str, base_url: str, options, folder: Path) -> dict:
    from sqlalchemy import func, select, text

    from dialogue_app import create_app
    from dialogue_app.audit.services import acting_as
    from dialogue_app.auth import services as auth_services
    from dialogue_app.calendar import services as feeds
    from dialogue_app.calendar.models import FeedToken
    from dialogue_app.extensions import db
    from dialogue_app.issues.models import Issue, Topic
    from dialogue_app.org.models import Business, Unit
    from dialogue_app.scheduling.models import Meeting, series_invitations
    from dialogue_app.scope import visible, visible_units
    from dialogue_app.text import fold

    rng = random.Random(9)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secret_key, "BASE_URL": base_url,
                      "INSTANCE_PATH": str(folder / "instance"), "RATELIMIT_ENABLED": False})
    with app.app_context(), acting_as("bench:load"):
        engine = db.engine
        check_schema(app, engine, options.upgrade)
        counts = {name: db.session.execute(select(func.count()).select_from(model)).scalar_one()
                  for name, model in (("units", Unit), ("businesses", Business), ("issues", Issue),
                                      ("meetings", Meeting))}
        if counts["units"] == 0 or counts["businesses"] == 0:
            raise RuntimeError(f"{engine.url.render_as_string()} holds no demo (no units or businesses): build it "
                               "with `flask --app wsgi seed-demo --scale national`")
        server = db.session.execute(text("SELECT version()")).scalar_one() if engine.dialect.name == "postgresql" \
            else f"SQLite {db.session.execute(text('SELECT sqlite_version()')).scalar_one()}"

        # Feeds: businesses invited to a dialogue series, spread over the country.
        invited = sorted(db.session.execute(select(series_invitations.c.business_id).distinct()).scalars())
        if not invited:
            raise RuntimeError("no business is invited to a series: the feeds would be empty")
        feed_paths, rekeyed = [], 0
        for business_id in sample(rng, invited, options.businesses):
            token = feeds.feed_token("business", business_id)
            if token is None:  # revoked by someone: not a feed a client polls
                continue
            row = db.session.execute(select(FeedToken).where(
                FeedToken.kind == "business", FeedToken.target_id == business_id)).scalar_one()
            if row.token_hash != feeds._hash(token):  # keys made under another SECRET_KEY
                token = feeds.rotate("business", business_id)
                rekeyed += 1
            feed_paths.append(f"/feeds/{token}.ics")

        # Staff: bench accounts at each level, with the ids and words of their own scope.
        root = db.session.execute(select(Unit).where(Unit.parent_id.is_(None))).scalar_one()
        by_issues = db.session.execute(
            select(Issue.origin_unit_id, func.count()).group_by(Issue.origin_unit_id)).all()
        issues_at = dict(by_issues)
        branches = db.session.execute(select(Unit).where(Unit.level == "branch")).scalars().all()
        branches.sort(key=lambda u: (-issues_at.get(u.id, 0), u.id))
        picked_branches, seen_parents = [], set()
        for branch in branches:  # the busiest branches, one per Department first
            if branch.parent_id not in seen_parents:
                picked_branches.append(branch)
                seen_parents.add(branch.parent_id)
            if len(picked_branches) == 6:
                break
        departments = db.session.execute(
            select(Unit).where(Unit.parent_id == root.id).order_by(Unit.id)).scalars().all()[:2]
        wanted = [("manager", root)] + [("manager", d) for d in departments] + \
                 [("organiser", b) for b in picked_branches]
        topic_codes = list(db.session.execute(
            select(Topic.code).where(Topic.active, Topic.sensitive.is_(False)).order_by(Topic.position)).scalars())
        staff, users = [], []
        for role, unit in wanted:
            email = f"bench.load.{unit.code.lower()}@{DOMAIN}"
            user = auth_services.user_by_email(email)
            if user is None:
                user = auth_services.create_user(email=email, name=f"Thử tải {unit.code}", password=PASSWORD,
                                                 role=role, unit=unit)
            else:
                user.role, user.unit, user.active = role, unit, True
                user.set_password(PASSWORD)
            db.session.flush()
            users.append((user, unit))
        db.session.commit()
        for user, unit in users:
            issue_ids = list(db.session.execute(
                select(Issue.id).where(visible(user, Issue)).order_by(Issue.id.desc()).limit(5000)
            ).scalars())
            meeting_ids = list(db.session.execute(
                select(Meeting.id).where(visible(user, Meeting), Meeting.start <= func.now())
                .order_by(Meeting.start.desc()).limit(2000)).scalars())
            names = db.session.execute(
                select(Business.name, Business.tax_code).where(visible(user, Business))
                .order_by(Business.id).limit(3000)).all()
            titles = db.session.execute(
                select(Issue.title).where(Issue.id.in_(sample(rng, issue_ids, 40)))).scalars().all()
            if not issue_ids or not meeting_ids or not names:
                raise RuntimeError(f"{user.email} sees no issues, meetings or businesses: the demo is too small")
            searches = []
            for name, tax_code in sample(rng, names, 30):
                words = fold(name).split()
                if rng.random() < 0.25:
                    searches.append(tax_code[:rng.randint(4, 7)])
                else:
                    start = rng.randrange(max(1, len(words) - 1))
                    searches.append(quote(" ".join(words[start:start + 2])))
            issue_words = [quote(w) for t in titles for w in t.split() if len(w) >= 4][:60] or ["h%C3%A0ng"]
            units = [u.code for u in visible_units(user) if u.id != unit.id][:50]
            staff.append({"email": user.email, "password": PASSWORD, "role": user.role, "unit": unit.code,
                          "issues": sample(rng, issue_ids, 300), "meetings": sample(rng, meeting_ids, 150),
                          "searches": searches, "issue_words": issue_words, "units": units,
                          "topics": topic_codes, "reports": user.role in ("manager", "admin")})

        # Writers: the branch organisers, each with a bearer token, their branch's businesses and meetings.
        client = app.test_client()
        writers = []
        for user, unit in [(u, unit) for u, unit in users if u.role == "organiser"][:max(1, options.writers)]:
            answer = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
            if answer.status_code != 201:
                raise RuntimeError(f"POST /api/v1/tokens for {user.email}: {answer.status_code} {answer.text[:300]}")
            businesses = list(db.session.execute(
                select(Business.id).where(Business.unit_id == unit.id).order_by(Business.id).limit(300)).scalars())
            meetings = list(db.session.execute(
                select(Meeting.id).where(Meeting.unit_id == unit.id).order_by(Meeting.start.desc()).limit(60)
            ).scalars())
            if not businesses or not meetings:
                raise RuntimeError(f"the branch {unit.code} has no businesses or meetings to write about")
            writers.append({"email": user.email, "token": answer.json["token"], "unit": unit.code,
                            "businesses": businesses, "meetings": meetings})
        db.session.commit()

        today = officetime.today()
        months = sorted({(today.replace(day=1) + timedelta(days=31 * k)).strftime("%Y-%m") for k in (-3, -2, -1, 1)})
        quarter = (today.month - 1) // 3 + 1
        periods = [f"period=month&year={today.year}&n={today.month}",
                   f"period=quarter&year={today.year}&n={quarter}",
                   f"period=year&year={today.year}", f"period=year&year={today.year - 1}"]
        db.session.remove()
        engine.dispose()
    return {
        "counts": {"feeds": options.businesses, "staff": options.staff, "writers": options.writers},
        "processes": options.processes or 1,
        "feed_wait": options.feed_wait, "staff_wait": options.staff_wait, "write_wait": options.write_wait,
        "feeds": feed_paths, "staff": staff, "writers": writers, "topic_codes": topic_codes,
        "months": months, "periods": periods, "marker": MARKER,
        "about": {"data": counts, "server": server, "rekeyed_feeds": rekeyed,
                  "dialect": "postgresql" if "postgres" in database_url else database_url.split(":")[0]},
    }


# -- Figures ----------------------------------------------------------------------------------------------------

def percentile(histogram: dict[int, int], fraction: float) -> float | None:
    """Nearest-rank percentile of a histogram {milliseconds: count} (locust rounds to 2 significant digits
    above 100 ms)."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = max(1, math.ceil(fraction * total)), 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)


def merged(entries: list[dict]) -> dict:
    histogram: dict[int, int] = {}
    for entry in entries:
        for value, count in entry["response_times"].items():
            histogram[int(float(value))] = histogram.get(int(float(value)), 0) + count
    requests = sum(e["requests"] for e in entries)
    return {"requests": requests, "failures": sum(e["failures"] for e in entries),
            "p50": percentile(histogram, 0.50), "p95": percentile(histogram, 0.95),
            "p99": percentile(histogram, 0.99), "max": max((e["max"] or 0 for e in entries), default=0),
            "mean": sum(e["total_ms"] for e in entries) / requests if requests else None}


def figures(stats: dict) -> dict:
    elapsed = max(1e-9, (stats["last_request"] or 0) - (stats["start_time"] or 0))
    entries = stats["entries"]
    out = {"elapsed_s": elapsed, "overall": merged(entries), "classes": {}, "names": {}}
    for kind in CLASS_ORDER + tuple(sorted({e["class"] for e in entries} - set(CLASS_ORDER))):
        chosen = [e for e in entries if e["class"] == kind]
        if chosen:
            out["classes"][kind] = merged(chosen)
    for entry in sorted(entries, key=lambda e: (CLASS_ORDER.index(e["class"]) if e["class"] in CLASS_ORDER else 9,
                                                e["name"])):
        out["names"][entry["name"]] = {"class": entry["class"], **merged([entry])}
    for group in [out["overall"], *out["classes"].values(), *out["names"].values()]:
        group["rps"] = group["requests"] / elapsed
    return out


def ms(value) -> str:
    return "-" if value is None else f"{value:.0f}"


def table(result: dict) -> list[str]:
    lines = [f"{'':44}{'requests':>9}{'failures':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}"]

    def row(label: str, g: dict) -> str:
        return (f"{label:44}{g['requests']:>9}{g['failures']:>9}{g['rps']:>8.2f}{ms(g['p50']):>8}{ms(g['p95']):>8}"
                f"{ms(g['p99']):>8}{ms(g['max']):>8}")

    lines.append(row("all requests", result["overall"]))
    for kind, group in result["classes"].items():
        lines.append(row(f"  class {kind}", group))
    lines.append("")
    for name, group in result["names"].items():
        lines.append(row(f"  {name}", group))
    return lines


def cpu_share(before, after, gunicorn_pid: int, locust_seconds: float, database: str) -> dict:
    """CPU seconds taken during the run by gunicorn (master and workers), locust, PostgreSQL's backends serving
    `database` and the rest (other processes, other databases, this script)."""
    wall = after[0] - before[0]
    server = tree_seconds(gunicorn_pid, before, after)
    locust = locust_seconds
    postgres = 0.0
    for pid, (seconds, _parent) in after[2].items():
        try:  # a backend's title: "postgres: 15/main: USER DATABASE 127.0.0.1(PORT) STATE"
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {database} " in title:
            postgres += seconds - before[2].get(pid, (0.0, 0))[0]
    busy = after[1] - before[1]
    capacity = wall * (os.cpu_count() or 1)
    return {"wall_s": wall, "capacity_s": capacity, "gunicorn_s": server, "locust_s": locust,
            "postgres_s": postgres, "other_s": max(0.0, busy - server - locust - postgres), "busy_s": busy}


# -- Running ----------------------------------------------------------------------------------------------------

def seconds_of(text: str) -> int:
    """Locust's duration syntax (90, 90s, 10m, 1h30m) in seconds."""
    if text.isdigit():
        return int(text)
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    if not parts or not any(parts.groups()):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (write 600, 600s, 10m or 1h)")
    hours, minutes, secs = (int(x or 0) for x in parts.groups())
    return hours * 3600 + minutes * 60 + secs


def span(text: str) -> list[float]:
    low, _, high = text.partition("-")
    values = [float(low), float(high or low)]
    if values[0] < 0 or values[1] < values[0]:
        raise argparse.ArgumentTypeError(f"not a range of seconds: {text!r} (write MIN-MAX, e.g. 30-60)")
    return values


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--duration", type=seconds_of, default=seconds_of("10m"))
    parser.add_argument("--businesses", type=int, default=200, help="calendar clients polling a feed each")
    parser.add_argument("--staff", type=int, default=20, help="staff browsing")
    parser.add_argument("--writers", type=int, default=2, help="API clients writing")
    parser.add_argument("--feed-wait", type=span, default=span("30-60"))
    parser.add_argument("--staff-wait", type=span, default=span("2-5"))
    parser.add_argument("--write-wait", type=span, default=span("20-40"))
    parser.add_argument("--spawn-seconds", type=float, default=30, help="time over which the users start")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--processes", type=int, default=0, help="locust worker processes (0: one process)")
    parser.add_argument("--secret-key", default=None)
    parser.add_argument("--upgrade", action="store_true",
                        help="upgrade the database's schema first when it is behind the code's migrations")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return parser.parse_args(argv)


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError, StopIteration):
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}, " \
           f"Python {platform.python_version()}"


def main(argv=None) -> int:
    options = parse_args(argv)
    python = sys.executable
    if shutil.which("locust", path=str(Path(python).parent)) is None:
        print("locust is not installed in this environment: `pip install -e '.[bench]'`", file=sys.stderr)
        return 2
    locust = str(Path(python).parent / "locust")
    folder = Path(tempfile.mkdtemp(prefix="dialogue-bench-load-"))
    procs = Processes()
    try:
        port = free_port()
        base_url = f"http://{HOST}:{port}"
        secret = options.secret_key or default_secret_key()
        began = time.monotonic()
        plan = prepare(options.database_url, secret, base_url, options, folder)
        about = plan["about"]
        (folder / "plan.json").write_text(json.dumps(plan, ensure_ascii=False, indent=1))
        data = ", ".join(f"{n:,} {name}" for name, n in about["data"].items())
        print(f"Database: {about['server'].split(' on ')[0]}; {data}")
        print(f"Prepared in {time.monotonic() - began:.0f} s: {len(plan['feeds'])} business feeds"
              + (f" ({about['rekeyed_feeds']} given new keys: the demo's were made with another SECRET_KEY)"
                 if about["rekeyed_feeds"] else "")
              + f", {len(plan['staff'])} staff accounts, {len(plan['writers'])} API writers", flush=True)

        log = folder / "gunicorn.log"
        # As the README runs production: report pages read stored figures, a refresher keeps them current.
        env = {**os.environ, "DATABASE_URL": options.database_url, "SECRET_KEY": secret, "BASE_URL": base_url,
               "REPORTS_REFRESHED_IN_BACKGROUND": "1"}
        procs.start([python, "-m", "flask", "--app", "wsgi", "refresh-reports", "--loop", "--interval", "30"],
                    cwd=ROOT, env=env, stdout=(folder / "refresher.log").open("w"), stderr=subprocess.STDOUT)
        gunicorn = procs.start([python, "-m", "gunicorn", "--workers", str(options.workers), "--threads",
                                str(options.threads), "--bind", f"{HOST}:{port}", "--log-level", "warning",
                                "--timeout", "60", "wsgi:app"],
                               cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        wait_ready(gunicorn, port, "/healthz", log)
        status, _, body = request(port, "GET", plan["feeds"][0])
        if status != 200:
            raise RuntimeError(f"the first feed answered {status}: {body[:200]!r}")

        users = options.businesses + options.staff + options.writers
        rate = max(1.0, users / max(1.0, options.spawn_seconds))
        stats_file, csv_prefix = folder / "stats.json", folder / "locust"
        args = [locust, "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "-u", str(users), "-r",
                f"{rate:g}", "-t", f"{options.duration}s", "--host", base_url, "--csv", str(csv_prefix),
                "--only-summary", "--stop-timeout", "30", "--loglevel", "WARNING"]
        if options.processes:
            args += ["--processes", str(options.processes)]
        print(f"Load: {options.businesses} calendar clients polling every {options.feed_wait[0]:g}-"
              f"{options.feed_wait[1]:g} s, {options.staff} staff thinking {options.staff_wait[0]:g}-"
              f"{options.staff_wait[1]:g} s, {options.writers} API writers every {options.write_wait[0]:g}-"
              f"{options.write_wait[1]:g} s; started over {options.spawn_seconds:g} s, for {options.duration} s")
        print(f"Server: gunicorn {options.workers} workers x {options.threads} threads on {base_url}; locust "
              f"{'in ' + str(options.processes) + ' processes' if options.processes else 'in one process'} "
              "on the same machine", flush=True)
        locust_log = folder / "locust.log"
        before, children_before = cpu_times(), os.times()
        started = time.monotonic()
        runner = procs.start(args, cwd=ROOT, stdout=locust_log.open("w"), stderr=subprocess.STDOUT,
                             env={**os.environ, "BENCH_LOAD_PLAN": str(folder / "plan.json"),
                                  "BENCH_LOAD_STATS": str(stats_file)})
        last = 0
        while runner.poll() is None:
            time.sleep(5)
            minute = int((time.monotonic() - started) // 60)
            if minute > last:
                last = minute
                print(f"  {minute} min", flush=True)
        after, children_after = cpu_times(), os.times()
        # Locust has ended and been waited for: its CPU time (and its worker processes') is in this
        # process's children's times.
        locust_seconds = (children_after.children_user + children_after.children_system
                          - children_before.children_user - children_before.children_system)
        cpu = cpu_share(before, after, gunicorn.pid, locust_seconds, options.database_url.rsplit("/", 1)[-1])
        if not stats_file.exists():
            raise RuntimeError(f"locust ended ({runner.returncode}) without its figures:\n"
                               f"{locust_log.read_text()[-3000:]}")
        stats = json.loads(stats_file.read_text())
        result = figures(stats)
        procs.stop_all()
        server_log = log.read_text(errors="replace")
        server_errors = [line for line in server_log.splitlines()
                         if "Traceback" in line or "[ERROR]" in line or "[CRITICAL]" in line]

        print()
        print(f"Machine: {machine()}")
        print(f"Ran {result['elapsed_s']:.0f} s ({options.businesses + options.staff + options.writers} users)")
        print(*table(result), sep="\n")
        overall = result["overall"]
        print()
        print(f"Total: {overall['requests']} requests, {overall['failures']} failures, "
              f"{overall['rps']:.2f} req/s; p50 {ms(overall['p50'])} ms, p95 {ms(overall['p95'])} ms, "
              f"p99 {ms(overall['p99'])} ms")
        if stats["errors"]:
            print("Failures:")
            for error in stats["errors"]:
                print(f"  {error['occurrences']} x {error['method']} {error['name']}: {error['error']}")
        capacity = cpu["capacity_s"]
        print(f"CPU over the run ({os.cpu_count()} CPUs, {capacity:.0f} CPU-seconds available): "
              f"gunicorn {cpu['gunicorn_s']:.0f} s ({cpu['gunicorn_s'] / capacity:.0%}), "
              f"PostgreSQL serving it {cpu['postgres_s']:.0f} s ({cpu['postgres_s'] / capacity:.0%}), "
              f"locust {cpu['locust_s']:.0f} s ({cpu['locust_s'] / capacity:.0%}), "
              f"other processes {cpu['other_s']:.0f} s ({cpu['other_s'] / capacity:.0%}). Locust shares the machine "
              "with the server, and so do the other processes: the server had that much less.")
        written = sum(g["requests"] - g["failures"] for g in result["names"].values() if g["class"] == "writes")
        print(f"Written: {written} rows through the API, titled or named {MARKER!r}; they stay in the database.")
        if server_errors:
            print(f"The server logged {len(server_errors)} errors, e.g.: {server_errors[0][:300]}")
        ok = overall["failures"] == 0 and not server_errors and runner.returncode == 0 and overall["requests"] > 0
        if runner.returncode not in (0, 1):
            print(f"locust exited with {runner.returncode}: see {locust_log}" if options.keep else
                  f"locust exited with {runner.returncode}:\n{locust_log.read_text()[-2000:]}")
        print("target (no failed request): " + ("met" if ok else "MISSED"))
        length = f"{options.duration // 60} min" if options.duration % 60 == 0 else f"{options.duration} s"
        summary = {
            "benchmark": "load", "met": ok,
            "target": f"no failed request in {length} of the mix; throughput and p50/p95/p99 reported",
            "duration_s": round(result["elapsed_s"]),
            "database": about["dialect"], "data": about["data"],
            "users": {"feeds": options.businesses, "staff": options.staff, "writers": options.writers},
            "gunicorn": {"workers": options.workers, "threads": options.threads},
            "locust_processes": options.processes or 1, "server_errors": len(server_errors),
            "failed": [f"{e['occurrences']} x {e['method']} {e['name']}: {e['error']}" for e in stats["errors"]][:20],
            "written": written,
            "cpu": {k: round(v, 1) for k, v in cpu.items()},
            "requests": overall["requests"], "failures": overall["failures"], "rps": round(overall["rps"], 2),
            "p50_ms": overall["p50"], "p95_ms": overall["p95"], "p99_ms": overall["p99"],
            "classes": {k: {"requests": g["requests"], "failures": g["failures"], "rps": round(g["rps"], 2),
                            "p50_ms": g["p50"], "p95_ms": g["p95"], "p99_ms": g["p99"]}
                        for k, g in result["classes"].items()},
            "names": {k: {"requests": g["requests"], "failures": g["failures"], "rps": round(g["rps"], 2),
                          "p50_ms": g["p50"], "p95_ms": g["p95"], "p99_ms": g["p99"]}
                      for k, g in result["names"].items()},
        }
        print("RESULT " + json.dumps(summary, ensure_ascii=False), flush=True)
        return 0 if ok else 1
    except Exception as error:  # noqa: BLE001  (a run that could not measure says why and exits 2)
        print(f"load test failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    finally:
        procs.stop_all()
        if options.keep:
            print(f"Kept {folder} (plan.json, gunicorn.log, locust.log, locust_*.csv)")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
