"""The anchors of bench/capacity.py: what a bare Flask app does on the same server and database.

- `GET /rows`: Flask + SQLAlchemy (ORM, a session per request) + Jinja (a cached template with a layout),
  rendering the 50 latest issues of one branch: one query on an index (ix_issues_origin_created);
- `GET /feed.ics`: the bytes of a Dialogue feed (read once from BENCH_BARE_FEED) with its ETag (BENCH_BARE_ETAG),
  answered 304 by Werkzeug's make_conditional when If-None-Match matches, as any Flask app would.

Served by gunicorn with the same settings as Dialogue: `gunicorn bare_app:app` with DATABASE_URL set.
"""

import os
from datetime import datetime

from flask import Flask, Response, render_template, request
from jinja2 import DictLoader
from sqlalchemy import create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Issue(Base):
    __tablename__ = "issues"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    status: Mapped[str]
    origin_unit_id: Mapped[int]
    created_at: Mapped[datetime]


TEMPLATES = {
    "layout.html": """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{% block title %}{% endblock %}
</title></head><body><main>{% block main %}{% endblock %}</main></body></html>""",
    "rows.html": """{% extends "layout.html" %}{% block title %}Vướng mắc{% endblock %}{% block main %}
<table><thead><tr><th>#</th><th>Nội dung</th><th>Trạng thái</th><th>Ngày</th></tr></thead><tbody>
{% for issue in issues %}<tr><td><a href="/issues/{{ issue.id }}">{{ issue.id }}</a></td><td>{{ issue.title }}</td>
<td>{{ issue.status }}</td><td>{{ issue.created_at.strftime('%d/%m/%Y') }}</td></tr>{% endfor %}
</tbody></table>{% endblock %}""",
}

url = os.environ["DATABASE_URL"]
engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), pool_pre_ping=False)
app = Flask(__name__)
app.jinja_loader = DictLoader(TEMPLATES)
with engine.connect() as conn:
    UNIT = conn.execute(select(Issue.origin_unit_id).order_by(Issue.id).limit(1)).scalar_one()
FEED = open(os.environ["BENCH_BARE_FEED"], "rb").read() if os.environ.get("BENCH_BARE_FEED") else b""  # noqa: SIM115
ETAG = os.environ.get("BENCH_BARE_ETAG", "")


@app.get("/rows")
def rows():
    with Session(engine) as session:
        issues = session.execute(select(Issue).where(Issue.origin_unit_id == UNIT)
                                 .order_by(Issue.created_at.desc()).limit(50)).scalars().all()
        return render_template("rows.html", issues=issues)


@app.get("/feed.ics")
def feed():
    response = Response(FEED, content_type="text/calendar; charset=utf-8; method=PUBLISH")
    response.set_etag(ETAG)
    return response.make_conditional(request)


@app.get("/healthz")
def health():
    return {"status": "ok"}
