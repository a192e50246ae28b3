"""HTML -> PDF with WeasyPrint, and the way Vietnamese administrative documents write dates and times.

Called by the services; calls nothing back. WeasyPrint reads only the app's own static files (the style
sheet and the fonts) through static_files_only: any other URL, and any file outside the static folder, is
refused, so no text in a document can make the server fetch a URL or read a file.
"""

import hashlib
import io
import mimetypes
import os
from datetime import date, datetime, time
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pydyf
from markupsafe import Markup, escape

from .text import clean_text

# WeasyPrint is imported where it is used: it takes most of a second to import and needs Pango, and only
# printing needs it (not the pages, the API, the commands).

PDF_VARIANT = "pdf/a-3b"  # for the archive: fonts embedded, colours defined, metadata in XMP
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


class RefusedURL(ValueError):
    """WeasyPrint asked for something outside the app's static files."""


def static_file_response(url: str, root: Path):
    """The file `url` names if it is a regular file inside `root` (symlinks resolved), else RefusedURL."""
    from weasyprint.urls import URLFetcherResponse  # noqa: PLC0415 (heavy, with Pango: loaded when the first PDF is made)

    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise RefusedURL(f"only the app's static files may be read, not {url[:200]!r}")
    path = Path(unquote(parts.path)).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise RefusedURL(f"not one of the app's static files: {url[:200]!r}")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return URLFetcherResponse(path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type})


@lru_cache(maxsize=1)
def _fetcher_class():
    from weasyprint import URLFetcher  # noqa: PLC0415 (heavy, with Pango: loaded when the first PDF is made)

    class StaticFilesOnly(URLFetcher):
        """Serves `file:` URLs inside the static folder and refuses everything else: no network, no other
        file, no symlink out of the folder."""

        def __init__(self, static_folder: str | os.PathLike):
            super().__init__(allowed_protocols=("file",), allow_redirects=False)
            self.root = Path(static_folder).resolve()

        def fetch(self, url: str, headers=None):
            return static_file_response(url, self.root)

    return StaticFilesOnly


def static_files_only(static_folder: str | os.PathLike):
    """WeasyPrint's URL fetcher for a document: the files of `static_folder`, and nothing else."""
    return _fetcher_class()(static_folder)


def static_base_url(static_folder: str | os.PathLike) -> str:
    """The base URL the document's relative links (css/pdf.css, fonts/…) resolve against."""
    return Path(static_folder).resolve().as_uri() + "/"


@lru_cache(maxsize=1)
def _srgb_profile() -> bytes:
    return (files("weasyprint.pdf") / "sRGB2014.icc").read_bytes()


def _output_intent() -> dict:
    """PDF/A's output intent, sRGB, given as a colour profile of our own: WeasyPrint's built-in "srgb" intent
    opens its ICC file and never closes it (a file handle and a ResourceWarning per PDF)."""
    from weasyprint.css import ColorProfile  # noqa: PLC0415 (heavy, with Pango: loaded when the first PDF is made)

    profile = ColorProfile(io.BytesIO(_srgb_profile()), "sRGB2014.icc", "relative-colorimetric",
                           (["r"], ["g"], ["b"]))
    return {"color_profiles": {"--srgb": profile}, "output_intent": "--srgb"}


def html_to_pdf(html: str, *, static_folder: str | os.PathLike, identifier: str | None = None) -> bytes:
    """`html` printed as PDF/A-3b bytes. Relative URLs in it name files of `static_folder`, the only files
    it can reach. `identifier` (any text) makes the PDF's file identifier, so that the same input gives
    the same file."""
    from weasyprint import HTML  # noqa: PLC0415 (heavy, with Pango: loaded when the first PDF is made)

    html = clean_text(html)  # whatever is stored, no control character reaches the printed page
    document = HTML(string=html, base_url=static_base_url(static_folder), url_fetcher=static_files_only(static_folder))
    options = {"pdf_variant": PDF_VARIANT, **_output_intent()}
    if identifier:
        options["pdf_identifier"] = hashlib.md5(identifier.encode(), usedforsecurity=False).hexdigest().encode()
    return document.write_pdf(finisher=_empty_form, **options)


def _empty_form(_document, pdf) -> None:
    """An empty interactive form in the catalogue: a signature added later (by the office or by a person's
    token) then only fills the form, which is how a validator (pyHanko's difference analysis, Adobe's) tells
    an added signature from a changed document, reviewing from this very revision. SigFlags 3: signatures
    are expected, and the file is only ever appended to."""
    if "AcroForm" not in pdf.catalog:
        pdf.catalog["AcroForm"] = pydyf.Dictionary({"Fields": pydyf.Array(), "SigFlags": 3})


# --- Dates and times as Vietnamese documents write them ------------------------------------------------

def date_words(value: date | datetime | None) -> str:
    """"ngày 05 tháng 02 năm 2026", "ngày 26 tháng 10 năm 2026": a day below 10 and the months 1 and 2 take
    a leading zero (Nghị định 30/2020/NĐ-CP, Phụ lục I). Dots to fill in by hand when there is no date."""
    if value is None:
        return "ngày …… tháng …… năm ……"
    month = f"{value.month:02d}" if value.month < 3 else str(value.month)
    return f"ngày {value.day:02d} tháng {month} năm {value.year}"


def time_words(value: time | datetime | None) -> str:
    """"8 giờ 00 phút"; dots to fill in by hand when the time is not known."""
    if value is None:
        return "…… giờ …… phút"
    return f"{value.hour} giờ {value.minute:02d} phút"


def weekday(value: date | datetime) -> str:
    return WEEKDAYS[value.weekday()]


def short_date(value: date | datetime | None) -> str:
    return "" if value is None else f"{value.day:02d}/{value.month:02d}/{value.year}"


# --- Names of authorities and units -------------------------------------------------------------------

# Where a unit's name divides into the kind of body and its proper name: "Cục Hải quan" | "TP. Hồ Chí Minh".
_NAME_HEADS = ("hải quan", "thuế")
_NAME_MARKERS = (" tỉnh ", " thành phố ", " tp. ", " khu vực ", " khu ", " cửa khẩu ", " sân bay ", " cảng ")
# Wider than this (in characters), a part would overflow the heading's column on one line: it may break.
UNBROKEN_MAX = 26


def name_parts(name: str) -> list[str]:
    """A unit's name in the parts a line may break between, never inside one: the kind of body ("Chi cục Hải
    quan") and its proper name ("Khu công nghệ cao", "Thành phố Hồ Chí Minh")."""
    name = " ".join(name.split())
    lowered = name.lower()
    for head in _NAME_HEADS:
        at = lowered.find(head)
        if at >= 0 and at + len(head) < len(name):
            cut = at + len(head)
            return [name[:cut], name[cut:].strip()]
    cuts = [lowered.find(marker) for marker in _NAME_MARKERS if lowered.find(marker) > 0]
    if cuts:
        return [name[:min(cuts)], name[min(cuts):].strip()]
    return [name] if name else []


def unbroken(name: str):
    """`name` as HTML whose lines break only between its parts (name_parts), for the heading and "Nơi nhận"."""
    return Markup(" ").join(
        Markup('<span class="unbroken">%s</span>') % escape(part) if len(part) <= UNBROKEN_MAX else escape(part)
        for part in name_parts(name))
