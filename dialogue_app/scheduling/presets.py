"""The rule builder's presets: the rules people mean, named the way they say them."""

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from .recurrence import Rule, RuleError

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = {
    "MO": _l("Monday"), "TU": _l("Tuesday"), "WE": _l("Wednesday"), "TH": _l("Thursday"),
    "FR": _l("Friday"), "SA": _l("Saturday"), "SU": _l("Sunday"),
}

PRESETS = {
    "last_weekday": _l("Last %(weekday)s of the month"),
    "first_weekday": _l("First %(weekday)s of the month"),
    "weekly": _l("Every week on %(weekday)s"),
    "monthday": _l("On day %(day)d of each month"),
}


def preset_rule(preset: str, weekday: str = "MO", monthday: int = 15) -> str:
    """The RRULE value of a preset: ("last_weekday", "MO") -> "FREQ=MONTHLY;BYDAY=-1MO"."""
    if weekday not in WEEKDAY_CODES:
        raise ValueError(weekday)
    return {
        "last_weekday": f"FREQ=MONTHLY;BYDAY=-1{weekday}",
        "first_weekday": f"FREQ=MONTHLY;BYDAY=1{weekday}",
        "weekly": f"FREQ=WEEKLY;BYDAY={weekday}",
        "monthday": f"FREQ=MONTHLY;BYMONTHDAY={int(monthday)}",
    }[preset]


def preset_of(rule: str) -> dict | None:
    """The rule builder's fields for `rule` when it is one of the presets, ending never or after a number of
    meetings ({"preset", "weekday", "monthday", "end", "count"}); None for any other rule, shown as written."""
    try:
        parts = dict(Rule.parse(rule).parts)
    except RuleError:
        return None
    if "UNTIL" in parts:
        return None
    count = parts.get("COUNT")
    base = {k: v for k, v in parts.items() if k not in ("COUNT", "WKST")}
    end = {"end": "count", "count": int(count)} if count and count.isdigit() else {"end": "never", "count": None}
    for preset in ("last_weekday", "first_weekday", "weekly"):
        for weekday in WEEKDAY_CODES:
            if base == dict(Rule.parse(preset_rule(preset, weekday)).parts):
                return {"preset": preset, "weekday": weekday, "monthday": 15, **end}
    if base.get("FREQ") == "MONTHLY" and set(base) == {"FREQ", "BYMONTHDAY"} and base["BYMONTHDAY"].isdigit() \
            and 1 <= int(base["BYMONTHDAY"]) <= 31:
        return {"preset": "monthday", "weekday": "MO", "monthday": int(base["BYMONTHDAY"]), **end}
    return None


def with_end(rule: str, count: int | None = None, until: date | None = None) -> str:
    """Add an end by number of meetings (COUNT) or by last date (UNTIL at the end of that day)."""
    try:
        parsed = Rule.parse(rule)
    except RuleError:
        return rule  # as typed: saving it says what is wrong with it
    if count:
        return str(parsed.ending_after(count))
    if until:
        return str(parsed.ending_on(until))
    return rule


def describe(rule: str) -> str:
    """The rule as people say it, where it is one of the presets (with or without an end); else the rule."""
    try:
        parts = dict(Rule.parse(rule).parts)
    except RuleError:
        return rule
    base = {k: v for k, v in parts.items() if k not in ("COUNT", "UNTIL", "WKST")}
    text = None
    byday = base.get("BYDAY", "")
    if base.get("FREQ") == "MONTHLY" and set(base) == {"FREQ", "BYDAY"} and byday[-2:] in WEEKDAY_NAMES:
        ordinal, code = byday[:-2], byday[-2:]
        if ordinal == "-1":
            text = PRESETS["last_weekday"] % {"weekday": WEEKDAY_NAMES[code]}
        elif ordinal in ("1", "+1"):
            text = PRESETS["first_weekday"] % {"weekday": WEEKDAY_NAMES[code]}
    elif base.get("FREQ") == "WEEKLY" and set(base) == {"FREQ", "BYDAY"} and byday in WEEKDAY_NAMES:
        text = PRESETS["weekly"] % {"weekday": WEEKDAY_NAMES[byday]}
    elif base.get("FREQ") == "MONTHLY" and set(base) == {"FREQ", "BYMONTHDAY"} and base["BYMONTHDAY"].isdigit():
        text = PRESETS["monthday"] % {"day": int(base["BYMONTHDAY"])}
    if text is None:
        return rule
    if "COUNT" in parts:
        text = ngettext("%(rule)s, %(num)d meeting", "%(rule)s, %(num)d meetings", int(parts["COUNT"]), rule=text)
    elif "UNTIL" in parts:
        until = parts["UNTIL"]
        text = _l("%(rule)s, until %(date)s", rule=text, date=f"{until[6:8]}/{until[4:6]}/{until[0:4]}")
    return str(text)
