"""Setting and reading policies: scopes, validation, who may change them, the change log.

A scope is "NAMESPACE" (the whole namespace: quota, warning threshold and rules for every repository)
or "NAMESPACE/GLOB" (rules for the repositories of the namespace whose rest of the name matches GLOB).
For retention a repository uses the most specific policy that matches it (a repository glob before the
namespace's); immutable patterns add up over all matching policies. Quotas exist per namespace only.

Errors: ValidationError (bad input, per field), PermissionDenied (not a namespace admin or staff).
"""

import fnmatch
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from images import permissions
from policies import sizes
from policies.models import Policy, PolicyChange

RULE_FIELDS = ("quota_bytes", "warn_percent", "immutable", "keep_last", "keep_days", "keep_tags", "untagged_days")
_NAME_CHARS = re.compile(r"^[a-z0-9._/-]+$")
_GLOB_CHARS = re.compile(r"^[A-Za-z0-9_.\-/*?\[\]!]+$")


# --- scopes and patterns ---------------------------------------------------------------------


def split_scope(scope):
    """(namespace, repository glob) from "team" or "team/app-*"."""
    scope = (scope or "").strip().strip("/")
    namespace, _, repository = scope.partition("/")
    if not namespace or not _NAME_CHARS.match(namespace) or "/" in namespace:
        raise ValidationError({"scope": f"“{scope}” is not a namespace (give NAMESPACE or NAMESPACE/REPOSITORY)."})
    if repository:
        check_glob(repository, "scope")
    return namespace, repository


def check_glob(pattern, field):
    """A shell-style pattern of name characters and * ? [...], brackets closed."""
    if not isinstance(pattern, str) or not pattern or not _GLOB_CHARS.match(pattern):
        raise ValidationError({field: f"“{pattern}” is not a valid pattern (name characters and * ? [...] only)."})
    depth = 0
    for char in pattern:
        if char == "[":
            if depth:
                raise ValidationError({field: f"“{pattern}” is not a valid pattern: nested “[”."})
            depth = 1
        elif char == "]" and depth:
            depth = 0
    if depth:
        raise ValidationError({field: f"“{pattern}” is not a valid pattern: “[” is never closed."})
    return pattern


def matches(name, patterns):
    return any(fnmatch.fnmatchcase(name, p) for p in patterns or ())


def rest_of(repository_name):
    return repository_name.split("/", 1)[1] if "/" in repository_name else repository_name


# --- who --------------------------------------------------------------------------------------


def may_manage(user, namespace):
    """Staff; the user whose namespace it is; admins of the organisation of that name."""
    from accounts.models import ROLE_ADMIN, Membership

    if permissions.is_admin(user):
        return True
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if namespace == user.get_username().lower():
        return True
    return Membership.objects.filter(user=user, organisation__name=namespace, role=ROLE_ADMIN).exists()


def require_manage(user, namespace):
    if not may_manage(user, namespace):
        raise PermissionDenied(f"Only the admins of {namespace} and staff may change its policies.")


def managed_namespaces(user):
    """Namespaces whose settings page the user may open (their own and organisations they administer)."""
    from accounts.models import ROLE_ADMIN, Membership

    if not getattr(user, "is_authenticated", False):
        return []
    own = [user.get_username().lower()]
    orgs = Membership.objects.filter(user=user, role=ROLE_ADMIN).values_list("organisation__name", flat=True)
    return sorted(set(own) | set(orgs))


# --- reading ----------------------------------------------------------------------------------


def for_namespace(namespace):
    return list(Policy.objects.filter(namespace=namespace))


def get(scope):
    namespace, repository = split_scope(scope)
    return Policy.objects.filter(namespace=namespace, repository=repository).first()


def applying_to(repository_name, policies):
    """The policies of `policies` (one namespace's) that match the repository, most specific first."""
    rest = rest_of(repository_name)
    found = [p for p in policies if not p.repository or fnmatch.fnmatchcase(rest, p.repository)]
    return sorted(found, key=lambda p: (p.repository == "", -len(p.repository)))


def retention_policy(repository_name, policies):
    """The most specific matching policy that has a retention rule, or None."""
    for policy in applying_to(repository_name, policies):
        if has_retention(policy):
            return policy
    return None


def has_retention(policy):
    return any(v is not None for v in (policy.keep_last, policy.keep_days, policy.untagged_days))


def immutable_patterns(repository_name, policies=None):
    if policies is None:
        policies = for_namespace(permissions._namespace(repository_name))
    return [p for policy in applying_to(repository_name, policies) for p in policy.immutable]


def is_immutable(repository_name, tag, policies=None):
    return matches(tag, immutable_patterns(repository_name, policies))


def quota_of(namespace):
    """(quota bytes or None, warn percent) of the namespace."""
    row = Policy.objects.filter(namespace=namespace, repository="").values_list("quota_bytes", "warn_percent").first()
    return row if row else (None, 80)


def as_dict(policy):
    data = {"scope": policy.scope, "namespace": policy.namespace, "repository": policy.repository}
    data.update({f: getattr(policy, f) for f in RULE_FIELDS})
    data["updated_at"] = policy.updated_at.isoformat() if policy.updated_at else None
    data["updated_by"] = policy.updated_by
    return data


# --- changing ---------------------------------------------------------------------------------


def clean(values, repository=""):
    """Validated rule values from user input (strings from forms and the command line are accepted)."""
    out, errors = {}, {}
    for field, raw in values.items():
        if field not in RULE_FIELDS:
            continue
        try:
            out[field] = _clean_one(field, raw)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if repository and out.get("quota_bytes") is not None:
        errors["quota_bytes"] = ["Quotas are per namespace: set it on the namespace, not on a repository."]
    if errors:
        raise ValidationError(errors)
    return out


def _clean_one(field, raw):
    if field in ("immutable", "keep_tags"):
        items = raw.split(",") if isinstance(raw, str) else list(raw or [])
        return [check_glob(p.strip() if isinstance(p, str) else p, field) for p in items if p != ""]
    if raw in (None, ""):
        if field == "warn_percent":
            return 80
        return None
    if field == "quota_bytes":
        try:
            return sizes.parse(raw)
        except ValueError as exc:
            raise ValidationError({field: str(exc)}) from None
    try:
        number = int(str(raw).strip())
    except ValueError:
        raise ValidationError({field: f"“{raw}” is not a whole number."}) from None
    if number < 0:
        raise ValidationError({field: "Must not be negative."})
    if field == "warn_percent" and not 1 <= number <= 100:
        raise ValidationError({field: "A percentage from 1 to 100."})
    if number > MAXIMUM[field]:
        raise ValidationError({field: f"At most {MAXIMUM[field]:,}."})
    return number


# Upper bounds of the whole-number fields (days: a century; counts: what a column holds and more than enough).
MAXIMUM = {"warn_percent": 100, "keep_last": 1_000_000, "keep_days": 36_500, "untagged_days": 36_500}


@transaction.atomic
def set_policy(actor, scope, values, replace=False):
    """Create or change the scope's policy with `values` (only the fields given, or all with replace).

    Returns (policy, notes): notes say what the user should know (a quota below current usage)."""
    namespace, repository = split_scope(scope)
    require_manage(actor, namespace)
    values = clean(values, repository)
    policy = Policy.objects.select_for_update().filter(namespace=namespace, repository=repository).first()
    before = as_dict(policy) if policy else {}
    if policy is None or replace:
        policy = policy or Policy(namespace=namespace, repository=repository)
        for field in RULE_FIELDS:
            setattr(policy, field, Policy._meta.get_field(field).get_default())
    for field, value in values.items():
        setattr(policy, field, value)
    policy.updated_by = _actor_name(actor)
    policy.save()
    after = as_dict(policy)
    PolicyChange.objects.create(actor=policy.updated_by, scope=policy.scope, action="set", before=before, after=after)
    _sync_limit(policy.namespace)
    return policy, _notes(policy)


@transaction.atomic
def clear_policy(actor, scope):
    """Remove the scope's policy (lifting its immutability rules): recorded. False when there was none."""
    namespace, repository = split_scope(scope)
    require_manage(actor, namespace)
    policy = Policy.objects.select_for_update().filter(namespace=namespace, repository=repository).first()
    if policy is None:
        return False
    PolicyChange.objects.create(actor=_actor_name(actor), scope=policy.scope, action="clear", before=as_dict(policy))
    policy.delete()
    _sync_limit(namespace)
    return True


def _sync_limit(namespace):
    from policies.services import quotas

    quota, warn_percent = quota_of(namespace)
    quotas.set_limit(namespace, quota, warn_percent)


def _notes(policy):
    from policies.services import quotas

    if policy.quota_bytes is None:
        return []
    used = quotas.usage(policy.namespace)
    if used > policy.quota_bytes:
        return [
            f"The quota ({sizes.human(policy.quota_bytes)}) is below current usage ({sizes.human(used)}): "
            "further pushes of new layers are refused until content is deleted and garbage collection runs."
        ]
    return []


def _actor_name(actor):
    name = actor.get_username() if hasattr(actor, "get_username") else str(actor)
    return (name or "")[:150]
