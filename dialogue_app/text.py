"""Pure text helpers shared by the domains."""

import unicodedata


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
