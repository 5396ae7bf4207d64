"""Directory users (LDAP, OpenID Connect): who they are, and the memberships their groups give them.

`signed_in(user, source, subject, groups)` is called at every directory sign-in and token refresh:
it records the identity and makes the user's directory-managed memberships follow the group mappings
(DirectoryGroupMapping): a membership or team membership a mapping asks for is added (and recorded in
DirectoryManagedAccess); one that was recorded and no mapping asks for any more is removed. What an
admin added by hand is never changed. Changes go through the organisation service as the operator;
each one is logged (logger berth.auth), as are refusals (the last admin of an organisation stays).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Value
from django.http import Http404
from django.utils import timezone

from accounts.models import (
    ROLE_ACTIONS,
    DirectoryGroupMapping,
    DirectoryIdentity,
    DirectoryManagedAccess,
    Membership,
)
from accounts.services import organisations
from images.services import prepared
from proxy import secrets

logger = logging.getLogger("berth.auth")
OPERATOR = organisations.OPERATOR


def record_identity(user, source, subject):
    """Remember the directory account behind `user`; False when it belongs to another account."""
    row = DirectoryIdentity.objects.filter(source=source, subject=subject).first()
    if row is not None and row.user_id != user.pk:
        return False
    now = timezone.now()  # the directory has just confirmed the user (accounts/recheck.py)
    DirectoryIdentity.objects.update_or_create(
        user=user, defaults={"source": source, "subject": subject, "last_sign_in": now, "checked_at": now}
    )
    return True


def keep_provider_grant(user, grant):
    """An OIDC sign-in or re-check succeeded: keep the provider's refresh token (encrypted) and the time."""
    DirectoryIdentity.objects.filter(user=user).update(
        provider_grant=secrets.encrypt(grant) if grant else "", checked_at=timezone.now()
    )


def provider_grant(identity):
    """The refresh token kept at sign-in, "" when the provider gave none, None when SECRET_KEY changed since."""
    return secrets.decrypt(identity.provider_grant) if identity.provider_grant else ""


def confirmed_lately(identity):
    """The directory confirmed this user less than BERTH_DIRECTORY_RECHECK seconds ago."""
    return bool(identity.checked_at) and timezone.now() - identity.checked_at < timedelta(
        seconds=settings.DIRECTORY_RECHECK
    )


def identity_of(user, source, lock=False):
    rows = DirectoryIdentity.objects.filter(user=user, source=source)
    return (rows.select_for_update() if lock else rows).first()


_IDENTITY_FIELDS = prepared.columns(DirectoryIdentity)
_IDENTITY = prepared.Prepared(
    lambda user_id: DirectoryIdentity.objects.filter(user_id=Value(user_id)).values_list(*_IDENTITY_FIELDS)[:1],
    "user_id",
)


def identity(user):
    """The user's directory identity (any source), or None: asked at every login with a password or access
    token (accounts/recheck.py), so its SQL is compiled once per process."""
    found = _IDENTITY.instances(_IDENTITY_FIELDS, user_id=user.pk)
    return found[0] if found else None


def identity_user(source, subject):
    row = DirectoryIdentity.objects.select_related("user").filter(source=source, subject=subject).first()
    return row.user if row is not None else None


def source_of(user):
    row = identity(user)
    return row.source if row is not None else None


def _rank(role):
    return len(ROLE_ACTIONS[role])


def wanted(source, groups):
    """{organisation: role} and the set of teams the mappings give members of `groups`."""
    lowered = {g.strip().lower() for g in groups if g}
    roles, teams = {}, set()
    for mapping in DirectoryGroupMapping.objects.filter(source=source).select_related("organisation", "team"):
        if mapping.group.strip().lower() not in lowered:
            continue
        org = mapping.organisation
        if org not in roles or _rank(mapping.role) > _rank(roles[org]):
            roles[org] = mapping.role
        if mapping.team_id:
            teams.add(mapping.team)
    return roles, teams


def _apply(user, what, change, *args):
    try:
        change(OPERATOR, *args)
    except (ValidationError, Http404) as error:
        logger.warning("directory group sync for %s: could not %s: %s", user.get_username(), what, error)
        return False
    logger.info("directory group sync: %s %s", user.get_username(), what)
    return True


def _sync_memberships(user, roles):
    name = user.get_username()
    managed = {row.organisation_id: row for row in DirectoryManagedAccess.objects.filter(user=user, team=None)}
    current = {m.organisation_id: m for m in Membership.objects.filter(user=user)}
    for org, role in roles.items():
        membership = current.get(org.pk)
        if membership is None:
            if _apply(user, f"joined {org} as {role}", organisations.add_member, org, name, role):
                DirectoryManagedAccess.objects.get_or_create(user=user, organisation=org, team=None)
        elif org.pk in managed and membership.role != role:
            _apply(user, f"has role {role} in {org}", organisations.change_role, org, name, role)
    for org_id, row in managed.items():
        if any(org.pk == org_id for org in roles):
            continue
        org = row.organisation
        if org_id not in current or _apply(user, f"left {org}", organisations.remove_member, org, name):
            row.delete()


def _sync_teams(user, teams):
    name = user.get_username()
    managed = {row.team_id: row for row in DirectoryManagedAccess.objects.filter(user=user, team__isnull=False)}
    current = set(user.teams.values_list("pk", flat=True))
    for team in teams:
        if team.pk in current:
            continue
        if _apply(user, f"joined team {team}", organisations.add_team_member, team, name):
            DirectoryManagedAccess.objects.get_or_create(user=user, organisation=team.organisation, team=team)
    wanted_ids = {team.pk for team in teams}
    for team_id, row in managed.items():
        if team_id in wanted_ids:
            continue
        team = row.team
        if team_id not in current or _apply(user, f"left team {team}", organisations.remove_team_member, team, name):
            row.delete()


@transaction.atomic
def sync_groups(user, source, groups):
    """Make the user's directory-managed memberships match what the mappings give `groups`."""
    roles, teams = wanted(source, groups)
    _sync_memberships(user, roles)
    _sync_teams(user, teams)


def signed_in(user, source, subject, groups):
    """A directory sign-in or refresh succeeded: record who it was and follow their groups.

    Returns False (and changes nothing) when the directory account is already linked to another user.
    """
    if not record_identity(user, source, subject):
        logger.warning(
            "directory sign-in refused: %s account %r is linked to another user than %s",
            source,
            subject[:200],
            user.get_username(),
        )
        return False
    sync_groups(user, source, groups)
    return True


# --- group mappings (the admin, manage.py berth_sso) ----------------------------------------------


def mappings(actor=None, organisation=None):
    """All mappings (the command line), or one organisation's, for staff."""
    rows = DirectoryGroupMapping.objects.select_related("organisation", "team")
    if organisation is None:
        return rows
    organisations.require_staff(actor, "see directory group mappings")
    return rows.filter(organisation=organisations.get(actor, organisation))


@transaction.atomic
def add_mapping(actor, source, group, organisation, role, team=None):
    """Staff map a directory group to a role in an organisation (and a team of it); applied at next sign-in."""
    organisations.require_staff(actor, "map directory groups")
    org = organisations.get(actor, organisation)
    team_row = organisations.get_team(org, team) if team else None
    row = DirectoryGroupMapping.objects.filter(source=source, group__iexact=group.strip(), organisation=org).first()
    row = row or DirectoryGroupMapping(source=source, group=group.strip(), organisation=org)
    row.role, row.team = role, team_row
    row.full_clean(validate_unique=False)
    row.save()
    logger.info("group mapping by %s: %s", actor.get_username(), row)
    return row


@transaction.atomic
def remove_mapping(actor, source, group, organisation, pk=None):
    organisations.require_staff(actor, "map directory groups")
    org = organisations.get(actor, organisation)
    rows = DirectoryGroupMapping.objects.filter(organisation=org)
    rows = rows.filter(pk=pk) if pk is not None else rows.filter(source=source, group__iexact=group.strip())
    deleted, _ = rows.delete()
    if not deleted:
        raise Http404(f"No mapping of {source} group “{group}” to {org.name}.")
    logger.info("group mapping removed by %s: %s %s -> %s", actor.get_username(), source, group, org.name)
