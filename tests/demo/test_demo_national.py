"""The national demo (`flask seed-demo --scale national`), built small: what a person trying it would notice."""

import functools
from calendar import monthrange
from collections import Counter, defaultdict
from datetime import datetime

import pytest
from sqlalchemy import func, inspect, select

from dialogue_app.attendance.models import Attendee
from dialogue_app.auth.models import User
from dialogue_app.calendar.models import FeedToken
from dialogue_app.demo import national as demo_national
from dialogue_app.extensions import db
from dialogue_app.issues.models import Issue, IssueEvent, Rating, Topic
from dialogue_app.officetime import office_zone
from dialogue_app.officetime.days import build_calendar
from dialogue_app.org import services as org_services
from dialogue_app.org.models import Business, Interaction, Unit
from dialogue_app.org.taxcode import is_valid_tax_code
from dialogue_app.reports.models import UnitPlan
from dialogue_app.scheduling.models import Meeting, OccurrenceOverride, Series, series_invitations

TINY = demo_national.NationalSizes(departments=3, branches=6, businesses=300, years=1, issues=2000)
ZONE = office_zone()


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def national(app):
    accounts = demo_national.seed_national(TINY, password="mật khẩu thử nghiệm")
    db.session.commit()
    return accounts


def test_the_command_builds_it_once_and_prints_accounts_that_sign_in(runner, monkeypatch):
    monkeypatch.setattr(demo_national, "seed_national", functools.partial(demo_national.seed_national, TINY))
    result = runner.invoke(args=["seed-demo", "--scale", "national", "--password", "một mật khẩu dài"])
    assert result.exit_code == 0, result.output
    assert "National demo built" in result.output
    accounts = [line.split() for line in result.output.splitlines() if "@dialogue-demo.vn" in line]
    assert {role for role, _, *_ in accounts} == {"admin", "manager", "organiser", "business"}
    for _, email, *_ in accounts:
        user = db.session.execute(select(User).where(User.email == email)).scalar_one()
        assert user.check_password("một mật khẩu dài")
    assert count(Issue) == 2000

    again = runner.invoke(args=["seed-demo", "--scale", "national"])
    assert again.exit_code == 0 and "already has data" in again.output
    assert count(Issue) == 2000 and count(Unit) == 1 + 3 + 6


def test_refuses_a_database_that_has_units(app, make_unit, runner):
    make_unit("TCHQ", level="general")
    db.session.commit()
    with pytest.raises(demo_national.DatabaseNotEmpty, match="already has data"):
        demo_national.seed_national(TINY)
    result = runner.invoke(args=["seed-demo", "--scale", "national"])
    assert "already has data" in result.output
    assert count(Business) == 0 and count(Issue) == 0


def test_units_businesses_and_plans(national):
    units = {u.id: u for u in db.session.execute(select(Unit)).scalars()}
    levels = Counter(u.level for u in units.values())
    assert levels == {"general": 1, "department": 3, "branch": 6}
    for unit in units.values():
        expected = (unit.parent.path if unit.parent else "/") + f"{unit.id}/"
        assert unit.path == expected
        prefix = {"general": "Tổng cục Hải quan", "department": "Cục Hải quan ", "branch": "Chi cục Hải quan "}
        assert unit.name.startswith(prefix[unit.level])
        if unit.parent is not None:
            assert {"general": None, "department": "general", "branch": "department"}[unit.level] == \
                unit.parent.level
    assert {u.name for u in units.values() if u.level == "department"} == {
        "Cục Hải quan TP. Hồ Chí Minh", "Cục Hải quan Hà Nội", "Cục Hải quan Quảng Ninh"}

    businesses = list(db.session.execute(select(Business)).scalars())
    assert len(businesses) == 300
    assert all(is_valid_tax_code(b.tax_code) and len(b.tax_code) == 10 for b in businesses)
    assert len({b.tax_code for b in businesses}) == 300
    assert all(b.search_text == org_services.business_search_text(b) for b in businesses)
    assert all(units[b.unit_id].level == "branch" for b in businesses)
    assert 0 < sum(1 for b in businesses if b.contacts) < 300
    # Found as people search: without accents.
    some = businesses[0]
    assert some in db.session.execute(
        select(Business).where(org_services.search_condition(some.name.upper()))).scalars().all()

    this_year = datetime.now(ZONE).year
    plans = list(db.session.execute(select(UnitPlan)).scalars())
    assert {(p.unit_id, p.year) for p in plans} == {
        (u.id, year) for u in units.values() if u.level == "branch" for year in (this_year - 1, this_year)}
    assert all(p.dialogues == 12 and 40 <= p.businesses <= 80 for p in plans)

    # Every unit, business and series has its calendar feed key, as if made one by one.
    keys = Counter(kind for kind in db.session.execute(select(FeedToken.kind)).scalars())
    assert keys["unit"] == 10 and keys["business"] == 300 and keys["series"] == 6
    assert count(Interaction) > 0


def test_monthly_dialogues_with_their_attendance(national):
    now = datetime.now(ZONE)
    branches = list(db.session.execute(select(Unit).where(Unit.level == "branch")).scalars())
    series = {s.unit_id: s for s in db.session.execute(select(Series)).scalars()}
    assert set(series) == {b.id for b in branches}
    assert all(s.rule == "FREQ=MONTHLY;BYDAY=-1MO" and s.first_start.hour == 8 and s.first_start.weekday() == 0
               for s in series.values())
    invited = defaultdict(set)
    for series_id, business_id in db.session.execute(select(series_invitations)):
        invited[series_id].add(business_id)

    meetings = list(db.session.execute(select(Meeting)).scalars())
    per_branch = Counter(m.unit_id for m in meetings)
    assert all(11 <= n <= 13 for n in per_branch.values()) and len(per_branch) == 6
    unit_of = dict(db.session.execute(select(Business.id, Business.unit_id)).all())
    attendees = defaultdict(list)
    for attendee in db.session.execute(select(Attendee)).scalars():
        attendees[attendee.meeting_id].append(attendee)
    cancelled = {(o.series_id, o.occurrence) for o in db.session.execute(select(OccurrenceOverride)).scalars()
                 if o.cancelled}
    for meeting in meetings:
        assert meeting.series_id == series[meeting.unit_id].id and meeting.kind == "dialogue"
        assert meeting.start < now and meeting.end > meeting.start
        local = meeting.start.astimezone(ZONE)
        assert (local.hour, local.minute) == (8, 0)
        day = meeting.occurrence
        assert day.weekday() == 0 and day.day + 7 > monthrange(day.year, day.month)[1]  # the last Monday
        if meeting.status == "cancelled":
            assert not attendees[meeting.id] and (meeting.series_id, meeting.occurrence) in cancelled
            continue
        present = attendees[meeting.id]
        assert 4 <= len(present) <= 8
        for attendee in present:
            assert attendee.attendance == "present" and attendee.name
            assert unit_of[attendee.business_id] == meeting.unit_id
            assert attendee.business_id in invited[meeting.series_id]


def test_issues_answered_in_working_days_as_the_reports_count_them(national):
    today = datetime.now(ZONE).date()
    calendar = build_calendar(range(today.year - 2, today.year + 3))
    topics = {t.id: t for t in db.session.execute(select(Topic)).scalars()}
    units = {u.id: u for u in db.session.execute(select(Unit)).scalars()}
    unit_of = dict(db.session.execute(select(Business.id, Business.unit_id)).all())
    meeting_unit = dict(db.session.execute(select(Meeting.id, Meeting.unit_id)).all())
    attended = set(db.session.execute(select(Attendee.meeting_id, Attendee.business_id)).all())
    escalations = {e.issue_id: e for e in db.session.execute(
        select(IssueEvent).where(IssueEvent.to_status == "escalated")).scalars()}

    issues = list(db.session.execute(select(Issue)).scalars())
    assert len(issues) == 2000
    assert count(IssueEvent.__table__) >= 2000
    statuses = Counter(i.status for i in issues)
    assert statuses["closed"] > statuses["answered"] > 0 and statuses["in_progress"] > 0
    assert (today - min(i.created_at for i in issues).astimezone(ZONE).date()).days > 330
    overdue = [i for i in issues if i.status in ("new", "assigned", "in_progress") and i.due_date
               and i.due_date < today]
    assert overdue

    escalated = 0
    for issue in issues:
        origin = units[issue.origin_unit_id]
        assert origin.level == "branch" and unit_of[issue.business_id] == origin.id
        if issue.unit_id != issue.origin_unit_id:
            escalated += 1
            assert issue.unit_id == origin.parent_id and issue.id in escalations
        if issue.channel == "meeting":
            assert meeting_unit[issue.meeting_id] == origin.id
            assert (issue.meeting_id, issue.business_id) in attended
        else:
            assert issue.meeting_id is None
        raised_on = issue.created_at.astimezone(ZONE).date()
        if issue.status in ("answered", "closed"):
            answered_on = issue.answered_at.astimezone(ZONE).date()
            assert issue.created_at < issue.answered_at <= datetime.now(ZONE)
            assert issue.answer_workdays == calendar.workdays_between(raised_on, answered_on)
            assert issue.answered_on_time == (answered_on <= issue.due_date)
            assert issue.resolution and issue.assignee_id and issue.answered_by_id == issue.assignee_id
            handled_from = raised_on
            if issue.id in escalations:
                handled_from = escalations[issue.id].at.astimezone(ZONE).date()
            assert issue.due_date == calendar.add_workdays(handled_from, topics[issue.topic_id].answer_days)
        else:
            assert issue.answered_at is None and issue.answer_workdays is None and issue.answered_on_time is None
            assert (issue.status == "new") == (issue.assignee_id is None)
    assert 0.01 < escalated / len(issues) < 0.06
    assert sum(i.answered_on_time for i in issues if i.answered_on_time is not None) > 0.7 * sum(
        1 for i in issues if i.answered_on_time is not None)

    done = {i.id: i for i in issues if i.status in ("answered", "closed")}
    ratings = list(db.session.execute(select(Rating)).scalars())
    assert 0.45 < len(ratings) / len(done) < 0.75
    assert all(r.issue_id in done and r.unit_id == done[r.issue_id].unit_id for r in ratings)
    scores = Counter(r.score for r in ratings)
    assert scores[4] + scores[5] > 0.6 * len(ratings) and set(scores) <= {1, 2, 3, 4, 5}

    published = [i for i in issues if i.published]
    assert published and all(i.public_question and i.public_answer and i.id in done for i in published)
    assert max(Counter(units[i.origin_unit_id].parent_id for i in published).values()) <= 5


def test_the_app_adds_rows_after_it_without_colliding(national):
    # The ids were given in bulk: the next unit, business and account the app makes must still get free ones.
    branch = db.session.execute(select(Unit).where(Unit.level == "branch")).scalars().first()
    unit = org_services.create_unit(code="NEW-1", name="Chi cục Hải quan mới", level="branch",
                                    parent=branch.parent)
    business = org_services.create_business(tax_code="0100109106", name="Công ty TNHH Mới", unit=unit)
    db.session.commit()
    assert unit.path == f"{branch.parent.path}{unit.id}/" and business.id > 300


def test_the_schema_is_left_as_it_was(app):
    # The big tables are filled without their indexes (and, on PostgreSQL, foreign keys), put back afterwards.
    def schema():
        inspector = inspect(db.engine)
        return {table: (sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                               for i in inspector.get_indexes(table)),
                        sorted((k["name"], tuple(k["constrained_columns"]), k["referred_table"])
                               for k in inspector.get_foreign_keys(table)))
                for table in ("issues", "issue_events", "ratings", "attendees")}

    before = schema()
    demo_national.seed_national(TINY)
    db.session.commit()
    assert schema() == before
    assert all(indexes for indexes, _ in before.values())
