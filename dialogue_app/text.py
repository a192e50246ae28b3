"""Pure text helpers shared by the domains."""

import re
import unicodedata

# Line breaks as a browser sends them (\r\n) stay as typed; line breaks of other kinds (a vertical tab is how
# Word pastes a manual line break, a form feed a page break) become plain line breaks; every other control
# character (C0 but tab and line breaks, DEL, C1) is dropped. Nobody types them, and an ICS file, a mail header
# or a PDF must never carry them.
OTHER_LINE_BREAKS = re.compile("[\x0b\x0c\x85\u2028\u2029]")
CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """`text` with odd line breaks made plain (\\n) and other control characters removed."""
    if not CONTROL.search(text) and not OTHER_LINE_BREAKS.search(text):
        return text
    return CONTROL.sub("", OTHER_LINE_BREAKS.sub("\n", text))


def fold(text: str) -> str:
    """Lower-case, accent-free form used for searching: "Cà phê Đà Lạt" -> "ca phe da lat".

    Vietnamese đ/Đ is a letter of its own, not an accented d, so Unicode decomposition leaves it: map it.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


# The columns that keep who did something (the audit trail, an issue's history, a minutes revision).
LABEL_LENGTH = 300


def person_label(name: str, email: str) -> str:
    """How a history names who acted: "Name <email>", cut to fit its column. A name and an address may each be
    about 255 characters long, so the name gives way: the address, which tells people apart, stays whole."""
    label = f"{name} <{email}>"
    if len(label) <= LABEL_LENGTH:
        return label
    room = max(LABEL_LENGTH - len(email) - 3, 0)
    return f"{name[:room].rstrip()} <{email}>"[:LABEL_LENGTH]
