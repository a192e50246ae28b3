"""Timing pages through the app, shared by the benchmarks of list pages."""

import gc
import statistics
import time

from flask import render_template
from flask_login import login_required
from sqlalchemy import event

from dialogue_app.extensions import db

WARM_UP = 3  # runs that fill caches as a running server has them, not counted
EMPTY_PAGE = "/bench/empty"


def add_empty_page(app) -> str:
    """Adds to `app` (before its first request) a page that shows nothing but Dialogue's layout to whoever is
    signed in: what every staff page costs before its own content (the session's lookup, the top bar, the menu
    for the role, the unread count). Returns its path."""
    empty = app.jinja_env.from_string('{% extends "base.html" %}{% block content %}{% endblock %}')

    @app.get(EMPTY_PAGE)
    @login_required
    def empty_page():
        return render_template(empty)

    return EMPTY_PAGE


ROWS_PAGE = "/bench/rows"


def add_rows_page(app, unit_id: int) -> str:
    """Adds to `app` the capacity benchmark's bare page (bench/bare_app.py's /rows: the 50 latest issues of one
    branch, one indexed query, the same table) inside Dialogue's layout, behind its sign-in: the least a main
    page of Dialogue could cost. Returns its path."""
    from sqlalchemy import select

    from dialogue_app.issues.models import Issue

    rows = app.jinja_env.from_string(
        '{% extends "base.html" %}{% block content %}<table><thead><tr><th>#</th><th>Nội dung</th>'
        "<th>Trạng thái</th><th>Ngày</th></tr></thead><tbody>{% for issue in issues %}<tr><td>"
        '<a href="/issues/{{ issue.id }}">{{ issue.id }}</a></td><td>{{ issue.title }}</td><td>{{ issue.status }}'
        "</td><td>{{ issue.created_at.strftime('%d/%m/%Y') }}</td></tr>{% endfor %}</tbody></table>{% endblock %}")

    @app.get(ROWS_PAGE)
    @login_required
    def rows_page():
        issues = db.session.execute(select(Issue).where(Issue.origin_unit_id == unit_id)
                                    .order_by(Issue.created_at.desc()).limit(50)).scalars().all()
        return render_template(rows, issues=issues)

    return ROWS_PAGE


def api_token(app, email: str, password: str) -> dict[str, str]:
    """The headers of an API call as the user `email`: a Bearer token, as API.md has clients take one."""
    response = app.test_client().post("/api/v1/tokens", json={"email": email, "password": password})
    assert response.status_code == 201, response.status_code
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def measure_page(app, email: str, password: str, path: str, runs: int,
                 headers: dict[str, str] | None = None) -> tuple[float, float, int]:
    """(median ms, p95 ms, SQL statements) of GET `path` as the user `email`, through the test client: signed
    in through the sign-in page, or with `headers` (an API token) instead."""
    # The served app freezes what it holds at start out of the garbage collector's reach (wsgi.py): so here.
    gc.collect()
    gc.freeze()
    client = app.test_client()
    if headers is None:
        assert client.post("/login", data={"email": email, "password": password}).status_code == 302
    with app.app_context():
        engine = db.engine
    statements, timings = [], []

    def count(*args):
        statements.append(1)

    for run in range(runs + WARM_UP):
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        elapsed = (time.perf_counter() - start) * 1000
        event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200, (path, response.status_code)
        if run >= WARM_UP:
            timings.append(elapsed)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], len(statements)
