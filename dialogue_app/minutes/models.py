from datetime import datetime, time

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..db import utcnow
from ..extensions import db
from ..scheduling.models import Meeting


class Minutes(db.Model):
    """The minutes (biên bản) of one meeting: a head row over an append-only list of revisions.

    `revision_count` is the number of the latest revision: a save names the revision it was based on, and
    is refused when that is no longer the latest. Finalised minutes are locked; a later change is an
    amendment, kept as a revision of its own kind with its own date.
    """

    __tablename__ = "minutes"
    __table_args__ = (CheckConstraint("status IN ('draft', 'final')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(8), default="draft")
    revision_count: Mapped[int] = mapped_column(Integer, default=0)
    # The revision that was finalised; amendments come after it.
    final_number: Mapped[int | None] = mapped_column(Integer)
    finalised_at: Mapped[datetime | None]
    finalised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime | None]
    # The revision last sent, and to whom: sending the same minutes again first says who already has them.
    sent_revision: Mapped[int | None] = mapped_column(Integer)
    sent_to: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    meeting: Mapped[Meeting] = relationship()
    finalised_by: Mapped[User | None] = relationship()
    revisions: Mapped[list["MinutesRevision"]] = relationship(
        back_populates="minutes", order_by="MinutesRevision.number", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class MinutesRevision(db.Model):
    """One saved state of the minutes. Append-only: a save adds a revision, nothing is edited away."""

    __tablename__ = "minutes_revisions"
    __audited__ = False  # it is a history itself
    __table_args__ = (
        # Two saves on top of the same revision race for the same number: the database lets one win.
        UniqueConstraint("minutes_id", "number", name="uq_minutes_revisions_minutes_number"),
        CheckConstraint("kind IN ('edit', 'amendment')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    minutes_id: Mapped[int] = mapped_column(ForeignKey("minutes.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="edit")
    chair: Mapped[str] = mapped_column(String(255), default="")
    secretary: Mapped[str] = mapped_column(String(255), default="")
    # The place name written before the date ("TP. Hồ Chí Minh, ngày … tháng … năm …").
    place_name: Mapped[str] = mapped_column(String(255), default="")
    # Local wall time (office zone) at which the meeting closed.
    closing_time: Mapped[time | None] = mapped_column(Time)
    agenda: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    conclusions: Mapped[str] = mapped_column(Text, default="")
    # Why an amendment was made (empty for ordinary edits).
    note: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_label: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    minutes: Mapped[Minutes] = relationship(back_populates="revisions")
    author: Mapped[User | None] = relationship()


class MinutesPdf(db.Model):
    """A rendered PDF, kept under the fingerprint of everything printed in it: rendered again only when
    something in it changed. Machinery, not data: not audited, and old variants are pruned."""

    __tablename__ = "minutes_pdfs"
    __audited__ = False
    __table_args__ = (UniqueConstraint("meeting_id", "fingerprint", name="uq_minutes_pdfs_meeting_fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignedMinutes(db.Model):
    """A signed copy of the minutes: the PDF as printed for the record, with digital signatures added as
    incremental updates (by the office's key, or by a person's token and uploaded). Kept for good: the latest
    copy of the minutes' latest revision is the official one; after an amendment the earlier copies stay, to
    be downloaded as they were signed. It records its own who and when (not audited: the bytes are the record).
    """

    __tablename__ = "signed_minutes"
    __audited__ = False
    __table_args__ = (CheckConstraint("source IN ('office', 'upload')", name="source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    minutes_id: Mapped[int] = mapped_column(ForeignKey("minutes.id", ondelete="CASCADE"), index=True)
    # The revision of the minutes the copy prints (amendments make later revisions, to be signed again).
    revision: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(8))
    # Whether it prints what only managers read (issues on a sensitive topic): then organisers do not get it.
    restricted: Mapped[bool] = mapped_column(default=False)
    # Who signed, in order ("; " between them), and how many signatures the file holds.
    signers: Mapped[str] = mapped_column(Text, default="")
    signatures: Mapped[int] = mapped_column(Integer, default=0)
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_label: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    minutes: Mapped[Minutes] = relationship()
