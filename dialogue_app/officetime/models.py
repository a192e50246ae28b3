from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import utcnow
from ..extensions import db


class CalendarAdjustment(db.Model):
    """A day off added, a listed holiday removed, or a weekend working day, as the government announced."""

    __tablename__ = "calendar_adjustments"
    __table_args__ = (CheckConstraint("kind IN ('day_off', 'not_a_holiday', 'working_day')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
