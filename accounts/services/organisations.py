"""Organisation management: members and roles, teams, repository grants, robot accounts.

The one module the catalog pages (accounts/org_views.py), the JSON API (accounts/api.py) and the
Django admin go through. The rules:

- An organisation is seen by its members and by staff. To anyone else it does not exist
  (Http404), so a private organisation's name is not revealed.
- Its admins and staff change it; other members read it. Staff create and delete organisations.
- An organisation keeps its last admin: removing or demoting them is refused.
- Team members are members of the team's organisation; leaving the organisation leaves its teams.
- Grants made here are roles on repositories of the organisation's namespace, for any user or for
  one of the organisation's teams.
- Robot accounts are the organisation's access tokens (`<org>+<name>`); revoking keeps the row.

Errors: Http404 (not visible), PermissionDenied (visible, not allowed) and ValidationError (bad
input, with the field it concerns when there is one). Django renders the first two on pages, DRF
in the API; both show the third next to the form.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404

from accounts.models import ROLE_ADMIN, ROLES, AccessToken, Membership, Organisation, RepositoryGrant, Team
from accounts.services import access_tokens
from activity import recorder
from images import permissions
from images.models import Repository

ROLE_NAMES = [role for role, _ in ROLES]


class Operator:
    """The command line (manage.py berth_org) as a principal: staff rights, no account."""

    pk = None
    is_authenticated = is_active = is_staff = is_superuser = True

    def get_username(self):
        return "manage.py"


OPERATOR = Operator()


# --- who sees and who changes ------------------------------------------------------------


def visible(user):
    """The organisations `user` may see: all for staff, their own for members, none for others."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Organisation.objects.none()
    if permissions.is_admin(user):
        return Organisation.objects.all()
    member_of = Membership.objects.filter(user=user).values("organisation")
    in_team_of = Team.objects.filter(members=user).values("organisation")
    return Organisation.objects.filter(Q(pk__in=member_of) | Q(pk__in=in_team_of))


def managed(user):
    """The organisations `user` may change: all for staff, those they administer for others."""
    if permissions.is_admin(user):
        return Organisation.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Organisation.objects.none()
    admin_of = Membership.objects.filter(user=user, role=ROLE_ADMIN).values("organisation")
    return Organisation.objects.filter(pk__in=admin_of)


def role_of(user, org):
    """The user's role in the organisation ("read", "write", "admin") or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(organisation=org, user=user).values_list("role", flat=True).first()


def may_manage(user, org):
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return permissions.is_admin(user) or role_of(user, org) == ROLE_ADMIN


def _name(value):
    """A name from a URL or a request, safe to look up (PostgreSQL refuses NUL characters)."""
    return value if isinstance(value, str) and "\x00" not in value else ""


def get(user, name):
    """The organisation if `user` may see it, else Http404 (whether or not it exists)."""
    org = visible(user).filter(name=_name(name)).first()
    if org is None:
        raise Http404(f"No organisation named “{name}”.")
    return org


def require_manage(user, org):
    if not may_manage(user, org):
        raise PermissionDenied(f"Only the admins of {org.name} may change it.")


def is_staff(user):
    return permissions.is_admin(user)


def my_roles(user):
    """{organisation id: role} of the user's memberships."""
    if not getattr(user, "is_authenticated", False):
        return {}
    return dict(Membership.objects.filter(user=user).values_list("organisation_id", "role"))


def require_staff(user, doing):
    if not permissions.is_admin(user):
        raise PermissionDenied(f"Only staff may {doing}.")


def _user(username, field="username"):
    User = get_user_model()
    user = User.objects.filter(**{User.USERNAME_FIELD: _name(username)}).first()
    if user is None:
        raise ValidationError({field: f"No user named “{username}”."})
    return user


def _check_role(role):
    if role not in ROLE_NAMES:
        raise ValidationError({"role": f"Choose a role: {', '.join(ROLE_NAMES)}."})


# --- organisations -------------------------------------------------------------------------


@transaction.atomic
def create_organisation(actor, name, description="", admin=None):
    """A new organisation (staff only), with `admin` (a user name) as its first admin when given."""
    require_staff(actor, "create organisations")
    first_admin = _user(admin, "admin") if admin else None
    org = Organisation(name=name, description=description)
    org.full_clean()
    org.save()
    if first_admin is not None:
        Membership.objects.create(organisation=org, user=first_admin, role=ROLE_ADMIN)
    recorder.organisation_changed(actor, org, "organisation_created", admin=admin or "")
    return org


def update_organisation(actor, org, description):
    require_manage(actor, org)
    org.description = description
    org.clean_fields(exclude=["name"])
    org.save(update_fields=["description"])
    return org


def delete_organisation(actor, org):
    """Staff only. Its memberships, teams, team grants and robots go; repositories in its namespace stay."""
    require_staff(actor, "delete organisations")
    recorder.organisation_changed(actor, org, "organisation_deleted")
    org.delete()


# --- members ---------------------------------------------------------------------------------


def members(org):
    return org.memberships.select_related("user").order_by("user__username")


def get_membership(org, username):
    rows = Membership.objects.filter(organisation=org, user__username=_name(username))
    membership = rows.select_related("user").first()
    if membership is None:
        raise Http404(f"{username} is not a member of {org.name}.")
    return membership


def keeps_an_admin(org, admins_before, admins_after):
    """Refuse a change that leaves an organisation which had an admin with none (ValidationError)."""
    if admins_before and not admins_after:
        names = ", ".join(sorted(str(name) for name in admins_before))
        raise ValidationError(
            f"{names} is the last admin of {org.name}: make another member admin first.", code="last_admin"
        )


def _keep_an_admin(org, leaving):
    """Refuse when `leaving` is the organisation's only admin (admin rows locked: one change at a time)."""
    admins = Membership.objects.select_for_update().filter(organisation=org, role=ROLE_ADMIN)
    before = set(admins.values_list("user__username", flat=True))
    keeps_an_admin(org, before, before - {leaving.get_username()})


@transaction.atomic
def add_member(actor, org, username, role):
    require_manage(actor, org)
    _check_role(role)
    user = _user(username)
    if Membership.objects.filter(organisation=org, user=user).exists():
        raise ValidationError({"username": f"{user.get_username()} is already a member of {org.name}."})
    try:
        with transaction.atomic():
            membership = Membership.objects.create(organisation=org, user=user, role=role)
        recorder.organisation_changed(actor, org, "member_added", user=user.get_username(), role=role)
        return membership
    except IntegrityError:
        raise ValidationError({"username": f"{user.get_username()} is already a member of {org.name}."}) from None


@transaction.atomic
def change_role(actor, org, username, role):
    require_manage(actor, org)
    _check_role(role)
    membership = get_membership(org, username)
    if membership.role == ROLE_ADMIN and role != ROLE_ADMIN:
        _keep_an_admin(org, membership.user)
    membership.role = role
    membership.save(update_fields=["role"])
    recorder.organisation_changed(actor, org, "member_role_changed", user=membership.user.get_username(), role=role)
    return membership


@transaction.atomic
def remove_member(actor, org, username):
    """Remove the member and take them out of the organisation's teams."""
    require_manage(actor, org)
    membership = get_membership(org, username)
    if membership.role == ROLE_ADMIN:
        _keep_an_admin(org, membership.user)
    Team.members.through.objects.filter(team__organisation=org, user=membership.user).delete()
    membership.delete()
    recorder.organisation_changed(actor, org, "member_removed", user=membership.user.get_username())


# --- teams -------------------------------------------------------------------------------------


def teams(org):
    return org.teams.prefetch_related("members").order_by("name")


def get_team(org, name):
    team = org.teams.filter(name=_name(name)).first()
    if team is None:
        raise Http404(f"{org.name} has no team named “{name}”.")
    return team


def create_team(actor, org, name):
    require_manage(actor, org)
    taken = ValidationError({"name": f"{org.name} already has a team named “{name}”."})
    if org.teams.filter(name=_name(name)).exists():
        raise taken
    team = Team(organisation=org, name=name)
    team.full_clean()
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        raise taken from None
    recorder.organisation_changed(actor, org, "team_created", team=team.name)
    return team


def delete_team(actor, team):
    """The team and its repository grants go; its members stay in the organisation."""
    require_manage(actor, team.organisation)
    recorder.organisation_changed(actor, team.organisation, "team_deleted", team=team.name)
    team.delete()


def add_team_member(actor, team, username):
    org = team.organisation
    require_manage(actor, org)
    user = _user(username)
    if not Membership.objects.filter(organisation=org, user=user).exists():
        raise ValidationError({"username": f"{user.get_username()} is not a member of {org.name}: add them first."})
    if team.members.filter(pk=user.pk).exists():
        raise ValidationError({"username": f"{user.get_username()} is already in {team.name}."})
    team.members.add(user)
    recorder.organisation_changed(actor, org, "team_member_added", team=team.name, user=user.get_username())
    return user


def remove_team_member(actor, team, username):
    require_manage(actor, team.organisation)
    user = team.members.filter(username=_name(username)).first()
    if user is None:
        raise Http404(f"{username} is not in team {team.name}.")
    team.members.remove(user)
    recorder.organisation_changed(actor, team.organisation, "team_member_removed", team=team.name, user=user)


# --- repository grants ---------------------------------------------------------------------------


def repositories(org):
    return Repository.objects.filter(namespace=org.name).order_by("name")


def grants(org):
    """The grants on the organisation's repositories, whoever made them."""
    rows = RepositoryGrant.objects.filter(repository__namespace=org.name)
    rows = rows.select_related("repository", "user", "team")
    return rows.order_by("repository__name", "team__name", "user__username")


def get_grant(org, pk):
    grant = grants(org).filter(pk=pk).first()
    if grant is None:
        raise Http404("No such grant.")
    return grant


@transaction.atomic
def grant(actor, org, repository, role, username=None, team=None):
    """Give a user or one of the organisation's teams `role` on one of its repositories (or change it).

    Returns (grant, created)."""
    require_manage(actor, org)
    _check_role(role)
    repo = repositories(org).filter(name=_name(repository)).first()
    if repo is None:
        raise ValidationError({"repository": f"{org.name} has no repository named “{repository}”."})
    if bool(username) == bool(team):
        raise ValidationError("Grant to a user or to a team (one of the two).", code="user_or_team")
    if team:
        who = {"team": org.teams.filter(name=_name(team)).first()}
        if who["team"] is None:
            raise ValidationError({"team": f"{org.name} has no team named “{team}”."})
    else:
        who = {"user": _user(username)}
    recorder.organisation_changed(actor, org, "grant", repository=repo.name, role=role, **who)
    return RepositoryGrant.objects.update_or_create(repository=repo, **who, defaults={"role": role})


def change_grant(actor, org, pk, role):
    require_manage(actor, org)
    _check_role(role)
    row = get_grant(org, pk)
    row.role = role
    row.save(update_fields=["role"])
    recorder.organisation_changed(
        actor, org, "grant_changed", repository=row.repository.name, role=role, to=row.user or row.team
    )
    return row


def revoke_grant(actor, org, pk):
    require_manage(actor, org)
    row = get_grant(org, pk)
    recorder.organisation_changed(actor, org, "grant_revoked", repository=row.repository.name, to=row.user or row.team)
    row.delete()


# --- robot accounts --------------------------------------------------------------------------------


def robots(org):
    return AccessToken.objects.filter(organisation=org).select_related("organisation", "user").order_by("name")


def get_robot(org, name):
    robot = robots(org).filter(name=_name(name)).first()
    if robot is None:
        raise Http404(f"{org.name} has no robot account named “{name}”.")
    return robot


def create_robot(actor, org, name, repositories="*", actions=("pull",), expires_in_days=None):
    """A robot account `<org>+<name>`; returns (row, secret). The secret is shown once."""
    require_manage(actor, org)
    values = access_tokens.clean(name, repositories, actions, expires_in_days)
    if AccessToken.objects.filter(organisation=org, name=values["name"]).exists():
        raise ValidationError({"name": f"{org.name} already has a robot account named “{name}”."})
    try:
        with transaction.atomic():
            return access_tokens.create(actor, organisation=org, **values)
    except IntegrityError:
        raise ValidationError({"name": f"{org.name} already has a robot account named “{name}”."}) from None


def revoke_robot(actor, org, name):
    require_manage(actor, org)
    robot = get_robot(org, name)
    access_tokens.revoke(AccessToken.objects.filter(pk=robot.pk))
    robot.refresh_from_db()
    return robot
