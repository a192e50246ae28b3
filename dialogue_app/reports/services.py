"""Reports: what a unit and the units below it did in a period, and how branches compare.

Every figure is aggregated in SQL over the period's rows, a fixed number of statements whatever the size
of the data; Python only adds up the few hundred rows that come back (one per unit, or per topic, channel
and month). Issues are counted where they were raised (an escalated issue stays with the branch that
received it) and as a cohort: the issues raised in the period, and where they stand today.
"""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, case, distinct, exists, func, literal, select, true, union
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..attendance.models import Attendee
from ..auth.models import Role, User
from ..exceptions import InvalidData, NotFound
from ..extensions import db
from ..issues.models import Issue, Rating, Topic
from ..issues.services import office_today, visible_issues_condition
from ..issues.workflow import DONE_STATUSES, OPEN_STATUSES
from ..org.models import Interaction, Unit, UnitLevel
from ..scheduling.models import Meeting
from ..scheduling.services import zone_named
from ..scope import sees_every_unit, visible_units_condition
from . import index
from .models import DisplayScreen, UnitPlan
from .periods import Period

DONE = [s.value for s in DONE_STATUSES]
OPEN = [s.value for s in OPEN_STATUSES]


class local_month(FunctionElement):
    """"YYYY-MM" of a UTC instant in the office's time zone.

    Vietnam has kept UTC+7 without daylight saving since 1975, so SQLite's fixed offset is exact for every
    date the app stores."""

    type = String()
    inherit_cache = True


@compiles(local_month, "sqlite")
def _local_month_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)}, '+7 hours')"


@compiles(local_month, "postgresql")
def _local_month_postgresql(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM')"


def instant(day: date) -> datetime:
    """The start of an office-local day, as the UTC instant the database stores."""
    return datetime.combine(day, time.min, tzinfo=zone_named(None)).astimezone(UTC)


@dataclass
class Figures:
    """What a unit (with the units below it) did in a period."""

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

    def add(self, other: "Figures") -> None:
        for name in ("raised", "answered", "overdue", "on_time", "rated", "rating_total", "held", "engaged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for days, count in other.workdays.items():
            self.workdays[days] = self.workdays.get(days, 0) + count

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

    def column_condition(self, column):
        if self.whole_country:
            return true()
        return column.in_(select(Unit.id).where(Unit.path.startswith(self.unit.path)).scalar_subquery())

    @property
    def names(self) -> dict[int, str]:
        return {u.id: u.name for u in self.units}

    def below(self, unit: Unit) -> list[Unit]:
        if unit.level == UnitLevel.BRANCH:  # branches are the lowest level: nothing below them
            return [unit]
        return [u for u in self.units if u.path.startswith(unit.path)]

    def children(self, unit: Unit) -> list[Unit]:
        return [u for u in self.units if u.parent_id == unit.id]


def report_scope(user: User, unit_code: str | None) -> ReportScope:
    """The unit a report is about: the one named (if the user sees it), else the user's own (an admin: the top)."""
    if unit_code:
        unit = db.session.execute(
            select(Unit).where(Unit.code == unit_code, visible_units_condition(user))).scalar_one_or_none()
        if unit is None:
            raise NotFound(_l("No such unit among yours."))
    elif user.unit is not None:
        unit = user.unit
    else:
        unit = db.session.execute(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id)).scalars().first()
        if unit is None:
            raise NotFound(_l("There is no unit yet."))
    units = list(db.session.execute(
        select(Unit).where(Unit.path.startswith(unit.path)).order_by(Unit.path)).scalars())
    whole_country = unit.parent_id is None and sees_every_unit(user)
    return ReportScope(unit, units, whole_country)


def _period_bucket(column, periods: list[Period]):
    """Which of the (contiguous, ascending) periods an instant falls in, as 0, 1, …"""
    if len(periods) == 1:
        return literal(0)
    return case(*[(column >= instant(p.start), i) for i, p in reversed(list(enumerate(periods)))][:-1],
                else_=0)


def _in_periods(column, periods: list[Period]):
    return and_(column >= instant(periods[0].start), column < instant(periods[-1].end))


def unit_figures(user: User, scope: ReportScope, periods: list[Period]) -> dict[tuple[int, int], Figures]:
    """Figures per (period index, unit id) for every unit of the scope with something to show.

    Five statements: issues, ratings, dialogues held, businesses engaged, plans."""
    today = office_today()
    figures: dict[tuple[int, int], Figures] = {}

    def at(bucket: int, unit_id: int) -> Figures:
        return figures.setdefault((bucket, unit_id), Figures())

    issue_where = and_(_in_periods(Issue.created_at, periods), scope.column_condition(Issue.origin_unit_id),
                       visible_issues_condition(user))
    bucket = _period_bucket(Issue.created_at, periods).label("bucket")
    done = Issue.status.in_(DONE)
    rows = db.session.execute(
        select(bucket, Issue.origin_unit_id, Issue.answer_workdays, func.count(),
               func.sum(case((done, 1), else_=0)),
               func.sum(case((and_(Issue.status.in_(OPEN), Issue.due_date < today), 1), else_=0)),
               func.sum(case((and_(done, Issue.answered_on_time), 1), else_=0)))
        .where(issue_where).group_by(bucket, Issue.origin_unit_id, Issue.answer_workdays)
    ).all()
    for period_index, unit_id, workdays, raised, answered, overdue, on_time in rows:
        f = at(period_index, unit_id)
        f.raised += raised
        f.answered += answered or 0
        f.overdue += overdue or 0
        f.on_time += on_time or 0
        if workdays is not None and answered:
            f.workdays[workdays] = f.workdays.get(workdays, 0) + answered
    for period_index, unit_id, rated, total in db.session.execute(
        select(bucket, Issue.origin_unit_id, func.count(), func.sum(Rating.score))
        .join(Rating, Rating.issue_id == Issue.id).where(issue_where).group_by(bucket, Issue.origin_unit_id)
    ):
        f = at(period_index, unit_id)
        f.rated, f.rating_total = rated, total or 0
    held_bucket = _period_bucket(Meeting.start, periods).label("bucket")
    for period_index, unit_id, held in db.session.execute(
        select(held_bucket, Meeting.unit_id, func.count()).where(*held_conditions(scope, periods))
        .group_by(held_bucket, Meeting.unit_id)
    ):
        at(period_index, unit_id).held = held
    engaged = engagements(scope, periods).subquery()
    for period_index, unit_id, count in db.session.execute(
        select(engaged.c.bucket, engaged.c.unit_id, func.count(distinct(engaged.c.business_id)))
        .group_by(engaged.c.bucket, engaged.c.unit_id)
    ):
        at(period_index, unit_id).engaged = count
    _apply_plans(scope, periods, figures)
    return figures


def held_conditions(scope: ReportScope, periods: list[Period]) -> list:
    """A dialogue counts as held once it has begun, was not cancelled, and somebody's attendance was taken."""
    now = datetime.now(UTC)
    return [_in_periods(Meeting.start, periods), Meeting.start <= now, Meeting.status != "cancelled",
            scope.column_condition(Meeting.unit_id),
            exists().where(Attendee.meeting_id == Meeting.id, Attendee.attendance == "present")]


def engagements(scope: ReportScope, periods: list[Period]):
    """(bucket, unit_id, business_id) for each time a business was met (attended a dialogue), visited or
    contacted (an interaction), or brought an issue, in the periods."""
    zone_start, zone_end = periods[0].start, periods[-1].end
    met = (select(_period_bucket(Meeting.start, periods).label("bucket"), Meeting.unit_id.label("unit_id"),
                  Attendee.business_id.label("business_id"))
           .join(Meeting, Meeting.id == Attendee.meeting_id)
           .where(Attendee.business_id.is_not(None), Attendee.attendance == "present",
                  Meeting.status != "cancelled", _in_periods(Meeting.start, periods),
                  scope.column_condition(Meeting.unit_id)))
    interaction_bucket = literal(0) if len(periods) == 1 else case(
        *[(Interaction.happened_on >= p.start, i) for i, p in reversed(list(enumerate(periods)))][:-1], else_=0)
    contacted = (select(interaction_bucket.label("bucket"), Interaction.unit_id, Interaction.business_id)
                 .where(Interaction.happened_on >= zone_start, Interaction.happened_on < zone_end,
                        scope.column_condition(Interaction.unit_id)))
    raised = (select(_period_bucket(Issue.created_at, periods).label("bucket"), Issue.origin_unit_id,
                     Issue.business_id)
              .where(_in_periods(Issue.created_at, periods), scope.column_condition(Issue.origin_unit_id)))
    return union(met, contacted, raised)


def _apply_plans(scope: ReportScope, periods: list[Period], figures: dict[tuple[int, int], Figures]) -> None:
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
        for unit in scope.units:
            if targets.get(unit.id) is not None:
                f = figures.setdefault((i, unit.id), Figures())
                f.dialogues_target, f.engaged_target = targets[unit.id]


def subtree_figures(scope: ReportScope, figures: dict[tuple[int, int], Figures], bucket: int,
                    unit: Unit) -> Figures:
    """A unit's figures with those of every unit below it; the plan is the unit's own (or its children's)."""
    total = Figures()
    for below in scope.below(unit):
        if (bucket, below.id) in figures:
            total.add(figures[(bucket, below.id)])
    own = figures.get((bucket, unit.id))
    if own is not None:
        total.dialogues_target, total.engaged_target = own.dialogues_target, own.engaged_target
    return total


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
    total: Figures
    units: list[tuple[Unit, Figures]]
    topics: list[Breakdown]
    channels: list[Breakdown]
    months: list[Breakdown]


def dashboard(user: User, scope: ReportScope, period: Period, channel_names: dict) -> Dashboard:
    """The dashboard of a unit and the units below it for one period."""
    figures = unit_figures(user, scope, [period])
    total = subtree_figures(scope, figures, 0, scope.unit)
    # A business met by two units counts once for the whole scope.
    engaged = engagements(scope, [period]).subquery()
    total.engaged = db.session.execute(select(func.count(distinct(engaged.c.business_id)))).scalar_one()
    rows = [(child, subtree_figures(scope, figures, 0, child)) for child in scope.children(scope.unit)]
    own = figures.get((0, scope.unit.id))
    if rows and own is not None and (own.raised or own.held or own.engaged):
        rows.insert(0, (scope.unit, own))  # what the unit did itself, beside what the units below did
    topics, channels, months = breakdowns(user, scope, period, channel_names)
    return Dashboard(scope, period, total, rows, topics, channels, months)


def breakdowns(user: User, scope: ReportScope, period: Period, channel_names: dict):
    """Issues raised in the period by topic, by channel and by month: one statement, a few hundred rows."""
    today = office_today()
    month = local_month(Issue.created_at).label("month")
    done = Issue.status.in_(DONE)
    rows = db.session.execute(
        select(Issue.topic_id, Issue.channel, month, func.count(), func.sum(case((done, 1), else_=0)),
               func.sum(case((and_(Issue.status.in_(OPEN), Issue.due_date < today), 1), else_=0)))
        .where(_in_periods(Issue.created_at, [period]), scope.column_condition(Issue.origin_unit_id),
               visible_issues_condition(user))
        .group_by(Issue.topic_id, Issue.channel, month)
    ).all()
    topics = {t.id: t for t in db.session.execute(select(Topic).order_by(Topic.position, Topic.name)).scalars()}
    by_topic = {t.id: Breakdown(t.code, t.name) for t in topics.values()}
    by_channel = {code: Breakdown(code, str(name)) for code, name in channel_names.items()}
    by_month = {f"{y}-{m:02d}": Breakdown(f"{y}-{m:02d}", f"{m:02d}/{y}") for y, m in period.months}
    for topic_id, channel, month_key, raised, answered, overdue in rows:
        for table, key in ((by_topic, topic_id), (by_channel, channel), (by_month, month_key)):
            entry = table.get(key)
            if entry is not None:
                entry.raised += raised
                entry.answered += answered or 0
                entry.overdue += overdue or 0
    return (sorted(by_topic.values(), key=lambda b: -b.raised), list(by_channel.values()), list(by_month.values()))


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


def ranking(user: User, scope: ReportScope, period: Period) -> list[RankingRow]:
    """The branches below the scope's unit ranked by the index for the period, with the last period's."""
    periods = [period.previous(), period]
    figures = unit_figures(user, scope, periods)
    branches = [u for u in scope.units if u.level == UnitLevel.BRANCH]
    scores = {b.id: index.score(subtree_figures(scope, figures, 1, b).measures()) for b in branches}
    before = {b.id: index.score(subtree_figures(scope, figures, 0, b).measures()) for b in branches}
    ranks, previous_ranks = index.rank(scores), index.rank(before)
    rows = [RankingRow(b, subtree_figures(scope, figures, 1, b), scores[b.id], ranks.get(b.id), before[b.id],
                       previous_ranks.get(b.id)) for b in branches]
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.unit.name))
    return rows


def engaged_businesses_query(scope: ReportScope, period: Period):
    """The businesses engaged in the period, for the list behind the figure."""
    from ..org.models import Business

    engaged = engagements(scope, [period]).subquery()
    return select(Business).where(Business.id.in_(select(engaged.c.business_id))).order_by(Business.name)


def held_meetings_query(scope: ReportScope, period: Period):
    return select(Meeting).where(*held_conditions(scope, [period])).order_by(Meeting.start.desc())


# Plans

def plans_for(scope: ReportScope, year: int) -> dict[int, UnitPlan]:
    return {p.unit_id: p for p in db.session.execute(
        select(UnitPlan).where(UnitPlan.year == year, scope.column_condition(UnitPlan.unit_id))).scalars()}


def set_plans(user: User, year: int, plans: dict[Unit, tuple[int | None, int | None]]) -> None:
    """Set the plans of several units for a year, all or none. Both numbers empty removes a unit's plan.

    Admins and managers set the plans of their unit and the units below it. Refusals are InvalidData
    with one message per unit id."""
    if user.role not in (Role.ADMIN, Role.MANAGER):
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


def display_for_token(token: str) -> DisplayScreen | None:
    if not token or len(token) > 100:
        return None
    return db.session.execute(
        select(DisplayScreen).where(DisplayScreen.token_hash == token_hash(token), DisplayScreen.revoked.is_(False))
    ).scalar_one_or_none()


def published_answers(unit: Unit, limit: int = 6) -> list[Issue]:
    """The latest questions published with their answer, raised at the unit or below."""
    below = select(Unit.id).where(Unit.path.startswith(unit.path))
    return list(db.session.execute(
        select(Issue).where(Issue.published, Issue.origin_unit_id.in_(below))
        .order_by(Issue.answered_at.desc(), Issue.id.desc()).limit(limit)).scalars())

