"""The production install, as the README says it, proven end to end (issue 15).

Builds the wheel, installs it with `[postgres]` and gunicorn into a fresh virtualenv, and from another directory
(no checkout in sight): `flask --app wsgi init-db` on a fresh database, an admin, then gunicorn. Over HTTP: sign
in through the page, fetch a page, a minutes PDF and a calendar feed; and the access log must not hold the feed's
key. Exit status 0 when all of it worked.

    python3 .ci/install_check.py [--keep]       (run by `make install-check` and .ci/run)
"""

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "mật khẩu đủ dài 2027"  # noqa: S105  (a throwaway database)


def run(*command, **kwargs):
    print("$", " ".join(str(c) for c in command), flush=True)
    return subprocess.run([str(c) for c in command], check=True, **kwargs)  # noqa: S603  (our own commands)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    """Cookies kept from one answer to the next, as a browser would."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, path: str, data: dict | bytes | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})  # noqa: S310  (http to our own server)
        try:
            with self.opener.open(request, timeout=60) as answer:  # noqa: S310  (http to our server)
                return answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()
        except urllib.error.URLError:  # nothing listens yet
            return 0, {}, b""


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"install check FAILED: {what}")
    print(f"ok: {what}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dialogue-install-"))
    print(f"working in {work}", flush=True)
    gunicorn = None
    try:
        run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", work / "dist", ROOT)
        wheel = next((work / "dist").glob("dialogue-*.whl"))
        run(sys.executable, "-m", "venv", work / "venv")
        bin_ = work / "venv" / "bin"
        run(bin_ / "pip", "install", "--quiet", f"{wheel}[postgres]", "gunicorn")

        elsewhere = work / "elsewhere"  # no wsgi.py, no templates/ here: only the installed package
        elsewhere.mkdir()
        port = free_port()
        env = {**os.environ, "DIALOGUE_INSTANCE_PATH": str(work / "instance"), "SECRET_KEY": "install-check",
               "BASE_URL": f"http://127.0.0.1:{port}", "PYTHONPATH": ""}
        for name in ("DATABASE_URL", "REDIS_URL", "FLASK_APP"):
            env.pop(name, None)
        flask = [bin_ / "flask", "--app", "wsgi"]
        run(*flask, "init-db", cwd=elsewhere, env=env)
        run(*flask, "create-user", "admin@example.vn", "--password", PASSWORD, "--role", "admin",
            "--name", "Quản trị", cwd=elsewhere, env=env)

        log = work / "access.log"
        gunicorn = subprocess.Popen(  # noqa: S603
            [str(bin_ / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "--access-logfile", str(log),
             "wsgi:app"], cwd=elsewhere, env=env)
        base = f"http://127.0.0.1:{port}"
        browser = Browser(base)
        deadline = time.monotonic() + 60
        while browser.open("/healthz")[0] != 200:
            check(gunicorn.poll() is None and time.monotonic() < deadline, "gunicorn starts")
            time.sleep(0.3)
        check(browser.open("/readyz")[0] == 200, "/readyz: the database answers")

        status, _, page = browser.open("/login")
        check(status == 200 and "Đăng nhập".encode() in page, "the sign-in page renders (templates shipped)")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1).decode()
        status, _, page = browser.open("/login", {"csrf_token": token, "email": "admin@example.vn",
                                                  "password": PASSWORD})
        check(status == 200 and "Đăng xuất".encode() in page,
              "signed in through the page")
        status, headers, css = browser.open("/static/css/app.css")
        check(status == 200 and len(css) > 1000, "static files are served (static shipped)")

        api = Browser(base)
        status, _, body = api.open("/api/v1/tokens", json.dumps({"email": "admin@example.vn",
                                                                 "password": PASSWORD}).encode(),
                                   {"Content-Type": "application/json"})
        bearer = {"Authorization": f"Bearer {json.loads(body)['token']}", "Content-Type": "application/json"}

        def post(path, payload):
            status, _, body = api.open(path, json.dumps(payload).encode(), bearer)
            check(status == 201, f"POST {path}")
            return json.loads(body)

        post("/api/v1/units", {"code": "TCHQ", "name": "Tổng cục Hải quan", "level": "general", "parent": None})
        meeting = post("/api/v1/meetings", {"title": "Đối thoại doanh nghiệp", "unit": "TCHQ", "location": "Hà Nội",
                                            "start": "2027-01-25T08:00:00+07:00", "duration_minutes": 90,
                                            "kind": "dialogue"})
        series = post("/api/v1/series", {"title": "Cà phê doanh nhân", "unit": "TCHQ", "location": "Hà Nội",
                                         "rrule": "FREQ=MONTHLY;BYDAY=-1MO", "dtstart": "2027-01-25T08:00",
                                         "duration_minutes": 60})

        status, headers, pdf = browser.open(f"/meetings/{meeting['id']}/minutes.pdf")
        check(status == 200 and pdf.startswith(b"%PDF"), "a minutes PDF (fonts and styles from the package)")
        status, _, page = browser.open(f"/meetings/{meeting['id']}")
        check(status == 200 and "Đối thoại doanh nghiệp".encode() in page, "a meeting's page")
        feed_path = urllib.parse.urlsplit(series["feed_url"]).path
        status, _, feed = Browser(base).open(feed_path)  # no sign-in: the key is in the address
        check(status == 200 and feed.startswith(b"BEGIN:VCALENDAR"), "a calendar feed")
        gunicorn.terminate()
        gunicorn.wait(30)
        key = feed_path.rsplit("/", 1)[1].removesuffix(".ics")
        logged = log.read_text(encoding="utf-8", errors="replace")
        check("/feeds/[redacted].ics" in logged and key not in logged, "gunicorn's access log holds no feed key")
        print("install check passed", flush=True)
    finally:
        if gunicorn is not None and gunicorn.poll() is None:
            gunicorn.kill()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
