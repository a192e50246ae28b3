"""Pure text functions of the search: words as both databases index them, queries, highlighted snippets.

The words are made here, in Python, for SQLite and PostgreSQL alike, so that both index exactly the same
tokens: Vietnamese folded (accents dropped, đ read as d, lower case, `dialogue_app.text.fold`) and cut at
anything that is not a letter or a digit. Each database's own parser would cut differently ("C/O",
"31/2022/TT-BTC", e-mail addresses are one token to PostgreSQL's parser and several to SQLite's), and the
issue asks for the same results on both.

Prefixes: a query word of two letters or more matches every word it begins ("thu" finds "thuế"); a word of one
letter matches only that word ("mẫu D", not every word in d). SQLite's FTS5 does prefix queries itself (with
prefix indexes for two to seven letters); for PostgreSQL every indexed word is stored with its prefixes as
lexemes, so that a query is a plain AND of lexemes that the GIN index intersects quickly (a prefix query there
would merge every matching posting list instead).
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup, escape

from ..text import fold

WORD = re.compile(r"[^\W_]+")
# Longer words are rare (hashes, run-together codes): indexed whole, and as prefixes up to this length; a longer
# query word is cut to it, so that both databases read it the same way.
MAX_PREFIX = 20
MAX_WORD = 60
# What a query may ask: more words than this only slow the search down without narrowing it in practice.
MAX_QUERY_WORDS = 8
MAX_QUERY_LENGTH = 200
# What one document contributes: the minutes of a long meeting are cut here (a tsvector holds at most 1 MB).
MAX_DOCUMENT_WORDS = 20_000


def words(text: str | None) -> list[str]:
    """The folded words of `text`, in order: "Hoàn thuế C/O mẫu D" -> ["hoan", "thue", "c", "o", "mau", "d"]."""
    if not text:
        return []
    return [w[:MAX_WORD] for w in WORD.findall(fold(text))][:MAX_DOCUMENT_WORDS]


def lexemes(text_words: list[str]) -> set[str]:
    """Each word and its prefixes of two letters or more (up to MAX_PREFIX): what PostgreSQL indexes."""
    found: set[str] = set()
    for word in text_words:
        found.add(word)
        for end in range(2, min(len(word), MAX_PREFIX + 1)):
            found.add(word[:end])
    return found


def tsvector_literal(text_words: list[str]) -> str:
    """The lexemes of these words as PostgreSQL's tsvector input: 'ho' 'hoa' 'hoan' (no parser involved)."""
    return " ".join(_quoted(lexeme) for lexeme in sorted(lexemes(text_words)))


def _quoted(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True)
class Query:
    """A query as the search reads it: its folded words (at most MAX_QUERY_WORDS, no repeats)."""

    words: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.words

    def fts5(self) -> str:
        """The FTS5 MATCH expression: every word, quoted (no FTS syntax gets through), prefixes from two letters."""
        return " AND ".join(f'"{w}"*' if len(w) > 1 else f'"{w}"' for w in self.words)

    def tsquery(self) -> str:
        """PostgreSQL's tsquery input: an AND of lexemes, quoted (prefixes are indexed as lexemes)."""
        return " & ".join(_quoted(w) for w in self.words)


def parse(text: str | None) -> Query:
    """Read what a person typed: folded words only, so that quotes, stars, NEAR, colons, &, |, ! and - are
    just separators, never operators; an unpaired surrogate or a control character is dropped."""
    if not text:
        return Query(())
    cleaned = "".join(ch for ch in text[: MAX_QUERY_LENGTH * 4] if not _unprintable(ch))[:MAX_QUERY_LENGTH]
    found = dict.fromkeys(w[:MAX_PREFIX] for w in words(cleaned))
    return Query(tuple(found)[:MAX_QUERY_WORDS])


def _unprintable(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cs", "Cc") and ch not in "\t\n"


# -- Snippets ---------------------------------------------------------------------------------------------
# A page of results marks the words found in up to thirty titles and snippets: folding goes through a table
# of characters (str.translate, in C) and the words are found by one pattern per query, compiled once.

class _FoldTable(dict):
    """str.translate's table: each character as the search folds it, worked out the first time it is met.
    Characters that do not fold to exactly one (a lone combining accent, as text typed on some systems has)
    are noted: a text holding one needs its characters' positions mapped back one by one."""

    def __init__(self) -> None:
        super().__init__()
        self.irregular: set[str] = set()

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        if len(folded) != 1:
            self.irregular.add(chr(code))
        self[code] = folded
        return folded


_FOLD_TABLE = _FoldTable()


def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d"
    decomposed = unicodedata.normalize("NFD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _folded(original: str) -> tuple[str, list[int] | None]:
    """`original` folded character by character, and where each folded character came from (None: from the
    same place, every character folding to one)."""
    folded = original.translate(_FOLD_TABLE)
    if len(folded) == len(original) and _FOLD_TABLE.irregular.isdisjoint(original):
        return folded, None
    origin = []
    for index, ch in enumerate(original):
        origin.extend([index] * len(_FOLD_TABLE[ord(ch)]))
    return folded, origin


@lru_cache(maxsize=1024)
def _pattern(query_words: tuple[str, ...]) -> re.Pattern:
    """Where in a folded text a word begins that the query matches (by prefix, as the search does; a one-letter
    word whole), the longest query word first: the match is the part to mark."""
    prefixes = sorted((w for w in query_words if len(w) > 1), key=len, reverse=True)
    wholes = [w for w in query_words if len(w) == 1]
    choices = [*(re.escape(w) for w in prefixes), *(re.escape(w) + r"(?![^\W_])" for w in wholes)]
    return re.compile(r"(?<![^\W_])(?:" + "|".join(choices) + ")")


def matches(original: str, query: Query) -> list[tuple[int, int]]:
    """Spans (start, end) of `original` whose words the query matches (by prefix, as the search does)."""
    if not original or query.empty:
        return []
    folded, origin = _folded(original)
    found = _pattern(query.words).finditer(folded)
    if origin is None:
        return [(m.start(), m.end()) for m in found]
    return [(origin[m.start()], origin[m.end() - 1] + 1) for m in found]


def highlight(original: str, query: Query) -> Markup:
    """`original`, escaped, with the matched part of each matched word in <mark>."""
    parts, last = [], 0
    for start, end in matches(original, query):
        parts.append(str(escape(original[last:start])))
        parts.append(f"<mark>{escape(original[start:end])}</mark>")
        last = end
    parts.append(str(escape(original[last:])))
    return Markup("".join(parts))  # noqa: S704 (every part escaped above)


def excerpt(original: str, query: Query, width: int = 220) -> str:
    """A window of about `width` characters of `original` around its first match (its start when none),
    cut at spaces, with … where it was cut."""
    text = " ".join((original or "").split())
    if len(text) <= width:
        return text
    spans = matches(text, query)
    first = spans[0][0] if spans else 0
    start = max(0, first - width // 3)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return ("… " if start else "") + text[start:end] + (" …" if end < len(text) else "")
