"""Template filters for the catalog: sizes, digests, percentages."""

from django import template

register = template.Library()

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
