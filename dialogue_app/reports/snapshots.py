"""Report snapshots: each unit's own figures per period, computed from the data in SQL and stored, so that
a report of the whole country reads a few hundred rows whatever the number of issues.

Freshness: every flush that changes what a report counts (an issue, a rating, attendance, a meeting, a
contact with a business) marks the local month it belongs to as dirty, in the same transaction. Before a
report is read, dirty months are refreshed (the month, its quarter and its year); `flask refresh-reports
--loop` does the same in the background so that readers seldom wait. A refresh recomputes whole periods,
so snapshots are exact, never patched.

What changes with the calendar alone (issues becoming overdue) is not in the snapshots: the pages count it
live, over the open issues only.
"""

import fcntl
import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time

from flask import current_app
from sqlalchemy import and_, case, distinct, func, inspect, or_, select, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .. import officetime
from ..attendance.models import Attendee
from ..db import utcnow
from ..extensions import db
from ..issues.models import Issue, Rating, Topic
from ..issues.workflow import DONE_STATUSES
from ..officetime import office_zone
from ..org.models import Interaction, Unit
from ..scheduling.models import Meeting
from ..scope import lies_below
from .models import ReportDirtyMonth, ReportSnapshot
from .periods import Period, PeriodKind
from .services import local_month

DONE = [s.value for s in DONE_STATUSES]
BREAKDOWNS = ("topics", "channels", "months")


def instant(day: date) -> datetime:
    """The start of an office-local day, as the UTC instant the database stores."""
    return datetime.combine(day, time.min, tzinfo=office_zone()).astimezone(UTC)


def month_key(value: date | datetime) -> int:
    """202611 for any instant or day of November 2026, office time."""
    if isinstance(value, datetime):
        value = officetime.local(value).date()
    return value.year * 100 + value.month


def periods_of_month(key: int) -> list[Period]:
    year, month = divmod(key, 100)
    return [Period(PeriodKind.MONTH, year, month), Period(PeriodKind.QUARTER, year, (month - 1) // 3 + 1),
            Period(PeriodKind.YEAR, year)]


# -- Computing --------------------------------------------------------------------------------------------------

def _local_month_sql(column):
    return local_month(column)


SUMMED = ("raised", "answered", "on_time", "rated", "rating_total", "held")


def compute(period: Period, now: datetime | None = None) -> dict[int, dict]:
    """Each unit's figures for `period` with those of every unit below it, as stored: `engaged` counts a
    business once for the whole subtree, and a unit with units below also keeps its own figures (`own`).
    Units with nothing to show are left out."""
    own = own_figures(period, now)
    units = db.session.execute(select(Unit.id, Unit.path, Unit.parent_id)).all()
    parents = {parent for _, _, parent in units if parent is not None}
    stored: dict[int, dict] = {}
    for unit_id, path, _ in units:
        members = [own[u] for u, p, _ in units if p.startswith(path) and u in own]
        if not members:
            continue
        total = _summed(members)
        total["sensitive"] = _summed([m["sensitive"] for m in members])
        total["engaged"] = own.get(unit_id, {}).get("engaged_below", 0)
        if unit_id in parents and unit_id in own:
            mine = own[unit_id]
            total["own"] = {name: mine[name] for name in (*SUMMED, "workdays", "engaged", "sensitive")}
        stored[unit_id] = total
    return stored


def _summed(figures: list[dict]) -> dict:
    total = {name: sum(f.get(name, 0) for f in figures) for name in SUMMED}
    total["workdays"] = _summed_maps([f.get("workdays", {}) for f in figures])
    for table in BREAKDOWNS:
        total[table] = _summed_pairs([f.get(table, {}) for f in figures])
    return total


def _summed_maps(maps: list[dict]) -> dict:
    total: dict = {}
    for counts in maps:
        for key, count in counts.items():
            total[key] = total.get(key, 0) + count
    return total


def _summed_pairs(maps: list[dict]) -> dict:
    total: dict = {}
    for pairs in maps:
        for key, (raised, answered) in pairs.items():
            pair = total.setdefault(key, [0, 0])
            pair[0] += raised
            pair[1] += answered
    return total


def own_figures(period: Period, now: datetime | None = None) -> dict[int, dict]:
    """Every unit's own figures for `period` (units with nothing to show are left out). Six statements."""
    now = now or datetime.now(UTC)
    start, end = instant(period.start), instant(period.end)
    figures: dict[int, dict] = defaultdict(lambda: {
        "raised": 0, "answered": 0, "on_time": 0, "workdays": {}, "rated": 0, "rating_total": 0, "held": 0,
        "engaged": 0, "engaged_below": 0, "topics": {}, "channels": {}, "months": {},
        # The part of the issue figures that is about sensitive topics, which organisers may not read: their
        # reports leave it out (services.Figures.from_snapshot).
        "sensitive": {"raised": 0, "answered": 0, "on_time": 0, "workdays": {}, "rated": 0, "rating_total": 0,
                      "topics": {}, "channels": {}, "months": {}}})
    sensitive = set(db.session.execute(select(Topic.id).where(Topic.sensitive)).scalars())
    in_period = and_(Issue.created_at >= start, Issue.created_at < end)
    done = Issue.status.in_(DONE)
    month = _local_month_sql(Issue.created_at).label("month")
    for unit_id, topic_id, channel, month_name, workdays, raised, answered, on_time in db.session.execute(
        select(Issue.origin_unit_id, Issue.topic_id, Issue.channel, month, Issue.answer_workdays, func.count(),
               func.sum(case((done, 1), else_=0)), func.sum(case((and_(done, Issue.answered_on_time), 1), else_=0)))
        .where(in_period).group_by(Issue.origin_unit_id, Issue.topic_id, Issue.channel, month, Issue.answer_workdays)
    ):
        answered, on_time = answered or 0, on_time or 0
        for f in (figures[unit_id], figures[unit_id]["sensitive"]) if topic_id in sensitive else (figures[unit_id],):
            f["raised"] += raised
            f["answered"] += answered
            f["on_time"] += on_time
            if workdays is not None and answered:
                f["workdays"][str(workdays)] = f["workdays"].get(str(workdays), 0) + answered
            for table, key in (("topics", str(topic_id)), ("channels", channel), ("months", month_name)):
                pair = f[table].setdefault(key, [0, 0])
                pair[0] += raised
                pair[1] += answered
    for unit_id, topic_id, rated, total in db.session.execute(
        select(Issue.origin_unit_id, Issue.topic_id, func.count(), func.sum(Rating.score))
        .join(Rating, Rating.issue_id == Issue.id).where(in_period).group_by(Issue.origin_unit_id, Issue.topic_id)
    ):
        for f in (figures[unit_id], figures[unit_id]["sensitive"]) if topic_id in sensitive else (figures[unit_id],):
            f["rated"] += rated
            f["rating_total"] += total or 0
    for unit_id, held in db.session.execute(
        select(Meeting.unit_id, func.count()).where(*held_conditions(start, end, now)).group_by(Meeting.unit_id)
    ):
        figures[unit_id]["held"] = held
    engaged = engagements(period).subquery()
    for unit_id, count in db.session.execute(
        select(engaged.c.unit_id, func.count(distinct(engaged.c.business_id))).group_by(engaged.c.unit_id)
    ):
        figures[unit_id]["engaged"] = count
    # A business met by a branch and by its Department counts once for the Department: distinct businesses
    # over each unit's whole subtree, in SQL (a unit's path is a prefix of the paths below it).
    above = Unit.__table__.alias("above")
    below = Unit.__table__.alias("below")
    for unit_id, count in db.session.execute(
        select(above.c.id, func.count(distinct(engaged.c.business_id)))
        .select_from(engaged.join(below, below.c.id == engaged.c.unit_id)
                     .join(above, lies_below(below.c.path, above.c.path)))
        .group_by(above.c.id)
    ):
        figures[unit_id]["engaged_below"] = count
    return dict(figures)


def held_conditions(start: datetime, end: datetime, now: datetime) -> list:
    """A dialogue counts as held once it has begun, was not cancelled, and somebody's attendance was taken."""
    return [Meeting.start >= start, Meeting.start < end, Meeting.start <= now, Meeting.status != "cancelled",
            select(Attendee.id).where(Attendee.meeting_id == Meeting.id, Attendee.attendance == "present").exists()]


def engagements(period: Period):
    """(unit_id, business_id) each time a business was met (present at a dialogue), visited or contacted (an
    interaction), or brought an issue, in the period."""
    start, end = instant(period.start), instant(period.end)
    met = (select(Meeting.unit_id.label("unit_id"), Attendee.business_id.label("business_id"))
           .join(Meeting, Meeting.id == Attendee.meeting_id)
           .where(Attendee.business_id.is_not(None), Attendee.attendance == "present",
                  Meeting.status != "cancelled", Meeting.start >= start, Meeting.start < end))
    contacted = select(Interaction.unit_id, Interaction.business_id).where(
        Interaction.happened_on >= period.start, Interaction.happened_on < period.end)
    # A complaint about an officer (a sensitive topic) is not a dialogue, and a list of the businesses engaged,
    # which organisers read, must not name one whose only contact it was.
    raised = select(Issue.origin_unit_id, Issue.business_id).where(
        Issue.created_at >= start, Issue.created_at < end,
        Issue.topic_id.not_in(select(Topic.id).where(Topic.sensitive)))
    return union(met, contacted, raised)


def _upsert(rows: list[dict]) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ReportSnapshot.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["kind", "year", "number", "unit_id"],
        set_={"figures": statement.excluded.figures, "breakdowns": statement.excluded.breakdowns,
              "computed_at": statement.excluded.computed_at})
    db.session.execute(statement, rows)


def store(period: Period, figures: dict[int, dict]) -> None:
    """Replace the period's snapshots by `figures` (a unit no longer in them keeps none)."""
    now = utcnow()
    key = {"kind": period.kind.value, "year": period.year, "number": period.number}
    db.session.execute(db.delete(ReportSnapshot).where(
        *(getattr(ReportSnapshot, name) == value for name, value in key.items()),
        ReportSnapshot.unit_id.not_in(list(figures) or [0])))
    if not figures and (root := _root_id()) is not None:
        # An empty period is remembered too, so that it is not computed at every read (with its sensitive part,
        # empty, or an organiser's read would take it for one written before that part was kept).
        figures = {root: {"sensitive": {}}}
    if figures:
        _upsert([{**key, "unit_id": unit_id, "computed_at": now,
                  "figures": {k: v for k, v in data.items() if k not in BREAKDOWNS},
                  "breakdowns": {k: v for k, v in data.items() if k in BREAKDOWNS}}
                 for unit_id, data in figures.items()])


def _root_id() -> int | None:
    return db.session.execute(select(Unit.id).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1)).scalar()


def refresh(periods: list[Period]) -> None:
    for period in periods:
        store(period, compute(period))


# -- Freshness ----------------------------------------------------------------------------------------------------

def refresh_dirty() -> int:
    """Recompute every period a dirty month belongs to, then clear the marks that were not renewed meanwhile.
    Returns the number of periods recomputed. The caller commits."""
    marks = db.session.execute(select(ReportDirtyMonth.month, ReportDirtyMonth.marked_at)).all()
    if not marks:
        return 0
    periods = sorted({p for month, _ in marks for p in periods_of_month(month)},
                     key=lambda p: (p.year, p.kind.value, p.number))
    refresh(periods)
    for month, marked_at in marks:
        db.session.execute(db.delete(ReportDirtyMonth).where(ReportDirtyMonth.month == month,
                                                             ReportDirtyMonth.marked_at <= marked_at))
    return len(periods)


def refresh_changed() -> int:
    """Recompute the periods whose months changed, unless another process is doing it now; commit. Returns the
    number of periods recomputed (0 when another process holds the lock)."""
    with refresh_lock() as mine:
        count = refresh_dirty() if mine else 0
        db.session.commit()  # also ends the transaction that holds PostgreSQL's lock
    return count


def ensure_fresh(periods: list[Period]) -> None:
    """Make the snapshots of `periods` current enough to read: periods never computed are computed now;
    changed months are recomputed here unless a background refresher does it (REPORTS_REFRESHED_IN_BACKGROUND),
    and only by one reader at a time: the others read the stored figures rather than queue behind it."""
    if not current_app.config.get("REPORTS_REFRESHED_IN_BACKGROUND"):
        with refresh_lock() as mine:
            if mine and refresh_dirty():
                db.session.commit()
    wanted = {(p.kind.value, p.year, p.number): p for p in periods}
    # Every computed period has a row for the top unit (whose subtree holds everything): one index lookup each.
    present = set(db.session.execute(
        select(ReportSnapshot.kind, ReportSnapshot.year, ReportSnapshot.number)
        .where(or_(*(and_(ReportSnapshot.kind == p.kind.value, ReportSnapshot.year == p.year,
                          ReportSnapshot.number == p.number) for p in periods)),
               ReportSnapshot.unit_id.in_(select(Unit.id).where(Unit.parent_id.is_(None))))).all())
    missing = [p for key, p in wanted.items() if key not in present]
    refresh(missing)
    if missing:
        db.session.commit()


# Any number: the key of the PostgreSQL advisory lock held while snapshots are recomputed.
REFRESH_LOCK_KEY = 0x5245504F  # "REPO"


@contextmanager
def refresh_lock() -> Iterator[bool]:
    """Whether this process may recompute snapshots now (one at a time). On PostgreSQL an advisory lock
    held until the transaction ends; on SQLite (one machine) a lock on a file in the instance folder."""
    if db.session.get_bind().dialect.name == "postgresql":
        yield bool(db.session.execute(select(func.pg_try_advisory_xact_lock(REFRESH_LOCK_KEY))).scalar())
        return
    with open(os.path.join(current_app.instance_path, "reports-refresh.lock"), "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def months_touched(session: Session) -> set[int]:
    """The months whose figures the pending changes of `session` alter, before and after the change."""
    months: set[int] = set()

    def add(value) -> None:
        if value is not None:
            months.add(month_key(value))

    def old_and_new(obj, name: str) -> None:
        history = inspect(obj).attrs[name].history
        for value in (*history.deleted, *history.added, *history.unchanged):
            add(value)

    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Issue):
            old_and_new(obj, "created_at")
            if obj.created_at is None:  # created now: its default is this instant
                add(utcnow())
        elif isinstance(obj, Rating):
            issue = obj.issue if "issue" not in inspect(obj).unloaded else session.get(Issue, obj.issue_id)
            add(issue.created_at if issue is not None else None)
        elif isinstance(obj, Attendee | Meeting):
            meeting = obj if isinstance(obj, Meeting) else (
                obj.meeting if "meeting" not in inspect(obj).unloaded else session.get(Meeting, obj.meeting_id))
            if meeting is not None:
                old_and_new(meeting, "start")
        elif isinstance(obj, Interaction):
            old_and_new(obj, "happened_on")
    return months


def sensitivity_changed(session: Session) -> bool:
    """Whether a pending change makes a topic sensitive or no longer so: every snapshot keeps that topic's
    issues apart (organisers' reports leave them out) or not, so none still holds. (A new topic has no issues.)"""
    return any(isinstance(obj, Topic) and inspect(obj).attrs.sensitive.history.has_changes()
               for obj in session.dirty)


def mark_dirty_months(session: Session, flush_context, instances) -> None:
    with session.no_autoflush:
        months = months_touched(session)
        if sensitivity_changed(session):
            session.info["report_snapshots_stale"] = True
    if months:
        session.info.setdefault("report_months", set()).update(months)


def write_dirty_months(session: Session, flush_context) -> None:
    if session.info.pop("report_snapshots_stale", False):  # computed again, period by period, when read
        session.connection().execute(ReportSnapshot.__table__.delete())
    months = session.info.pop("report_months", None)
    if not months:
        return
    connection = session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(ReportDirtyMonth.__table__)
    statement = statement.on_conflict_do_update(index_elements=["month"],
                                                set_={"marked_at": statement.excluded.marked_at})
    now = utcnow()
    connection.execute(statement, [{"month": month, "marked_at": now} for month in sorted(months)])



def all_periods(years) -> list[Period]:
    """Every year, quarter and month of `years`."""
    return [Period(kind, year, number) for year in years
            for kind, count in ((PeriodKind.YEAR, 1), (PeriodKind.QUARTER, 4), (PeriodKind.MONTH, 12))
            for number in range(1, count + 1)]


def years_with_data() -> range:
    first = db.session.execute(select(func.min(Issue.created_at))).scalar()
    first_meeting = db.session.execute(select(func.min(Meeting.start))).scalar()
    starts = [d for d in (first, first_meeting) if d is not None]
    this_year = officetime.today().year
    return range(min(d.year for d in starts) if starts else this_year, this_year + 1)
