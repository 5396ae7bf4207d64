"""Repository descriptions: Markdown (Python-Markdown) turned into HTML that nh3 (ammonia) has sanitized.

Raw HTML in a description is escaped, never passed through; the HTML Markdown produces is cleaned
again with an allow-list (no scripts, styles, event handlers, images or javascript: links), and links
get rel="nofollow noopener noreferrer". Bare http(s) URLs become links and single line breaks stay,
as the plain-text descriptions of earlier versions showed them.
"""

import functools
import html
import re
import threading
import xml.etree.ElementTree as etree

import markdown
import nh3
from django.utils.html import strip_tags
from django.utils.safestring import mark_safe
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "kbd", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
BARE_URL = r"\bhttps?://[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]]"


class _BareLink(InlineProcessor):
    def handleMatch(self, m, data):
        link = etree.Element("a", href=m.group(0))
        link.text = m.group(0)
        return link, m.start(0), m.end(0)


class _Berth(Extension):
    def extendMarkdown(self, md):
        # No raw HTML: without these two, Markdown reads `<tag>` as text and escapes it.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.inlinePatterns.register(_BareLink(BARE_URL, md), "berth_bare_link", 95)


_local = threading.local()


def _converter():
    """One Markdown instance per thread (building one costs more than converting a short text)."""
    md = getattr(_local, "md", None)
    if md is None:
        extensions = ["fenced_code", "tables", "sane_lists", "nl2br", _Berth()]
        md = _local.md = markdown.Markdown(extensions=extensions, output_format="html")
    return md.reset()


@functools.lru_cache(maxsize=1024)
def _clean_html(text):
    return nh3.clean(
        _converter().convert(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
    )


def render(text):
    """Safe HTML for a Markdown description (descriptions repeat on every page view: cached per process)."""
    return mark_safe(_clean_html(text or ""))  # noqa: S308 (sanitized by nh3)


# Text Markdown leaves as it is: no markup characters, no line breaks, no list or heading at its start.
# A catalog page shows up to 100 excerpts of mostly such one-line descriptions: they skip the converter.
_PLAIN = re.compile(r"(?![ \t]*(?:[-+=>]|\d+[.)])(?:\s|$))[^*_`#\[\]<>&!|~\\\n\r]*")


@functools.lru_cache(maxsize=1024)  # as _clean_html: a description may hold 10,000 characters
def excerpt(text, length=140):
    """The description's text without its Markdown, shortened to `length` characters (plain text)."""
    text = text or ""
    source = text if _PLAIN.fullmatch(text) else html.unescape(strip_tags(_clean_html(text)))
    plain = re.sub(r"\s+", " ", source).strip()
    return plain if len(plain) <= length else plain[: length - 1].rstrip() + "…"
