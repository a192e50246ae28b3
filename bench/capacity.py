"""Benchmark: the capacity of one server on the national demo in PostgreSQL, and each main page beside anchors
measured in the same run (issue 19).

Served as the README serves it: gunicorn, 4 sync workers, `wsgi:app`, with REDIS_URL when Redis answers on
127.0.0.1 (feed changes and sign-in limits then go through it) and report pages reading stored figures
(REPORTS_REFRESHED_IN_BACKGROUND). What it measures, on 127.0.0.1:

1. Capacity: the staff of the load test's mix (bench/locustfile.py: issue lists with filters, issues, meetings,
   the calendar, the business search, the reports; 2-5 s of thought), signed in beforehand, in steps of more
   people (15 s each, the first 4 s of each not counted) until a step's p95 passes 300 ms: the throughput of the
   last step under it, and of the step that passed it. Locust runs on the same machine.
2. Pages (wrk, 8 connections): each main staff page as the General Department's manager (who sees everything),
   each right after the anchor, a bare Flask + SQLAlchemy + Jinja page rendering the 50 latest issues of one
   branch by one indexed query (bench/bare_app.py), under gunicorn with the same settings on the same database.
   Target: every page at >= 0.5x the anchor's throughput.
3. Feeds (wrk): a business's feed from the national demo; its 304 (If-None-Match) against a bare Flask app's 304
   for the same bytes and ETag (>= 1.0x), its full answer against Radicale serving the same calendar under
   gunicorn with as many workers (>= 3x).
4. Minutes PDF: the minutes of a past meeting (written by the benchmark when it has none), fetched once, then 300
   times one after the other from the cache: p95 < 5 ms.

The bench accounts, feed keys and minutes it needs are made in the database (bench/load.py's plan) and stay.

Run: `.venv/bin/python bench/capacity.py` (`make bench BENCH_ARGS='--only capacity'`).
Options: --database-url (postgresql://postgres@127.0.0.1:5432/national_demo, or BENCH_LOAD_DATABASE_URL),
--workers (4), --seconds (10, per wrk measure), --step-seconds (15), --limit-ms (300), --secret-key.
Exit status: 0 when every target is met, 1 when one is missed, 2 when it could not measure.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import redis
import requests
from result import emit, row

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from feeds import (  # noqa: E402
    Processes,
    cpu_times,
    free_port,
    load_radicale,
    others_share,
    start_radicale,
    wait_ready,
    wrk,
)
from load import DEFAULT_URL, default_secret_key, machine, prepare  # noqa: E402

HOST = "127.0.0.1"
REDIS_URL = "redis://127.0.0.1:6379/0"
PAGE_RATIO, NOT_MODIFIED_RATIO, FEED_RATIO, PDF_P95_MS = 0.5, 1.0, 3.0, 5.0
STEPS = [2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def gunicorn(procs: Processes, app: str, port: int, workers: int, env: dict, log: Path):
    process = procs.start([sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{HOST}:{port}",
                           "--log-level", "warning", "--timeout", "60", app],
                          cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_ready(process, port, "/healthz", log)
    return process


def sign_in(base: str, email: str, password: str) -> str:
    """A signed-in session's Cookie header, through the real form."""
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30)
    token = CSRF.search(page.text).group(1)
    answer = session.post(f"{base}/login", data={"csrf_token": token, "email": email, "password": password},
                          allow_redirects=False, timeout=30)
    if answer.status_code != 302 or "/login" in answer.headers.get("Location", ""):
        raise RuntimeError(f"signing in as {email} failed: {answer.status_code}")
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def write_minutes(database_url: str, secret: str, base: str, folder: Path, account: dict) -> int:
    """A past meeting of the organiser's branch with minutes (written now when it has none)."""
    from sqlalchemy import select

    from dialogue_app import create_app
    from dialogue_app.audit.services import acting_as
    from dialogue_app.auth import services as auth_services
    from dialogue_app.extensions import db
    from dialogue_app.minutes import services as minutes
    from dialogue_app.scheduling.models import Meeting

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secret, "BASE_URL": base,
                      "INSTANCE_PATH": str(folder / "instance")})
    with app.app_context(), acting_as("bench:capacity"):
        officer = auth_services.user_by_email(account["email"])
        meeting = db.session.execute(select(Meeting).where(Meeting.id.in_(account["meetings"]),
                                                           Meeting.status != "cancelled")
                                     .order_by(Meeting.id)).scalars().first()
        if minutes.get_minutes(meeting) is None:
            minutes.save_minutes(
                meeting, actor=officer, chair="Nguyễn Văn Hùng, Phó Chi cục trưởng", secretary="Lê Thị Thu Trang",
                agenda="1. Phổ biến văn bản mới\n2. Doanh nghiệp nêu vướng mắc\n3. Kết luận",
                body="\n\n".join(f"**Ý kiến {i}.** Doanh nghiệp trao đổi về thủ tục *hải quan điện tử* và kiểm "
                                 "tra sau thông quan; Chi cục trả lời trực tiếp." for i in range(1, 16)),
                conclusions="1. Trả lời đúng hạn.\n2. Duy trì đối thoại hằng tháng.")
            db.session.commit()
        meeting_id = meeting.id
        db.session.remove()
        db.engine.dispose()
    return meeting_id


def sequential(base: str, path: str, cookie: str, runs: int) -> list[float]:
    """Milliseconds of each of `runs` GETs one after the other on one kept-alive connection."""
    session = requests.Session()
    session.headers["Cookie"] = cookie
    timings = []
    for _ in range(runs + 10):
        began = time.perf_counter()
        answer = session.get(base + path, timeout=30)
        timings.append((time.perf_counter() - began) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"{path} answered {answer.status_code}")
    return sorted(timings[10:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--step-seconds", type=float, default=20)
    parser.add_argument("--limit-ms", type=float, default=300)
    parser.add_argument("--secret-key", default=None)
    parser.add_argument("--reader", choices=["organiser", "department", "general"], default="organiser",
                        help="whose pages: a branch organiser (most staff), a Department's or the General "
                             "Department's manager")
    parser.add_argument("--parts", default="steps,pages,feeds,pdf", help="which measures (a subset, to look closer)")
    options = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    procs = Processes()
    folder = Path(tempfile.mkdtemp(prefix="dialogue-bench-capacity-"))
    rows, met, busy = [], True, {}
    try:
        port, bare_port, radicale_port = free_port(), free_port(), free_port()
        base = f"http://{HOST}:{port}"
        secret = options.secret_key or default_secret_key()
        began = time.monotonic()
        plan = prepare(options.database_url, secret, base, SimpleNamespace(
            businesses=20, staff=0, writers=1, processes=1, feed_wait=[30, 60], staff_wait=[2, 5],
            write_wait=[20, 40], upgrade=False), folder)
        manager, organiser = plan["staff"][0], next(s for s in plan["staff"] if s["role"] == "organiser")
        meeting_id = write_minutes(options.database_url, secret, base, folder, organiser)
        data = ", ".join(f"{n:,} {name}" for name, n in plan["about"]["data"].items())
        print(f"Database: {plan['about']['server'].split(' on ')[0]}; {data}; prepared in "
              f"{time.monotonic() - began:.0f} s", flush=True)

        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
            redis_url = REDIS_URL
        except redis.RedisError:
            redis_url = None
        env = {**os.environ, "DATABASE_URL": options.database_url, "SECRET_KEY": secret, "BASE_URL": base,
               "REPORTS_REFRESHED_IN_BACKGROUND": "1", **({"REDIS_URL": redis_url} if redis_url else {})}
        dialogue = gunicorn(procs, "wsgi:app", port, options.workers, env, folder / "gunicorn.log")
        print(f"Server: gunicorn {options.workers} sync workers, wsgi:app, "
              f"{'REDIS_URL ' + redis_url if redis_url else 'no Redis'}; {machine()}", flush=True)
        cookies = {s["email"]: sign_in(base, s["email"], s["password"]) for s in plan["staff"]}

        parts = set(options.parts.split(","))
        # Every worker once through every kind of page: a step measures a warm server, as production runs.
        warm = requests.Session()
        for account in plan["staff"]:
            warm.headers["Cookie"] = cookies[account["email"]]
            for path in ["/", "/issues", "/calendar", f"/businesses?q={account['searches'][0]}",
                         *(f"/issues/{i}" for i in account["issues"][:3]),
                         *(f"/meetings/{i}" for i in account["meetings"][:3]),
                         # Every period the mix reads: a running server has each one's snapshots already.
                         *(page for period in plan["periods"] for page in (f"/reports?{period}",
                                                                            f"/reports/ranking?{period}")
                           if account["reports"])]:
                warm.get(base + path, timeout=120)

        # 1. Capacity: steps of staff until p95 passes the limit.
        if "steps" in parts:
            plan["counts"]["staff"] = 0
            # Users take the accounts in turn: organisers first and managers among them, as in an office,
            # rather than the General Department's manager and two Departments' first.
            organisers = [s for s in plan["staff"] if s["role"] == "organiser"]
            managers = [s for s in plan["staff"] if s["role"] != "organiser"]
            plan["staff"] = [*organisers[:2], managers[1], *organisers[2:4], managers[0], *organisers[4:],
                             *managers[2:]]
            (folder / "plan.json").write_text(json.dumps(plan, ensure_ascii=False))
            out = folder / "steps.json"
            settings = {"steps": STEPS, "step_seconds": options.step_seconds, "settle_seconds": 4,
                        "limit_ms": options.limit_ms, "cookies": cookies, "out": str(out)}
            before = cpu_times()
            locust = [str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "bench" / "capacity_locustfile.py")]
            subprocess.run([*locust,  # noqa: S603
                            "--headless", "--host", base, "--only-summary", "--loglevel", "WARNING",
                            "--stop-timeout", "5"], cwd=ROOT / "bench", capture_output=True, timeout=3600,
                           env={**os.environ, "BENCH_LOAD_PLAN": str(folder / "plan.json"),
                                "BENCH_CAPACITY": json.dumps(settings)})
            busy["capacity"] = others_share(before, cpu_times())
            steps = json.loads(out.read_text()) if out.exists() else []
            print(f"{'staff':>6}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'failed':>8}")
            for step in steps:
                print(f"{step['users']:>6}{step['rps']:>8.1f}{step['p50_ms'] or 0:>8}{step['p95_ms'] or 0:>8}"
                      f"{step['p99_ms'] or 0:>8}{step['failures']:>8}")
            under = [s for s in steps if s["p95_ms"] is not None and s["p95_ms"] <= options.limit_ms
                     and not s["failures"]]
            over = next((s for s in steps if s not in under), None)
            for step in [s for s in (under[-1] if under else None, over) if s]:
                print(f"  {step['users']} staff, p95 by page: " + ", ".join(
                    f"{name.removeprefix('staff: ')} {page['p95_ms']} ms ({page['requests']})"
                    for name, page in sorted(step["pages"].items())))
            if under:
                last = under[-1]
                print(f"Capacity: {last['rps']:.1f} req/s with {last['users']} staff at p95 {last['p95_ms']} ms" +
                      (f"; {over['users']} staff: {over['rps']:.1f} req/s at p95 {over['p95_ms']} ms" if over else
                       "; the last step stayed under the limit"), flush=True)
                rows.append(row(f"staff mix, last step under p95 {options.limit_ms:.0f} ms", last["rps"], "req/s",
                                detail=f"{last['users']} staff, {last['requests']} requests counted, "
                                       f"p50 {last['p50_ms']} ms, p95 {last['p95_ms']} ms, p99 {last['p99_ms']} ms"
                                       + (f"; next step {over['users']} staff: {over['rps']:.1f} req/s, p95 "
                                          f"{over['p95_ms']} ms" if over else "")))
            elif over:
                print(f"Capacity: below {over['users']} staff: {over['rps']:.1f} req/s at p95 {over['p95_ms']} ms",
                      flush=True)
                rows.append(row(f"staff mix, first step (p95 over {options.limit_ms:.0f} ms)", over["rps"], "req/s",
                                detail=f"{over['users']} staff, {over['requests']} requests counted, p50 "
                                       f"{over['p50_ms']} ms, p95 {over['p95_ms']} ms: no step stayed under the limit"))

        # 2. Pages beside the bare page.
        status_feed = requests.get(base + plan["feeds"][0], timeout=60)
        feed_bytes, etag = status_feed.content, status_feed.headers["ETag"]
        (folder / "feed.ics").write_bytes(feed_bytes)
        bare_env = {**os.environ, "DATABASE_URL": options.database_url, "BENCH_BARE_FEED": str(folder / "feed.ics"),
                    "BENCH_BARE_ETAG": etag.strip('"')}
        bare_env["PYTHONPATH"] = str(ROOT / "bench")
        gunicorn(procs, "bare_app:app", bare_port, options.workers, bare_env, folder / "bare.log")
        reader = {"organiser": organiser, "department": plan["staff"][1], "general": manager}[options.reader]
        cookie = cookies[reader["email"]]
        periods = plan["periods"]
        pages = [("issue list, filtered (/issues?status=open&topic=…)",
                  f"/issues?status=open&topic={reader['topics'][0]}"),
                 ("meeting page", f"/meetings/{reader['meetings'][0]}"),
                 ("calendar (/calendar)", "/calendar"),
                 ("business search (/businesses?q=…)", f"/businesses?q={reader['searches'][0]}"),
                 ("dashboard (/)", "/"),
                 *([("reports dashboard (/reports)", f"/reports?{periods[0]}")] if reader["reports"] else [])]
        for _label, path in pages:
            answer = requests.get(base + path, headers={"Cookie": cookie}, allow_redirects=False, timeout=60)
            if answer.status_code != 200:
                raise RuntimeError(f"{path} answered {answer.status_code}")

        def measure(target_port: int, path: str, headers: dict) -> dict:
            wrk(target_port, path, headers, 2, 2, 8)
            return wrk(target_port, path, headers, options.seconds, 2, 8)

        if "pages" in parts:
            before = cpu_times()
            print(f"\nPages as {reader['email']} (wrk 2 threads, 8 connections, {options.seconds:g} s each, after 2 s "
                  "of warm-up), each right after the bare page:", flush=True)
            for label, path in pages:
                anchor = measure(bare_port, "/rows", {})
                page = measure(port, path, {"Cookie": cookie})
                ratio = page["rps"] / anchor["rps"]
                ok = ratio >= PAGE_RATIO and not page["bad"] and not anchor["bad"]
                met &= ok
                print(f"  {label:52} {page['rps']:7.1f} req/s p50 {page['p50']:6.1f} ms | bare {anchor['rps']:7.1f} "
                      f"req/s | {ratio:.2f}x {'met' if ok else 'MISSED'}", flush=True)
                rows.append(row(label, page["rps"], "req/s", f">= {PAGE_RATIO}x anchor",
                                anchor=f"bare Flask + SQLAlchemy + Jinja, 50 rows: {anchor['rps']:.0f} req/s", met=ok,
                                detail=f"{ratio:.2f}x; p50 {page['p50']:.1f} ms, p99 {page['p99']:.1f} ms"
                                       + (f"; {page['bad']} bad answers" if page["bad"] else "")))
            busy["pages"] = others_share(before, cpu_times())

        # 3. Feeds: 304 against the bare app's 304, full against Radicale.
        if "feeds" in parts:
            radicale, radicale_version = start_radicale(procs, folder, radicale_port, options.workers)
            radicale_path = load_radicale(radicale_port, feed_bytes)
            path, conditional = plan["feeds"][0], {"If-None-Match": etag}
            before = cpu_times()
            ratios = {"304": [], "full": []}
            for _ in range(2):
                bare_304, ours_304 = measure(bare_port, "/feed.ics", conditional), measure(port, path, conditional)
                theirs, ours_full = measure(radicale_port, radicale_path, {}), measure(port, path, {})
                ratios["304"].append((ours_304, bare_304))
                ratios["full"].append((ours_full, theirs))
            busy["feeds"] = others_share(before, cpu_times())
            bare_full = measure(bare_port, "/feed.ics", {})
            for key, target, label, anchor_label in (
                    ("304", NOT_MODIFIED_RATIO, "feed, If-None-Match (304)", "bare Flask 304, same bytes and ETag"),
                    ("full", FEED_RATIO, "feed, full (200)", f"Radicale {radicale_version}, same calendar")):
                ratio = statistics.median(o["rps"] / a["rps"] for o, a in ratios[key])
                ours = statistics.median(o["rps"] for o, _ in ratios[key])
                theirs = statistics.median(a["rps"] for _, a in ratios[key])
                ok = ratio >= target and not any(o["bad"] for o, _ in ratios[key])
                met &= ok
                print(f"  {label:52} {ours:7.0f} req/s | {anchor_label}: {theirs:7.0f} req/s | {ratio:.2f}x "
                      f"{'met' if ok else 'MISSED'}", flush=True)
                rows.append(row(label, ours, "req/s", f">= {target}x anchor",
                                anchor=f"{anchor_label}: {theirs:.0f} req/s", met=ok,
                                detail=f"{ratio:.2f}x (median of 2 rounds); feed {len(feed_bytes):,} bytes"))
            rows.append(row("bare Flask, same feed bytes (200)", bare_full["rps"], "req/s",
                            detail="for reference: the full feed beside a bare app returning it"))

        # 4. The cached minutes PDF.
        if "pdf" in parts:
            pdf_path = f"/meetings/{meeting_id}/minutes.pdf"
            organiser_cookie = cookies[organiser["email"]]
            requests.get(base + pdf_path, headers={"Cookie": organiser_cookie}, timeout=120)  # renders and stores it
            timings = sequential(base, pdf_path, organiser_cookie, 300)
            # The same server's cheapest answer (no database, no template), measured right after: what the
            # machine's load adds to any request at this moment.
            constant = sequential(base, "/healthz", organiser_cookie, 300)
            p95 = timings[int(len(timings) * 0.95) - 1]
            constant_p95 = constant[int(len(constant) * 0.95) - 1]
            ok = p95 < PDF_P95_MS
            met &= ok
            print(f"  minutes PDF from the cache (one client, 300 GETs): p50 {statistics.median(timings):.2f} ms, "
                  f"p95 {p95:.2f} ms {'met' if ok else 'MISSED'} | /healthz, same server: p50 "
                  f"{statistics.median(constant):.2f} ms, p95 {constant_p95:.2f} ms")
            rows.append(row("minutes PDF from the cache, p95", p95, "ms", f"< {PDF_P95_MS:g} ms",
                            anchor=f"/healthz, same server, right after: p95 {constant_p95:.2f} ms", met=ok,
                            detail=f"median {statistics.median(timings):.2f} ms (/healthz "
                                   f"{statistics.median(constant):.2f} ms), one client, 300 GETs in a row"))
        shares = ", ".join(f"{k} {v:.0%}" for k, v in busy.items())
        print(f"Other processes took of the machine: {shares}")
        steps = locals().get("steps", [])
        emit("capacity", met, "staff mix stepped until p95 passes 300 ms; every main page >= 0.5x a bare Flask + "
             "SQLAlchemy + Jinja page; the feed's 304 >= 1.0x a bare Flask app's; the full feed >= 3x Radicale; "
             "a cached minutes PDF p95 < 5 ms", rows, steps=steps,
             others_busy={k: round(v, 3) for k, v in busy.items()}, workers=options.workers, redis=bool(redis_url))
        return 0 if met else 1
    except Exception as error:  # noqa: BLE001  (a run that could not measure says why and exits 2)
        print(f"benchmark failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    finally:
        procs.stop_all()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
