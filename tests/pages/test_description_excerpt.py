"""The catalog's one-line description excerpts: plain one-line text skips the Markdown converter, and
gives exactly what the converter would (markup, lists, headings, entities and line breaks go through it)."""

import html
import re

import pytest
from django.utils.html import strip_tags

from images.ui import markdown

DESCRIPTIONS = [
    "Bulk repository number 5",
    "plain: text (with) parens = ok, 4.0 release",
    "  spaced   out  ",
    "-dash at start",
    "12.5 percent",
    "1. first",
    "1) first",
    "- item",
    "+ item",
    "  - indented item",
    "> quote",
    "# Title",
    "== setext",
    "*bold* and _em_",
    "a_b",
    "see https://example.org/a_b.",
    "line one\nline two",
    "a &amp; b &lt;c&gt;",
    "<script>alert(1)</script> text",
    "`code` and [link](https://example.org)",
    "",
]


@pytest.mark.parametrize("text", DESCRIPTIONS)
def test_an_excerpt_is_the_converted_text(text):
    converted = re.sub(r"\s+", " ", html.unescape(strip_tags(markdown._clean_html(text)))).strip()
    assert markdown.excerpt(text) == converted


def test_a_long_description_is_shortened_with_an_ellipsis():
    assert markdown.excerpt("word " * 100, 20) == "word word word word…"
