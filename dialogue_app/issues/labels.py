"""What statuses, channels and workflow steps are called, in the reader's language."""

from flask_babel import lazy_gettext as _l

CHANNEL_NAMES = {
    "meeting": _l("At a meeting"), "phone": _l("By phone"), "email": _l("By email"), "zalo": _l("Zalo"),
    "fanpage": _l("Fanpage"), "counter": _l("At the counter"), "visit": _l("On a visit"), "web": _l("Online"),
}
STATUS_NAMES = {
    "new": _l("New"), "assigned": _l("Assigned"), "in_progress": _l("In progress"), "answered": _l("Answered"),
    "closed": _l("Closed"),
}
# Filters over several statuses, for the lists behind report figures.
STATUS_GROUP_NAMES = {"open": _l("Not answered yet"), "done": _l("Answered or closed")}
# What each step is called on its button.
TRANSITION_NAMES = {
    "assigned": _l("Assign"), "in_progress": _l("Start working on it"), "answered": _l("Answer"),
    "closed": _l("Close"), "escalated": _l("Escalate to the unit above"), "returned": _l("Send back to the unit below"),
}
