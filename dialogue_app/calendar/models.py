from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import utcnow
from ..extensions import db

FEED_KINDS = ("series", "business", "unit", "user")


class FeedToken(db.Model):
    """The key of a calendar feed. The token itself is derived from SECRET_KEY, the feed and its generation
    (so the app can show the address again to whoever may see the object); only its SHA-256 is stored, to
    look it up. Rotating bumps the generation, which changes the token; revoking closes the feed."""

    __tablename__ = "feed_tokens"
    __table_args__ = (
        UniqueConstraint("kind", "target_id", name="uq_feed_tokens_target"),
        CheckConstraint("kind IN ('series', 'business', 'unit', 'user')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None]
