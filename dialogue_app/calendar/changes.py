"""What a feed is made of, for the changes that make every server forget what it remembers of feeds (changes.py;
the fast path, fastpath.py, keeps what it learnt of a feed with the generation it read before asking the
database, and asks again once the generation moved).

Correctness never rests on a message arriving: what the fast path remembers also expires after
FEED_CACHE_SECONDS (5 s), and while the listener is not subscribed (starting, Redis away) it remembers nothing.
"""

from flask import Flask
from sqlalchemy import inspect

from ..auth.models import User
from ..changes import Changes, Watched
from ..officetime.models import CalendarAdjustment
from ..org.models import Business, Unit
from ..scheduling.models import Meeting, MeetingInvitation, OccurrenceOverride, Series, series_invitations
from .models import FeedToken

# What a feed's version or bytes are made of; a User only through the columns below.
FEED_MODELS = (Series, OccurrenceOverride, Meeting, MeetingInvitation, FeedToken, Unit, Business, CalendarAdjustment)
USER_COLUMNS = ("active", "unit_id")
FEED_TABLES = frozenset({*(model.__tablename__ for model in FEED_MODELS), series_invitations.name,
                         User.__tablename__})


def _touches_feeds(obj) -> bool:
    if isinstance(obj, FEED_MODELS):
        return True
    if isinstance(obj, User):
        state = inspect(obj)
        return state.was_deleted or any(state.attrs[c].history.has_changes() for c in USER_COLUMNS)
    return False


FEEDS = Watched(object=_touches_feeds, table=FEED_TABLES.__contains__)


def feed_changes(app: Flask) -> Changes:
    return Changes(app, "feeds", max_age=float(app.config.get("FEED_CACHE_SECONDS", 5)), watched=FEEDS)
