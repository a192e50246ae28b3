"""The life cycle of an issue, declared as one table: which transitions exist and what each needs.

Pure: no Flask, no database. The services apply a transition; this module only says whether it is
allowed and which fields it requires.

    new ──assign──▶ assigned ──start──▶ in_progress ──answer──▶ answered ──close──▶ closed
     │                 │                    │                      │
     └──────escalate───┴────────────────────┘ (to the parent unit, │
            where it waits as "new"; the parent may return it      └──reopen──▶ in_progress
            to the unit below, as "new", with instructions)
"""

from dataclasses import dataclass
from enum import StrEnum


class IssueStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    CLOSED = "closed"
    ESCALATED = "escalated"  # a transition's name: the issue then waits as "new" at the parent unit
    RETURNED = "returned"  # likewise: back to the unit it came from, as "new"


OPEN_STATUSES = (IssueStatus.NEW, IssueStatus.ASSIGNED, IssueStatus.IN_PROGRESS)
DONE_STATUSES = (IssueStatus.ANSWERED, IssueStatus.CLOSED)


@dataclass(frozen=True)
class Transition:
    source: IssueStatus
    target: IssueStatus
    requires: tuple[str, ...] = ()  # fields the request must carry
    lands_in: IssueStatus | None = None  # the status the issue ends in, when not `target`


TRANSITIONS: tuple[Transition, ...] = (
    Transition(IssueStatus.NEW, IssueStatus.ASSIGNED, requires=("assignee", "due_date")),
    Transition(IssueStatus.ASSIGNED, IssueStatus.ASSIGNED, requires=("assignee", "due_date")),  # reassign
    Transition(IssueStatus.ASSIGNED, IssueStatus.IN_PROGRESS),
    Transition(IssueStatus.IN_PROGRESS, IssueStatus.ANSWERED, requires=("resolution",)),
    Transition(IssueStatus.ANSWERED, IssueStatus.CLOSED),
    Transition(IssueStatus.ANSWERED, IssueStatus.IN_PROGRESS, requires=("note",)),  # reopened
    *(Transition(source, IssueStatus.ESCALATED, requires=("note",), lands_in=IssueStatus.NEW)
      for source in OPEN_STATUSES),
    Transition(IssueStatus.NEW, IssueStatus.RETURNED, requires=("note",), lands_in=IssueStatus.NEW),
)

_BY_PAIR = {(t.source, t.target): t for t in TRANSITIONS}


def find_transition(source: str, target: str) -> Transition | None:
    try:
        return _BY_PAIR.get((IssueStatus(source), IssueStatus(target)))
    except ValueError:
        return None


def allowed_targets(source: str) -> list[str]:
    """The transitions the workflow allows from `source`, by target name, in the table's order."""
    return [t.target.value for t in TRANSITIONS if t.source.value == source]


def missing_fields(transition: Transition, given: dict) -> list[str]:
    return [name for name in transition.requires if given.get(name) in (None, "", [])]
