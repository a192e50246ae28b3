"""Recurrence: RFC 5545 rules expanded into occurrences, with holidays and one-off changes applied.

Pure functions, no Flask and no database: (rule, first start, zone, duration, holiday calendar, policy,
overrides, window) -> occurrences.

An occurrence is known forever by the date the rule produced for it (like RECURRENCE-ID), whatever
happens to it afterwards: shifted off a holiday, moved, cancelled, restored.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr
from icalendar import vRecur

from ..officetime.days import HolidayCalendar

# A holiday shift never goes further than this (Tết gives up to nine days off in a row); rule dates
# this far outside a window are expanded too, in case their shift brings them inside it.
SHIFT_MARGIN = timedelta(days=20)
# A rule must produce its first occurrence within this long of its start, else it is refused: it
# would otherwise never show up, and an impossible rule would be searched up to the year 9999.
FIRST_OCCURRENCE_HORIZON = timedelta(days=366 * 20)

RULE_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "BYWEEKNO",
              "BYYEARDAY", "WKST"}
# The time of day comes from the first start; these would make a rule fire several times a day.
SUB_DAILY_PARTS = {"BYHOUR", "BYMINUTE", "BYSECOND"}
FREQUENCIES = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}


class HolidayPolicy(StrEnum):
    KEEP = "keep"
    SKIP = "skip"
    PREVIOUS_WORKDAY = "previous_workday"
    NEXT_WORKDAY = "next_workday"


class Status(StrEnum):
    SCHEDULED = "scheduled"
    MOVED = "moved"
    CANCELLED = "cancelled"


class RuleProblem(StrEnum):
    EMPTY = "empty"
    LINE_BREAK = "line_break"
    NOT_A_RULE_PART = "not_a_rule_part"
    TOO_FREQUENT = "too_frequent"
    SYNTAX = "syntax"
    NO_OCCURRENCE = "no_occurrence"
    OUT_OF_RANGE = "out_of_range"


class RuleError(ValueError):
    def __init__(self, problem: RuleProblem, detail: str = ""):
        super().__init__(f"{problem.value}: {detail}" if detail else problem.value)
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True)
class Override:
    """A change to one occurrence, made by a person.

    `cancelled` True cancels it; False restores it (held at its rule time even where the holiday policy
    would skip or shift it); None leaves the status to the rule and the policy. `start` moves it.
    """

    occurrence: date
    start: datetime | None = None
    location: str | None = None
    cancelled: bool | None = None


@dataclass(frozen=True)
class Occurrence:
    occurrence: date  # the date the rule produced: the occurrence's identity
    rule_start: datetime  # where the rule put it, zone-aware (RECURRENCE-ID)
    start: datetime  # where it actually is, zone-aware
    end: datetime
    status: Status
    holiday: str | None  # the holiday's name when the rule's date falls on one
    location: str | None  # a location of its own, or None for the series' location


def _split_parts(value: str) -> list[tuple[str, str]]:
    parts = []
    for piece in value.split(";"):
        name, sep, part_value = piece.partition("=")
        if not sep or not name or not part_value:
            raise RuleError(RuleProblem.SYNTAX, piece)
        parts.append((name.strip().upper(), part_value.strip()))
    return parts


def _local_until(value: str, zone: ZoneInfo) -> str:
    """UNTIL in UTC ("…Z") as the local wall time the rule is expanded in."""
    if not value.upper().endswith("Z"):
        return value
    try:
        instant = datetime.strptime(value.upper(), "%Y%m%dT%H%M%SZ").replace(tzinfo=ZoneInfo("UTC"))
    except ValueError:
        raise RuleError(RuleProblem.SYNTAX, f"UNTIL={value}") from None
    return instant.astimezone(zone).strftime("%Y%m%dT%H%M%S")


def parse_local(value: str) -> datetime:
    """An UNTIL value without offset (YYYYMMDD or YYYYMMDDTHHMMSS) as a naive datetime; raises RuleError."""
    for pattern in ("%Y%m%dT%H%M%S", "%Y%m%d"):
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            continue
    raise RuleError(RuleProblem.SYNTAX, f"UNTIL={value}")


# Allowed numbers in each numeric part (RFC 5545 section 3.3.10), a list where the part takes one.
NUMBER_RANGES = {
    "INTERVAL": (1, 1000, False), "COUNT": (1, 10_000, False), "BYMONTH": (1, 12, True),
    "BYMONTHDAY": (1, 31, True), "BYYEARDAY": (1, 366, True), "BYWEEKNO": (1, 53, True), "BYSETPOS": (1, 366, True),
}
SIGNED = {"BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"}
BYDAY_PATTERN = re.compile(r"([+-]?(?:[1-9]|[1-4][0-9]|5[0-3]))?(MO|TU|WE|TH|FR|SA|SU)")
# Years a meeting can be planned in: outside them dates overflow or a rule is expanded over centuries.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _check_number_part(name: str, value: str) -> None:
    low, high, many = NUMBER_RANGES[name]
    items = value.split(",") if many else [value]
    for item in items:
        number = item.lstrip("+-") if name in SIGNED else item
        # ASCII digits only: str.isdigit() takes "²" and "٣" too, which int() refuses or RFC 5545 does not know.
        if not (number.isascii() and number.isdigit()) or not low <= int(number) <= high:
            raise RuleError(RuleProblem.SYNTAX, f"{name}={value}")


@dataclass(frozen=True)
class Rule:
    """A recurrence rule (an RFC 5545 RRULE value), checked: what forms, services, recurrence and ICS pass around.

    Stored as its text (`str(rule)`): upper-case, no "RRULE:" prefix, its parts in the order they were given.
    UNTIL is the series' local wall time (YYYYMMDD or YYYYMMDDTHHMMSS), or UTC with a final Z.
    """

    parts: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, value: str) -> "Rule":
        """The rule `value` says, every part and value checked; raises RuleError saying what is wrong."""
        if value is None or not value.strip():
            raise RuleError(RuleProblem.EMPTY)
        if any(ch in value for ch in "\r\n"):
            raise RuleError(RuleProblem.LINE_BREAK)
        value = value.strip().upper()
        if value.startswith("RRULE:"):
            value = value[len("RRULE:"):]
        parts = _split_parts(value)
        names = [name for name, _ in parts]
        for name in names:
            if name in SUB_DAILY_PARTS:
                raise RuleError(RuleProblem.TOO_FREQUENT, name)
            if name not in RULE_PARTS:
                raise RuleError(RuleProblem.NOT_A_RULE_PART, name)
        if len(set(names)) != len(names):
            raise RuleError(RuleProblem.SYNTAX, "a part is given twice")
        values = dict(parts)
        freq = values.get("FREQ")
        if freq is None:
            raise RuleError(RuleProblem.SYNTAX, "FREQ is missing")
        if freq not in FREQUENCIES:
            if freq in {"HOURLY", "MINUTELY", "SECONDLY"}:
                raise RuleError(RuleProblem.TOO_FREQUENT, freq)
            raise RuleError(RuleProblem.SYNTAX, f"FREQ={freq}")
        if "COUNT" in values and "UNTIL" in values:
            raise RuleError(RuleProblem.SYNTAX, "COUNT and UNTIL together")
        for name, part_value in parts:
            if name in NUMBER_RANGES:
                _check_number_part(name, part_value)
            elif name == "BYDAY" and not all(BYDAY_PATTERN.fullmatch(day) for day in part_value.split(",")):
                raise RuleError(RuleProblem.SYNTAX, f"BYDAY={part_value}")
            elif name == "WKST" and part_value not in {"MO", "TU", "WE", "TH", "FR", "SA", "SU"}:
                raise RuleError(RuleProblem.SYNTAX, f"WKST={part_value}")
            elif name == "UNTIL":
                until = parse_local(part_value.removesuffix("Z"))
                if not FIRST_YEAR <= until.year <= LAST_YEAR + 1:
                    raise RuleError(RuleProblem.SYNTAX, f"UNTIL={part_value}")
        return cls(tuple(parts))

    def __str__(self) -> str:
        return ";".join(f"{name}={value}" for name, value in self.parts)

    def part(self, name: str) -> str | None:
        return dict(self.parts).get(name)

    @property
    def count(self) -> int | None:
        """How many meetings the rule makes in all (COUNT), or None."""
        value = self.part("COUNT")
        return int(value) if value is not None else None

    def without_end(self) -> "Rule":
        return Rule(tuple((n, v) for n, v in self.parts if n not in ("COUNT", "UNTIL")))

    def ending_after(self, count: int) -> "Rule":
        """The same rule, ending after `count` meetings."""
        return Rule((*self.without_end().parts, ("COUNT", str(int(count)))))

    def ending_on(self, last_day: date) -> "Rule":
        """The same rule, ending at the end of `last_day` (local time)."""
        return Rule((*self.without_end().parts, ("UNTIL", last_day.strftime("%Y%m%d") + "T235959")))

    def to_vrecur(self, zone: ZoneInfo, cut_at: datetime | None = None) -> vRecur:
        """The rule as calendars read it: UNTIL in UTC (RFC 5545 wants UTC with a DTSTART in a zone), and, with
        `cut_at` (an instant), ending there instead of COUNT or a later UNTIL."""
        parts = dict(self.parts)
        if "UNTIL" in parts and not parts["UNTIL"].endswith("Z"):
            local_until = parse_local(parts["UNTIL"]).replace(tzinfo=zone)
            parts["UNTIL"] = local_until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        if cut_at is not None:
            parts.pop("COUNT", None)
            parts["UNTIL"] = cut_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return vRecur.from_ical(";".join(f"{k}={v}" for k, v in parts.items()))


def normalize_rule(value: str) -> str:
    """The rule as stored (see Rule); raises RuleError."""
    return str(Rule.parse(value))


def parse_rule(value: "str | Rule", first_start: datetime, zone: ZoneInfo) -> rrule:
    """A dateutil rule for `value` starting at the naive local wall time `first_start`; raises RuleError.

    A rule that does not parse, fires more often than daily, carries anything but RRULE parts, or
    yields no occurrence at all is refused, with the reason in `RuleError.problem`.
    """
    if not FIRST_YEAR <= first_start.year <= LAST_YEAR:
        raise RuleError(RuleProblem.OUT_OF_RANGE)
    checked = value if isinstance(value, Rule) else Rule.parse(value)
    parts = [(n, _local_until(v, zone) if n == "UNTIL" else v) for n, v in checked.parts]
    try:
        # cache=True: dateutil keeps the dates it has generated, so a rule parsed once (see rule_for)
        # answers later windows from memory.
        rule = rrulestr("RRULE:" + ";".join(f"{n}={v}" for n, v in parts), dtstart=first_start, cache=True)
    except (ValueError, TypeError, OverflowError, IndexError) as error:
        raise RuleError(RuleProblem.SYNTAX, str(error)) from None
    if not isinstance(rule, rrule):
        raise RuleError(RuleProblem.SYNTAX, "not a single rule")
    horizon = first_start + FIRST_OCCURRENCE_HORIZON
    until = dict(parts).get("UNTIL")
    if until is not None:
        horizon = min(horizon, parse_local(until))
    try:
        first = rule.replace(count=None, until=horizon).after(first_start, inc=True)
    except (ValueError, OverflowError, IndexError) as error:  # dateutil: e.g. the 53rd Monday of a month
        raise RuleError(RuleProblem.SYNTAX, str(error)) from None
    if first is None:
        raise RuleError(RuleProblem.NO_OCCURRENCE)
    return rule


@lru_cache(maxsize=4096)
def rule_for(value: str, first_start: datetime, zone_key: str) -> rrule:
    """parse_rule, memoised: a stored series' rule is parsed once per process, not on every page."""
    return parse_rule(value, first_start, ZoneInfo(zone_key))


def _at(day: date, wall: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall).replace(tzinfo=zone)


def expand(
    rule: rrule,
    zone: ZoneInfo,
    duration: timedelta,
    calendar: HolidayCalendar,
    policy: HolidayPolicy,
    overrides: Mapping[date, Override],
    window_start: datetime,
    window_end: datetime,
) -> list[Occurrence]:
    """Occurrences starting in [window_start, window_end) (zone-aware instants), in order of start.

    `rule` comes from parse_rule: its dtstart is the first start as naive local wall time in `zone`.
    Cancelled occurrences are included, with status "cancelled", at the time they would have had.
    """
    local_from = window_start.astimezone(zone).replace(tzinfo=None) - SHIFT_MARGIN
    local_to = window_end.astimezone(zone).replace(tzinfo=None) + SHIFT_MARGIN
    rule_times = {dt.date(): dt for dt in rule.between(local_from, local_to, inc=True)}
    # A moved occurrence may have been moved into the window from far outside it.
    for day, override in overrides.items():
        if day not in rule_times and override.start is not None and window_start <= override.start < window_end:
            found = rule.between(datetime.combine(day, time.min), datetime.combine(day, time.max), inc=True)
            if found:
                rule_times[day] = found[0]

    result = []
    for day, local in rule_times.items():
        rule_start = local.replace(tzinfo=zone)
        start, status = rule_start, Status.SCHEDULED
        holiday = calendar.holiday(day)
        override = overrides.get(day)
        restored = override is not None and override.cancelled is False
        if holiday is not None and not restored:
            if policy is HolidayPolicy.SKIP:
                status = Status.CANCELLED
            elif policy is HolidayPolicy.PREVIOUS_WORKDAY:
                start, status = _at(calendar.shift(day, -1), local.time(), zone), Status.MOVED
            elif policy is HolidayPolicy.NEXT_WORKDAY:
                start, status = _at(calendar.shift(day, +1), local.time(), zone), Status.MOVED
        location = None
        if override is not None:
            if override.start is not None:
                start = override.start.astimezone(zone)
                status = Status.MOVED if start != rule_start else Status.SCHEDULED
            elif restored:
                status = Status.SCHEDULED
            location = override.location
            if location is not None and status is Status.SCHEDULED:
                status = Status.MOVED  # a change of place is a move people must be told about
            if override.cancelled:
                status = Status.CANCELLED
        if window_start <= start < window_end:
            result.append(Occurrence(day, rule_start, start, start + duration, status, holiday, location))
    result.sort(key=lambda o: (o.start, o.occurrence))
    return result
