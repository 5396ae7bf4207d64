"""Creating and revoking access tokens and robot accounts: the one path for the pages, the API and the admin."""

import re
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import tokens
from accounts.models import ACTIONS, AccessToken, validate_namespace_name
from activity import recorder

PATTERN = re.compile(r"^[a-z0-9*][a-z0-9._/*-]*$")
MAX_DAYS = 3650


def clean_patterns(text):
    """Repository patterns, one per line (`*` matches anything), checked and joined; ValidationError if bad."""
    patterns = [p.strip() for p in (text or "").splitlines() if p.strip()]
    if not patterns:
        raise ValidationError("Give at least one pattern.")
    for pattern in patterns:
        if not PATTERN.fullmatch(pattern):
            raise ValidationError(f"“{pattern}” is not a repository pattern.")
    return "\n".join(patterns)


def clean(name, repositories, actions, expires_in_days):
    """The checked fields of a new token, or a ValidationError naming each bad field."""
    errors, values = {}, {}
    for field, check in (
        ("name", lambda: validate_namespace_name(name) or name),
        ("repositories", lambda: clean_patterns(repositories)),
        ("actions", lambda: _clean_actions(actions)),
        ("expires_in_days", lambda: _clean_days(expires_in_days)),
    ):
        try:
            values[field] = check()
        except ValidationError as error:
            errors[field] = error.messages
    if errors:
        raise ValidationError(errors)
    return values


def _clean_actions(actions):
    actions = [actions] if isinstance(actions, str) else list(actions or ())
    unknown = [a for a in actions if a not in ACTIONS]
    if unknown or not actions:
        raise ValidationError(f"Choose one or more of {', '.join(ACTIONS)}.")
    return actions


def _clean_days(days):
    if days in (None, ""):
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"A whole number of days from 1 to {MAX_DAYS}, or nothing for no expiry.")
    return days


def create(user, name, repositories="*", actions=("pull",), organisation=None, expires_in_days=None):
    """A new token row and its secret (shown once; only its hash is kept). `organisation` makes it a robot."""
    plaintext, key_id, secret_hash = tokens.new_access_token()
    row = AccessToken.objects.create(
        user=user,
        organisation=organisation,
        name=name,
        key_id=key_id,
        secret_hash=secret_hash,
        repositories=repositories,
        actions=",".join(a for a in ACTIONS if a in actions),
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    recorder.token_created(row)
    return row, plaintext


def revoke(queryset):
    """Revoke the tokens of `queryset` that are not revoked yet; how many were."""
    recorder.tokens_revoking(queryset)
    return queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
