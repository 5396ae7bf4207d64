"""Template filters for the catalog: sizes, digests, percentages, times, counts, commands, Markdown."""

import re
from datetime import UTC, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince, timeuntil

from images.ui import markdown as description_markdown

register = template.Library()
JUST_NOW = timedelta(minutes=1)
LONG_HEX = re.compile(r"[0-9a-f]{16}(?=[0-9a-f]{8})")

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


@register.filter
def human_bytes(value):
    """1536 -> "1.5 KiB"; None -> "—"."""
    if value is None or value == "":
        return "—"
    size = float(value)
    for unit in UNITS:
        if abs(size) < 1024 or unit == UNITS[-1]:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} {UNITS[-1]}"  # pragma: no cover


@register.filter
def short_digest(digest):
    """sha256:0123456789abcdef… -> 0123456789ab (what docker prints as IMAGE ID)."""
    if not digest:
        return ""
    return str(digest).split(":", 1)[-1][:12]


@register.filter
def percent(part, whole):
    """Share of `whole` as a whole-number percentage (0 when whole is 0), for bars."""
    try:
        return max(0, min(100, round(100 * float(part) / float(whole))))
    except (TypeError, ValueError, ZeroDivisionError):
        return 0


@register.filter
def media_kind(media_type):
    """A short label for a media type: "OCI image", "Docker manifest list", "gzip layer"…"""
    media_type = str(media_type or "")
    names = {
        "application/vnd.oci.image.manifest.v1+json": "OCI image",
        "application/vnd.oci.image.index.v1+json": "OCI index",
        "application/vnd.docker.distribution.manifest.v2+json": "Docker image",
        "application/vnd.docker.distribution.manifest.list.v2+json": "Docker manifest list",
    }
    if media_type in names:
        return names[media_type]
    if "tar+gzip" in media_type or media_type.endswith("tar.gzip"):
        return "tar+gzip"
    if "tar+zstd" in media_type:
        return "tar+zstd"
    if media_type.endswith(".tar") or "tar" in media_type.rsplit(".", 1)[-1]:
        return "tar"
    return media_type


def _as_datetime(value):
    if isinstance(value, str):
        try:
            value = parse_datetime(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


@register.filter
def when(value):
    """<time> with the exact UTC time as its title: "just now", "3 minutes ago", "2 years ago"; "—" if none."""
    moment = _as_datetime(value)
    if moment is None:
        return value or "—"
    age = timezone.now() - moment
    if abs(age) < JUST_NOW:
        text = "just now"
    elif age < timedelta(0):
        text = f"in {timeuntil(moment, depth=1)}"
    else:
        text = f"{timesince(moment, depth=1)} ago"
    exact = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return format_html('<time datetime="{}" title="{}">{}</time>', moment.isoformat(), exact, text)


@register.filter
def exact(value):
    """<time> showing the UTC date and minute ("2024-05-02 09:00 UTC"); the original text if not a time."""
    moment = _as_datetime(value)
    if moment is None:
        return value or "—"
    moment = moment.astimezone(UTC)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moment.isoformat(),
        moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
        moment.strftime("%Y-%m-%d %H:%M UTC"),
    )


@register.filter
def counted(count, words):
    """{{ n|counted:"tag" }} -> "1 tag", "2 tags"; {{ n|counted:"index,indexes" }} for irregular plurals."""
    one, _, many = str(words).partition(",")
    try:
        number = int(count or 0)
    except (TypeError, ValueError):
        number = 0
    return f"{number} {one if number == 1 else (many or one + 's')}"


@register.filter
def command(text):
    """A shell command (escaped) that wraps only between words or after "/", ":" and "@" (and every 16
    characters of a long hex digest), never inside a word. Copy buttons read textContent: <wbr> adds nothing."""
    escaped = re.sub(r"([/:@])", r"\1<wbr>", str(escape(text)))
    return mark_safe(LONG_HEX.sub(lambda m: m.group(0) + "<wbr>", escaped))  # noqa: S308 (escaped above)


@register.filter
def markdown(text):
    """A repository description rendered from Markdown, sanitized (images/ui/markdown.py)."""
    return description_markdown.render(text)


@register.filter
def excerpt(text, length=140):
    """The description as plain text, without its Markdown, at most `length` characters."""
    return description_markdown.excerpt(text, int(length))


@register.simple_tag
def namespace_options(namespaces, current):
    """The namespace menu's <option>s ("name (count)"), built in one pass: a catalog of 100,000 repositories
    can have thousands of namespaces, and a template loop costs ~0.05 ms an option."""
    selected = mark_safe(" selected")  # noqa: S308 (a constant)
    return format_html_join(
        "",
        '<option value="{}"{}>{} ({})</option>',
        (
            (name, selected if name == current else "", name or "(top level)", ns["count"])
            for ns in namespaces
            for name in [ns["namespace"]]
        ),
    )
