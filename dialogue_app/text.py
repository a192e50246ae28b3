"""Pure text helpers shared by the domains."""

import unicodedata


def fold(text: str) -> str:
    """Lower-case, accent-free form used for searching: "Cà phê Đà Lạt" -> "ca phe da lat".

    Vietnamese đ/Đ is a letter of its own, not an accented d, so Unicode decomposition leaves it: map it.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())
