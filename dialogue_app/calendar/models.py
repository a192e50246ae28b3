from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import utcnow
from ..extensions import db

# "invitation": one invited business's own key to a series (target_id the series, subscriber_id the business).
FEED_KINDS = ("series", "business", "unit", "user", "invitation")


class FeedToken(db.Model):
    """The key of a calendar feed. The token itself is derived from SECRET_KEY, the feed and its generation
    (so the app can show the address again to whoever may see the object); only its SHA-256 is stored, to
    look it up. Rotating bumps the generation, which changes the token; revoking closes the feed.

    `subscriber_id` is 0 for every kind but "invitation", where it names the invited business: each
    subscriber holds its own key, so ending one invitation ends one key and no other."""

    __tablename__ = "feed_tokens"
    __table_args__ = (
        UniqueConstraint("kind", "target_id", "subscriber_id", name="uq_feed_tokens_target"),
        CheckConstraint("kind IN ('series', 'business', 'unit', 'user', 'invitation')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    subscriber_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    generation: Mapped[int] = mapped_column(Integer, default=1)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None]
