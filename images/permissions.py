"""Who may see and change what: the one set of rules for the registry APIs, the catalog UI,
the JSON API and the admin.

A principal is a user (or None / AnonymousUser for an anonymous caller) or an
accounts.AccessToken (a personal access token or a robot account). Actions are
the registry's: "pull", "push", "delete".

- Staff and superusers (active): everything, everywhere.
- A user's own namespace (`<username>/...`): everything; the first push creates the repository.
- An organisation's namespace (`<org>/...`): what the member's role gives
  (read: pull; write: pull, push; admin: pull, push, delete).
- RepositoryGrant: a role on one repository for a user or for a team the user is in.
- Public repositories: everyone signed in may pull; anonymous callers too unless
  REGISTRY["ANONYMOUS_PULL"] is off. Anonymous callers never push or delete.
- A personal access token acts as its user, narrowed to its repository patterns
  and actions; a robot account (an organisation's token) gets its actions on the
  matching repositories of its organisation's namespace. Outside their scopes
  tokens get what an anonymous caller gets.
- Repository settings (description, visibility) need the admin level, the same as delete.

Whether the registry protocols ask at all is REGISTRY["AUTH"] ("none" = open registry),
decided in accounts/registry_auth.py, not here.
"""

from django.db.models import Q, Value

from images.conf import registry_setting
from images.models import Repository
from images.services import prepared, repositories
from proxy import access as proxy_access

PULL, PUSH, DELETE = "pull", "push", "delete"
ALL_ACTIONS = frozenset({PULL, PUSH, DELETE})
NOTHING = frozenset()
ROLE_ACTIONS = {"read": frozenset({PULL}), "write": frozenset({PULL, PUSH}), "admin": ALL_ACTIONS}
_MISSING = object()
# Who may pull a private repository (besides staff), as the catalog and the admin say it.
PRIVATE_WHO = "the namespace's owner, its organisation's members and users granted access"


def _access_token_model():
    from accounts.models import AccessToken

    return AccessToken


def split_principal(principal):
    """(user or None, access token or None)."""
    if principal is not None and isinstance(principal, _access_token_model()):
        return principal.user, principal
    return principal, None


def _active_user(user):
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def is_admin(user):
    user, token = split_principal(user)
    return bool(token is None and _active_user(user) and (user.is_staff or user.is_superuser))


def _namespace(name):
    return name.split("/", 1)[0] if "/" in name else ""


def _anonymous_actions(repo):
    if repo is not None and repo.is_public and registry_setting("ANONYMOUS_PULL"):
        return frozenset({PULL})
    return NOTHING


def _member_roles(user_id, namespace):
    from accounts.models import Membership

    return Membership.objects.filter(user_id=Value(user_id), organisation__name=namespace).values_list("role")


def _granted_roles(user_id, repository_id):
    from accounts.models import RepositoryGrant

    to_user = Q(user_id=Value(user_id)) | Q(team__members__id=Value(user_id))
    return RepositoryGrant.objects.filter(to_user, repository_id=Value(repository_id)).values_list("role")


# Asked at every authorisation of a signed-in user (a token request's scopes, Basic calls, pages):
# compiled once per process (images/services/prepared.py).
_MEMBER_ROLES = prepared.Prepared(_member_roles, "user_id", "namespace")
_GRANTED_ROLES = prepared.Prepared(_granted_roles, "user_id", "repository_id")


def _user_actions(user, name, repo):
    if not _active_user(user):
        return _anonymous_actions(repo)
    if user.is_staff or user.is_superuser:
        return ALL_ACTIONS
    namespace = _namespace(name)
    if namespace and namespace == user.get_username().lower():
        return ALL_ACTIONS
    actions = set()
    if repo is not None and repo.is_public:
        actions.add(PULL)
    if namespace:
        for (role,) in _MEMBER_ROLES.rows(user_id=user.pk, namespace=namespace):
            actions |= ROLE_ACTIONS.get(role, NOTHING)
    if repo is not None and actions != ALL_ACTIONS:
        for (role,) in _GRANTED_ROLES.rows(user_id=user.pk, repository_id=repo.pk):
            actions |= ROLE_ACTIONS.get(role, NOTHING)
    return frozenset(actions)


def _token_actions(token, name, repo):
    if not token.is_active or not _active_user(token.user):
        return NOTHING
    outside = _anonymous_actions(repo)
    if not token.covers(name):
        return outside
    if token.is_robot:
        inside = token.action_set if _namespace(name) == token.organisation.name else NOTHING
    else:
        inside = token.action_set & _user_actions(token.user, name, repo)
    return frozenset(inside | outside)


def actions_for(principal, repository_name, repository=_MISSING):
    """The subset of {"pull", "push", "delete"} `principal` may do on the named repository.

    `repository` may be passed when the caller already has the row (None = does not exist).
    """
    if repository is _MISSING:
        repository = repositories.named(repository_name)
    user, token = split_principal(principal)
    if token is not None:
        actions = _token_actions(token, repository_name, repository)
    else:
        actions = _user_actions(user, repository_name, repository)
    return proxy_access.widen(principal, repository_name, actions)


def can_read(user, repo):
    return PULL in actions_for(user, repo.name, repo)


def can_push(user, repo):
    return PUSH in actions_for(user, repo.name, repo)


def can_write(user, repo):
    """Change the repository's settings (description, visibility)."""
    return DELETE in actions_for(user, repo.name, repo)


def can_delete(user, repo):
    return DELETE in actions_for(user, repo.name, repo)


def _visible_to_user(user):
    from accounts.models import Membership, RepositoryGrant

    granted = RepositoryGrant.objects.filter(Q(user=user) | Q(team__members=user)).values("repository_id")
    orgs = Membership.objects.filter(user=user).values("organisation__name")
    return Q(is_public=True) | Q(namespace=user.get_username().lower()) | Q(namespace__in=orgs) | Q(pk__in=granted)


def _patterns_q(token):
    from accounts.models import pattern_regex

    q = Q(pk__in=[])
    for pattern in token.patterns:
        q |= Q(name__regex=pattern_regex(pattern))
    return q


def visible_repositories(user, queryset=None):
    """The repositories `user` (any principal) may pull, as a queryset (filters compose with it)."""
    qs = Repository.objects.all() if queryset is None else queryset
    user, token = split_principal(user)
    anonymous = Q(is_public=True) if registry_setting("ANONYMOUS_PULL") else Q(pk__in=[])
    if token is not None:
        if not token.is_active or not _active_user(user):
            return qs.none()
        inside = Q(pk__in=[])
        if PULL in token.action_set:
            if token.is_robot:
                inside = Q(namespace=token.organisation.name) & _patterns_q(token)
            elif not (user.is_staff or user.is_superuser):
                inside = _visible_to_user(user) & _patterns_q(token)
            else:
                inside = _patterns_q(token)
        return qs.filter(inside | anonymous)
    if not _active_user(user):
        return qs.filter(anonymous)
    if user.is_staff or user.is_superuser:
        return qs
    return qs.filter(_visible_to_user(user))


def visible_scope(user):
    """How `visible_repositories(user)` relates to is_public, for counts kept per namespace: "all" (every
    repository), "public" (every public one and some private ones), "private" (some private ones only), or
    None for a token (its patterns narrow it further: count the rows)."""
    user, token = split_principal(user)
    if token is not None:
        return None
    if _active_user(user) and (user.is_staff or user.is_superuser):
        return "all"
    if _active_user(user):
        return "public"
    return "public" if registry_setting("ANONYMOUS_PULL") else "private"
