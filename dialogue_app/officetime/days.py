"""Which days are days off: the `holidays` package's Vietnamese calendar plus what an admin announced.

Pure: no Flask, no database. The government announces extra days off and working Saturdays each year,
and the library knows them only as far as it has been updated, so the calendar an app uses is the
library's, corrected by the adjustments an admin records for that year.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

import holidays


class AdjustmentKind(StrEnum):
    DAY_OFF = "day_off"  # an extra holiday or substitute day off
    NOT_A_HOLIDAY = "not_a_holiday"  # the library lists a day off that was not given
    WORKING_DAY = "working_day"  # a weekend day worked in exchange for a day off


@dataclass(frozen=True)
class Adjustment:
    day: date
    kind: AdjustmentKind
    name: str = ""


@dataclass(frozen=True)
class HolidayCalendar:
    """Days off with their names, and weekend days that are working days."""

    days_off: dict[date, str] = field(default_factory=dict)
    working_weekend_days: frozenset[date] = frozenset()

    def holiday(self, day: date) -> str | None:
        return self.days_off.get(day)

    def is_workday(self, day: date) -> bool:
        if day in self.days_off:
            return False
        return day.weekday() < 5 or day in self.working_weekend_days

    def add_workdays(self, day: date, count: int) -> date:
        """The date `count` working days after `day` (`day` itself not counted): a deadline."""
        for _ in range(count):
            day = self.shift(day, +1)
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count

    def shift(self, day: date, step: int, limit: int = 60) -> date:
        """The nearest workday from `day` going `step` days at a time (-1 back, +1 forward)."""
        for _ in range(limit):
            day += timedelta(days=step)
            if self.is_workday(day):
                return day
        raise ValueError(f"no workday within {limit} days of {day}")


def library_days_off(years: Iterable[int]) -> tuple[dict[date, str], set[date]]:
    """The `holidays` package's Vietnamese public holidays (names in Vietnamese) and working weekend days."""
    calendar = holidays.country_holidays("VN", years=sorted(set(years)), language="vi")
    days_off = dict(calendar.items())
    wanted = set(years)
    return days_off, {d for d in calendar.weekend_workdays if d.year in wanted}


def apply_adjustments(calendar: HolidayCalendar, adjustments: Iterable[Adjustment]) -> HolidayCalendar:
    """`calendar` with the admin's adjustments applied on top."""
    days_off = dict(calendar.days_off)
    working = set(calendar.working_weekend_days)
    for adjustment in adjustments:
        if adjustment.kind is AdjustmentKind.DAY_OFF:
            days_off[adjustment.day] = adjustment.name or days_off.get(adjustment.day, "")
            working.discard(adjustment.day)
        elif adjustment.kind is AdjustmentKind.NOT_A_HOLIDAY:
            days_off.pop(adjustment.day, None)
        elif adjustment.kind is AdjustmentKind.WORKING_DAY:
            working.add(adjustment.day)
            days_off.pop(adjustment.day, None)
    return HolidayCalendar(days_off=days_off, working_weekend_days=frozenset(working))


def build_calendar(years: Iterable[int], adjustments: Iterable[Adjustment] = ()) -> HolidayCalendar:
    """The library's calendar for `years` with the admin's adjustments applied on top."""
    days_off, working = library_days_off(years)
    return apply_adjustments(HolidayCalendar(days_off, frozenset(working)), adjustments)
