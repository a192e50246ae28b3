"""The translation catalogs: Vietnamese is complete, matches the source, and its compiled .mo is current.

Nothing here needs the application or the database: the catalogs are read with Babel directly.

To refresh the catalogs after changing strings in the code or templates: `make translations` (see babel.cfg).
"""

import os
import re
from pathlib import Path

from babel.messages import frontend
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from babel.support import Translations

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "dialogue_app" / "translations"
VI_PO = TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po"
VI_MO = TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.mo"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
EN_MO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"

# The same input directories and keywords as the extraction command in babel.cfg.
SOURCE_DIRS = ("dialogue_app", "templates")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}

# %(name)s, %(n)d, %s, %% ... and, for str.format messages (marshmallow validators), {name}.
PERCENT_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
BRACE_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def read_catalog(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def messages(catalog):
    """Every real message: not the header (obsolete entries are kept apart by read_po already)."""
    return [m for m in catalog if m.id]


def forms(value) -> list[str]:
    return list(value) if isinstance(value, list | tuple) else [value]


def placeholders(text: str, message) -> set[str]:
    found = set(PERCENT_PLACEHOLDER.findall(text))
    if "python-brace-format" in message.flags:
        found |= set(BRACE_PLACEHOLDER.findall(text))
    return found


def label(message) -> str:
    msgid = forms(message.id)[0]
    return f"{message.context}|{msgid}" if message.context else msgid


def test_vietnamese_catalog_has_one_plural_form_and_is_not_fuzzy():
    catalog = read_catalog(VI_PO)
    assert str(catalog.locale) == "vi"
    assert catalog.num_plurals == 1
    assert catalog.plural_expr == "0"
    assert not catalog.fuzzy, "the catalog header is marked fuzzy: pybabel compile would skip it"


def test_every_vietnamese_message_is_translated():
    catalog = read_catalog(VI_PO)
    untranslated = [label(m) for m in messages(catalog) if not all(s.strip() for s in forms(m.string))]
    fuzzy = [label(m) for m in messages(catalog) if m.fuzzy]
    wrong_plural = [label(m) for m in messages(catalog) if m.pluralizable and len(forms(m.string)) != 1]
    assert not untranslated, "no Vietnamese translation for:\n" + "\n".join(untranslated)
    assert not fuzzy, "fuzzy (unchecked) translations; review them and remove the flag:\n" + "\n".join(fuzzy)
    assert not wrong_plural, "Vietnamese has exactly one plural form (msgstr[0]):\n" + "\n".join(wrong_plural)


def test_translations_keep_the_placeholders():
    catalog = read_catalog(VI_PO)
    problems = []
    for message in messages(catalog):
        expected = set().union(*(placeholders(msgid, message) for msgid in forms(message.id)))
        for translation in forms(message.string):
            got = placeholders(translation, message)
            if got != expected:
                problems.append(f"{label(message)!r}: expected {sorted(expected)}, found {sorted(got)}")
    assert not problems, "placeholders differ between msgid and msgstr:\n" + "\n".join(problems)


def source_messages() -> dict[tuple[str | None, str], tuple[str, int]]:
    """Every string marked for translation in the code and templates, extracted as babel.cfg says."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
        method_map, options_map = parse(f, "babel.cfg")

    def not_hidden(path: str) -> bool:  # what `pybabel extract` skips by default: .venv, .git, ...
        return not os.path.basename(path).startswith(".")

    found: dict[tuple[str | None, str], tuple[str, int]] = {}
    for directory in SOURCE_DIRS:
        for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT / directory, method_map, options_map, keywords=KEYWORDS, directory_filter=not_hidden,
        ):
            msgid = forms(message)[0]
            found.setdefault((context, msgid), (f"{directory}/{filename}", lineno))
    return found


def test_every_source_string_is_in_the_vietnamese_catalog():
    found = source_messages()
    assert found, "extraction found no strings at all: check babel.cfg"
    catalog = read_catalog(VI_PO)
    missing = [
        f"{where}:{line}: {msgid!r}" for (context, msgid), (where, line) in sorted(found.items(), key=str)
        if catalog.get(msgid, context=context) is None
    ]
    assert not missing, (
        "strings in the source with no entry in dialogue_app/translations/vi/LC_MESSAGES/messages.po "
        "(run `make translations` and translate them; the commands are in babel.cfg):\n" + "\n".join(missing)
    )


def test_compiled_vietnamese_catalog_matches_the_po():
    catalog = read_catalog(VI_PO)
    with VI_MO.open("rb") as f:
        compiled = Translations(f, domain="messages")
    stale = []
    for message in messages(catalog):
        msgid, translations = forms(message.id), forms(message.string)
        if message.pluralizable:
            got = [compiled.npgettext(message.context, msgid[0], msgid[1], n) if message.context
                   else compiled.ngettext(msgid[0], msgid[1], n) for n in (1, 2, 5)]
            ok = all(g == translations[0] for g in got)
        else:
            got = (compiled.pgettext(message.context, msgid[0]) if message.context
                   else compiled.gettext(msgid[0]))
            ok = got == translations[0]
        if not ok:
            stale.append(f"{label(message)!r}: .mo gives {got!r}, .po says {translations!r}")
    assert not stale, (
        "messages.mo is out of date; run `.venv/bin/pybabel compile -d dialogue_app/translations`:\n"
        + "\n".join(stale)
    )


def test_compiled_vietnamese_catalog_has_nothing_the_po_lacks():
    catalog = read_catalog(VI_PO)
    with VI_MO.open("rb") as f:
        compiled = read_mo(f)
    extra = sorted(str(m.id) for m in messages(compiled) if catalog.get(m.id, context=m.context) is None)
    assert not extra, "messages.mo holds strings no longer in the .po; recompile it:\n" + "\n".join(extra)


def test_english_is_a_real_locale_with_the_same_messages():
    vi = {(m.context, forms(m.id)[0]) for m in messages(read_catalog(VI_PO))}
    en_catalog = read_catalog(EN_PO)
    en = {(m.context, forms(m.id)[0]) for m in messages(en_catalog)}
    assert str(en_catalog.locale) == "en"
    assert en == vi, "the en and vi catalogs disagree; run `pybabel update` for both"
    assert EN_MO.is_file(), "no compiled English catalog; run pybabel compile"
    with EN_MO.open("rb") as f:
        compiled = Translations(f, domain="messages")
    # English falls back to the source strings wherever msgstr is empty.
    wrong = []
    for message in messages(en_catalog):
        msgid, translations = forms(message.id), forms(message.string)
        if message.pluralizable:
            got = [compiled.ngettext(msgid[0], msgid[1], n) for n in (1, 2)]
            expected = [translations[0] or msgid[0], translations[-1] or msgid[1]]
        else:
            got, expected = compiled.gettext(msgid[0]), translations[0] or msgid[0]
        if message.context is None and got != expected:
            wrong.append(f"{msgid[0]!r}: .mo gives {got!r}")
    assert not wrong, "the compiled English catalog is out of date:\n" + "\n".join(wrong)
