"""Benchmark: serving calendar feeds under gunicorn, against Radicale serving the same calendar (issue 7).

The targets ("Speed" in issue 7):
  (a) a business feed of 5 series over 2 years with overrides, served at no less than 2.5 times the rate at
      which (d) Radicale, under gunicorn on the same machine, serves the same calendar;
  (b) the 304 path (If-None-Match equal to the ETag) at no less than 0.8 times the rate of (c) a constant
      response of the same app server (`GET /healthz`, no database).

What it does: builds a throw-away SQLite database in a temporary folder (one business invited to five series
of different rules starting a year ago, each with moved and cancelled occurrences), serves it with gunicorn
(the production server the README names), fetches the business feed once and puts exactly those bytes into a
Radicale collection (Radicale in its own virtual environment under /tmp, made on first use, with `auth none`,
filesystem storage in the temporary folder and no rights restrictions), then loads each URL with wrk
(`apt-get install wrk`; a bounded Python load generator if wrk is missing) on 127.0.0.1 only: a warm-up, then
a fixed duration, in rounds where the two sides of each ratio run back to back. It prints, as medians of the
rounds, req/s, p50 and p99 and the servers' CPU time per request for each target, the two ratios (medians of the
rounds' ratios), the machine, and a warning when other processes took more than a tenth of the machine's CPU
while it measured (the CPU-time ratios are then the steadier figures). Exit status: 0 when both targets are
met, 1 otherwise, 2 when it could not measure.

Run: `.venv/bin/python bench/feeds.py` (gunicorn must be in the project's environment: `pip install gunicorn`).
Options: --duration S (8), --warmup S (2), --rounds N (3), --workers N (2), --connections N (16),
--threads N (2); BENCH_RADICALE_VENV names Radicale's environment (default /tmp/dialogue-bench-radicale).
"""

import argparse
import contextlib
import http.client
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from result import emit, row

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RADICALE_VERSION = "3.9.0"
RADICALE_VENV = Path(os.environ.get("BENCH_RADICALE_VENV", "/tmp/dialogue-bench-radicale"))
FEED_TARGET, NOT_MODIFIED_TARGET = 2.5, 0.8
OTHERS_LIMIT = 0.10  # other processes taking more of the machine than this make a run unreliable
HOST = "127.0.0.1"
SECRET = "bench"
ZONE = "Asia/Ho_Chi_Minh"

SERIES = [  # title, rule, local start time
    ("Đối thoại doanh nghiệp cuối tháng", "FREQ=MONTHLY;BYDAY=-1MO", (8, 0)),
    ("Giao ban thủ tục hải quan, đầu tháng", "FREQ=MONTHLY;BYDAY=1TU", (9, 0)),
    ("Hỗ trợ kỹ thuật hằng tuần; khai báo điện tử", "FREQ=WEEKLY;BYDAY=TH", (14, 0)),
    ("Tiếp doanh nghiệp ngày 15", "FREQ=MONTHLY;BYMONTHDAY=15", (8, 30)),
    ("Trao đổi chuyên đề hai tuần một lần", "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", (15, 0)),
]

WSGI_MODULE = '''"""Written by bench/feeds.py: the app as gunicorn imports it (settings from the environment)."""
from dialogue_app import create_app

app = create_app()
'''

RADICALE_CONFIG = """# Written by bench/feeds.py
[auth]
type = none

[rights]
type = authenticated

[storage]
type = multifilesystem
filesystem_folder = {folder}

[web]
type = none

[logging]
level = warning
"""


# -- Processes ------------------------------------------------------------------------------------------------

class Processes:
    """Every process the benchmark starts, each in its own process group, ended in `stop_all`."""

    def __init__(self):
        self.started: list[subprocess.Popen] = []

    def start(self, args, **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(args, start_new_session=True, **kwargs)  # noqa: S603
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                process.terminate()  # gunicorn's master stops its workers on SIGTERM
        for process in reversed(self.started):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            # The group is this process's own (start_new_session): its workers, should any be left.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                print(f"warning: process {process.pid} did not stop", file=sys.stderr)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def request(port: int, method: str, path: str, body: bytes | None = None, headers=None, timeout=30):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def wait_ready(process: subprocess.Popen, port: int, path: str, log: Path, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            status, _, _ = request(port, "GET", path, timeout=5)
            if status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not answer within {limit} s:\n{log.read_text()[-3000:]}")


def gunicorn_args(python: str, app: str, port: int, workers: int, extra=()) -> list[str]:
    return [python, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{HOST}:{port}",
            "--log-level", "warning", *extra, app]


# -- Dialogue ---------------------------------------------------------------------------------------------------

def first_on_or_after(rule: str, day: date, hour_minute) -> datetime:
    """The first date the rule produces from `day` on, as naive local wall time (a valid first start)."""
    from dateutil.rrule import rrulestr

    candidate = datetime.combine(day, datetime.min.time()).replace(hour=hour_minute[0], minute=hour_minute[1])
    return rrulestr(rule, dtstart=candidate)[0]


def build_dialogue(tmp: Path, port: int) -> tuple[str, dict]:
    """The database with one business invited to five series; returns the feed's path and a summary."""
    from zoneinfo import ZoneInfo

    from dialogue_app import create_app
    from dialogue_app.audit.services import acting_as
    from dialogue_app.calendar.services import feed_url
    from dialogue_app.demo.small import demo_tax_code
    from dialogue_app.extensions import db
    from dialogue_app.org.services import create_business, create_unit
    from dialogue_app.scheduling.services import change_occurrence, create_series, occurrences

    zone = ZoneInfo(ZONE)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}", "SECRET_KEY": SECRET,
                      "INSTANCE_PATH": str(tmp), "BASE_URL": f"http://{HOST}:{port}"})
    summary = {"series": 0, "moved": 0, "cancelled": 0}
    with app.app_context(), acting_as("bench"):
        db.create_all()
        general = create_unit(code="TCHQ", name="Tổng cục Hải quan", level="general", parent=None)
        department = create_unit(code="HQHCM", name="Cục Hải quan TP. Hồ Chí Minh", level="department",
                                 parent=general)
        branch = create_unit(code="HQKV1", name="Chi cục Hải quan khu vực 1", level="branch", parent=department)
        business = create_business(tax_code=demo_tax_code("03", 1234), name="Công ty TNHH Cà phê Sài Gòn",
                                   unit=branch)
        db.session.flush()
        start_day = date.today() - timedelta(days=365)
        for title, rule, hour_minute in SERIES:
            series = create_series(
                title=title, unit=branch, location="Phòng họp 1, 2 Hàm Nghi, Quận 1", rule=rule,
                first_start=first_on_or_after(rule, start_day, hour_minute), duration_minutes=120,
                holiday_policy="next_workday", invitees=[business], notify=False)
            db.session.flush()
            window_start = series.first_start.replace(tzinfo=zone)
            found = occurrences(series, window_start, window_start + timedelta(days=730))
            # A few moved (a day later, in the afternoon, one of them to another room) and a few cancelled,
            # spread over the two years.
            step = max(1, len(found) // 7)
            picks = [found[i * step] for i in range(1, 7)]
            for index, occurrence in enumerate(picks):
                if index % 2 == 0:
                    moved = (occurrence.start + timedelta(days=1)).replace(hour=14, minute=0)
                    change_occurrence(series, occurrence.occurrence, start=moved,
                                      location="Phòng họp 3" if index == 2 else None, notify=False,
                                      past_allowed=True)
                    summary["moved"] += 1
                else:
                    change_occurrence(series, occurrence.occurrence, status="cancelled", notify=False,
                                      past_allowed=True)
                    summary["cancelled"] += 1
            summary["series"] += 1
        db.session.commit()
        url = feed_url("business", business.id)
        db.session.commit()
    return url.split(f"{HOST}:{port}", 1)[1], summary


def start_dialogue(procs: Processes, tmp: Path, port: int, workers: int) -> subprocess.Popen:
    (tmp / "bench_wsgi.py").write_text(WSGI_MODULE)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "SECRET_KEY": SECRET,
           "BASE_URL": f"http://{HOST}:{port}", "DIALOGUE_INSTANCE_PATH": str(tmp)}
    log = tmp / "dialogue-gunicorn.log"
    process = procs.start(gunicorn_args(sys.executable, "bench_wsgi:app", port, workers,
                                        ["--chdir", str(tmp), "--pythonpath", f"{tmp},{ROOT}"]),
                          env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_ready(process, port, "/healthz", log)
    return process


# -- Radicale ---------------------------------------------------------------------------------------------------

def radicale_python() -> str:
    """Radicale and gunicorn in a virtual environment of their own, made on first use."""
    python = RADICALE_VENV / "bin" / "python"
    check = [str(python), "-c", "import radicale, gunicorn; print(radicale.VERSION)"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:  # noqa: S603
        return str(python)
    print(f"Installing Radicale {RADICALE_VERSION} and gunicorn into {RADICALE_VENV} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(RADICALE_VENV)], check=True)  # noqa: S603
    install = [str(python), "-m", "pip", "install", "-q", f"radicale=={RADICALE_VERSION}", "gunicorn"]
    subprocess.run(install, check=True)  # noqa: S603
    subprocess.run(check, check=True, capture_output=True)  # noqa: S603
    return str(python)


def start_radicale(procs: Processes, tmp: Path, port: int, workers: int) -> tuple[subprocess.Popen, str]:
    python = radicale_python()
    config = tmp / "radicale.ini"
    config.write_text(RADICALE_CONFIG.format(folder=tmp / "radicale-collections"))
    log = tmp / "radicale-gunicorn.log"
    process = procs.start(gunicorn_args(python, "radicale:application", port, workers,
                                        ["--chdir", str(tmp)]),
                          env={**os.environ, "RADICALE_CONFIG": str(config)},
                          stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_ready(process, port, "/", log)
    version = subprocess.run([python, "-c", "import radicale; print(radicale.VERSION)"],  # noqa: S603
                             capture_output=True, text=True).stdout.strip()
    return process, version


def load_radicale(port: int, body: bytes) -> str:
    """The feed's bytes as a Radicale calendar collection (a PUT of a whole calendar splits it by UID)."""
    path = "/bench/calendar/"
    status, _, answer = request(port, "MKCOL", "/bench/")
    if status not in (201, 405):
        raise RuntimeError(f"Radicale MKCOL /bench/: {status} {answer[:300]!r}")
    status, _, answer = request(port, "PUT", path, body=body,
                                headers={"Content-Type": "text/calendar; charset=utf-8"})
    if status not in (201, 204):
        raise RuntimeError(f"Radicale PUT {path}: {status} {answer[:300]!r}")
    return path


def _exdates(event) -> list:
    value = event.get("EXDATE")
    groups = value if isinstance(value, list) else [value] if value is not None else []
    return [d for group in groups for d in group.dts]


def components(body: bytes) -> dict:
    """What a calendar holds, compared between Dialogue's feed and Radicale's answer."""
    from icalendar import Calendar

    cal = Calendar.from_ical(body)
    events = cal.walk("VEVENT")
    return {
        "events": sorted((str(e["UID"]), e["RECURRENCE-ID"].to_ical().decode() if "RECURRENCE-ID" in e else "",
                          e["RRULE"].to_ical().decode() if "RRULE" in e else "") for e in events),
        "exdates": sorted(d.to_ical().decode() for e in events for d in _exdates(e)),
        "timezones": sorted(str(t["TZID"]) for t in cal.walk("VTIMEZONE")),
    }


# -- Load -------------------------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def wrk(port: int, path: str, headers: dict, seconds: float, threads: int, connections: int) -> dict:
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
            "--timeout", "10s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    done = subprocess.run(args + [f"http://{HOST}:{port}{path}"], capture_output=True, text=True,  # noqa: S603
                          timeout=seconds + 60)
    out = done.stdout
    if done.returncode != 0 or "Requests/sec:" not in out:
        raise RuntimeError(f"wrk failed ({done.returncode}): {out[-1000:]} {done.stderr[-1000:]}")
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
              "requests": int(re.search(r"(\d+) requests in", out).group(1))}
    for label, key in (("50%", "p50"), ("99%", "p99")):
        found = re.search(rf"^\s+{re.escape(label)}\s+(\S+)", out, re.M)
        result[key] = _ms(found.group(1)) if found else None
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    result["bad"] = int(bad.group(1)) if bad else 0
    result["errors"] = errors.group(1).strip() if errors else ""
    return result


def python_load(port: int, path: str, headers: dict, seconds: float, threads: int, connections: int,
                limit: int = 500_000) -> dict:
    """Fallback when wrk is missing: `connections` threads with keep-alive, bounded in time and count."""
    deadline = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    bad = [0] * connections
    counter = iter(range(limit))
    lock = threading.Lock()

    def worker(slot: int) -> None:
        conn = None
        while time.monotonic() < deadline:
            with lock:
                if next(counter, None) is None:
                    return
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, port, timeout=10)
                began = time.perf_counter()
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                latencies[slot].append((time.perf_counter() - began) * 1000)
                if response.status >= 400:
                    bad[slot] += 1
                if response.will_close:
                    conn.close()
                    conn = None
            except OSError:
                bad[slot] += 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    began = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(seconds + 30)
    elapsed = time.monotonic() - began
    every = sorted(x for slot in latencies for x in slot)
    pick = (lambda q: every[min(len(every) - 1, int(q * len(every)))]) if every else (lambda q: None)
    return {"rps": len(every) / elapsed, "requests": len(every), "p50": pick(0.5), "p99": pick(0.99),
            "bad": sum(bad), "errors": ""}


def cpu_times() -> tuple[float, float, dict[int, tuple[float, int]]]:
    """Now, the machine's busy CPU seconds (/proc/stat, less idle and iowait) and each process's CPU seconds and
    parent, to tell how much of the machine other processes took while a measurement ran."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return time.monotonic(), 0.0, {}
    busy = (sum(fields[:8]) - fields[3] - fields[4]) / tick
    processes = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:  # fields after the command's closing parenthesis: state, ppid, ..., utime, stime, cutime, cstime
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                processes[int(entry.name)] = (sum(int(x) for x in stat[11:15]) / tick, int(stat[1]))
            except (OSError, IndexError, ValueError):
                continue
    return time.monotonic(), busy, processes


def tree_seconds(root: int, before, after) -> float:
    """CPU seconds that a process and its descendants (a gunicorn master and its workers) used in between."""
    children: dict[int, list[int]] = {}
    for pid, (_seconds, parent) in after[2].items():
        children.setdefault(parent, []).append(pid)
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += after[2].get(pid, (0.0, 0))[0] - before[2].get(pid, (0.0, 0))[0]
        stack += children.get(pid, [])
    return total


def others_share(before, after) -> float:
    """The share of the machine's CPU capacity that processes outside this benchmark's own tree (this script,
    its servers and their workers, wrk) used between two `cpu_times`."""
    wall, busy = after[0] - before[0], after[1] - before[1]
    if wall <= 0 or not after[2]:
        return 0.0
    ours = tree_seconds(os.getpid(), before, after)  # a finished wrk is in this process's children's time
    return max(0.0, busy - ours) / (wall * (os.cpu_count() or 1))


def check(condition: bool, message: str) -> None:
    if not condition:
        raise RuntimeError(message)


# -- Main -------------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    options = parser.parse_args()

    try:
        import gunicorn  # noqa: F401
    except ImportError:
        print("gunicorn is not installed in this environment: `pip install gunicorn`", file=sys.stderr)
        return 2
    load = wrk if shutil.which("wrk") else python_load
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="dialogue-bench-feeds-"))
    try:
        dialogue_port, radicale_port = free_port(), free_port()
        began = time.monotonic()
        feed_path, summary = build_dialogue(tmp, dialogue_port)
        print(f"Built {summary['series']} series, {summary['moved']} moved and {summary['cancelled']} cancelled "
              f"occurrences in {time.monotonic() - began:.1f} s", flush=True)

        dialogue = start_dialogue(procs, tmp, dialogue_port, options.workers)
        status, headers, feed = request(dialogue_port, "GET", feed_path)
        check(status == 200, f"the feed answered {status}")
        etag = headers["ETag"]
        status, _, empty = request(dialogue_port, "GET", feed_path, headers={"If-None-Match": etag})
        check(status == 304 and not empty, f"the 304 path answered {status}")

        radicale, radicale_version = start_radicale(procs, tmp, radicale_port, options.workers)
        radicale_path = load_radicale(radicale_port, feed)
        status, _, served = request(radicale_port, "GET", radicale_path)
        check(status == 200, f"Radicale answered {status}")
        mine, theirs = components(feed), components(served)
        check(mine == theirs, f"Radicale serves a different calendar:\n{mine}\n{theirs}")
        print(f"Feed: {len(feed)} bytes, {len(mine['events'])} VEVENTs "
              f"({sum(1 for e in mine['events'] if e[1])} overrides), {len(mine['exdates'])} EXDATEs; "
              f"Radicale {radicale_version} serves the same events in {len(served)} bytes", flush=True)

        # Each ratio's two sides run back to back in every round (a then d, b then c), and a round's ratios
        # are taken from those pairs: a machine whose load changes during the run moves both sides alike.
        targets = {
            "a": ("Dialogue feed, full (200)", dialogue, feed_path, {}),
            "d": ("Radicale GET of the calendar", radicale, radicale_path, {}),
            "b": ("Dialogue feed, If-None-Match (304)", dialogue, feed_path, {"If-None-Match": etag}),
            "c": ("Dialogue /healthz (constant)", dialogue, "/healthz", {}),
        }
        runs: dict[str, list[dict]] = {key: [] for key in targets}
        tool = "wrk" if load is wrk else "Python threads (wrk not found)"
        print(f"Load: {tool}, {options.threads} threads, {options.connections} connections, "
              f"{options.warmup:g} s warm-up + {options.duration:g} s each, {options.rounds} rounds; "
              f"gunicorn {options.workers} sync workers for each server", flush=True)
        busy = []
        for round_number in range(options.rounds):
            figures = []
            for key, (_label, server, path, extra) in targets.items():
                port = dialogue_port if server is dialogue else radicale_port
                load(port, path, extra, options.warmup, options.threads, options.connections)
                before = cpu_times()
                result = load(port, path, extra, options.duration, options.threads, options.connections)
                after = cpu_times()
                busy.append(others_share(before, after))
                result["cpu_ms"] = 1000 * tree_seconds(server.pid, before, after) / max(1, result["requests"])
                runs[key].append(result)
                figures.append(f"{key} {result['rps']:.0f}")
            print(f"  round {round_number + 1}: {', '.join(figures)} req/s", flush=True)

        def median(key: str, field: str):
            values = [r[field] for r in runs[key] if r[field] is not None]
            return statistics.median(values) if values else None

        def ratio(top: str, bottom: str, field: str = "rps") -> float:
            return statistics.median(t[field] / b[field] for t, b in zip(runs[top], runs[bottom], strict=True))

        print()
        print(f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} CPUs, Python {platform.python_version()}; Radicale {radicale_version}")
        print(f"Medians of {options.rounds} rounds:")
        print(f"{'':4}{'target':38}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'server CPU ms/req':>19}")
        for key in "abcd":
            label = targets[key][0]
            p50, p99 = median(key, "p50"), median(key, "p99")
            bad = sum(r["bad"] for r in runs[key])
            print(f"({key}) {label:38}{median(key, 'rps'):>10.0f}"
                  f"{(f'{p50:.2f}' if p50 is not None else '-'):>10}{(f'{p99:.2f}' if p99 is not None else '-'):>10}"
                  f"{bad:>8}{median(key, 'cpu_ms'):>19.3f}")
        socket_errors = {r["errors"] for rs in runs.values() for r in rs if r["errors"]}
        if socket_errors:
            print(f"wrk socket errors: {'; '.join(sorted(socket_errors))}")
        feed_ratio, not_modified_ratio = ratio("a", "d"), ratio("b", "c")
        feed_ok, not_modified_ok = feed_ratio >= FEED_TARGET, not_modified_ratio >= NOT_MODIFIED_TARGET
        clean = all(r["bad"] == 0 for rs in runs.values() for r in rs)
        print()
        print(f"a/d feed vs Radicale:     {feed_ratio:5.2f}  (target >= {FEED_TARGET})  "
              f"{'met' if feed_ok else 'NOT met'}")
        print(f"b/c 304 vs constant:      {not_modified_ratio:5.2f}  (target >= {NOT_MODIFIED_TARGET})  "
              f"{'met' if not_modified_ok else 'NOT met'}")
        print(f"By server CPU time per request (less sensitive to other load): a/d {ratio('d', 'a', 'cpu_ms'):.2f}, "
              f"b/c {ratio('c', 'b', 'cpu_ms'):.2f}")
        if busy and max(busy) > OTHERS_LIMIT:
            print(f"Warning: other processes on this machine used up to {max(busy):.0%} of its CPU time during "
                  f"the measurements (median {statistics.median(busy):.0%}): the figures are unreliable.")
        if not clean:
            print("Some answers were errors (see the errors column): the figures do not count.")

        def detail(key: str) -> str:
            p50, p99 = median(key, "p50"), median(key, "p99")
            return (f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, " if p50 is not None and p99 is not None else "") + \
                f"server CPU {median(key, 'cpu_ms'):.3f} ms/request"

        emit("feeds", feed_ok and not_modified_ok and clean,
             f"a business feed at >= {FEED_TARGET}x Radicale's rate for the same calendar; the 304 path at "
             f">= {NOT_MODIFIED_TARGET}x a constant response of the same server", [
                 row("(a) feed, full (200)", median("a", "rps"), "req/s", f">= {FEED_TARGET}x anchor",
                     anchor=f"(d) Radicale {radicale_version}, same calendar: {median('d', 'rps'):.0f} req/s",
                     met=feed_ok, detail=f"ratio {feed_ratio:.2f} (by CPU time {ratio('d', 'a', 'cpu_ms'):.2f}); "
                                         + detail("a")),
                 row("(b) feed, If-None-Match (304)", median("b", "rps"), "req/s", f">= {NOT_MODIFIED_TARGET}x anchor",
                     anchor=f"(c) /healthz, constant: {median('c', 'rps'):.0f} req/s", met=not_modified_ok,
                     detail=f"ratio {not_modified_ratio:.2f} (by CPU time {ratio('c', 'b', 'cpu_ms'):.2f}); "
                            + detail("b")),
                 row("(c) /healthz, constant response", median("c", "rps"), "req/s", detail=detail("c")),
                 row("(d) Radicale GET of the same calendar", median("d", "rps"), "req/s", detail=detail("d")),
             ], load_tool=tool, radicale=radicale_version, rounds=options.rounds, duration_s=options.duration,
             workers=options.workers, connections=options.connections, errors_free=clean,
             others_busy=round(max(busy), 3) if busy else None)
        return 0 if feed_ok and not_modified_ok and clean else 1
    except Exception as error:  # noqa: BLE001  (a run that could not measure says why and exits 2)
        print(f"benchmark failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
