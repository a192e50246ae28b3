"""Reporting periods: a month, a quarter or a year, as managers report them. Pure: no Flask, no database."""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cached_property

ROMAN = ("I", "II", "III", "IV")  # quarters, as Vietnamese reports number them


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


MONTHS_IN = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}


@dataclass(frozen=True)
class Period:
    """`number` is the month (1–12) or the quarter (1–4); a year has number 1. Its dates are computed once:
    a report page asks for them in every row."""

    kind: PeriodKind
    year: int
    number: int = 1

    def __post_init__(self):
        limit = {PeriodKind.MONTH: 12, PeriodKind.QUARTER: 4, PeriodKind.YEAR: 1}[self.kind]
        if not 2000 <= self.year <= 2100 or not 1 <= self.number <= limit:
            raise ValueError(f"no such period: {self.kind} {self.number}/{self.year}")

    @cached_property
    def first_month(self) -> int:
        return {PeriodKind.MONTH: self.number, PeriodKind.QUARTER: 3 * self.number - 2, PeriodKind.YEAR: 1}[self.kind]

    @cached_property
    def months(self) -> list[tuple[int, int]]:
        """(year, month) of each month in the period, in order."""
        return [(self.year, self.first_month + i) for i in range(MONTHS_IN[self.kind])]

    @cached_property
    def start(self) -> date:
        return date(self.year, self.first_month, 1)

    @cached_property
    def end(self) -> date:
        """The first day after the period."""
        year, month = self.months[-1]
        return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)

    @cached_property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @cached_property
    def share_of_year(self) -> float:
        """The part of the annual plan this period is measured against."""
        return MONTHS_IN[self.kind] / 12

    def previous(self) -> "Period":
        if self.number > 1:
            return Period(self.kind, self.year, self.number - 1)
        last = {PeriodKind.MONTH: 12, PeriodKind.QUARTER: 4, PeriodKind.YEAR: 1}[self.kind]
        return Period(self.kind, self.year - 1, last)

    @cached_property
    def slug(self) -> str:
        """A short name for file names: 2026, 2026-q3, 2026-11."""
        return {PeriodKind.MONTH: f"{self.year}-{self.number:02d}", PeriodKind.QUARTER: f"{self.year}-q{self.number}",
                PeriodKind.YEAR: str(self.year)}[self.kind]

    def query(self) -> dict[str, str | int]:
        """The URL arguments naming this period (parse_period reads them back)."""
        args: dict[str, str | int] = {"period": self.kind.value, "year": self.year}
        if self.kind is not PeriodKind.YEAR:
            args["n"] = self.number
        return args


def current_period(kind: PeriodKind, today: date) -> Period:
    number = {PeriodKind.MONTH: today.month, PeriodKind.QUARTER: (today.month - 1) // 3 + 1,
              PeriodKind.YEAR: 1}[kind]
    return Period(kind, today.year, number)


def parse_period(args, today: date) -> Period:
    """The period named by URL arguments (period, year, n); the current quarter when they are missing.

    Raises ValueError on arguments that name no period."""
    try:
        kind = PeriodKind(args.get("period") or PeriodKind.QUARTER.value)
    except ValueError:
        raise ValueError("unknown period kind") from None
    if not args.get("year"):
        return current_period(kind, today)
    try:
        year = int(args["year"])
        number = int(args.get("n") or 1) if kind is not PeriodKind.YEAR else 1
    except (TypeError, ValueError):
        raise ValueError("year and number must be whole numbers") from None
    return Period(kind, year, number)
