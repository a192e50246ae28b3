"""Locust users for the load test (issue 9): run by bench/load.py, which prepares the plan this file reads.

Three kinds of people use Dialogue at once:

- FeedReader: a business's calendar client (Outlook, Google Calendar, a phone) polling the business's feed,
  `GET /feeds/<token>.ics`, every 30-60 s, sending back the ETag of the previous answer in If-None-Match as
  calendar clients do, so most answers are 304; each starts at a random point of the interval;
- Staff: an officer or a manager signing in through the real form (the CSRF token taken from the page) and
  browsing with a few seconds of thought between pages: the issue list with and without filters, issues,
  meeting pages, the month calendar, the business registry's search, and (managers) the report dashboard and
  the ranking.
  Each signs in with a bench account and only asks for what that account may see (ids picked by load.py);
- Writer: an integration recording, every ~30 s, an issue (`POST /api/v1/issues`) or a person who came to a
  meeting (`POST /api/v1/meetings/<id>/attendees`) with a bearer token.

The plan (JSON) is named by BENCH_LOAD_PLAN; how many of each user run comes from it (fixed_count), so locust's
`-u` must be their sum. Every answer is checked (status and, for pages, not a redirect to the sign-in page);
anything else is a failure. When the test ends, the master (or the only process) writes every request name's
response-time histogram to BENCH_LOAD_STATS, from which load.py computes the percentiles per class.
"""

import itertools
import json
import os
import random
import re
from datetime import UTC, datetime

import gevent
from locust import HttpUser, between, events, task
from locust.runners import WorkerRunner

PLAN = json.loads(open(os.environ["BENCH_LOAD_PLAN"], encoding="utf-8").read())  # noqa: SIM115
COUNTS = PLAN["counts"]
TIMEOUT = 30  # seconds: an answer slower than this is a failure
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# The class of each request name, for the per-class figures (load.py reads it from the stats file).
CLASSES = {}


def named(kind: str, name: str) -> str:
    CLASSES[name] = kind
    return name


FEED_FULL = named("feeds", "feed: GET, 200 (full calendar)")
FEED_NOT_MODIFIED = named("feeds", "feed: GET If-None-Match, 304")
FEED_CHANGED = named("feeds", "feed: GET If-None-Match, 200 (changed)")
LOGIN_PAGE = named("staff", "staff: GET /login")
LOGIN = named("staff", "staff: POST /login")
ISSUES = named("staff", "staff: /issues")
ISSUES_FILTERED = named("staff", "staff: /issues?<filters>")
ISSUE = named("staff", "staff: /issues/<id>")
MEETING = named("staff", "staff: /meetings/<id>")
CALENDAR = named("staff", "staff: /calendar")
BUSINESSES = named("staff", "staff: /businesses?q=")
DASHBOARD = named("staff", "staff: /reports")
RANKING = named("staff", "staff: /reports/ranking")
NEW_ISSUE = named("writes", "write: POST /api/v1/issues")
ATTENDEE = named("writes", "write: POST /api/v1/meetings/<id>/attendees")


def worker_offset(environment, size: int) -> int:
    """Where this process starts in a shared list, so that locust's worker processes do not all take the same
    feeds and accounts first."""
    runner = environment.runner
    index = getattr(runner, "worker_index", 0) if isinstance(runner, WorkerRunner) else 0
    return (index * size) // max(1, PLAN.get("processes", 1))


# An API error's message, or an error page's description (templates/errors), else its title.
MESSAGE = re.compile(r'"message":\s*"([^"]{1,120})|<h1>[^<]*</h1>\s*<p>([^<]{1,120})|<h1>([^<]{1,120})</h1>')


def check(response, expected: tuple[int, ...]) -> bool:
    """Mark the answer failed unless its status is one of `expected`, saying where a redirect went or what an
    error page or an API error said (failures are grouped by this text)."""
    if response.status_code not in expected:
        said = ""
        if response.status_code in (301, 302, 303):
            said = f" -> {response.headers.get('Location')}"
        elif response.status_code >= 400:
            found = MESSAGE.search(response.text or "")
            said = f": {next(g for g in found.groups() if g).strip()}" if found else ""
        response.failure(f"status {response.status_code}{said}")
        return False
    return True


class FeedReader(HttpUser):
    """A business's calendar client polling its feed."""

    fixed_count = COUNTS["feeds"]
    wait_time = between(*PLAN["feed_wait"])
    _serial = itertools.count()

    def on_start(self) -> None:
        feeds = PLAN["feeds"]
        self.path = feeds[(next(self._serial) + worker_offset(self.environment, len(feeds))) % len(feeds)]
        self.etag = None
        # Calendar clients subscribed at different times: each polls at its own phase of the interval, so the
        # first (full) fetches spread over one interval instead of arriving together.
        gevent.sleep(random.uniform(0, PLAN["feed_wait"][1]))

    @task
    def poll(self) -> None:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        with self.client.get(self.path, headers=headers, name=FEED_FULL, timeout=TIMEOUT,
                             catch_response=True) as response:
            if self.etag:
                response.request_meta["name"] = FEED_NOT_MODIFIED if response.status_code == 304 else FEED_CHANGED
            if not check(response, (200, 304) if self.etag else (200,)):
                return
            if response.status_code == 200:
                if not response.content.startswith(b"BEGIN:VCALENDAR") or not response.headers.get("ETag"):
                    response.failure("not a calendar with an ETag")
                    return
                self.etag = response.headers["ETag"]


class Staff(HttpUser):
    """An officer or a manager browsing the pages of their scope."""

    fixed_count = COUNTS["staff"]
    wait_time = between(*PLAN["staff_wait"])
    _serial = itertools.count()

    def on_start(self) -> None:
        accounts = PLAN["staff"]
        self.account = accounts[(next(self._serial) + worker_offset(self.environment, len(accounts))) % len(accounts)]
        self.rng = random.Random()
        self.signed_in = False
        self.sign_in()

    def sign_in(self) -> None:
        with self.client.get("/login", name=LOGIN_PAGE, timeout=TIMEOUT, allow_redirects=False,
                             catch_response=True) as response:
            if not check(response, (200,)):
                return
            found = CSRF.search(response.text)
            if not found:
                response.failure("no CSRF token on the sign-in page")
                return
        form = {"csrf_token": found.group(1), "email": self.account["email"], "password": self.account["password"]}
        with self.client.post("/login", data=form, name=LOGIN, timeout=TIMEOUT, allow_redirects=False,
                              catch_response=True) as response:
            if check(response, (302,)):
                if "/login" in response.headers.get("Location", ""):
                    response.failure("the sign-in was refused")
                else:
                    self.signed_in = True

    def page(self, path: str, name: str) -> None:
        if not self.signed_in:
            self.sign_in()
            if not self.signed_in:
                return
        with self.client.get(path, name=name, timeout=TIMEOUT, allow_redirects=False,
                             catch_response=True) as response:
            check(response, (200,))

    def pick(self, key: str):
        return self.rng.choice(self.account[key])

    @task(3)
    def issues(self) -> None:
        self.page("/issues", ISSUES)

    @task(4)
    def issues_filtered(self) -> None:
        choices = [
            lambda: "status=open",
            lambda: "overdue=1",
            lambda: f"status={self.rng.choice(['new', 'in_progress', 'answered'])}",
            lambda: f"topic={self.pick('topics')}",
            lambda: f"channel={self.rng.choice(['meeting', 'phone', 'email', 'zalo', 'counter'])}",
            lambda: f"q={self.pick('issue_words')}",
            lambda: f"page={self.rng.randint(2, 20)}",
        ]
        if self.account["units"]:
            choices.append(lambda: f"unit={self.pick('units')}&status=open")
        query = self.rng.choice(choices)()
        self.page(f"/issues?{query}", ISSUES_FILTERED)

    @task(5)
    def issue(self) -> None:
        self.page(f"/issues/{self.pick('issues')}", ISSUE)

    @task(3)
    def meeting(self) -> None:
        self.page(f"/meetings/{self.pick('meetings')}", MEETING)

    @task(2)
    def calendar(self) -> None:
        month = self.rng.choice([None, *PLAN["months"]])
        self.page(f"/calendar?month={month}" if month else "/calendar", CALENDAR)

    @task(3)
    def businesses(self) -> None:
        self.page(f"/businesses?q={self.pick('searches')}", BUSINESSES)

    # The reports are for managers: an organiser looks at the issue list instead.
    @task(1)
    def dashboard(self) -> None:
        if self.account["reports"]:
            self.page(f"/reports?{self.rng.choice(PLAN['periods'])}", DASHBOARD)
        else:
            self.issues_filtered()

    @task(1)
    def ranking(self) -> None:
        if self.account["reports"]:
            self.page(f"/reports/ranking?{self.rng.choice(PLAN['periods'])}", RANKING)
        else:
            self.issues_filtered()


class Writer(HttpUser):
    """An integration recording issues and attendance through the API."""

    fixed_count = COUNTS["writers"]
    wait_time = between(*PLAN["write_wait"])
    _serial = itertools.count()

    def on_start(self) -> None:
        writers = PLAN["writers"]
        self.account = writers[(next(self._serial) + worker_offset(self.environment, len(writers))) % len(writers)]
        self.headers = {"Authorization": f"Bearer {self.account['token']}"}
        self.rng = random.Random()

    @task
    def new_issue(self) -> None:
        account, rng = self.account, self.rng
        at_meeting = rng.random() < 0.3
        body = {
            "title": f"{PLAN['marker']} Vướng mắc về thủ tục hoàn thuế, lô hàng {rng.randint(1000, 9999)}",
            "description": "Doanh nghiệp hỏi về hồ sơ hoàn thuế nhập khẩu nguyên liệu sản xuất xuất khẩu.",
            "business_id": rng.choice(account["businesses"]),
            "channel": "meeting" if at_meeting else rng.choice(["phone", "email", "zalo", "counter"]),
            "topic": rng.choice(PLAN["topic_codes"]),
            "unit": account["unit"],
            "raised_by": "Nguyễn Văn Thử",
        }
        if at_meeting:
            body["meeting_id"] = rng.choice(account["meetings"])
        with self.client.post("/api/v1/issues", json=body, headers=self.headers, name=NEW_ISSUE, timeout=TIMEOUT,
                              catch_response=True) as response:
            if check(response, (201,)) and response.json().get("status") != "new":
                response.failure(f"unexpected answer {response.text[:200]}")

    @task
    def attendee(self) -> None:
        account, rng = self.account, self.rng
        stamp = datetime.now(UTC).strftime("%H%M%S")
        body = {"name": f"{PLAN['marker']} Trần Thị Khách {stamp}", "business_id": rng.choice(account["businesses"]),
                "organisation": "Doanh nghiệp dự thính", "role": "Kế toán trưởng", "present": True}
        path = f"/api/v1/meetings/{rng.choice(account['meetings'])}/attendees"
        with self.client.post(path, json=body, headers=self.headers, name=ATTENDEE, timeout=TIMEOUT,
                              catch_response=True) as response:
            check(response, (201,))


@events.quitting.add_listener
def write_stats(environment, **_kwargs) -> None:
    """Each request name's counts and response-time histogram (milliseconds, locust's rounding), for load.py."""
    target = os.environ.get("BENCH_LOAD_STATS")
    if not target or isinstance(environment.runner, WorkerRunner):
        return
    stats = environment.runner.stats
    entries = []
    for entry in stats.entries.values():
        entries.append({"name": entry.name, "method": entry.method, "class": CLASSES.get(entry.name, "other"),
                        "requests": entry.num_requests, "failures": entry.num_failures,
                        "response_times": {str(k): v for k, v in entry.response_times.items()},
                        "max": entry.max_response_time, "total_ms": entry.total_response_time})
    total = stats.total
    errors = [{"name": e.name, "method": e.method, "error": str(e.error), "occurrences": e.occurrences}
              for e in stats.errors.values()]
    with open(target, "w", encoding="utf-8") as handle:
        json.dump({"entries": entries, "errors": errors, "start_time": total.start_time,
                   "last_request": total.last_request_timestamp}, handle)
