"""Reports: what a unit and the units below it did in a period, and how branches compare.

Pages read the stored snapshots of each unit's own figures (snapshots.py) and add them up the hierarchy in
Python: a few hundred rows whatever the size of the data, and a fixed number of statements. Issues are counted
where they were raised (an escalated issue stays with the branch that received it) and as a cohort: the
issues raised in the period, and where they stand today.
"""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import joinedload

from .. import officetime
from ..auth.models import User
from ..exceptions import InvalidData, NotFound
from ..extensions import db
from ..issues.models import Issue, Topic
from ..issues.workflow import OPEN_STATUSES
from ..officetime import local_month
from ..org.models import Business, Unit, UnitLevel
from ..scheduling.models import Meeting
from ..scope import (
    is_manager,
    reads_restricted_records,
    report_units_condition,
    sees_every_unit,
    unit_ids_below,
    unit_scoped,
    units_below,
)
from . import index, snapshots
from .models import DisplayScreen, ReportSnapshot, UnitPlan
from .periods import Period

OPEN = [s.value for s in OPEN_STATUSES]


@dataclass
class Figures:
    """What a unit (with the units below it) did in a period. `topics`, `channels` and `months` map a key to
    [raised, answered, overdue]."""

    raised: int = 0
    answered: int = 0
    overdue: int = 0
    on_time: int = 0
    workdays: dict[int, int] = field(default_factory=dict)  # working days taken -> answers
    rated: int = 0
    rating_total: int = 0
    held: int = 0
    engaged: int = 0
    dialogues_target: float | None = None
    engaged_target: float | None = None
    topics: dict[str, list[int]] = field(default_factory=dict)
    channels: dict[str, list[int]] = field(default_factory=dict)
    months: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def from_snapshot(cls, data: dict, without_sensitive: bool = False) -> "Figures":
        """The figures stored; `without_sensitive`: those of the issues on sensitive topics taken out (an
        organiser's report counts only what they may open)."""
        if without_sensitive:
            data = _without(data, data.get("sensitive", {}))

        def triples(table: dict) -> dict[str, list[int]]:
            return {key: [raised, answered, 0] for key, (raised, answered) in table.items()}

        return cls(raised=data.get("raised", 0), answered=data.get("answered", 0), on_time=data.get("on_time", 0),
                   workdays={int(k): v for k, v in data.get("workdays", {}).items()}, rated=data.get("rated", 0),
                   rating_total=data.get("rating_total", 0), held=data.get("held", 0),
                   engaged=data.get("engaged", 0), topics=triples(data.get("topics", {})),
                   channels=triples(data.get("channels", {})), months=triples(data.get("months", {})))

    @property
    def open(self) -> int:
        return self.raised - self.answered

    @property
    def median_workdays(self) -> float | None:
        return median_of_counts(self.workdays)

    @property
    def on_time_share(self) -> float | None:
        return 100 * self.on_time / self.answered if self.answered else None

    @property
    def rating(self) -> float | None:
        return self.rating_total / self.rated if self.rated else None

    def measures(self) -> index.Measures:
        return index.Measures(
            answered=sum(self.workdays.values()), on_time=self.on_time,
            workdays_total=sum(days * count for days, count in self.workdays.items()), rated=self.rated,
            rating_total=self.rating_total, dialogues=self.held, dialogues_target=self.dialogues_target or 0,
            engaged=self.engaged, engaged_target=self.engaged_target or 0)


def _without(data: dict, part: dict) -> dict:
    """A snapshot's figures less `part` of them (counts, maps of counts, maps of pairs); a breakdown's entry
    left with nothing goes."""
    def less(mine, theirs):
        if isinstance(mine, dict):
            kept = {key: less(value, theirs.get(key)) if key in theirs else value for key, value in mine.items()}
            return {key: value for key, value in kept.items() if value and value != [0, 0]}
        if isinstance(mine, list):
            return [a - b for a, b in zip(mine, theirs, strict=True)]
        return mine - (theirs or 0)

    return {key: less(value, part[key]) if key in part else value for key, value in data.items()}


def median_of_counts(counts: dict[int, int]) -> float | None:
    """The median of values given as value -> how many times."""
    total = sum(counts.values())
    if not total:
        return None
    middle, seen, lower = (total - 1) / 2, 0, None
    for value in sorted(counts):
        seen += counts[value]
        if lower is None and seen > int(middle):
            lower = value
        if seen > int(middle + 0.5):
            return (lower + value) / 2
    return float(lower)


@dataclass
class ReportScope:
    """The unit reported on and every unit below it, read once."""

    unit: Unit
    units: list[Unit]
    whole_country: bool
    # Issues on sensitive topics (an officer's conduct) are counted only for those who may open them (managers).
    without_sensitive: bool = False

    def __post_init__(self):
        # Read each unit's columns once: report pages walk the tree for every row they show.
        self.names = {u.id: u.name for u in self.units}
        self.paths = {u.id: u.path for u in self.units}
        self._children: dict[int | None, list[Unit]] = {}
        for u in self.units:
            self._children.setdefault(u.parent_id, []).append(u)

    def column_condition(self, column):
        if self.whole_country:
            return true()
        return column.in_(units_below(self.unit))

    def children(self, unit: Unit) -> list[Unit]:
        return self._children.get(unit.id, [])


def report_scope(user: User, unit_code: str | None) -> ReportScope:
    """The unit a report is about: the one named (if the user may read its report), else the user's own (an
    admin: the top)."""
    if unit_code:
        unit = db.session.execute(
            select(Unit).where(Unit.code == unit_code, report_units_condition(user))).scalar_one_or_none()
        if unit is None:
            raise NotFound(_l("No such unit among yours."))
    elif user.unit is not None:
        unit = user.unit
    else:
        unit = db.session.execute(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id)).scalars().first()
        if unit is None:
            raise NotFound(_l("There is no unit yet."))
    units = list(db.session.execute(
        select(Unit).where(Unit.id.in_(units_below(unit))).order_by(Unit.path)).scalars())
    whole_country = unit.parent_id is None and sees_every_unit(user)
    return ReportScope(unit, units, whole_country, without_sensitive=not reads_restricted_records(user))


def unit_figures(scope: ReportScope, periods: list[Period], units: list[Unit], breakdowns: bool = False,
                 _again: bool = True
                 ) -> tuple[dict[tuple[int, int], Figures], dict[tuple[int, int], Figures], datetime | None]:
    """The figures of each of `units` with the units below it, per (period index, unit id), each one's own
    figures, and when the oldest of them was computed: the stored snapshots, the overdue issues and the plans,
    a fixed number of statements whatever the number of units and the size of the data."""
    snapshots.ensure_fresh(periods)
    index_of = {(p.kind.value, p.year, p.number): i for i, p in enumerate(periods)}
    figures: dict[tuple[int, int], Figures] = {}
    own: dict[tuple[int, int], Figures] = {}
    columns = [ReportSnapshot.kind, ReportSnapshot.year, ReportSnapshot.number, ReportSnapshot.unit_id,
               ReportSnapshot.computed_at, ReportSnapshot.figures]
    as_of, stale = None, set()
    for kind, year, number, unit_id, computed_at, data, *more in db.session.execute(
        select(*columns, *([ReportSnapshot.breakdowns] if breakdowns else []))
        .where(or_(*(and_(ReportSnapshot.kind == p.kind.value, ReportSnapshot.year == p.year,
                          ReportSnapshot.number == p.number) for p in periods)),
               ReportSnapshot.unit_id.in_([u.id for u in units]))
    ):
        key = (index_of[(kind, year, number)], unit_id)
        if scope.without_sensitive and "sensitive" not in data:  # written before it was kept apart
            stale.add(key[0])
        figures[key] = Figures.from_snapshot({**data, **(more[0] if more else {})}, scope.without_sensitive)
        own[key] = Figures.from_snapshot(data.get("own", data), scope.without_sensitive)
        as_of = computed_at if as_of is None else min(as_of, computed_at)
    if stale and _again:  # fail closed: what an organiser may not read is never shown for want of its part
        snapshots.refresh([periods[i] for i in sorted(stale)])
        db.session.commit()
        return unit_figures(scope, periods, units, breakdowns, _again=False)
    _add_overdue(scope, periods, units, figures, own)
    _apply_plans(scope, periods, figures, own)
    return figures, own, as_of


def _add_overdue(scope: ReportScope, periods: list[Period], units: list[Unit],
                 figures: dict[tuple[int, int], Figures], own: dict[tuple[int, int], Figures]) -> None:
    """Issues raised in the periods, still open, past their due date today: counted live (they change with
    the calendar, not with the data). The statement reads the open issues by due date only (a few thousand
    in the whole country); the periods are picked from its rows by month, and each row counts for every
    unit asked about that it lies below."""
    month = local_month(Issue.created_at).label("month")
    bucket_of_month = {f"{y}-{m:02d}": i for i, p in enumerate(periods) for y, m in p.months}
    asked = {u.id for u in units}
    # A unit's path lists its ancestors' ids ("/1/7/42/"): the units asked about that a row counts for.
    counted_for = {unit_id: [int(a) for a in path.strip("/").split("/") if int(a) in asked]
                   for unit_id, path in scope.paths.items()}
    for unit_id, topic_id, channel, month_name, count in db.session.execute(
        select(Issue.origin_unit_id, Issue.topic_id, Issue.channel, month, func.count())
        .where(Issue.status.in_(OPEN), Issue.due_date < officetime.today(),
               scope.column_condition(Issue.origin_unit_id),
               *([Issue.topic_id.not_in(select(Topic.id).where(Topic.sensitive))] if scope.without_sensitive else []))
        .group_by(Issue.origin_unit_id, Issue.topic_id, Issue.channel, month)
    ):
        bucket = bucket_of_month.get(month_name)
        if bucket is None:
            continue
        for above in counted_for.get(unit_id, ()):
            f = figures.setdefault((bucket, above), Figures())
            f.overdue += count
            for table, key in ((f.topics, str(topic_id)), (f.channels, channel), (f.months, month_name)):
                table.setdefault(key, [0, 0, 0])[2] += count
        if unit_id in asked:
            own.setdefault((bucket, unit_id), Figures()).overdue += count


def _apply_plans(scope: ReportScope, periods: list[Period], figures: dict[tuple[int, int], Figures],
                 own: dict[tuple[int, int], Figures]) -> None:
    """Each unit's target for each period: its own plan for the year, pro-rated to the period; a unit
    without a plan of its own is measured against the sum of the plans below it."""
    years = sorted({p.year for p in periods})
    plans = {(plan.unit_id, plan.year): plan for plan in db.session.execute(
        select(UnitPlan).where(UnitPlan.year.in_(years), scope.column_condition(UnitPlan.unit_id))).scalars()}
    deepest_first = sorted(scope.units, key=lambda u: -u.path.count("/"))
    for i, period in enumerate(periods):
        targets: dict[int, tuple[float, float] | None] = {}
        for unit in deepest_first:
            plan = plans.get((unit.id, period.year))
            if plan is not None:
                targets[unit.id] = (plan.dialogues * period.share_of_year, plan.businesses * period.share_of_year)
                continue
            below = [targets[c.id] for c in scope.children(unit) if targets.get(c.id) is not None]
            targets[unit.id] = (sum(t[0] for t in below), sum(t[1] for t in below)) if below else None
        for unit_id, target in targets.items():
            if target is not None:
                for table in (figures, own):
                    if table is figures or (i, unit_id) in own:
                        f = table.setdefault((i, unit_id), Figures())
                        f.dialogues_target, f.engaged_target = target


@dataclass
class Breakdown:
    """Issues raised in the period by one topic, channel or month."""

    key: str
    label: str
    raised: int = 0
    answered: int = 0
    overdue: int = 0


@dataclass
class Dashboard:
    scope: ReportScope
    period: Period
    as_of: datetime | None  # when the oldest stored figure shown was computed
    total: Figures
    units: list[tuple[Unit, Figures]]
    topics: list[Breakdown]
    channels: list[Breakdown]
    months: list[Breakdown]


def dashboard(scope: ReportScope, period: Period, channel_names: dict) -> Dashboard:
    """The dashboard of a unit and the units below it for one period."""
    children = scope.children(scope.unit)
    figures, own, as_of = unit_figures(scope, [period], [scope.unit, *children], breakdowns=True)
    total = figures.get((0, scope.unit.id), Figures())
    rows = [(child, figures.get((0, child.id), Figures())) for child in children]
    mine = own.get((0, scope.unit.id))
    if rows and mine is not None and (mine.raised or mine.held or mine.engaged):
        rows.insert(0, (scope.unit, mine))  # what the unit did itself, beside what the units below did
    topics = db.session.execute(select(Topic).order_by(Topic.position, Topic.name).where(
        *([Topic.sensitive.is_(False)] if scope.without_sensitive else []))).scalars().all()

    def breakdown(table: dict, entries: list[tuple[str, str]]) -> list[Breakdown]:
        return [Breakdown(key, label, *table.get(key, [0, 0, 0])) for key, label in entries]

    by_topic = sorted((Breakdown(t.code, t.name, *total.topics.get(str(t.id), [0, 0, 0])) for t in topics),
                      key=lambda b: -b.raised)
    return Dashboard(scope, period, as_of, total, rows, by_topic,
                     breakdown(total.channels, [(code, str(name)) for code, name in channel_names.items()]),
                     breakdown(total.months, [(f"{y}-{m:02d}", f"{m:02d}/{y}") for y, m in period.months]))


@dataclass
class RankingRow:
    unit: Unit
    figures: Figures
    score: index.Score
    rank: int | None
    previous_score: index.Score
    previous_rank: int | None

    @property
    def change(self) -> float | None:
        if self.score.index is None or self.previous_score.index is None:
            return None
        return self.score.index - self.previous_score.index

    @property
    def rank_change(self) -> int | None:
        """Places gained (positive) since the last period."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank


def ranking(scope: ReportScope, period: Period) -> tuple[list[RankingRow], datetime | None]:
    """The branches below the scope's unit ranked by the index for the period, with the last period's, and
    when the oldest figure was computed."""
    branches = [u for u in scope.units if u.level == UnitLevel.BRANCH]
    figures, _, as_of = unit_figures(scope, [period.previous(), period], branches)
    now = {b.id: figures.get((1, b.id), Figures()) for b in branches}
    scores = {b.id: index.score(now[b.id].measures()) for b in branches}
    before = {b.id: index.score(figures.get((0, b.id), Figures()).measures()) for b in branches}
    ranks, previous_ranks = index.rank(scores), index.rank(before)
    rows = [RankingRow(b, now[b.id], scores[b.id], ranks.get(b.id), before[b.id], previous_ranks.get(b.id))
            for b in branches]
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.unit.name))
    return rows, as_of


def engaged_businesses_query(scope: ReportScope, period: Period):
    """The businesses engaged in the period, for the list behind the figure."""
    engaged = snapshots.engagements(period).subquery()
    return select(Business).where(Business.id.in_(
        select(engaged.c.business_id).where(scope.column_condition(engaged.c.unit_id)))).order_by(Business.name)


def held_meetings_query(scope: ReportScope, period: Period):
    """The meetings held in the period, latest first, each with its unit, for the list behind the figure."""
    return (select(Meeting).where(*snapshots.held_conditions(snapshots.instant(period.start),
                                                              snapshots.instant(period.end), datetime.now(UTC)),
                                  scope.column_condition(Meeting.unit_id))
            .order_by(Meeting.start.desc()).options(joinedload(Meeting.unit)))


# Plans

def plans_for(scope: ReportScope, year: int) -> dict[int, UnitPlan]:
    return {p.unit_id: p for p in db.session.execute(
        select(UnitPlan).where(UnitPlan.year == year, scope.column_condition(UnitPlan.unit_id))).scalars()}


def set_plans(user: User, year: int, plans: dict[Unit, tuple[int | None, int | None]]) -> None:
    """Set the plans of several units for a year, all or none. Both numbers empty removes a unit's plan.

    Admins and managers set the plans of their unit and the units below it. Refusals are InvalidData
    with one message per unit id."""
    if not is_manager(user):
        raise InvalidData(_l("Only a manager or an administrator sets the plans."))
    if not 2000 <= year <= 2100:
        raise InvalidData.on("year", _l("Choose a year between 2000 and 2100."))
    problems = {str(unit.id): [_l("Enter a number between 0 and 100,000.")] for unit, numbers in plans.items()
                if any(n is not None and not 0 <= n <= 100_000 for n in numbers)}
    if problems:
        raise InvalidData(_l("Some of the data is not valid"), problems)
    existing = {p.unit_id: p for p in db.session.execute(
        select(UnitPlan).where(UnitPlan.year == year, UnitPlan.unit_id.in_([u.id for u in plans]))).scalars()}
    for unit, (dialogues, businesses) in plans.items():
        plan = existing.get(unit.id)
        if dialogues is None and businesses is None:
            if plan is not None:
                db.session.delete(plan)
            continue
        if plan is None:
            plan = UnitPlan(unit_id=unit.id, year=year)
            db.session.add(plan)
        plan.dialogues, plan.businesses = dialogues or 0, businesses or 0


# Waiting-room screens

def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_display(user: User, unit: Unit, name: str) -> tuple[DisplayScreen, str]:
    """A new screen for `unit`; the token is returned once and only its hash is kept."""
    if not name.strip():
        raise InvalidData.on("name", _l("Give the screen a name, such as where it hangs."))
    token = secrets.token_urlsafe(24)
    screen = DisplayScreen(unit_id=unit.id, name=name.strip()[:255], token_hash=token_hash(token),
                           created_by_id=user.id)
    db.session.add(screen)
    return screen, token


def screens_of(user: User) -> list[DisplayScreen]:
    """The screens still on at the units `user` may see, newest first."""
    return list(db.session.execute(
        select(DisplayScreen).where(unit_scoped(user, DisplayScreen.unit_id), DisplayScreen.revoked.is_(False))
        .options(joinedload(DisplayScreen.unit)).order_by(DisplayScreen.created_at.desc())
    ).scalars())


def revoke_display(user: User, screen_id: int) -> DisplayScreen | None:
    """Turn off the screen if it belongs to a unit `user` may see; None when there is no such screen."""
    screen = db.session.execute(
        select(DisplayScreen).where(DisplayScreen.id == screen_id, unit_scoped(user, DisplayScreen.unit_id))
    ).scalar_one_or_none()
    if screen is not None:
        screen.revoked = True
    return screen


def display_for_token(token: str) -> DisplayScreen | None:
    if not token or len(token) > 100:
        return None
    return db.session.execute(
        select(DisplayScreen).where(DisplayScreen.token_hash == token_hash(token), DisplayScreen.revoked.is_(False))
    ).scalar_one_or_none()


def published_answers(unit: Unit, limit: int = 6) -> list[Issue]:
    """The latest questions published with their answer, raised at the unit or below."""
    return list(db.session.execute(
        select(Issue).where(Issue.published, Issue.origin_unit_id.in_(unit_ids_below(unit.id)))
        .order_by(Issue.answered_at.desc(), Issue.id.desc()).limit(limit)).scalars())

