from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..db import Belongs, utcnow
from ..extensions import db
from ..officetime import DEFAULT_ZONE
from ..org.models import Business, Unit

series_invitations = Table(
    "series_invitations",
    db.metadata,
    Column("series_id", ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    Column("business_id", ForeignKey("businesses.id", ondelete="CASCADE"), primary_key=True, index=True),
)


def invited_series(business_id):
    """The ids of the series a business is invited to."""
    return select(series_invitations.c.series_id).where(series_invitations.c.business_id == business_id)


class Series(db.Model):
    """A recurring meeting: a rule, a first start in local wall time, and everything its occurrences share."""

    __tablename__ = "series"
    # A business reaches the series it is invited to.
    __scope__ = Belongs(unit="unit_id", business=lambda model, business_id: model.id.in_(invited_series(business_id)))
    __table_args__ = (
        CheckConstraint("kind IN ('dialogue', 'thematic', 'visit')", name="kind"),
        CheckConstraint("holiday_policy IN ('keep', 'skip', 'previous_workday', 'next_workday')",
                        name="holiday_policy"),
        CheckConstraint("duration_minutes BETWEEN 5 AND 720", name="duration"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16), default="dialogue")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    location: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    rule: Mapped[str] = mapped_column(String(500))
    # Local wall time in `timezone`, not an instant: "08:00 every last Monday" stays 08:00.
    first_start: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_ZONE)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    holiday_policy: Mapped[str] = mapped_column(String(20), default="keep")
    # "This and all following" ends a series and starts its successor from the split date.
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), index=True)
    # Grows with every change people would notice (iCal SEQUENCE).
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    # Grows with every change to the series, its occurrences or its invitations, in the same transaction:
    # calendar feeds are versioned by it, so an unchanged feed is answered from cache or with 304.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship()
    invitees: Mapped[list[Business]] = relationship(secondary=series_invitations,
                                                         order_by=Business.search_text)
    overrides: Mapped[list["OccurrenceOverride"]] = relationship(
        back_populates="series", cascade="all, delete-orphan", order_by="OccurrenceOverride.occurrence"
    )
    previous: Mapped["Series | None"] = relationship(remote_side=[id])


class OccurrenceOverride(db.Model):
    """A change to one occurrence of a series, known by the date the rule produced."""

    __tablename__ = "occurrence_overrides"
    __table_args__ = (UniqueConstraint("series_id", "occurrence", name="uq_occurrence_overrides_series_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    occurrence: Mapped[date] = mapped_column(Date)
    start: Mapped[datetime | None]
    location: Mapped[str | None] = mapped_column(String(500))
    # True: cancelled; False: restored (held even where the holiday policy would skip it); None: as the rule says.
    cancelled: Mapped[bool | None] = mapped_column(Boolean)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    series: Mapped[Series] = relationship(back_populates="overrides")


class PendingAnnouncement(db.Model):
    """An occurrence a day off (or its removal) changed, whose invited have yet to hear of it. Written in the
    transaction of the change; the worker announces it and deletes it in the transaction that writes the mail,
    so each change is announced once, with the occurrence as it stands then (two changes before the worker
    came: one announcement, even when two admins' changes wrote a row each)."""

    __tablename__ = "pending_announcements"
    __audited__ = False  # machinery: the change itself is audited

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    occurrence: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    series: Mapped[Series] = relationship()


class Meeting(db.Model):
    """A meeting that happened or will: an occurrence made concrete, or a one-off (thematic, visit)."""

    __tablename__ = "meetings"
    # A business reaches the meetings it is invited to, through their series or to one meeting alone.
    __scope__ = Belongs(unit="unit_id", business=lambda model, business_id: or_(
        model.series_id.in_(invited_series(business_id)),
        model.id.in_(select(MeetingInvitation.meeting_id).where(MeetingInvitation.business_id == business_id))))
    __table_args__ = (
        UniqueConstraint("series_id", "occurrence", name="uq_meetings_series_occurrence"),
        CheckConstraint("kind IN ('dialogue', 'thematic', 'visit')", name="kind"),
        CheckConstraint("status IN ('scheduled', 'moved', 'cancelled')", name="status"),
        CheckConstraint('"end" > start', name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), index=True)
    occurrence: Mapped[date | None] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16), default="dialogue")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    start: Mapped[datetime] = mapped_column(index=True)
    end: Mapped[datetime]
    location: Mapped[str] = mapped_column(String(500))
    # A one-off meeting's agenda; an occurrence's is its series' description.
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    # Grows each time a business's invitation to this meeting alone ends (iCal SEQUENCE of the meeting's own
    # UID): the CANCEL then outranks the invitation its calendar holds, as RFC 5546 orders it.
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    series: Mapped[Series | None] = relationship()
    unit: Mapped[Unit] = relationship()


class MeetingInvitation(db.Model):
    """A business invited to one meeting only, on top of the businesses its series invites."""

    __tablename__ = "meeting_invitations"
    __table_args__ = (UniqueConstraint("meeting_id", "business_id", name="uq_meeting_invitations_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    business: Mapped[Business] = relationship()


def bump_revisions(session: Session, flush_context, instances) -> None:
    touched: set[Series] = set()
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Series) and obj not in session.deleted and session.is_modified(obj):
            touched.add(obj)
        elif isinstance(obj, OccurrenceOverride) and obj.series is not None:
            touched.add(obj.series)
    for series in touched:
        if not inspect(series).attrs.revision.history.has_changes():  # once per flush
            series.revision = (series.revision or 0) + 1
