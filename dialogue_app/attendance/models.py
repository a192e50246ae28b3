from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..db import utcnow
from ..extensions import db
from ..org.models import Business, Contact
from ..scheduling.models import Meeting

ATTENDANCE = ("present", "absent", "excused")
ANSWERS = ("accepted", "declined", "tentative")
# Where an answer came from: the business portal, the signed link in a mail, or a calendar's iTIP REPLY.
CHANNELS = ("portal", "link", "calendar")


class Rsvp(db.Model):
    """An invited contact's answer to a meeting: accepted, declined or tentative (maybe)."""

    __tablename__ = "rsvps"
    __table_args__ = (
        UniqueConstraint("meeting_id", "contact_id", name="uq_rsvps_meeting_contact"),
        CheckConstraint("answer IN ('accepted', 'declined', 'tentative')", name="answer"),
        CheckConstraint("via IN ('portal', 'link', 'calendar')", name="via"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    answer: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    via: Mapped[str] = mapped_column(String(8), default="link")
    answered_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    contact: Mapped[Contact] = relationship()


class Attendee(db.Model):
    """Someone at (or expected at) a meeting: a business's contact, a walk-in, or an official."""

    __tablename__ = "attendees"
    __table_args__ = (
        UniqueConstraint("meeting_id", "contact_id", name="uq_attendees_meeting_contact"),
        CheckConstraint("attendance IN ('present', 'absent', 'excused')", name="attendance"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    business_id: Mapped[int | None] = mapped_column(ForeignKey("businesses.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # an official
    name: Mapped[str] = mapped_column(String(255))
    organisation: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    role: Mapped[str] = mapped_column(String(255), default="")
    attendance: Mapped[str] = mapped_column(String(8), default="present")
    checked_in_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    meeting: Mapped[Meeting] = relationship()
    contact: Mapped[Contact | None] = relationship()
    business: Mapped[Business | None] = relationship()
    user: Mapped[User | None] = relationship()

    @property
    def present(self) -> bool:
        return self.attendance == "present"
