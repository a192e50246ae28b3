from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import utcnow
from ..extensions import db
from ..org.models import Unit


class UnitPlan(db.Model):
    """A unit's annual plan: how many dialogues to hold and how many businesses to meet in a year."""

    __tablename__ = "unit_plans"
    __table_args__ = (
        UniqueConstraint("unit_id", "year", name="uq_unit_plans_unit_year"),
        CheckConstraint("dialogues >= 0 AND businesses >= 0", name="not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    dialogues: Mapped[int] = mapped_column(Integer, default=0)
    businesses: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship()


class DisplayScreen(db.Model):
    """A waiting-room screen: it shows one unit's coming dialogues and answered public questions to whoever
    holds its token. Only the token's SHA-256 is kept; revoking turns the screen off."""

    __tablename__ = "display_screens"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship()


class ReportSnapshot(db.Model):
    """What one unit did itself in one period, aggregated once so that report pages read a few hundred
    small rows instead of a period's issues. Written by services.refresh_*; never edited by hand."""

    __tablename__ = "report_snapshots"
    __audited__ = False  # derived data: the audit trail records the changes it is computed from
    __table_args__ = (UniqueConstraint("kind", "year", "number", "unit_id", name="uq_report_snapshots_period_unit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    # By topic, channel and month: read by the dashboard only, so the ranking does not decode them.
    breakdowns: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportDirtyMonth(db.Model):
    """A month whose snapshots are out of date: something it counts changed at `marked_at`."""

    __tablename__ = "report_dirty_months"
    __audited__ = False

    month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 202611
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)
