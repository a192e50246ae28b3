"""Properties of the pure parts (issue 9), checked with Hypothesis over generated inputs.

- tax codes: every code built with its check digit is valid, in every accepted spelling; one wrong digit or
  two neighbours swapped among the first nine is always caught; whatever text comes in, the check answers
  with a problem or None, and only ASCII digits ever pass.
- who did it: "Name <email>" fits the columns that keep it, whatever the name and the address.
- recurrence rules: whatever text comes in, parse_rule and normalize_rule either answer or raise RuleError;
  normalize_rule is idempotent.
- the occurrence function: occurrences lie in their window, in order, once each, each where the rule,
  the holiday policy and the overrides put it; and the window only selects, it never changes an answer.
- ICS text: a SUMMARY, DESCRIPTION and LOCATION of any text read back unchanged through icalendar's parser,
  and every line of the file is folded to at most 75 octets (RFC 5545, 3.1); a calendar's name is one line.

Examples are derandomized, so a run in CI is the same run every time.
"""

import contextlib
import re
import string
import unicodedata
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from dialogue_app.calendar.ical import MeetingEntry, Person, calendar, meeting_event
from dialogue_app.officetime.days import HolidayCalendar
from dialogue_app.org.taxcode import TaxCodeProblem, check_digit, is_valid_tax_code, tax_code_problem
from dialogue_app.scheduling.recurrence import (
    HolidayPolicy,
    Override,
    RuleError,
    Status,
    expand,
    normalize_rule,
    parse_rule,
)
from dialogue_app.text import LABEL_LENGTH, person_label

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
PROPERTY = settings(max_examples=150, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

# --- Tax codes --------------------------------------------------------------------------------------------

digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


@st.composite
def valid_codes(draw) -> str:
    head = draw(digits.filter(lambda nine: check_digit(nine) is not None))
    return f"{head}{check_digit(head)}"


@PROPERTY
@given(valid_codes(), st.integers(1, 999).map("{:03d}".format), st.sampled_from(["", " ", "  "]))
def test_a_code_built_with_its_check_digit_is_valid_in_every_spelling(code, branch, space):
    assert is_valid_tax_code(code)
    assert is_valid_tax_code(f"{code}-{branch}")  # a dependent unit
    assert is_valid_tax_code(f"{space}{code[:4]}{space}{code[4:]}{space}")  # as people type or paste it


@PROPERTY
@given(valid_codes(), st.integers(0, 9), st.integers(1, 9))
def test_one_wrong_digit_is_always_caught(code, position, change):
    # Each weight is prime to 11, so a change of 1..9 in one digit always changes the remainder.
    wrong = code[:position] + str((int(code[position]) + change) % 10) + code[position + 1:]
    assert tax_code_problem(wrong) is TaxCodeProblem.CHECK_DIGIT


@PROPERTY
@given(valid_codes(), st.integers(0, 7))
def test_two_neighbours_swapped_among_the_first_nine_are_always_caught(code, position):
    # Neighbouring weights differ by 2, 4 or 6, never a multiple of 11.
    assume(code[position] != code[position + 1])
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
    assert tax_code_problem(swapped) is TaxCodeProblem.CHECK_DIGIT


@PROPERTY
@given(st.one_of(st.text(), st.text(alphabet=string.digits + "-  \t٠١٢٣٤٥٦٧٨٩０１２３４５６７８９", max_size=16)))
def test_any_text_is_answered_and_only_ascii_digits_pass(value):
    problem = tax_code_problem(value)
    assert problem is None or isinstance(problem, TaxCodeProblem)
    if problem is None:
        assert re.fullmatch(r"[0-9]{10}(-[0-9]{3})?", "".join(value.split()))


def test_digits_of_other_scripts_are_not_a_tax_code():
    # ٠١٠٠١٠٩١٠٦ (Arabic-Indic) and ０１００１０９１０６ (full-width) read as the valid 0100109106 to int(),
    # but a code is ten ASCII digits: stored as typed, they would register the same business twice.
    for zero in ("\u0660", "\uff10"):
        lookalike = "".join(chr(ord(zero) + int(d)) for d in "0100109106")
        assert tax_code_problem(lookalike) is TaxCodeProblem.FORMAT


# --- Who did it -------------------------------------------------------------------------------------------


@PROPERTY
@given(st.text(max_size=255), st.emails().filter(lambda address: len(address) <= 254))
def test_a_person_label_fits_its_column_and_keeps_the_whole_address(name, email):
    # A name and an address may each be about 255 characters long; the histories keep 300 (on PostgreSQL, a
    # longer label used to make every write of such a person fail).
    label = person_label(name, email)
    assert len(label) <= LABEL_LENGTH and label.endswith(f"<{email}>")
    if len(name) + len(email) + 3 <= LABEL_LENGTH:
        assert label == f"{name} <{email}>"
    else:
        assert name.startswith(label[: -len(email) - 3].rstrip())


# --- Recurrence rules -------------------------------------------------------------------------------------

PARTS = ["FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "BYWEEKNO",
         "BYYEARDAY", "WKST", "BYHOUR", "DTSTART", "X-NAME"]
PART_VALUES = st.one_of(
    st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY", "MO", "-1MO", "+2FR", "53SU", "0MO",
                     "20261231", "20261231T080000", "20261231T010000Z", "19991231", "21020101", "99991231T235959Z"]),
    st.integers(-400, 10_001).map(str),
    st.lists(st.integers(-370, 370).map(str), min_size=1, max_size=4).map(",".join),
    st.text(max_size=8),
)


@st.composite
def rule_soup(draw) -> str:
    """Text shaped like a rule, mostly wrong in some part: it reaches far deeper than random text does."""
    parts = draw(st.lists(st.tuples(st.sampled_from(PARTS), PART_VALUES), max_size=6))
    if draw(st.booleans()):
        parts.insert(0, ("FREQ", draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))))
    text = ";".join(f"{name}={value}" for name, value in parts)
    if draw(st.booleans()):
        text = text.lower()
    return draw(st.sampled_from(["", "RRULE:", " "])) + text


any_rule_text = st.one_of(st.text(), rule_soup())
first_starts = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2110, 12, 31)).map(
    lambda moment: moment.replace(second=0, microsecond=0))


@PROPERTY
@given(any_rule_text, first_starts)
def test_any_text_parses_or_is_refused_with_a_rule_error(text, first_start):
    with contextlib.suppress(RuleError):  # anything else fails the test
        parse_rule(text, first_start, HCM)


@PROPERTY
@given(any_rule_text)
def test_normalizing_a_rule_twice_changes_nothing(text):
    try:
        once = normalize_rule(text)
    except RuleError:
        return
    assert normalize_rule(once) == once


# --- The occurrence function ------------------------------------------------------------------------------

WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def rules(draw) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.integers(1, 3))}"]
    if freq in ("DAILY", "WEEKLY") and draw(st.booleans()):
        parts.append("BYDAY=" + ",".join(draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3,
                                                       unique=True))))
    elif freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
        parts.append(f"BYDAY={draw(st.sampled_from([-1, 1, 2, 4]))}{draw(st.sampled_from(WEEKDAYS))}")
    ending = draw(st.sampled_from(["never", "count", "until"]))
    if ending == "count":
        parts.append(f"COUNT={draw(st.integers(1, 30))}")
    elif ending == "until":
        parts.append(f"UNTIL={draw(st.sampled_from(['20271231T235959', '20270301']))}")
    return ";".join(parts)


def longest_time_off(holidays: HolidayCalendar, around: date) -> int:
    day, run, longest = around - timedelta(days=500), 0, 0
    while day < around + timedelta(days=900):
        run = 0 if holidays.is_workday(day) else run + 1
        longest = max(longest, run)
        day += timedelta(days=1)
    return longest


@st.composite
def holiday_calendars(draw, around: date, runs: list[tuple[date, int]]) -> HolidayCalendar:
    """Scattered days off, some working weekend days, and runs of days off (Tết) that start (step 1) or end
    (step -1) on the given days."""
    scattered = draw(st.lists(st.integers(-400, 800), max_size=15))
    days_off = {around + timedelta(days=n): f"Nghỉ {n}" for n in scattered}
    working = frozenset(around + timedelta(days=n) for n in draw(st.lists(st.integers(-400, 800), max_size=5))
                        if (around + timedelta(days=n)).weekday() >= 5)
    for day, step in runs:
        run = {day + timedelta(days=step * n): "Tết" for n in range(draw(st.integers(1, 9)))}
        # Real calendars never keep people from work for more than a fortnight, so a shift stays within the
        # margin the occurrence function looks beyond its window.
        if longest_time_off(HolidayCalendar({**days_off, **run}, working), around) <= 14:
            days_off.update(run)
    assume(longest_time_off(HolidayCalendar(days_off, working), around) <= 14)
    return HolidayCalendar(days_off, working)


@st.composite
def schedules(draw):
    """A parsed rule with its calendar, policy, overrides and a window, all in the office's zone.

    Half the time a window edge falls a few days from an occurrence on a run of days off, where the holiday
    shift may carry it across the edge: the place a window's margin is put to the test."""
    rule_text = draw(rules())
    first_start = draw(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31))).replace(
        second=0, microsecond=0)
    try:
        rule = parse_rule(rule_text, first_start, HCM)
    except RuleError:
        assume(False)
    policy = draw(st.sampled_from(list(HolidayPolicy)))
    near = rule.between(first_start - timedelta(days=60), first_start + timedelta(days=600), inc=True)
    runs = [(moment.date(), draw(st.sampled_from([-1, 1]))) for moment in
            draw(st.lists(st.sampled_from(near), max_size=3))] if near else []
    edge = draw(st.sampled_from(["start", "end", "anywhere"])) if near else "anywhere"
    minutes = timedelta(minutes=draw(st.integers(-720, 720)))
    length = timedelta(days=draw(st.integers(1, 200)), minutes=draw(st.integers(0, 1439)))
    if edge == "anywhere":
        window_start = first_start.replace(tzinfo=HCM) + timedelta(days=draw(st.integers(-40, 300))) + minutes
    else:
        anchor = draw(st.sampled_from(near))
        step = -1 if policy is HolidayPolicy.PREVIOUS_WORKDAY else 1
        runs.append((anchor.date(), step))
        gap = timedelta(days=draw(st.integers(-3, 12))) * step + minutes
        window_start = anchor.replace(tzinfo=HCM) + gap - (length if edge == "end" else timedelta(0))
    window_end = window_start + length
    overrides = {}
    for moment in draw(st.lists(st.sampled_from(near), max_size=6, unique=True)) if near else []:
        moved = draw(st.one_of(st.none(), st.integers(-60 * 24 * 90, 60 * 24 * 90)))
        overrides[moment.date()] = Override(
            moment.date(),
            start=None if moved is None else moment.replace(tzinfo=HCM) + timedelta(minutes=moved),
            location=draw(st.one_of(st.none(), st.just("Phòng họp tầng 3"))),
            cancelled=draw(st.sampled_from([None, True, False])),
        )
    return {
        "rule": rule, "calendar": draw(holiday_calendars(first_start.date(), runs)), "policy": policy,
        "overrides": overrides, "duration": timedelta(minutes=draw(st.integers(5, 720))),
        "window": (window_start, window_end),
    }


def occurrences(schedule, window_start, window_end):
    return expand(schedule["rule"], HCM, schedule["duration"], schedule["calendar"], schedule["policy"],
                  schedule["overrides"], window_start, window_end)


@PROPERTY
@given(schedules())
def test_occurrences_lie_in_their_window_in_order_once_each(schedule):
    window_start, window_end = schedule["window"]
    found = occurrences(schedule, window_start, window_end)
    assert all(window_start <= o.start < window_end for o in found)
    assert [(o.start, o.occurrence) for o in found] == sorted((o.start, o.occurrence) for o in found)
    assert len({o.occurrence for o in found}) == len(found)
    for o in found:
        assert o.end - o.start == schedule["duration"]
        assert o.rule_start.date() == o.occurrence
        assert schedule["rule"].between(o.rule_start.replace(tzinfo=None), o.rule_start.replace(tzinfo=None),
                                        inc=True), "an occurrence the rule does not produce"
        assert o.holiday == schedule["calendar"].holiday(o.occurrence)


@PROPERTY
@given(schedules())
def test_the_policy_and_the_overrides_are_applied(schedule):
    window_start, window_end = schedule["window"]
    calendar_, policy, overrides = schedule["calendar"], schedule["policy"], schedule["overrides"]
    found = {o.occurrence: o for o in occurrences(schedule, window_start, window_end)}
    for day, o in found.items():
        override = overrides.get(day) or Override(day)
        assert o.location == override.location
        if override.start is not None:  # moved by a person: held where they put it
            expected_start = override.start
            status = Status.MOVED if override.start != o.rule_start else Status.SCHEDULED
        elif override.cancelled is False or o.holiday is None or policy is HolidayPolicy.KEEP:
            # restored (held at its rule time, holiday or not), or nothing to apply
            expected_start, status = o.rule_start, Status.SCHEDULED
        elif policy is HolidayPolicy.SKIP:
            expected_start, status = o.rule_start, Status.CANCELLED
        else:
            expected_start, status = o.start, Status.MOVED
            assert o.start.time() == o.rule_start.time() and calendar_.is_workday(o.start.date())
            assert (o.start.date() < day) == (policy is HolidayPolicy.PREVIOUS_WORKDAY)
            step = 1 if o.start.date() > day else -1
            passed_over = [day + timedelta(days=step * n) for n in range(1, abs((o.start.date() - day).days))]
            assert not any(calendar_.is_workday(d) for d in passed_over)  # the nearest workday
        if override.location is not None and status is Status.SCHEDULED:
            status = Status.MOVED  # a change of place is a move
        if override.cancelled:
            status = Status.CANCELLED
        assert (o.start, o.status) == (expected_start, status)
    # An occurrence moved into the window is found, wherever the rule first put it.
    for day, override in overrides.items():
        if override.start is not None and window_start <= override.start < window_end:
            assert found[day].start == override.start


@PROPERTY
@given(schedules(), st.integers(0, 400), st.integers(0, 400), st.floats(0, 1))
def test_a_window_only_selects_occurrences(schedule, before, after, cut):
    window_start, window_end = schedule["window"]
    wide = occurrences(schedule, window_start - timedelta(days=before), window_end + timedelta(days=after))
    inside = [o for o in wide if window_start <= o.start < window_end]
    assert occurrences(schedule, window_start, window_end) == inside
    middle = window_start + (window_end - window_start) * cut
    assert occurrences(schedule, window_start, middle) + occurrences(schedule, middle, window_end) == inside


# --- ICS text ---------------------------------------------------------------------------------------------

# Any text a person can type or paste: every plane, separators, controls, combining marks, and the
# characters iCalendar escapes.
texts = st.one_of(
    st.text(),
    st.lists(st.sampled_from([",", ";", "\\", ":", '"', "\r", "\n", "\r\n", "\t", " ", "n", "N", "ế", "\u0301",
                              "😀", "\u2028", "\x00", "\x7f", "\x0b", "\x1b", "\x85"])).map("".join),
    st.text(alphabet="ạàáâầấậăằắặêềếệôồốộơờớợưừứựđ ", min_size=60, max_size=300),
)


def without_controls(text: str) -> str:
    """Issue 15 (W3): no control character is written into a calendar. Vertical tab, form feed, NEL and the
    Unicode line and paragraph separators are line breaks; the other C0 (but tab, CR, LF), DEL and C1 go."""
    kept = []
    for ch in text:
        if ch in "\x0b\x0c\x85\u2028\u2029":
            kept.append("\n")
        elif ch in "\t\r\n" or not (ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f):
            kept.append(ch)
    return "".join(kept)


def as_ical_text(text: str) -> str:
    """What a calendar reads back: the text NFC-normalised (ical.nfc) without control characters, line breaks
    as LF, the only form iCalendar TEXT has for them (a CR LF or a lone CR is written as the escape \\n)."""
    return without_controls(unicodedata.normalize("NFC", text)).replace("\r\n", "\n").replace("\r", "\n")


def invite(title: str, description: str, location: str) -> bytes:
    start = datetime(2027, 1, 25, 8, 0, tzinfo=HCM)
    entry = MeetingEntry(
        uid="meeting-1@dialogue", title=title, description=description, location=location, start=start,
        end=start + timedelta(hours=2), sequence=0, last_modified=datetime(2026, 11, 1, tzinfo=UTC),
        url="https://dialogue.example.vn/meetings/1", organizer=Person("chicuc@example.vn", "Trần Văn Bình"),
    )
    return calendar([meeting_event(entry, HCM)], method="REQUEST", name=title, zone=HCM).to_ical()


@PROPERTY
@given(texts, texts, texts)
# icalendar alone reads a backslash followed by N as a line break: a path people type must stay a path.
@example(title="Nghị định 08 (D:\\Nghi dinh\\NĐ08.pdf)", description="\\N", location="\\\\server\\Nhà A")
def test_text_reads_back_unchanged_and_lines_are_folded_at_75_octets(title, description, location):
    ics = invite(title, description, location)
    event = Calendar.from_ical(ics).walk("VEVENT")[0]
    assert str(event["summary"]) == as_ical_text(title)
    assert str(event["location"]) == as_ical_text(location)
    if as_ical_text(description):
        assert str(event["description"]) == as_ical_text(description)
    assert ics.endswith(b"\r\n")
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", ics)  # no control character, whatever was typed
    for line in ics[:-2].split(b"\r\n"):
        assert len(line) <= 75, line
        assert b"\r" not in line and b"\n" not in line
        line.decode("utf-8")  # folding never cuts a character in two


@PROPERTY
@given(texts)
@example(name="Lịch Chi cục (\\Nội bộ)")
def test_a_calendar_name_is_one_line(name):
    ics = calendar([], method="PUBLISH", name=name, zone=HCM).to_ical()
    expected = " ".join(without_controls(unicodedata.normalize("NFC", name)).split())
    for prop in ("x-wr-calname", "name"):
        written = Calendar.from_ical(ics).get(prop)
        # icalendar's parser does not know these two are TEXT and hands back the escaped value as it is.
        assert (unescape_text(str(written)) if written is not None else "") == expected


def unescape_text(escaped: str) -> str:
    """An iCalendar TEXT value as RFC 5545 (3.3.11) reads it: \\\\, \\; \\, and \\n."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), escaped)

