"""Locust for bench/capacity.py: the staff of the load test's mix (bench/locustfile.py), signed in beforehand,
in steps of more and more people until the p95 of a step passes the limit.

BENCH_CAPACITY (JSON): steps (users per step), step_seconds, settle_seconds (not counted at the start of a step,
while its new users arrive), limit_ms, cookies (a signed-in session per bench account, by e-mail) and out (a file
the figures of each step are written to).
"""

import json
import math
import os
import time

import locustfile as mix
from locust import LoadTestShape

SETTINGS = json.loads(os.environ["BENCH_CAPACITY"])


class SignedInStaff(mix.Staff):
    fixed_count = 0
    weight = 1

    def sign_in(self) -> None:
        # Signed in once per account before the run: a step measures browsing, not password hashing.
        self.client.headers["Cookie"] = SETTINGS["cookies"][self.account["email"]]
        self.signed_in = True


def percentile(histogram: dict, fraction: float):
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = max(1, math.ceil(fraction * total)), 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)


class Steps(LoadTestShape):
    def __init__(self):
        super().__init__()
        self.step, self.counting_since, self.results = -1, None, []

    def close_step(self) -> dict:
        total = self.runner.stats.total
        seconds = max(1e-9, time.time() - self.counting_since) if self.counting_since else 1e-9
        histogram = dict(total.response_times)
        figures = {"users": SETTINGS["steps"][self.step], "seconds": round(seconds, 1),
                   "requests": total.num_requests, "failures": total.num_failures,
                   "rps": total.num_requests / seconds, "p50_ms": percentile(histogram, 0.5),
                   "p95_ms": percentile(histogram, 0.95), "p99_ms": percentile(histogram, 0.99),
                   "pages": {name: {"requests": e.num_requests, "p95_ms": percentile(dict(e.response_times), 0.95)}
                             for (name, _method), e in self.runner.stats.entries.items()}}
        self.results.append(figures)
        with open(SETTINGS["out"], "w", encoding="utf-8") as handle:
            json.dump(self.results, handle)
        return figures

    def tick(self):
        now = self.get_run_time()
        step = int(now // SETTINGS["step_seconds"])
        if step != self.step:
            if self.step >= 0:
                figures = self.close_step()
                if figures["p95_ms"] is None or figures["p95_ms"] > SETTINGS["limit_ms"] or figures["failures"]:
                    return None
            if step >= len(SETTINGS["steps"]):
                return None
            self.step, self.counting_since = step, None
        if self.counting_since is None and now - step * SETTINGS["step_seconds"] >= SETTINGS["settle_seconds"]:
            self.runner.stats.reset_all()
            self.counting_since = time.time()
        users = SETTINGS["steps"][step]
        return users, max(users - (SETTINGS["steps"][step - 1] if step else 0), 1) / 2
