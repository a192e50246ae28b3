"""Every benchmark the issues ask for, one after the other, and docs/benchmarks.md from their figures (issue 9).

Runs each script of bench/ in a process of its own (one at a time, so that they do not take the machine from
each other), shows its output as it goes, reads the `RESULT {json}` line each prints last (bench/result.py), and
writes a Markdown report: the machine and the date; a summary; per benchmark a table of each figure next to its
target and, where the issue names one, its anchor measured in the same run (Radicale serving the same calendar
and a constant response of the same server for the feeds, WeasyPrint alone on the same HTML for the minutes
PDF); how to rerun it; and its whole output.

Run: `make bench` (installs gunicorn, locust and wrk first), or `.venv/bin/python bench/report.py`.
Options: --only recurrence,feeds (a subset; the others are left out of the report), --load (adds the load test,
bench/load.py, ten minutes against PostgreSQL's national demo, and the capacity benchmark, bench/capacity.py, six
minutes on the same database; --load-args "--duration 1m" passes the load test options),
--reports-database-url URL (the database bench/reports.py and bench/search.py read, as their BENCH_DATABASE_URL: one
that already holds the national demo saves building it in SQLite, several minutes; default BENCH_REPORTS_DATABASE_URL),
--output PATH (docs/benchmarks.md).
BENCH_DATABASE_URL, when set, is passed on as it is: the benchmarks that build their own data then build it
there, and DROP ITS TABLES when done, so it must name a throw-away database.
Exit status: 0 when every target is met, 1 when one is missed, 2 when a benchmark could not run.
"""

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import resource
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUSY_LIMIT = 0.10  # other processes taking more of the machine than this make a benchmark's figures doubtful


class Benchmark:
    def __init__(self, name: str, title: str, issue: str, about: str, anchor: str | None = None):
        self.name, self.title, self.issue, self.about, self.anchor = name, title, issue, about, anchor

    @property
    def script(self) -> str:
        return f"bench/{self.name}.py"


BENCHMARKS = [
    Benchmark("recurrence", "Recurrence expansion", "issue 3",
              "Ten years of a monthly rule with 50 overrides and the Vietnamese holiday calendar, expanded in "
              "process, many times."),
    Benchmark("business_search", "Business registry search", "issue 4",
              "The registry page's search among 50,000 businesses (accent-free words, tax-code prefixes), through "
              "the app as a branch officer and as the General Department's manager, on a database it builds."),
    Benchmark("import_businesses", "Business import", "issue 4",
              "10,000 businesses from a CSV and an Excel file through the import service (read, preview, confirm), "
              "then the CSV again updating them all."),
    Benchmark("issues_list", "Filtered issue list", "issue 5",
              "The issue list with common filters among 300,000 issues, 200 branches and 20,000 businesses, through "
              "the app, as the General Department's manager and as a branch officer."),
    Benchmark("minutes_pdf", "Minutes PDF", "issue 6",
              "The minutes of a meeting with 60 attendees and 50 issues as PDF/A: the whole request on a cache miss "
              "against WeasyPrint alone printing the very same HTML with the same options (runs alternate), then "
              "from the cache and with If-None-Match.",
              anchor="WeasyPrint alone on the same HTML"),
    Benchmark("minutes_signing", "Signing the minutes", "issue 17",
              "The same minutes, finalised, rendered afresh against signed with the office's key (PAdES B-LT with "
              "the CA's CRL embedded and the seal drawn) from a PKCS#12 file and from a SoftHSM2 token through "
              "PKCS#11 (runs alternate, medians compared), and the whole signing request through the API.",
              anchor="rendering the same minutes"),
    Benchmark("feeds", "Calendar feeds", "issue 7",
              "A business feed (5 series over 2 years with moved and cancelled occurrences) served by gunicorn, "
              "loaded with wrk on 127.0.0.1, against Radicale under gunicorn serving the same calendar, and the "
              "304 path against a constant response (/healthz) of the same server; rounds where both sides of each "
              "ratio run back to back.",
              anchor="Radicale (same calendar) and /healthz (constant response)"),
    Benchmark("reports", "Reports", "issue 8",
              "The report dashboard and the branch ranking by month, quarter and year on the national-scale demo "
              "(35 Departments, 200 branches, 50,000 businesses, 300,000 issues), as the General Department's "
              "manager and as a Department's."),
    Benchmark("search", "Search", "issue 16",
              "The results page of the search box for two-word queries (with and without accents) on the national "
              "demo's index (300,000 issues, 50,000 businesses, their contacts, series, meetings), as the General "
              "Department's manager and as a branch officer, through the app, against the very SQL statements each "
              "request ran, replayed bare on the driver in the same run.",
              anchor="the same SQL statements, bare on the driver"),
    Benchmark("receive_mail", "Answers from calendars", "issue 14",
              "A mailbox of 1,000 messages in a private Dovecot (900 iTIP REPLYs shaped as Outlook, Apple Calendar and "
              "Gmail send them, 50 ordinary mails, 50 REPLYs from people who are not invited contacts) read by "
              "receive-mail, which records 900 answers, sets 50 aside and leaves 50 alone; against a bare IMAPClient "
              "session fetching the same 1,000 messages whole (rounds alternate).",
              anchor="a bare IMAPClient fetch of the same 1,000 messages"),
    Benchmark("capacity", "Capacity", "issue 19",
              "The national demo in PostgreSQL served as the README serves it (gunicorn, 4 sync workers, Redis): "
              "the staff of the load test's mix, signed in beforehand, in steps of 20 s until a step's p95 passes "
              "300 ms; each main staff page as a branch organiser beside a bare Flask + SQLAlchemy + Jinja page "
              "rendering 50 rows of one indexed query (same settings, same database, back to back); the feed's "
              "304 beside a bare Flask app's 304 for the same bytes, its full answer beside Radicale; the cached "
              "minutes PDF. wrk and locust on the same machine.",
              anchor="a bare Flask + SQLAlchemy + Jinja page, a bare Flask 304, Radicale"),
    Benchmark("page_floor", "The pages' floor", "issue 19",
              "In process on the national demo in PostgreSQL: the capacity benchmark's bare page, the same rows "
              "inside Dialogue's signed-in layout, Dialogue's empty signed-in page, and the five main pages as a "
              "branch organiser, with the statements each runs and their time at the driver.",
              anchor="the capacity benchmark's bare page (bench/bare_app.py's /rows)"),
    Benchmark("invitation_mail", "Invitation to mail", "issue 14",
              "An organiser invites a business with three contacts through the API (one meeting, then a series), "
              "20 times each, with a real worker process (`flask --app wsgi worker`, Huey on SQLite in the instance "
              "folder, then on Redis when it answers) and a real SMTP server (aiosmtpd): the time from the POST's "
              "answer until the SMTP server holds each contact's iMIP REQUEST; against the outbox's sender called "
              "directly (send_pending) and a bare smtplib session sending the same three messages, after each "
              "invitation.",
              anchor="send_pending called directly, and bare smtplib, on the same messages"),
]
LOAD = Benchmark("load", "Load test", "issue 9",
                 "A realistic mix against gunicorn (4 workers x 2 threads) and PostgreSQL with the national demo, "
                 "driven by locust on the same machine: 200 calendar clients polling their business's feed every "
                 "30-60 s with If-None-Match, 20 staff signed in through the form browsing lists, issues, meetings, "
                 "the calendar, the business search and (managers) the reports with 2-5 s of thought, 2 API clients "
                 "writing an issue or an attendee every 20-40 s. Target: no failed request; throughput and p50/p95/p99 "
                 "reported.")


# -- The machine ------------------------------------------------------------------------------------------------

def first_line(path: str, prefix: str) -> str | None:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1].strip().strip('"')
    return None


def version_of(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def postgres_version() -> str:
    """The PostgreSQL server on 127.0.0.1:5432 (the load test's), else the client's version, else absent."""
    url = os.environ.get("BENCH_LOAD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with contextlib.suppress(Exception):
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            return f"{version} (server at {conn.info.host}:{conn.info.port})"
    if shutil.which("psql"):
        done = subprocess.run(["psql", "--version"], capture_output=True, text=True)  # noqa: S603, S607
        if done.returncode == 0:
            return f"{done.stdout.strip()} (client only: no server answered)"
    return "not available"


def tool_version(args: list[str]) -> str | None:
    if not shutil.which(args[0]):
        return None
    done = subprocess.run(args, capture_output=True, text=True)  # noqa: S603
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else None


def machine() -> dict[str, str]:
    memory = first_line("/proc/meminfo", "MemTotal")
    ram = f"{int(memory.split()[0]) / 1024 / 1024:.1f} GiB" if memory else "unknown"
    cores = os.cpu_count() or 0
    model = first_line("/proc/cpuinfo", "model name") or platform.processor() or platform.machine()
    system = first_line("/etc/os-release", "PRETTY_NAME=") or platform.system()
    return {
        "CPU": f"{model}, {cores} logical CPU{'s' if cores != 1 else ''}",
        "RAM": ram,
        "OS": f"{system}, kernel {platform.release()} ({platform.machine()})",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": postgres_version(),
        "WeasyPrint": version_of("weasyprint") or "not installed",
        "gunicorn": version_of("gunicorn") or "not installed",
        "locust": version_of("locust") or "not installed",
        "wrk": tool_version(["wrk", "--version"]) or "not installed (the feed benchmark loads with Python threads)",
    }


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


# -- Running ----------------------------------------------------------------------------------------------------

def busy_seconds() -> float | None:
    """CPU seconds the whole machine has been busy since boot (/proc/stat, less idle and iowait)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def children_seconds() -> float:
    """CPU seconds of this process's finished children (a benchmark, with the servers and tools it waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Outcome:
    def __init__(self, bench: Benchmark, command: list[str], env_note: str):
        self.bench, self.command, self.env_note = bench, command, env_note
        self.lines: list[str] = []
        self.result: dict | None = None
        self.status: int | None = None
        self.seconds = 0.0
        self.others: float | None = None  # the share of the machine other processes took meanwhile

    @property
    def verdict(self) -> str:
        if self.result is None:
            return "could not run"
        return "met" if self.result.get("met") else "MISSED"


def run(bench: Benchmark, args: list[str], env: dict, env_note: str) -> Outcome:
    command = [sys.executable, "-u", str(ROOT / bench.script), *args]
    outcome = Outcome(bench, command, env_note)
    print(f"\n=== {bench.title} ({bench.issue}): {bench.script} {' '.join(args)}".rstrip(), flush=True)
    began, busy_before, ours_before = time.monotonic(), busy_seconds(), children_seconds()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,  # noqa: S603
                               stderr=subprocess.STDOUT, text=True, bufsize=1)
    try:
        for line in process.stdout:
            line = line.rstrip("\n")
            if line.startswith("RESULT "):
                try:
                    outcome.result = json.loads(line[len("RESULT "):])
                except json.JSONDecodeError:
                    outcome.lines.append(line)
                continue
            outcome.lines.append(line)
            print(f"  {line}", flush=True)
        outcome.status = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait()
        raise
    outcome.seconds = time.monotonic() - began
    busy_after = busy_seconds()
    if busy_before is not None and busy_after is not None and outcome.seconds > 0:
        others = busy_after - busy_before - (children_seconds() - ours_before)
        outcome.others = max(0.0, others) / (outcome.seconds * (os.cpu_count() or 1))
    others = f"; other processes took {outcome.others:.0%} of the machine" if outcome.others is not None else ""
    print(f"=== {bench.name}: {outcome.verdict} (exit {outcome.status}, {outcome.seconds:.0f} s{others})", flush=True)
    return outcome


# -- The report -------------------------------------------------------------------------------------------------

def cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def value_text(row: dict) -> str:
    value, unit = row["value"], row.get("unit") or ""
    if isinstance(value, float):
        value = (f"{value:,.0f}" if abs(value) >= 10 else f"{value:.1f}") if unit == "req/s" else \
            f"{value:.3f}" if abs(value) < 10 else f"{value:,.1f}"
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"{value} {unit}".strip()


def verdict_text(met) -> str:
    return "met" if met is True else "**missed**" if met is False else ""


def rerun_text(outcome: Outcome) -> str:
    script = " ".join([".venv/bin/python", outcome.bench.script, *map(shlex.quote, outcome.command[3:])])
    return f"{outcome.env_note}{script}"


def load_section(result: dict) -> list[str]:
    lines = [f"Ran {result['duration_s']} s with {result['users']['feeds']} calendar clients, "
             f"{result['users']['staff']} staff and {result['users']['writers']} API writers against gunicorn "
             f"({result['gunicorn']['workers']} workers x {result['gunicorn']['threads']} threads) and "
             f"{result['database']} holding "
             + ", ".join(f"{n:,} {k}" for k, n in result["data"].items()) + ".", ""]
    lines += ["| requests | count | failures | req/s | p50 | p95 | p99 |", "|---|---:|---:|---:|---:|---:|---:|"]

    def line(label: str, g: dict) -> str:
        return (f"| {cell(label)} | {g['requests']:,} | {g['failures']:,} | {g['rps']:.2f} | {g['p50_ms']} ms | "
                f"{g['p95_ms']} ms | {g['p99_ms']} ms |")

    lines.append(line("**all**", {"requests": result["requests"], "failures": result["failures"],
                                  "rps": result["rps"], "p50_ms": result["p50_ms"], "p95_ms": result["p95_ms"],
                                  "p99_ms": result["p99_ms"]}))
    for name, group in result["classes"].items():
        lines.append(line(f"**{name}**", group))
    for name, group in result["names"].items():
        lines.append(line(name, group))
    if result.get("failed"):
        lines += ["", "Failed requests (`status 0`: no answer within locust's 30 s timeout):", ""]
        lines += [f"- {cell(text)}" for text in result["failed"]]
    if result.get("server_errors"):
        lines += ["", f"The server logged {result['server_errors']} errors."]
    cpu = result["cpu"]
    capacity = cpu["capacity_s"] or 1
    lines += ["", f"CPU during the run ({cpu['capacity_s']:.0f} CPU-seconds available): gunicorn "
              f"{cpu['gunicorn_s'] / capacity:.0%}, PostgreSQL {cpu['postgres_s'] / capacity:.0%}, locust "
              f"{cpu['locust_s'] / capacity:.0%}, other processes {cpu['other_s'] / capacity:.0%}. Locust runs on "
              "the same machine as the server and the database and takes that share from them. Percentiles are "
              "locust's (rounded to two significant digits above 100 ms)."]
    return lines


def markdown(outcomes: list[Outcome], info: dict, began: datetime, ended: datetime, loads: tuple[str, str],
             skipped: list[Benchmark], argv: list[str]) -> str:
    out = ["# Benchmarks", "",
           f"Generated by `make bench` (`bench/report.py`) on {began:%Y-%m-%d}, from {began:%H:%M} to "
           f"{ended:%H:%M} UTC. Every figure below comes from that one run, on the machine described here; an "
           "anchor is measured in the same run, on the same machine, next to the figure it is compared with. "
           "Nothing here is copied from an earlier run.", "",
           f"The command: `{' '.join(['.venv/bin/python', 'bench/report.py', *map(shlex.quote, argv)])}`"
           + (f" (`make bench BENCH_ARGS={shlex.quote(shlex.join(argv))}`)." if argv else " (`make bench`)."), "",
           "## Machine", "", "| | |", "|---|---|"]
    out += [f"| {k} | {cell(v)} |" for k, v in info.items()]
    out += [f"| Load average (1, 5, 15 min) | {loads[0]} at the start, {loads[1]} at the end |", "",
            "The benchmarks run one at a time. Figures measured on a machine that is busy with something else are "
            "slower and noisier than the code deserves, the timings of single requests most, the ratios to an "
            "anchor measured next to them least: the column \"others\" is the share of the machine's CPU that "
            f"processes other than the benchmark and what it started took while it ran (the PostgreSQL server counts "
            f"among them for the benchmarks that use it; above {BUSY_LIMIT:.0%}, read the figures with care).", "",
            "## Summary", "", "| benchmark | issue | target | result | anchor (same run) | time | others |",
            "|---|---|---|---|---|---:|---:|"]
    for o in outcomes:
        target = o.result["target"] if o.result else "—"
        others = "" if o.others is None else f"{o.others:.0%}" + (" ⚠" if o.others > BUSY_LIMIT else "")
        out.append(f"| [{o.bench.title}](#{o.bench.name.replace('_', '-')}) | {o.bench.issue} | {cell(target)} | "
                   f"{verdict_text(o.result['met']) if o.result else '**could not run**'} | "
                   f"{cell(o.bench.anchor or '—')} | {o.seconds:.0f} s | {others} |")
    for bench in skipped:
        out.append(f"| {bench.title} | {bench.issue} | — | not run this time | {cell(bench.anchor or '—')} | | |")
    busy = [o for o in outcomes if o.others is not None and o.others > BUSY_LIMIT]
    if busy:
        out += ["", f"⚠ Other processes took more than {BUSY_LIMIT:.0%} of the machine during "
                + ", ".join(o.bench.title for o in busy) + ": a target missed there may be the machine's, not the "
                "code's; rerun on a quiet machine before concluding."]
    for o in outcomes:
        out += ["", f'<a id="{o.bench.name.replace("_", "-")}"></a>', "",
                f"## {o.bench.title} ({o.bench.issue})", "", o.bench.about, ""]
        if o.result is None:
            out += [f"**Could not run** (exit status {o.status}): see its output below.", ""]
        else:
            others = "" if o.others is None else f"; other processes took {o.others:.0%} of the machine meanwhile"
            out += [f"Target: {o.result['target']}. Result: {verdict_text(o.result['met'])}"
                    f" (exit status {o.status}, {o.seconds:.0f} s{others}).", ""]
            if o.bench.name == "load":
                out += load_section(o.result)
            else:
                out += ["| measure | measured | target | anchor, same run | result | details |",
                        "|---|---:|---|---|---|---|"]
                for row in o.result["rows"]:
                    out.append(f"| {cell(row['label'])} | {cell(value_text(row))} | {cell(row.get('target') or '')} | "
                               f"{cell(row.get('anchor') or '')} | {verdict_text(row.get('met'))} | "
                               f"{cell(row.get('detail') or '')} |")
            extra = {k: v for k, v in o.result.items()
                     if k not in {"benchmark", "met", "target", "rows", "classes", "names", "cpu", "data", "users",
                                  "gunicorn", "steps"}}
            if extra and o.bench.name != "load":
                out += ["", "Conditions: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in extra.items()) + "."]
        out += ["", f"Rerun: `{rerun_text(o)}`", "", "<details><summary>Output</summary>", "", "```text",
                *(line.replace("```", "'''") for line in o.lines), "```", "", "</details>"]
    out += ["", "## How to rerun", "",
            "- Everything: `make bench` (installs gunicorn, locust and, as root, Debian's wrk first; a missing wrk "
            "only makes the feed benchmark use Python threads). It writes this file.",
            "- A subset: `make bench BENCH_ARGS=\"--only feeds,minutes_pdf\"`.",
            "- With the load test: `make bench BENCH_ARGS=--load` (ten more minutes; it needs PostgreSQL at "
            "127.0.0.1:5432 with the national demo in `national_demo`, built with `DATABASE_URL=postgresql://"
            "postgres@127.0.0.1:5432/national_demo .venv/bin/flask --app wsgi seed-demo --scale national`). Alone: "
            "`make load` or `.venv/bin/python bench/load.py --duration 1m` for a smoke run.",
            "- The reports benchmark builds the national demo in a temporary SQLite database unless told where one "
            "is: `make bench BENCH_ARGS=\"--reports-database-url sqlite:////path/to/national.db\"` (or a PostgreSQL "
            "URL).",
            "- One benchmark: the `Rerun` line of its section. Each script prints its figures and exits 0 when its "
            "target is met, 1 when it is missed.",
            "- `BENCH_DATABASE_URL=postgresql://…/throwaway` makes the benchmarks that build their own data build it "
            "in PostgreSQL; they drop its tables when done, so name a database made for it."]
    return "\n".join(out) + "\n"


# -- Main -------------------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated names: " +
                        ", ".join(b.name for b in [*BENCHMARKS, LOAD]))
    parser.add_argument("--load", action="store_true", help="also run the load test (bench/load.py)")
    parser.add_argument("--load-args", default="", help="options for bench/load.py, e.g. \"--duration 1m\"")
    parser.add_argument("--reports-database-url", default=os.environ.get("BENCH_REPORTS_DATABASE_URL"))
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"))
    options = parser.parse_args(argv)

    # The load test, the capacity benchmark and the pages' floor need PostgreSQL with the national demo: asked
    # for with --load.
    national = ("capacity", "page_floor")
    chosen = [*BENCHMARKS, LOAD] if options.load else [b for b in BENCHMARKS if b.name not in national]
    if options.only:
        names = {n.strip() for n in options.only.split(",") if n.strip()}
        unknown = names - {b.name for b in [*BENCHMARKS, LOAD]}
        if unknown:
            parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
        chosen = [b for b in [*BENCHMARKS, LOAD] if b.name in names]
    skipped = [b for b in [*BENCHMARKS, LOAD] if b not in chosen]

    began = datetime.now(UTC)
    loads = [load_average(), ""]
    info = machine()
    print("Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    outcomes = []
    for bench in chosen:
        env, note, args = dict(os.environ), "", []
        if bench.name in ("reports", "search") and options.reports_database_url:
            env["BENCH_DATABASE_URL"] = options.reports_database_url
            note = f"BENCH_DATABASE_URL={shlex.quote(options.reports_database_url)} "
        elif os.environ.get("BENCH_DATABASE_URL") and bench.name not in ("recurrence", "feeds", "load", "capacity"):
            note = f"BENCH_DATABASE_URL={shlex.quote(os.environ['BENCH_DATABASE_URL'])} "
        if bench.name == "load":
            args = shlex.split(options.load_args)
        outcomes.append(run(bench, args, env, note))
    loads[1] = load_average()
    ended = datetime.now(UTC)

    target = Path(options.output)
    target.parent.mkdir(parents=True, exist_ok=True)
    argv = list(sys.argv[1:] if argv is None else argv)
    target.write_text(markdown(outcomes, info, began, ended, tuple(loads), skipped, argv), encoding="utf-8")
    print(f"\nWrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    width = max(len(o.bench.title) for o in outcomes) if outcomes else 0
    for o in outcomes:
        print(f"  {o.bench.title:<{width}}  {o.verdict:<14} {o.seconds:6.0f} s")
    if any(o.result is None for o in outcomes):
        return 2
    return 0 if all(o.result["met"] for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
