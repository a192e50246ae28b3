"""The occurrence function, without any database: against dateutil, and by hand for every holiday policy."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogue_app.officetime.days import HolidayCalendar, build_calendar
from dialogue_app.scheduling.recurrence import (
    HolidayPolicy,
    Override,
    Rule,
    RuleError,
    RuleProblem,
    Status,
    expand,
    parse_rule,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
LAST_MONDAY = "FREQ=MONTHLY;BYDAY=-1MO"
NO_HOLIDAYS = HolidayCalendar()


def run(rule, first_start, policy=HolidayPolicy.KEEP, calendar=None, overrides=None, start=None, end=None,
        duration=timedelta(hours=2)):
    parsed = parse_rule(rule, first_start, HCM)
    start = start or first_start.replace(tzinfo=HCM)
    end = end or start + timedelta(days=366)
    calendar = calendar if calendar is not None else build_calendar(range(start.year, end.year + 1))
    return expand(parsed, HCM, duration, calendar, policy, overrides or {}, start, end)


WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def rules(draw):
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 4))}")
    if freq in ("WEEKLY", "DAILY") and draw(st.booleans()):
        parts.append("BYDAY=" + ",".join(draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3,
                                                       unique=True))))
    if freq in ("MONTHLY", "YEARLY"):
        choice = draw(st.sampled_from(["none", "ordinal", "monthday"]))
        if choice == "ordinal":
            ordinal = draw(st.sampled_from([-1, 1, 2, 3, 4]))
            parts.append(f"BYDAY={ordinal}{draw(st.sampled_from(WEEKDAYS))}")
        elif choice == "monthday":
            parts.append(f"BYMONTHDAY={draw(st.sampled_from([1, 15, 28, 30, 31, -1]))}")
        if freq == "YEARLY" and draw(st.booleans()):
            parts.append(f"BYMONTH={draw(st.integers(1, 12))}")
    end = draw(st.sampled_from(["never", "count", "until"]))
    if end == "count":
        parts.append(f"COUNT={draw(st.integers(1, 40))}")
    elif end == "until":
        parts.append(f"UNTIL={draw(st.sampled_from(['20271231T235959', '20280630T000000']))}")
    return ";".join(parts)


first_starts = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda dt: dt.replace(second=0, microsecond=0)
)


@settings(max_examples=150, deadline=None)
@given(rules(), first_starts)
def test_without_holidays_or_changes_it_agrees_with_dateutil(rule, first_start):
    try:
        parsed = parse_rule(rule, first_start, HCM)
    except RuleError as error:
        assert error.problem is RuleProblem.NO_OCCURRENCE
        reference = rrulestr("RRULE:" + rule, dtstart=first_start)
        assert reference.between(first_start, first_start + timedelta(days=366 * 20), inc=True) == []
        return
    window_start = first_start.replace(tzinfo=HCM) - timedelta(days=3)
    window_end = window_start + timedelta(days=3 * 366)
    ours = expand(parsed, HCM, timedelta(hours=1), NO_HOLIDAYS, HolidayPolicy.KEEP, {}, window_start, window_end)
    reference = rrulestr("RRULE:" + rule, dtstart=first_start)
    expected = [dt.replace(tzinfo=HCM) for dt in
                reference.between(window_start.replace(tzinfo=None), window_end.replace(tzinfo=None), inc=True)]
    expected = [dt for dt in expected if dt < window_end]  # our windows are half-open
    assert [o.start for o in ours] == expected
    assert all(o.status is Status.SCHEDULED and o.start == o.rule_start for o in ours)
    assert all(o.end - o.start == timedelta(hours=1) for o in ours)


def by_date(occurrences):
    return {o.occurrence: o for o in occurrences}


FIRST = datetime(2026, 1, 26, 8, 0)  # the last Monday of January 2026, 08:00


def test_last_monday_of_each_month_at_eight():
    dates = [o.occurrence for o in run(LAST_MONDAY, FIRST)]
    assert dates[:6] == [date(2026, 1, 26), date(2026, 2, 23), date(2026, 3, 30), date(2026, 4, 27),
                         date(2026, 5, 25), date(2026, 6, 29)]
    first = run(LAST_MONDAY, FIRST)[0]
    assert first.start.isoformat() == "2026-01-26T08:00:00+07:00"
    assert first.end.isoformat() == "2026-01-26T10:00:00+07:00"


def test_keep_flags_the_holiday_and_leaves_the_date():
    april = by_date(run(LAST_MONDAY, FIRST))[date(2026, 4, 27)]
    assert april.holiday == "Ngày Giỗ Tổ Hùng Vương (nghỉ bù)"
    assert april.status is Status.SCHEDULED and april.start.date() == date(2026, 4, 27)


def test_skip_cancels_the_holiday_occurrence():
    occurrences = by_date(run(LAST_MONDAY, FIRST, HolidayPolicy.SKIP))
    assert occurrences[date(2026, 4, 27)].status is Status.CANCELLED
    assert occurrences[date(2026, 3, 30)].status is Status.SCHEDULED


def test_previous_workday_walks_back_over_the_weekend():
    occurrences = by_date(run(LAST_MONDAY, FIRST, HolidayPolicy.PREVIOUS_WORKDAY))
    april = occurrences[date(2026, 4, 27)]
    assert april.status is Status.MOVED
    assert april.start.isoformat() == "2026-04-24T08:00:00+07:00"  # Friday; Sat/Sun 25-26 are not workdays
    august = occurrences[date(2026, 8, 31)]  # a day off swapped for the working Saturday 22/08
    assert august.start.date() == date(2026, 8, 28)


def test_next_workday_keeps_going_past_further_holidays():
    august = by_date(run(LAST_MONDAY, FIRST, HolidayPolicy.NEXT_WORKDAY))[date(2026, 8, 31)]
    # 31/08 day off, 01/09 and 02/09 National Day: the next workday is Thursday 03/09.
    assert august.start.date() == date(2026, 9, 3)
    assert august.holiday == "Ngày nghỉ (thay cho ngày 22/08/2026)"
    assert august.occurrence == date(2026, 8, 31)


def test_a_working_saturday_is_a_workday_for_shifts():
    calendar = HolidayCalendar(days_off={date(2026, 8, 24): "Nghỉ"},
                               working_weekend_days=frozenset({date(2026, 8, 22)}))
    assert calendar.shift(date(2026, 8, 24), -1) == date(2026, 8, 22)
    occurrence = run("FREQ=WEEKLY;BYDAY=MO", datetime(2026, 8, 17, 8), HolidayPolicy.PREVIOUS_WORKDAY,
                     calendar=calendar)[1]
    assert occurrence.start.date() == date(2026, 8, 22)


def test_overrides_move_cancel_and_restore_single_occurrences():
    moved_to = datetime(2026, 3, 31, 14, 0, tzinfo=HCM)
    overrides = {
        date(2026, 2, 23): Override(date(2026, 2, 23), cancelled=True),
        date(2026, 3, 30): Override(date(2026, 3, 30), start=moved_to, location="Phòng họp tầng 3"),
        date(2026, 4, 27): Override(date(2026, 4, 27), cancelled=False),  # held despite the holiday
        date(2026, 5, 25): Override(date(2026, 5, 25), location="Hội trường lớn"),
    }
    occurrences = by_date(run(LAST_MONDAY, FIRST, HolidayPolicy.SKIP, overrides=overrides))
    assert occurrences[date(2026, 2, 23)].status is Status.CANCELLED
    march = occurrences[date(2026, 3, 30)]
    assert march.status is Status.MOVED and march.start == moved_to and march.location == "Phòng họp tầng 3"
    assert march.rule_start.isoformat() == "2026-03-30T08:00:00+07:00"
    assert occurrences[date(2026, 4, 27)].status is Status.SCHEDULED
    assert occurrences[date(2026, 5, 25)].status is Status.MOVED
    assert occurrences[date(2026, 6, 29)].status is Status.SCHEDULED


def test_an_occurrence_moved_into_the_window_from_outside_is_found():
    moved_to = datetime(2027, 2, 3, 8, 0, tzinfo=HCM)
    overrides = {date(2026, 1, 26): Override(date(2026, 1, 26), start=moved_to)}
    window = run(LAST_MONDAY, FIRST, overrides=overrides, start=datetime(2027, 2, 1, tzinfo=HCM),
                 end=datetime(2027, 2, 10, tzinfo=HCM))
    assert [(o.occurrence, o.start) for o in window] == [(date(2026, 1, 26), moved_to)]


@pytest.mark.parametrize(("rule", "problem"), [
    ("", RuleProblem.EMPTY),
    ("FREQ=MONTHLY;BYDAY=-1MO\r\nATTENDEE:mailto:x@example.com", RuleProblem.LINE_BREAK),
    ("FREQ=HOURLY", RuleProblem.TOO_FREQUENT),
    ("FREQ=DAILY;BYHOUR=8,14", RuleProblem.TOO_FREQUENT),
    ("FREQ=MONTHLY;DTSTART=20260101T000000", RuleProblem.NOT_A_RULE_PART),
    ("FREQ=MONTHLY;BYDAY=-1XX", RuleProblem.SYNTAX),
    ("BYDAY=MO", RuleProblem.SYNTAX),
    ("FREQ=MONTHLY;COUNT=3;UNTIL=20270101T000000", RuleProblem.SYNTAX),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", RuleProblem.NO_OCCURRENCE),
    ("FREQ=DAILY;UNTIL=20200101T000000", RuleProblem.NO_OCCURRENCE),
    # dateutil fails on these with an IndexError; digits that are not ASCII ("²", "٣") are no RFC 5545 number.
    ("FREQ=MONTHLY;BYDAY=+53MO", RuleProblem.SYNTAX),
    ("FREQ=MONTHLY;COUNT=²", RuleProblem.SYNTAX),
    ("FREQ=MONTHLY;COUNT=٣", RuleProblem.SYNTAX),
    ("FREQ=MONTHLY;BYSETPOS=-²;BYDAY=MO", RuleProblem.SYNTAX),
])
def test_rules_that_are_refused_and_why(rule, problem):
    with pytest.raises(RuleError) as error:
        parse_rule(rule, FIRST, HCM)
    assert error.value.problem is problem


def test_until_in_utc_is_read_as_the_local_instant():
    # 01:00Z on 30/03 is 08:00 in Hanoi: the meeting at 08:00 that day is still in.
    occurrences = run("FREQ=MONTHLY;BYDAY=-1MO;UNTIL=20260330T010000Z", FIRST)
    assert occurrences[-1].occurrence == date(2026, 3, 30)


def ical_parts(recur) -> dict:
    return dict(part.split("=", 1) for part in recur.to_ical().decode().split(";"))


def test_a_rule_is_a_value_that_ends_by_count_or_date_and_reads_back_as_calendars_want():
    rule = Rule.parse("rrule:freq=monthly;byday=-1mo;count=12")
    assert str(rule) == "FREQ=MONTHLY;BYDAY=-1MO;COUNT=12" and rule.count == 12
    assert str(rule.ending_after(5)) == "FREQ=MONTHLY;BYDAY=-1MO;COUNT=5"
    ended = rule.ending_on(date(2027, 6, 30))
    assert str(ended) == "FREQ=MONTHLY;BYDAY=-1MO;UNTIL=20270630T235959" and ended.count is None
    # In a calendar, UNTIL is UTC: the end of 30 June in Hồ Chí Minh City is 16:59:59 UTC.
    assert ical_parts(ended.to_vrecur(HCM)) == {"FREQ": "MONTHLY", "BYDAY": "-1MO", "UNTIL": "20270630T165959Z"}
    # A published feed cuts a long rule at its horizon, instead of its count.
    cut = rule.to_vrecur(HCM, cut_at=datetime(2028, 1, 1, tzinfo=ZoneInfo("UTC")))
    assert ical_parts(cut) == {"FREQ": "MONTHLY", "BYDAY": "-1MO", "UNTIL": "20280101T000000Z"}
    with pytest.raises(RuleError):
        Rule.parse("FREQ=HOURLY")
