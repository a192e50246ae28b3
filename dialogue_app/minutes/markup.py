"""Markdown to safe HTML, the same for the page, its preview and the PDF.

Pure: no Flask, no database. markdown-it escapes raw HTML instead of passing it through, and renders no
images; nh3 (the Ammonia sanitiser) then keeps only a small set of tags and attributes, and links only to
http, https and mailto. Nothing a person writes can load a resource: no image, style, frame, object or
script survives, so neither a browser nor WeasyPrint is ever made to fetch a URL or read a file.
"""

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "a",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    return parser.enable(["table", "strikethrough"]).disable("image")


def render_markdown(text: str | None) -> Markup:
    """Markdown `text` as sanitised HTML, safe to put in a page or a PDF as it is ("" for empty text)."""
    if not text or not text.strip():
        return Markup("")
    clean = nh3.clean(_parser().render(text), tags=set(ALLOWED_TAGS), attributes=ALLOWED_ATTRIBUTES,
                      url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer nofollow", strip_comments=True)
    return Markup(clean)  # noqa: S704  (sanitised just above: this is the one place user HTML is trusted)


def plain_text(text: str | None) -> str:
    """What Markdown `text` says, without its marks (a table's cells, a list's items, the words in bold), on one
    line: for a snippet of search results, which would otherwise show "**" and "|---|"."""
    return " ".join(render_markdown(text).striptags().split())
