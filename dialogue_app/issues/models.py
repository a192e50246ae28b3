from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..db import Belongs, utcnow
from ..extensions import db
from ..org.models import Business, Contact, Interaction, Unit
from ..scheduling.models import Meeting

CHANNELS = ("meeting", "phone", "email", "zalo", "fanpage", "counter", "visit", "web")
STATUSES = ("new", "assigned", "in_progress", "answered", "closed")


class Topic(db.Model):
    """What an issue is about; an admin keeps the list. `answer_days`: working days allowed to answer."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    answer_days: Mapped[int] = mapped_column(Integer, default=10)
    # Issues on a sensitive topic (an officer's conduct) are seen only by managers of the unit and above.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Issue(db.Model):
    """A difficulty (vướng mắc) or proposal (kiến nghị) a business raised, followed to its answer."""

    __tablename__ = "issues"
    # An issue only ever moves up from where it was raised (and back down towards it), so where it was raised
    # lies in the subtree of where it is now: "raised in my subtree" covers both, as one indexed condition.
    # Issues on a sensitive topic (an officer's conduct) are for managers.
    __scope__ = Belongs(unit="origin_unit_id", business="business_id",
                        restricted=lambda model: model.topic_id.in_(select(Topic.id).where(Topic.sensitive)))
    __table_args__ = (
        CheckConstraint("channel IN ('meeting', 'phone', 'email', 'zalo', 'fanpage', 'counter', 'visit', 'web')",
                        name="channel"),
        CheckConstraint("status IN ('new', 'assigned', 'in_progress', 'answered', 'closed')", name="status"),
        # The list pages filter by unit and status and sort by newest: one index serves them.
        Index("ix_issues_unit_status_created", "unit_id", "status", "created_at"),
        # Open issues by due date (digests, overdue counts), with what the reports group them by: the index
        # answers those queries without visiting the table.
        Index("ix_issues_status_due", "status", "due_date", "origin_unit_id", "topic_id", "channel", "created_at"),
        # Who sees an issue is decided by where it was raised; a unit's list is newest first.
        Index("ix_issues_origin_created", "origin_unit_id", "created_at"),
        # The list filtered by status (its usual "open" group) within the units one sees: the few open issues of
        # a branch without walking its closed ones (the status-first index above skipped through every due date).
        Index("ix_issues_origin_status_created", "origin_unit_id", "status", "created_at"),
        # The reports read a period's issues from this index alone, without visiting the table.
        Index("ix_issues_report", "created_at", "origin_unit_id", "topic_id", "channel", "status", "due_date",
              "answer_workdays", "answered_on_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id"), index=True)
    raised_by_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    raised_by_name: Mapped[str] = mapped_column(String(255), default="")
    channel: Mapped[str] = mapped_column(String(16))
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    # Where the issue is now (escalation moves it up) and where it was first raised.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    origin_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="new")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    due_date: Mapped[date | None] = mapped_column(Date)
    resolution: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None]
    # Frozen when answered, for the reports: working days it took (holidays known then) and whether the
    # answer came by the due date. A later answer (after reopening) sets them again.
    answer_workdays: Mapped[int | None] = mapped_column(SmallInteger)
    answered_on_time: Mapped[bool | None] = mapped_column(Boolean)
    # Published as an anonymous question-and-answer, in words staff checked to name no business.
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    public_question: Mapped[str] = mapped_column(Text, default="")
    public_answer: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Optimistic locking: two officers saving at once, the second is told (409) and nothing is lost.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    business: Mapped[Business] = relationship()
    raised_by_contact: Mapped[Contact | None] = relationship()
    topic: Mapped[Topic] = relationship()
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    origin_unit: Mapped[Unit] = relationship(foreign_keys=[origin_unit_id])
    meeting: Mapped[Meeting | None] = relationship()
    interaction: Mapped[Interaction | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    events: Mapped[list["IssueEvent"]] = relationship(back_populates="issue", order_by="IssueEvent.id",
                                                      cascade="all, delete-orphan")
    rating: Mapped["Rating | None"] = relationship(back_populates="issue", uselist=False)
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="issue", order_by="Attachment.id")


class IssueEvent(db.Model):
    """One step in an issue's history. Append-only: nothing is ever edited away."""

    __tablename__ = "issue_events"
    __audited__ = False  # it is a history itself

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    by_label: Mapped[str] = mapped_column(String(300))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    # `note` is internal (staff only); `message` is what the business is told. A business never reads a note.
    note: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str] = mapped_column(Text, default="", server_default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    issue: Mapped[Issue] = relationship(back_populates="events")
    by: Mapped[User | None] = relationship()


class Rating(db.Model):
    """The business's satisfaction with the answer: 1 to 5, once per issue."""

    __tablename__ = "ratings"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), unique=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Who was rated, frozen at rating time: later reassignment must not move the rating to someone else.
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    issue: Mapped[Issue] = relationship(back_populates="rating")


class Attachment(db.Model):
    """A file attached to an issue, stored outside the database under its SHA-256."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    issue: Mapped[Issue] = relationship(back_populates="attachments")
