"""Who may see and change what: the one set of rules for the catalog UI, the JSON API and the admin.

There is no registry authentication yet, so the rules are simple:
- read: everyone for public repositories; private ones only for staff;
- write (description, visibility) and delete: active staff users (superusers included).
A later issue (users, organisations, tokens) replaces the bodies, not the signatures.
"""

from images.models import Repository


def is_admin(user):
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and (user.is_staff or user.is_superuser)
    )


def can_read(user, repo):
    return bool(repo.is_public) or is_admin(user)


def can_write(user, repo):
    return is_admin(user)


def can_delete(user, repo):
    return is_admin(user)


def visible_repositories(user, queryset=None):
    """The repositories `user` may see, as a queryset (filters compose with it)."""
    qs = Repository.objects.all() if queryset is None else queryset
    return qs if is_admin(user) else qs.filter(is_public=True)
