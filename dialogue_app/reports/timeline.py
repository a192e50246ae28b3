"""A business's history with the office: meetings it attended, issues it raised, contacts outside meetings."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from .. import officetime
from ..attendance.models import Attendee
from ..auth.models import User
from ..extensions import db
from ..issues.models import Issue
from ..issues.services import issue_query
from ..org.models import Business, Interaction
from ..scheduling.models import Meeting
from ..scope import unit_scoped


@dataclass(frozen=True)
class TimelineEntry:
    day: date
    kind: str  # meeting / issue / interaction
    title: str
    detail: str
    ref_id: int


def business_timeline(user: User, business: Business, limit: int = 200) -> list[TimelineEntry]:
    """Every interaction with the business the user may see, newest first: meetings it attended, issues it
    raised, and contacts outside meetings. Three queries whatever the length."""
    zone = officetime.office_zone()
    meetings = db.session.execute(
        select(Meeting, func.count(Attendee.id)).join(Attendee, Attendee.meeting_id == Meeting.id)
        .where(Attendee.business_id == business.id, Attendee.attendance == "present",
               unit_scoped(user, Meeting.unit_id))
        .group_by(Meeting.id).order_by(Meeting.start.desc()).limit(limit)
    ).all()
    issues = db.session.execute(
        issue_query(user).where(Issue.business_id == business.id).limit(limit)).unique().scalars().all()
    interactions = db.session.execute(
        select(Interaction).where(Interaction.business_id == business.id, unit_scoped(user, Interaction.unit_id))
        .options(joinedload(Interaction.officer)).order_by(Interaction.happened_on.desc()).limit(limit)
    ).scalars().all()
    entries = [TimelineEntry(m.start.astimezone(zone).date(), "meeting", m.title, str(count), m.id)
               for m, count in meetings]
    entries += [TimelineEntry(i.created_at.astimezone(zone).date(), "issue", i.title, i.status, i.id) for i in issues]
    entries += [TimelineEntry(i.happened_on, "interaction", i.summary, i.channel, i.id) for i in interactions]
    return sorted(entries, key=lambda e: (e.day, e.kind), reverse=True)[:limit]
