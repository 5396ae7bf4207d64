"""Who may read which entries: the one rule for the Activity tabs, the JSON API and exports.

Staff see everything. Everyone else sees the content and settings entries of the repositories they may
pull (images/permissions.visible_repositories); security entries (logins, tokens, robots, memberships,
teams, grants) and system entries (garbage collection, retention) only staff.
"""

from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from activity.models import SECURITY, SYSTEM, Event
from images import permissions


class BadFilter(ValueError):
    pass


def visible_events(principal):
    qs = Event.objects.all()
    if permissions.is_admin(principal):
        return qs
    names = permissions.visible_repositories(principal).values("name")
    return qs.exclude(category__in=(SECURITY, SYSTEM)).filter(repository__in=names)


def _when(value, name):
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        parsed = datetime(day.year, day.month, day.day) if day else None
    if parsed is None:
        raise BadFilter(f"{name}: an ISO 8601 date or date and time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.utc)


def apply_filters(qs, params):
    """repository, namespace, actor, action (comma-separated), category, tag, digest, since, until."""
    for field in ("repository", "namespace", "actor", "category", "tag", "digest"):
        value = (params.get(field) or "").replace("\x00", "")
        if value:
            qs = qs.filter(**{field: value})
    actions = [a for a in (params.get("action") or "").replace("\x00", "").split(",") if a.strip()]
    if actions:
        qs = qs.filter(action__in=[a.strip() for a in actions])
    if params.get("since"):
        qs = qs.filter(at__gte=_when(params["since"], "since"))
    if params.get("until"):
        qs = qs.filter(at__lt=_when(params["until"], "until"))
    return qs
