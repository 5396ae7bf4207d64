"""Who owns which namespace, who may do what where, and the tokens that stand in for passwords.

- A user's username is their personal namespace; an Organisation's name is its
  namespace. The two share one name space (a name is a user or an organisation).
- Membership gives a user a role in an organisation: read (pull), write (pull,
  push) or admin (pull, push, delete, settings) on all of its repositories.
- A Team groups members of an organisation; RepositoryGrant gives one user or one
  team a role on one repository (any namespace).
- AccessToken: a personal access token (acts as its user, narrowed to its scopes)
  or, with an organisation, a robot account (acts only inside the organisation's
  namespace). The secret is shown once; only its SHA-256 is stored, looked up by
  a random public key id that is part of the token.

The rules that combine these live in images/permissions.py.
"""

import fnmatch
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

ACTIONS = ("pull", "push", "delete")
ROLE_READ, ROLE_WRITE, ROLE_ADMIN = "read", "write", "admin"
ROLES = [(ROLE_READ, "read (pull)"), (ROLE_WRITE, "write (pull, push)"), (ROLE_ADMIN, "admin (pull, push, delete)")]
ROLE_ACTIONS = {
    ROLE_READ: frozenset({"pull"}),
    ROLE_WRITE: frozenset({"pull", "push"}),
    ROLE_ADMIN: frozenset(ACTIONS),
}
NAMESPACE_PATTERN = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")


def validate_namespace_name(value):
    if not NAMESPACE_PATTERN.fullmatch(value or ""):
        raise ValidationError("Use lower-case letters, digits and single . _ - between them.", code="invalid")


class Organisation(models.Model):
    name = models.CharField(max_length=100, unique=True, validators=[validate_namespace_name])
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="organisations")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        from django.contrib.auth import get_user_model

        if get_user_model().objects.filter(username__iexact=self.name).exists():
            raise ValidationError(
                {"name": "A user already has this name: namespaces are shared by users and organisations."}
            )


class Membership(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=ROLES, default=ROLE_READ)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "user"], name="uniq_membership")]

    def __str__(self):
        return f"{self.user} in {self.organisation} ({self.role})"


class Team(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=100, validators=[validate_namespace_name])
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")

    class Meta:
        ordering = ["organisation__name", "name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="uniq_team")]

    def __str__(self):
        return f"{self.organisation}/{self.name}"


class RepositoryGrant(models.Model):
    """A role on one repository for one user or one team."""

    repository = models.ForeignKey("images.Repository", on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="repository_grants"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="repository_grants")
    role = models.CharField(max_length=10, choices=ROLES, default=ROLE_READ)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, team__isnull=True)
                | models.Q(user__isnull=True, team__isnull=False),
                name="grant_user_xor_team",
            ),
            models.UniqueConstraint(fields=["repository", "user"], name="uniq_grant_user"),
            models.UniqueConstraint(fields=["repository", "team"], name="uniq_grant_team"),
        ]

    def __str__(self):
        return f"{self.user or self.team} on {self.repository} ({self.role})"


def pattern_regex(pattern):
    """A repository pattern (`*` = any characters, `/` included) as a regex usable in SQL and Python."""
    return "^" + ".*".join(part.replace(".", r"\.") for part in pattern.split("*")) + "$"


class AccessTokenQuerySet(models.QuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class AccessToken(models.Model):
    """A personal access token, or a robot account when `organisation` is set.

    The secret travels as `berth_<key_id>_<secret>`; `secret_hash` is the SHA-256 of
    the whole token string. `repositories` holds patterns (one per line, `*`
    wildcard), `actions` a comma-separated subset of pull,push,delete.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="robots"
    )
    name = models.CharField(max_length=100, validators=[validate_namespace_name])
    key_id = models.CharField(max_length=32, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    repositories = models.TextField(default="*", help_text="Repository patterns, one per line; * matches anything.")
    actions = models.CharField(max_length=40, default="pull")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = AccessTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], condition=models.Q(organisation__isnull=False), name="uniq_robot_name"
            ),
        ]

    def __str__(self):
        return self.login_name + ("" if self.organisation_id else f" ({self.name})")

    @property
    def is_robot(self):
        return self.organisation_id is not None

    @property
    def login_name(self):
        """The user name that goes with this token in `docker login`."""
        return f"{self.organisation.name}+{self.name}" if self.is_robot else self.user.get_username()

    @property
    def action_set(self):
        return frozenset(a for a in self.actions.split(",") if a in ACTIONS)

    @property
    def patterns(self):
        return [p.strip() for p in self.repositories.splitlines() if p.strip()]

    def covers(self, repository_name):
        return any(fnmatch.fnmatchcase(repository_name, p) for p in self.patterns)

    @property
    def is_active(self):
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    @property
    def status(self):
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"


class LoginFailure(models.Model):
    """Failed logins of one client address for one user name, counted while `expires_at` is ahead.

    In the database, so every worker and instance counts the same failures (accounts/credentials.py).
    `key` hashes the address with the user name in lower case; deleting the row lifts a lockout.
    """

    key = models.CharField(max_length=64, primary_key=True, editable=False)
    username = models.CharField(max_length=150, editable=False)
    address = models.CharField(max_length=64, editable=False)
    count = models.PositiveIntegerField(default=0, editable=False)
    expires_at = models.DateTimeField(db_index=True, editable=False)

    class Meta:
        ordering = ["-expires_at"]

    def __str__(self):
        return f"{self.username} from {self.address}: {self.count}"


# --- single sign-on (accounts/directory.py) ------------------------------------------------------

SOURCE_LDAP, SOURCE_OIDC = "ldap", "oidc"
SOURCES = [(SOURCE_LDAP, "LDAP"), (SOURCE_OIDC, "OpenID Connect")]


class DirectoryIdentity(models.Model):
    """The directory account behind a Berth user: an LDAP DN or an OIDC issuer's `sub`.

    Created at the first directory sign-in. OIDC users are found by it (never by e-mail). Wherever the user
    acts (token logins and refreshes, browser pages), the directory is asked again at most every
    BERTH_DIRECTORY_RECHECK seconds (accounts/recheck.py): an LDAP user is looked up again, an OIDC user's
    provider asked with the refresh token it gave at sign-in (accounts/oidc.py `still_allowed`).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="directory_identity")
    source = models.CharField(max_length=10, choices=SOURCES)
    subject = models.CharField(max_length=500, help_text="LDAP DN, or the OIDC issuer and `sub`.")
    last_sign_in = models.DateTimeField(null=True, blank=True)
    provider_grant = models.TextField(
        blank=True, editable=False, help_text="The OIDC provider's refresh token, encrypted (never shown)."
    )
    checked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the directory last confirmed this user: a sign-in, or a check (accounts/recheck.py).",
    )

    class Meta:
        verbose_name_plural = "directory identities"
        constraints = [models.UniqueConstraint(fields=["source", "subject"], name="uniq_directory_subject")]

    def __str__(self):
        return f"{self.user} ({self.get_source_display()}: {self.subject})"


class DirectoryGroupMapping(models.Model):
    """A directory group (LDAP group DN or OIDC groups-claim value) → a role in an organisation, and a team.

    Members of the group get the role (the highest when several mappings apply) and the team at each sign-in
    or token refresh; they lose what a mapping gave them when they leave the group. Memberships made by hand
    are never changed.
    """

    source = models.CharField(max_length=10, choices=SOURCES)
    group = models.CharField(max_length=500, help_text="LDAP group DN or OIDC groups-claim value (case-insensitive).")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="group_mappings")
    role = models.CharField(max_length=10, choices=ROLES, default=ROLE_READ)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="group_mappings", help_text="Optional."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation__name", "source", "group"]
        constraints = [
            models.UniqueConstraint(fields=["source", "group", "organisation"], name="uniq_group_mapping"),
        ]

    def __str__(self):
        target = f"{self.organisation} ({self.role})" + (f", team {self.team.name}" if self.team_id else "")
        return f"{self.get_source_display()} {self.group} → {target}"

    def clean(self):
        if self.team_id and self.organisation_id and self.team.organisation_id != self.organisation_id:
            raise ValidationError({"team": "The team must belong to the organisation."})
        self.group = (self.group or "").strip()


class DirectoryManagedAccess(models.Model):
    """A membership (team is null) or a team membership that a group mapping made, so sync may undo it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="directory_access")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation", "team"], name="uniq_managed_team"),
            models.UniqueConstraint(
                fields=["user", "organisation"], condition=models.Q(team__isnull=True), name="uniq_managed_membership"
            ),
        ]

    def __str__(self):
        return f"{self.user} in {self.team or self.organisation} (directory)"
