"""Office time: the office's time zone (from configuration), today there, working days and holidays.

Instants are stored in UTC; they are shown, counted in days and grouped in months in the office's zone.
"""

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..exceptions import InvalidData
from ..extensions import db
from .days import Adjustment, AdjustmentKind, HolidayCalendar, apply_adjustments, library_days_off
from .models import CalendarAdjustment

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"


def office_zone() -> ZoneInfo:
    """The zone the office lives in: OFFICE_TIMEZONE, Asia/Ho_Chi_Minh unless configured."""
    name = current_app.config.get("OFFICE_TIMEZONE") if has_app_context() else None
    return _zone(name or DEFAULT_ZONE)


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def now() -> datetime:
    return datetime.now(office_zone())


def today() -> date:
    """Today in the office (not in the server's zone, which is often UTC)."""
    return now().date()


def local(instant: datetime) -> datetime:
    return instant.astimezone(office_zone())


def today_in(zone: ZoneInfo) -> date:
    return datetime.now(zone).date()


AREAS = {"Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific", "Etc"}


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    # The IANA area/location names; the system's "localtime" and the like would mean whatever the server says.
    return frozenset(name for name in available_timezones() if name.split("/")[0] in AREAS or name == "UTC")


def zone_named(name: str | None) -> ZoneInfo:
    """The IANA zone of this name, the office's for None ("localtime" and file paths are not zones a series can
    be held in)."""
    if not name:
        return office_zone()
    if name not in _zone_names():
        raise InvalidData.on("timezone", _l("Unknown time zone."))
    return ZoneInfo(name)



# -- Working days ----------------------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def library_year(year: int) -> tuple[tuple[tuple[date, str], ...], frozenset[date]]:
    days_off, working = library_days_off([year])
    return tuple(sorted(days_off.items())), frozenset(working)


def holiday_calendar(years) -> HolidayCalendar:
    """The calendar for `years`: the library's days (cached per year) with the admin's adjustments."""
    years = sorted(set(years))
    adjustments = db.session.execute(
        select(CalendarAdjustment).where(
            CalendarAdjustment.day >= date(years[0], 1, 1), CalendarAdjustment.day <= date(years[-1], 12, 31)
        )
    ).scalars()
    days_off: dict[date, str] = {}
    working: set[date] = set()
    for year in years:
        year_days, year_working = library_year(year)
        days_off.update(year_days)
        working |= year_working
    return apply_adjustments(HolidayCalendar(days_off, frozenset(working)),
                             [Adjustment(a.day, AdjustmentKind(a.kind), a.name) for a in adjustments])



def add_working_days(start: date, days: int) -> date:
    """The day `days` working days after `start` (weekends, public holidays and announced days off skipped)."""
    return holiday_calendar(range(start.year, start.year + 2)).add_workdays(start, days)


# -- Office months in SQL -----------------------------------------------------------------------------------------

class local_month(FunctionElement):
    """"YYYY-MM" of a UTC instant in the office's time zone.

    Vietnam has kept UTC+7 without daylight saving since 1975, so SQLite's fixed offset is exact for every
    date the app stores."""

    type = String()
    inherit_cache = True


@compiles(local_month, "sqlite")
def _local_month_sqlite(element, compiler, **kw):
    hours = int(now().utcoffset() / timedelta(hours=1))
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)}, '{hours:+d} hours')"


@compiles(local_month, "postgresql")
def _local_month_postgresql(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE '{office_zone().key}', 'YYYY-MM')"
