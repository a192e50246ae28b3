"""Search: plain data in (who asks, what they typed, filters), results out. No `request` here.

One statement finds, scopes, counts and ranks, on SQLite's FTS5 or PostgreSQL's GIN index; then the things
found are loaded, kind by kind, for their titles and snippets. A page of results therefore runs a fixed number of
statements whatever the number of matches.

The work is bounded: per kind, the CANDIDATES most recently recorded matches the person may open are ranked and
counted, and beyond them the page says "more than" (a count of every match would read one row per match, tens
of thousands for common words on the national demo). Ranking, the same on both databases: first the things whose
title holds every word, then the newest.
"""

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from threading import Lock

from flask import url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    bindparam,
    case,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY

from ..auth.models import User
from ..exceptions import InvalidData
from ..extensions import db
from ..issues.labels import STATUS_GROUP_NAMES, STATUS_NAMES
from ..issues.models import Issue, Topic
from ..issues.services import STATUS_GROUPS, get_issue
from ..officetime import office_zone
from ..org.models import Business, Unit
from ..org.taxcode import is_valid_tax_code, normalize_tax_code
from ..scheduling.models import Meeting, Series
from ..scope import (
    get_unit_by_code,
    is_staff,
    record_condition,
    scope_key,
    sees_every_unit,
    units_below,
    visible,
    visible_units_condition,
)
from .models import FTS_TABLE, ID_SHIFT, KIND_NUMBERS, SearchDocument, document_id_of
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
# Per kind, the most recently recorded matches that are ranked and counted: beyond, the page says "more than".
CANDIDATES = 250
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
    at: datetime | None
    status: str
    query: Query | None = None  # the words found, marked in title_html and snippet_html

    @property
    def title_html(self) -> Markup:
        """The title, escaped, with the words found marked: worked out when a page shows it (the API does not)."""
        return highlight(self.title, self.query) if self.query is not None else Markup.escape(self.title)

    @property
    def snippet_html(self) -> Markup:
        return highlight(self.snippet, self.query) if self.query is not None else Markup.escape(self.snippet)

    @property
    def held(self) -> bool:
        """A meeting not cancelled, of a day gone by (office time): its status says "scheduled" still. On its
        own day it is not yet said to be held (a result knows when it starts, not when it ends)."""
        if self.kind != "meeting" or self.status == "cancelled" or self.at is None:
            return False
        instant = self.at if self.at.tzinfo is not None else self.at.replace(tzinfo=UTC)
        return instant.astimezone(office_zone()).date() < datetime.now(office_zone()).date()

    @property
    def day(self) -> str:
        """The office-local day of `at`, day/month/year as the i18n's local_date writes it (a stored time without
        a zone is UTC), without a pass through Babel for each of up to thirty hits."""
        if self.at is None:
            return ""
        instant = self.at if self.at.tzinfo is not None else self.at.replace(tzinfo=UTC)
        return instant.astimezone(office_zone()).strftime("%d/%m/%Y")


@dataclass
class Group:
    kind: str
    total: int
    hits: list[Hit]
    more: bool = False  # more than `total` were found: only the most recent CANDIDATES are ranked and counted

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
    more: bool = False  # some kind had more matches than CANDIDATES: `total` counts what was ranked

    @property
    def searched(self) -> bool:
        return not self.message


def unit_options(user: User, chosen: str | None = None, *, every: bool = True) -> list[tuple[str, str]]:
    """(code, name) of the units `user` may filter by, in hierarchy order, as plain rows. Not `every`: only the
    top two levels of what they see (their unit and the units right below it) and the `chosen` one: what the
    page of results renders, the rest being loaded by its script (the General Department's staff have 236
    units to choose from, which would otherwise be read and rendered on every page of results)."""
    condition = visible_units_condition(user)
    if not every:
        top = user.unit_id
        near = or_(Unit.id == top, Unit.parent_id == top) if top is not None else or_(
            Unit.parent_id.is_(None), Unit.parent_id.in_(select(Unit.id).where(Unit.parent_id.is_(None))))
        condition = and_(condition, or_(near, Unit.code == chosen) if chosen else near)
    return [tuple(row) for row in db.session.execute(
        select(Unit.code, Unit.name).where(condition).order_by(Unit.path))]


def units_version(user: User) -> str:
    """A short name for the list of units `user` may filter by: the same for everyone who sees the same units,
    so that browsers may keep the list (/search/units?v=…) without ever giving one person another's."""
    return hashlib.sha256(repr(scope_key(user)).encode()).hexdigest()[:16]


@lru_cache(maxsize=8)
def names_in(locale: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The kinds' names (plural, singular) and the statuses' names in `locale`, translated once: a page of
    results shows each of them several times."""
    with force_locale(locale):
        return ({code: str(name) for code, name in KIND_NAMES.items()},
                {code: str(name) for code, name in KIND_NAME.items()},
                {code: str(name) for code, name in STATUS_FILTERS.items()})


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


def _fts(name: str):
    return select(column("rowid")).select_from(table(FTS_TABLE)).where(
        text(f"{FTS_TABLE} MATCH :{name}").bindparams(bindparam(name, type_=String)))


def visible_condition(user: User, kind: str) -> ColumnElement[bool]:
    """Condition on SearchDocument: the documents of `kind` that `user` may open, by the rules of
    dialogue_app.scope."""
    document = SearchDocument
    if kind == "issue":
        sensitive = document.topic_id.in_(select(Topic.id).where(Topic.sensitive))
        return record_condition(user, document.unit_id, document.business_id, managers_only=sensitive)
    if kind in ("business", "contact"):  # their pages are for staff only
        return record_condition(user, document.unit_id)
    # What a business was invited to, as document ids: read through the primary key.
    if kind == "series":
        return record_condition(user, document.unit_id, business_sees=document.id.in_(
            select(document_id_of("series", Series.id)).where(visible(user, Series))))
    meetings = document.id.in_(select(document_id_of(kind, Meeting.id)).where(visible(user, Meeting)))
    if kind == "meeting":
        return record_condition(user, document.unit_id, business_sees=meetings)
    # A business reads the minutes of its meetings once they are final.
    return record_condition(user, document.unit_id, business_sees=and_(document.status == "final", meetings))


def filter_conditions(filters: Filters, unit: Unit | None) -> list[ColumnElement[bool]]:
    """Conditions on SearchDocument for the unit (and below), the period (office-local days) and the status."""
    document = SearchDocument
    conditions = []
    if unit is not None:
        conditions.append(document.unit_id.in_(units_below(unit)))
    zone = office_zone()
    if filters.date_from:
        conditions.append(document.at >= datetime.combine(filters.date_from, time.min, tzinfo=zone))
    if filters.date_to:
        conditions.append(document.at < datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=zone))
    if filters.status in STATUS_GROUPS:
        conditions.append(and_(document.kind == "issue", document.status.in_(STATUS_GROUPS[filters.status])))
    elif filters.status:
        conditions.append(document.status == filters.status)
    return conditions


@dataclass(frozen=True)
class _Candidates:
    """What one statement found: per kind how many (at most the cap) and whether there were more, and the rows
    asked for, best first."""

    counts: dict[str, int]
    more: dict[str, bool]
    rows: list

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _title_holds(title, word_count: int):
    """SQLite: 1 where the folded title words hold every word of the query, as FTS5 matches them (a word begins
    with it, from two letters; is it, for one), else 0. The words' patterns are parameters (_parameters)."""
    spaced = literal(" ") + title + literal(" ")
    return case((and_(*(spaced.like(bindparam(f"word_{n}", type_=String)) for n in range(word_count))), 1), else_=0)


def _parameters(query: Query) -> dict[str, str]:
    """The values of the parameters the statements of `_branches` leave open: the query, as each database reads
    it, and (SQLite) the LIKE pattern of each word for the rank."""
    if _postgres():
        return {"tsquery": query.tsquery()}
    return {"fts_query": query.fts5(),
            **{f"word_{n}": f"% {w}%" if len(w) > 1 else f"% {w} %" for n, w in enumerate(query.words)}}


def _branches(word_count: int, kinds, where_of, cap: int, narrow: bool) -> list:
    """Statements for each kind's `cap` + 1 most recently recorded documents matching `query`, each as
    (id, kind, object_id, at, hit): the database's own index answers, newest first within the kind's range of
    ids, and stops there; hit is 1 where the title holds every word."""
    document = SearchDocument
    branches = []
    if _postgres():
        words = cast(bindparam("tsquery", type_=String), TSQUERY)
        hit = case((document.title_vector.bool_op("@@")(words), 1), else_=0)
        if "issue" in kinds:
            # Issues, most of the index, newest first as PostgreSQL judges best: through the primary key when the
            # words are common (it stops after cap + 1), through the GIN index when they are rare.
            low = KIND_NUMBERS["issue"] * ID_SHIFT
            in_scope = (document.id >= low, document.id < low + ID_SHIFT, *where_of("issue"))
            if narrow:
                # Someone who sees a part of the country: their issues first, by unit or business (a branch holds
                # a few thousand), the words checked on those. Through the GIN index PostgreSQL would gather every
                # match in the country first: tens of thousands for words as common as "kiem hoa". OFFSET 0 keeps
                # it from merging the two steps back into one.
                mine = select(document.id, document.kind, document.object_id, document.at, document.vector,
                              document.title_vector).where(*in_scope).offset(0).subquery()
                mine_hit = case((mine.c.title_vector.bool_op("@@")(words), 1), else_=0)
                branches.append(select(mine.c.id, mine.c.kind, mine.c.object_id, mine.c.at, mine_hit.label("hit"))
                                .where(mine.c.vector.bool_op("@@")(words))
                                .order_by(mine.c.id.desc()).limit(cap + 1))
            else:
                branches.append(select(document.id, document.kind, document.object_id, document.at, hit.label("hit"))
                                .where(document.vector.bool_op("@@")(words), *in_scope)
                                .order_by(document.id.desc()).limit(cap + 1))
        others = [kind for kind in kinds if kind != "issue"]
        if others:
            # The other kinds together, through their own GIN index (partial: kind <> 'issue', said here in the
            # same words so that PostgreSQL knows it applies): by the primary key it would walk their 90,000
            # documents newest first for words common among issues and found in no business or meeting.
            lows = [KIND_NUMBERS[kind] * ID_SHIFT for kind in others]
            ranked = select(
                document.id, document.kind, document.object_id, document.at, hit.label("hit"),
                func.row_number().over(partition_by=document.kind, order_by=document.id.desc()).label("n"),
            ).where(document.vector.bool_op("@@")(words), document.kind != literal_column("'issue'"),
                    or_(*(and_(document.id >= low, document.id < low + ID_SHIFT, *where_of(kind))
                          for kind, low in zip(others, lows, strict=True)))).subquery()
            branches.append(select(ranked.c.id, ranked.c.kind, ranked.c.object_id, ranked.c.at, ranked.c.hit)
                            .where(ranked.c.n <= cap + 1))
        return branches
    # SQLite: FTS5 walks its matches newest first within the range and the documents are read by rowid as it
    # goes; the title's folded words come along, for the rank.
    fts = table(FTS_TABLE, column("rowid"), column("title", String)).alias("f")
    if narrow:
        return [_narrow_branch(word_count, kinds, where_of, cap, fts)]
    match = text(f"f.{FTS_TABLE} MATCH :fts_query").bindparams(bindparam("fts_query", type_=String))
    for kind in kinds:
        low = KIND_NUMBERS[kind] * ID_SHIFT
        branches.append(select(document.id, document.kind, document.object_id, document.at,
                               _title_holds(fts.c.title, word_count).label("hit"))
                        .select_from(fts.join(document, document.id == fts.c.rowid))
                        .where(match, fts.c.rowid >= low, fts.c.rowid < low + ID_SHIFT, *where_of(kind))
                        .order_by(fts.c.rowid.desc()).limit(cap + 1))
    return branches


def _narrow_branch(word_count: int, kinds, where_of, cap: int, fts):
    """SQLite, for someone who sees a small part of the country (a branch, a business): their documents, read by
    their unit or business, each looked up in FTS5's matches (read once), every kind's newest cap + 1 kept.
    Walking the whole country's matches newest first would read thousands before finding theirs."""
    document = SearchDocument
    # "+ 0": not through the primary key, so that SQLite reads by unit or business.
    unindexed = document.id + 0
    matches = _fts("fts_query")
    kinds_in_scope = or_(*(and_(unindexed >= KIND_NUMBERS[kind] * ID_SHIFT,
                                unindexed < (KIND_NUMBERS[kind] + 1) * ID_SHIFT, *where_of(kind)) for kind in kinds))
    ranked = select(document.id, document.kind, document.object_id, document.at,
                    func.row_number().over(partition_by=document.kind, order_by=document.id.desc()).label("n")) \
        .where(unindexed.in_(matches), kinds_in_scope).subquery()
    # The title by rowid, row by row (a join lets SQLite scan the whole FTS5 table instead).
    title = select(fts.c.title).where(fts.c.rowid == ranked.c.id).scalar_subquery()
    # The limit (no more than there can be) keeps SQLite from folding this into the ranking above, which would
    # look the title up again for every use of the rank.
    return (select(ranked.c.id, ranked.c.kind, ranked.c.object_id, ranked.c.at,
                   _title_holds(title, word_count).label("hit")).where(ranked.c.n <= cap + 1)
            .limit(len(kinds) * (cap + 1)))


def candidates(user: User | None, query: Query, kinds, filters: Filters = Filters(), unit: Unit | None = None,
               cap: int | None = None, *, per_kind: int | None = None, start: int = 0,
               stop: int | None = None) -> _Candidates:
    """One statement: for each kind, the `cap` most recently recorded documents matching `query` that `user` may
    open (`user` None: the public answers), under the filters (`unit` the one they name), ranked (titles
    holding every word first, then the newest); the rows asked for are each kind's first `per_kind`, or those
    from `start` to `stop` over all kinds. Bounding the work per kind keeps a search quick however common its
    words are: the database reads the matches of a kind newest first and stops after cap + 1 in scope, instead
    of reading every match; what lies beyond is counted as "more"."""
    cap = cap or CANDIDATES
    shape = (db.session.get_bind().dialect.name, scope_key(user) if user is not None else None, len(query.words),
             tuple(kinds), filters, unit.path if unit is not None else None, str(office_zone()), cap, per_kind, start,
             stop)
    statement = _STATEMENTS.get(shape)
    if statement is None:
        statement = _candidates_statement(user, len(query.words), kinds, filter_conditions(filters, unit), cap,
                                          per_kind=per_kind, start=start, stop=stop)
        _STATEMENTS.put(shape, statement)
    rows = db.session.execute(statement, _parameters(query)).all()
    counts = {row.kind: min(row.kind_count, cap) for row in rows}
    more = {row.kind: row.kind_count > cap for row in rows}
    chosen = [row for row in rows if (row.place <= per_kind if per_kind is not None else
                                      start < row.overall and (stop is None or row.overall <= stop))]
    return _Candidates(counts, more, chosen)


class _Statements:
    """The statements `candidates` built, by everything that shapes them (what the person may see, the filters,
    the number of words): building one costs more than the database takes to run it, and people search with
    the same few shapes all day. The words themselves are parameters. Bounded: the least recently used go."""

    def __init__(self, size: int) -> None:
        self.size, self.kept, self.lock = size, OrderedDict(), Lock()

    def get(self, shape):
        with self.lock:
            statement = self.kept.get(shape)
            if statement is not None:
                self.kept.move_to_end(shape)
            return statement

    def put(self, shape, statement) -> None:
        with self.lock:
            self.kept[shape] = statement
            while len(self.kept) > self.size:
                self.kept.popitem(last=False)


_STATEMENTS = _Statements(256)


def _candidates_statement(user: User | None, word_count: int, kinds, conditions, cap: int, *,
                          per_kind: int | None, start: int, stop: int | None):
    def where_of(kind):
        return [visible_condition(user, kind), *conditions] if user is not None else list(conditions)

    narrow = user is not None and not sees_every_unit(user)
    branches = [select(branch.subquery()) for branch in _branches(word_count, kinds, where_of, cap, narrow)]
    found = (union_all(*branches) if len(branches) > 1 else branches[0]).subquery()
    # How many each kind had (cap + 1: more than the cap), and which was read last: it only told that.
    counted = select(
        found, func.count().over(partition_by=found.c.kind).label("kind_count"),
        func.row_number().over(partition_by=found.c.kind, order_by=found.c.id.desc()).label("recency"),
    ).subquery()
    order = (counted.c.hit.desc(), counted.c.at.desc().nulls_last(), counted.c.id.desc())
    ranked = select(
        counted.c.id, counted.c.kind, counted.c.object_id, counted.c.kind_count,
        func.row_number().over(partition_by=counted.c.kind, order_by=order).label("place"),
        func.row_number().over(order_by=order).label("overall"),
    ).where(counted.c.recency <= cap).subquery()
    if per_kind is not None:
        wanted = ranked.c.place <= per_kind
    else:
        wanted = and_(ranked.c.overall > start, ranked.c.overall <= stop) if stop is not None \
            else ranked.c.overall > start
    # Every kind found comes back with its count: its first row at least (place 1), asked for or not.
    return select(ranked).where(or_(wanted, ranked.c.place == 1)).order_by(ranked.c.overall)


def issues_matching(text_typed: str | None, *, few: bool = False) -> ColumnElement[bool] | None:
    """Condition on Issue, for the issue list's own filter: the issues whose indexed words (title, description,
    answer, legal basis, the business's name and tax code) hold every word typed, read as the search reads them
    (accents and case aside, đ as d, prefixes); None when nothing is typed, and no issue when nothing
    searchable is. Who sees which issue stays the list's to say; `few` tells that the list is of a part of the
    country (a branch, a Department), whose issues are better each looked up in the index than the other way."""
    if not (text_typed or "").strip():
        return None
    query = parse(text_typed)
    if query.empty:
        return false()
    low = KIND_NUMBERS["issue"] * ID_SHIFT
    if _postgres():
        document = SearchDocument
        words = cast(bindparam("issue_words", query.tsquery(), type_=String), TSQUERY)
        in_kind = (document.vector.bool_op("@@")(words), document.id >= low, document.id < low + ID_SHIFT)
        if few:
            # By the document's key: each of the list's issues looked up by primary key, rather than every
            # match in the country (hundreds of thousands for a common word) gathered first.
            return document_id_of("issue", Issue.id).in_(select(document.id).where(*in_kind))
        found = select(document.object_id).where(*in_kind)
    else:
        rowid = column("rowid")
        found = select(rowid - low).select_from(table(FTS_TABLE)).where(
            text(f"{FTS_TABLE} MATCH :issue_words").bindparams(bindparam("issue_words", query.fts5(), type_=String)),
            rowid >= low, rowid < low + ID_SHIFT)
    return Issue.id.in_(found)


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
    kinds = [filters.kind] if filters.kind else list(KINDS)
    if grouped and not filters.kind:
        found = candidates(user, query, kinds, filters, unit, per_kind=PER_KIND)
        hits = _hits(user, query, found.rows)
        results.groups = [Group(kind, found.counts[kind], [h for h in hits if h.kind == kind], found.more[kind])
                          for kind in KINDS if kind in found.counts]
    else:
        found = candidates(user, query, kinds, filters, unit, start=(page - 1) * per_page, stop=page * per_page)
        results.hits = _hits(user, query, found.rows)
    results.total, results.more = found.total, any(found.more.values())
    return results


def _hits(user: User, query: Query, rows) -> list[Hit]:
    """The rows found, as hits in the same order: each kind's things read in one statement, as plain rows of
    the columns shown where the kind says which (no objects built, tracked, then thrown away)."""
    wanted: dict[str, list[int]] = {}
    for row in rows:
        wanted.setdefault(row.kind, []).append(row.object_id)
    loaded = {}
    for kind, ids in wanted.items():
        source = SOURCES[kind]
        result = db.session.execute(_shown_by_key(kind), {"keys": ids})
        for obj in (result if source.shown is not None else result.unique().scalars()):
            loaded[(kind, _key(source, obj))] = obj
    hits = []
    for row in rows:
        obj = loaded.get((row.kind, row.object_id))
        if obj is not None:  # gone since it was indexed, in the same instant: left out
            hits.append(make_hit(user, row.kind, obj, query))
    return hits


@cache
def _shown_by_key(kind: str):
    """What the page shows of the things of `kind` whose keys are given: built once, as it is the same statement
    on every page of results."""
    source = SOURCES[kind]
    return source.shown_statement().where(source.key.in_(bindparam("keys", expanding=True)))


def _key(source, obj) -> int:
    return obj.meeting_id if source.kind == "minutes" else obj.id


def make_hit(user: User | None, kind: str, obj, query: Query, whole: bool = False) -> Hit:
    """A thing found, its title and snippet (`whole`: all its text) with the words found marked."""
    source = SOURCES[kind]
    entry = source.entry(obj)
    body = entry.body_text if whole else excerpt(entry.body_text, query)
    return Hit(kind=kind, id=_key(source, obj), url=url_for_hit(user, kind, obj), title=entry.title, snippet=body,
               at=entry.at, status=entry.status, query=query)


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
    return _hits(user, query, candidates(user, query, KINDS, cap=SUGGESTIONS, stop=SUGGESTIONS).rows)


def jump_target(user: User, text_typed: str | None) -> str | None:
    """The page a tax code or an issue number names, when `user` may open it: a search box that is given
    "0100109106" or "#1234" goes straight there."""
    typed = (text_typed or "").strip()
    if not typed or len(typed) > 20:
        return None
    code = normalize_tax_code(typed)
    if is_valid_tax_code(code):
        business = db.session.execute(select(Business).where(
            Business.tax_code == code, visible(user, Business))).scalar_one_or_none()
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
    found = candidates(None, query, ["answer"], start=(page - 1) * per_page, stop=page * per_page)
    results.total, results.more = found.total, any(found.more.values())
    rows = found.rows
    issues = {issue.id: issue for issue in db.session.execute(
        SOURCES["answer"].statement().where(Issue.id.in_([r.object_id for r in rows]))).scalars()} if rows else {}
    results.hits = [make_hit(None, "answer", issues[r.object_id], query, whole=True)
                    for r in rows if r.object_id in issues]
    return results
