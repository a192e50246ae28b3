"""Search: plain data in (who asks, what they typed, filters), results out. No `request` here.

One statement finds, scopes, counts and ranks (per kind, or within one kind a page), on SQLite's FTS5 or
PostgreSQL's GIN index; then the things found are loaded, kind by kind, for their titles and snippets. A page
of results therefore runs a fixed number of statements whatever the number of matches.

Ranking, the same on both databases: first the things whose title holds every word, then the newest.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import ColumnElement, and_, bindparam, case, cast, column, func, or_, select, table, text
from sqlalchemy.dialects.postgresql import TSQUERY

from ..auth.models import User
from ..exceptions import InvalidData
from ..extensions import db
from ..issues.labels import STATUS_GROUP_NAMES, STATUS_NAMES
from ..issues.models import Issue, Topic
from ..issues.services import STATUS_GROUPS, get_issue
from ..minutes.services import is_staff
from ..org.models import Business, Unit
from ..org.taxcode import is_valid_tax_code, normalize_tax_code
from ..scheduling.models import Meeting, Series
from ..scheduling.services import zone_named
from ..scope import (
    get_unit_by_code,
    record_condition,
    visible_businesses_condition,
    visible_meetings_condition,
    visible_series_condition,
)
from .models import FTS_TABLE, SearchDocument
from .sources import KINDS, SOURCES
from .text import Query, excerpt, highlight, parse

KIND_NAMES = {
    "issue": _l("Issues"), "business": _l("Businesses"), "contact": _l("Contacts"), "series": _l("Recurring meetings"),
    "meeting": _l("Meetings"), "minutes": _l("Minutes"),
}
KIND_NAME = {
    "issue": _l("Issue"), "business": _l("Business"), "contact": _l("Contact"), "series": _l("Recurring meeting"),
    "meeting": _l("Meeting"), "minutes": _l("Minutes"),
}
MEETING_STATUS_NAMES = {"scheduled": _l("Scheduled"), "moved": _l("Moved"), "cancelled": _l("Cancelled")}
MINUTES_STATUS_NAMES = {"draft": _l("Draft minutes"), "final": _l("Final minutes")}
STATUS_FILTERS = {**STATUS_GROUP_NAMES, **STATUS_NAMES, **MEETING_STATUS_NAMES, **MINUTES_STATUS_NAMES}
PER_KIND = 5  # on the page over every kind, the first few of each
SUGGESTIONS = 8
MIN_LETTERS = 2  # fewer letters in all would match half the index: asked for more instead
SUGGEST_FROM = 3
ISSUE_NUMBER = re.compile(r"#?\s*(\d{1,9})")


@dataclass(frozen=True)
class Filters:
    """What narrows a search: a kind, a unit (and the units below it), office-local days, a status."""

    kind: str | None = None
    unit: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    status: str | None = None


@dataclass
class Hit:
    kind: str
    id: int
    url: str
    title: str
    snippet: str
    title_html: Markup
    snippet_html: Markup
    at: datetime | None
    status: str


@dataclass
class Group:
    kind: str
    total: int
    hits: list[Hit]

    @property
    def name(self):
        return KIND_NAMES[self.kind]


@dataclass
class Results:
    query: Query
    total: int = 0
    groups: list[Group] = field(default_factory=list)  # over every kind: each kind's first few
    hits: list[Hit] = field(default_factory=list)  # one page, within a kind or over all together
    message: str = ""  # what to type instead, when the query cannot be searched as it is

    @property
    def searched(self) -> bool:
        return not self.message


def check_query(query: Query) -> str:
    """Why this query is not searched, or "" when it is."""
    if query.empty:
        return str(_l("Type a word, a name, a tax code or an issue number."))
    if sum(len(w) for w in query.words) < MIN_LETTERS:
        return str(_l("Type at least two letters."))
    return ""


def check_filters(user: User, filters: Filters) -> Unit | None:
    """The unit the filters name, after checking them; raises InvalidData naming the field that is wrong."""
    if filters.kind is not None and filters.kind not in KINDS:
        raise InvalidData.on("type", _l("Choose one of the kinds listed."))
    if filters.status is not None and filters.status not in STATUS_FILTERS:
        raise InvalidData.on("status", _l("Choose one of the statuses listed."))
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise InvalidData.on("to", _l("The end of the period comes before its start."))
    if not filters.unit:
        return None
    unit = get_unit_by_code(user, filters.unit)
    if unit is None:
        raise InvalidData.on("unit", _l("No unit has this code."))
    return unit


# -- Conditions -------------------------------------------------------------------------------------------

def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _fts(name: str, expression: str):
    return select(column("rowid")).select_from(table(FTS_TABLE)).where(
        text(f"{FTS_TABLE} MATCH :{name}").bindparams(bindparam(name, expression)))


def match_condition(query: Query) -> ColumnElement[bool]:
    """Condition on SearchDocument: holds every word of the query (by prefix from two letters)."""
    document = SearchDocument
    if _postgres():
        return document.vector.bool_op("@@")(cast(bindparam("tsquery", query.tsquery()), TSQUERY))
    return document.id.in_(_fts("fts_query", query.fts5()))


def title_hit(query: Query):
    """1 where the document's title holds every word of the query, else 0: what ranks first."""
    document = SearchDocument
    if _postgres():
        hit = document.title_vector.bool_op("@@")(cast(bindparam("title_tsquery", query.tsquery()), TSQUERY))
    else:
        hit = document.id.in_(_fts("fts_title_query", query.fts5("title")))
    return case((hit, 1), else_=0)


def visible_condition(user: User, kinds=KINDS) -> ColumnElement[bool]:
    """Condition on SearchDocument: what `user` may open, kind by kind, by the rules of dialogue_app.scope."""
    document = SearchDocument
    meetings = document.object_id.in_(select(Meeting.id).where(visible_meetings_condition(user)))
    series = document.object_id.in_(select(Series.id).where(visible_series_condition(user)))
    sensitive = document.topic_id.in_(select(Topic.id).where(Topic.sensitive))
    rules = {
        "issue": record_condition(user, document.unit_id, document.business_id, managers_only=sensitive),
        # Businesses and their contacts have pages for staff only.
        "business": record_condition(user, document.unit_id),
        "contact": record_condition(user, document.unit_id),
        "series": record_condition(user, document.unit_id, business_sees=series),
        "meeting": record_condition(user, document.unit_id, business_sees=meetings),
        # A business reads the minutes of its meetings once they are final.
        "minutes": record_condition(user, document.unit_id, business_sees=and_(document.status == "final", meetings)),
    }
    return or_(*(and_(document.kind == kind, rules[kind]) for kind in kinds))


def filter_conditions(filters: Filters, unit: Unit | None) -> list[ColumnElement[bool]]:
    document = SearchDocument
    conditions = []
    if filters.kind:
        conditions.append(document.kind == filters.kind)
    if unit is not None:
        conditions.append(document.unit_id.in_(select(Unit.id).where(Unit.path.startswith(unit.path))))
    zone = zone_named(None)
    if filters.date_from:
        conditions.append(document.at >= datetime.combine(filters.date_from, time.min, tzinfo=zone))
    if filters.date_to:
        conditions.append(document.at < datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=zone))
    if filters.status in STATUS_GROUPS:
        conditions.append(and_(document.kind == "issue", document.status.in_(STATUS_GROUPS[filters.status])))
    elif filters.status:
        conditions.append(document.status == filters.status)
    return conditions


def _matches(query: Query, where):
    """The documents found, with what they are ranked by computed once per row (not carried as vectors)."""
    document = SearchDocument
    return select(document.id, document.kind, document.object_id, document.at,
                  title_hit(query).label("hit")).where(*where).subquery()


def _order(found):
    return found.c.hit.desc(), found.c.at.desc().nulls_last(), found.c.id.desc()


# -- Searching --------------------------------------------------------------------------------------------

def search(user: User, text_typed: str | None, filters: Filters = Filters(), *, page: int = 1,
           per_page: int = 20, grouped: bool = True) -> Results:
    """What `user` may open that matches `text_typed`: over every kind (unless filtered to one) each kind's first
    PER_KIND with its count when `grouped`, else one page of them all ranked together. Raises InvalidData when a
    filter is wrong; a query that cannot be searched comes back with a message and nothing found."""
    query = parse(text_typed)
    unit = check_filters(user, filters)
    results = Results(query, message=check_query(query))
    if not results.searched:
        return results
    where = [match_condition(query), visible_condition(user), *filter_conditions(filters, unit)]
    if grouped and not filters.kind:
        rows = _per_kind(query, where)
        totals = {row.kind: row.kind_total for row in rows}
        hits = _hits(user, query, rows)
        results.groups = [Group(kind, totals[kind], [h for h in hits if h.kind == kind])
                          for kind in KINDS if kind in totals]
        results.total = sum(totals.values())
    else:
        results.hits, results.total = _page(user, query, where, page, per_page)
    return results


def _per_kind(query: Query, where) -> list:
    found = _matches(query, where)
    ranked = select(
        found.c.id, found.c.kind, found.c.object_id,
        func.count().over(partition_by=found.c.kind).label("kind_total"),
        func.row_number().over(partition_by=found.c.kind, order_by=_order(found)).label("place"),
    ).subquery()
    return db.session.execute(
        select(ranked).where(ranked.c.place <= PER_KIND).order_by(ranked.c.kind, ranked.c.place)).all()


def _ranked_page(query: Query, where, page: int, per_page: int) -> tuple[list, int]:
    """One page of the documents found, best first, and how many were found in all."""
    found = _matches(query, where)
    rows = db.session.execute(
        select(found.c.id, found.c.kind, found.c.object_id, func.count().over().label("total"))
        .order_by(*_order(found)).limit(per_page).offset((page - 1) * per_page)).all()
    if rows:
        return rows, rows[0].total
    if page == 1:
        return [], 0
    return [], db.session.execute(select(func.count()).select_from(found)).scalar_one()


def _page(user: User, query: Query, where, page: int, per_page: int) -> tuple[list[Hit], int]:
    rows, total = _ranked_page(query, where, page, per_page)
    return _hits(user, query, rows), total


def _hits(user: User, query: Query, rows) -> list[Hit]:
    """The rows found, as hits in the same order: each kind's things loaded in one statement."""
    wanted: dict[str, list[int]] = {}
    for row in rows:
        wanted.setdefault(row.kind, []).append(row.object_id)
    loaded = {}
    for kind, ids in wanted.items():
        source = SOURCES[kind]
        for obj in db.session.execute(source.statement().where(source.key.in_(ids))).unique().scalars():
            loaded[(kind, _key(source, obj))] = obj
    hits = []
    for row in rows:
        obj = loaded.get((row.kind, row.object_id))
        if obj is not None:  # gone since it was indexed, in the same instant: left out
            hits.append(make_hit(user, row.kind, obj, query))
    return hits


def _key(source, obj) -> int:
    return obj.meeting_id if source.kind == "minutes" else obj.id


def make_hit(user: User | None, kind: str, obj, query: Query, whole: bool = False) -> Hit:
    """A thing found, its title and snippet (`whole`: all its text) with the words found marked."""
    source = SOURCES[kind]
    entry = source.entry(obj)
    body = entry.body_text if whole else excerpt(entry.body_text, query)
    return Hit(kind=kind, id=_key(source, obj), url=url_for_hit(user, kind, obj), title=entry.title, snippet=body,
               title_html=highlight(entry.title, query), snippet_html=highlight(body, query), at=entry.at,
               status=entry.status)


def url_for_hit(user: User | None, kind: str, obj) -> str:
    source = SOURCES[kind]
    if kind == "minutes" and user is not None and not is_staff(user):
        return url_for("minutes.minutes_pdf", meeting_id=obj.meeting_id)
    return url_for(source.endpoint, **source.url_values(obj)) + source.anchor


def suggest(user: User, text_typed: str | None) -> list[Hit]:
    """The first few things `user` may open matching what they are typing, from three letters on."""
    query = parse(text_typed)
    if sum(len(w) for w in query.words) < SUGGEST_FROM:
        return []
    hits, _ = _page(user, query, [match_condition(query), visible_condition(user)], 1, SUGGESTIONS)
    return hits


def jump_target(user: User, text_typed: str | None) -> str | None:
    """The page a tax code or an issue number names, when `user` may open it: a search box that is given
    "0100109106" or "#1234" goes straight there."""
    typed = (text_typed or "").strip()
    if not typed or len(typed) > 20:
        return None
    code = normalize_tax_code(typed)
    if is_valid_tax_code(code):
        business = db.session.execute(select(Business).where(
            Business.tax_code == code, visible_businesses_condition(user))).scalar_one_or_none()
        if business is not None and is_staff(user):
            return url_for("org.business_page", business_id=business.id)
        return None
    number = ISSUE_NUMBER.fullmatch(typed)
    if number and (issue := get_issue(user, int(number.group(1)))) is not None:
        return url_for("issues.issue_page", issue_id=issue.id)
    return None


def public_answers(text_typed: str | None, *, page: int = 1, per_page: int = 20) -> Results:
    """Published questions and answers matching `text_typed`, for anyone: their public words only."""
    query = parse(text_typed)
    results = Results(query, message=check_query(query))
    if not results.searched:
        return results
    where = [match_condition(query), SearchDocument.kind == "answer"]
    rows, results.total = _ranked_page(query, where, page, per_page)
    issues = {issue.id: issue for issue in db.session.execute(
        SOURCES["answer"].statement().where(Issue.id.in_([r.object_id for r in rows]))).scalars()} if rows else {}
    results.hits = [make_hit(None, "answer", issues[r.object_id], query, whole=True)
                    for r in rows if r.object_id in issues]
    return results
