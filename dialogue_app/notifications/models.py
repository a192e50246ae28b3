"""What a person is told of (a notification) and how they want to hear of each kind (a preference)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import utcnow
from ..extensions import db

DELIVERIES = ("app", "mail", "digest")  # in the app only; besides, a mail at once; or in the daily digest


class Notification(db.Model):
    """One thing one person is told of. The text is not stored: `kind` and `params` are rendered in the
    reader's language when read (the page's, or the person's own for a mail)."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The bell counts a person's unread ones on every page: this index answers that alone.
        Index("ix_notifications_user_unread", "user_id", "read_at"),
        Index("ix_notifications_subject", "subject", "subject_id", "kind"),
        CheckConstraint("delivery IN ('app', 'mail', 'digest')", name="delivery"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    url: Mapped[str] = mapped_column(String(500))
    # What it is about ("issue", "meeting", "series", "minutes"), to tell it only once where that matters.
    subject: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    # How the person wanted this kind when it happened; `mailed_at` once a mail (at once or a digest) took it.
    delivery: Mapped[str] = mapped_column(String(8), default="app")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    mailed_at: Mapped[datetime | None]


class NotificationPreference(db.Model):
    """A person's choice for one kind; without a row, the kind's default (KINDS in services) holds."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", name="uq_notification_preferences_user_kind"),
        CheckConstraint("delivery IN ('app', 'mail', 'digest')", name="delivery"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    delivery: Mapped[str] = mapped_column(String(8))
