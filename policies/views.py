"""The namespace settings page (/policies/<namespace>/): usage and its warning, policies, a dry-run preview,
a run now and the run log. Its owner, organisation admins and staff change it; organisation members read it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from policies import sizes
from policies.api import may_read
from policies.forms import PolicyForm
from policies.models import RetentionRun
from policies.services import quotas, retention, rules


def _namespace(request, namespace):
    if "\x00" in namespace or not may_read(request.user, namespace):
        raise Http404(f"No namespace “{namespace}” you can see.")
    return namespace


def _page(request, namespace, form=None, preview=None, status=200):
    policies = rules.for_namespace(namespace)
    context = {
        "namespace": namespace,
        "manage": rules.may_manage(request.user, namespace),
        "usage": quotas.status(namespace),
        "policies": policies,
        "form": form or PolicyForm(),
        "preview": preview,
        "runs": RetentionRun.objects.filter(scope=namespace)[:10],
        "human": sizes.human,
    }
    return render(request, "policies/settings.html", context, status=status)


@never_cache
@login_required
def settings_page(request, namespace):
    namespace = _namespace(request, namespace)
    preview = retention.plan(namespace) if request.GET.get("preview") else None
    return _page(request, namespace, preview=preview)


@never_cache
@login_required
@require_POST
def set_policy(request, namespace):
    namespace = _namespace(request, namespace)
    rules.require_manage(request.user, namespace)
    form = PolicyForm(request.POST)
    if form.is_valid():
        try:
            policy, notes = rules.set_policy(request.user, form.scope(namespace), form.values(), replace=True)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error("quota" if field == "quota_bytes" else field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Saved the policy of {policy.scope}.")
            for note in notes:
                messages.warning(request, note)
            return redirect("policies:settings", namespace)
    return _page(request, namespace, form=form, status=400)


@never_cache
@login_required
@require_POST
def clear_policy(request, namespace):
    namespace = _namespace(request, namespace)
    repository = request.POST.get("repository", "")
    scope = f"{namespace}/{repository}" if repository else namespace
    rules.clear_policy(request.user, scope)
    messages.success(request, f"Removed the policy of {scope}.")
    return redirect("policies:settings", namespace)


@never_cache
@login_required
@require_POST
def run_retention(request, namespace):
    namespace = _namespace(request, namespace)
    rules.require_manage(request.user, namespace)
    record = retention.run(namespace, triggered_by=request.user.get_username())
    messages.success(
        request,
        f"Removed {record.tags_removed} tags and {record.manifests_removed} manifests; "
        f"{sizes.human(record.bytes_freed)} come back once garbage collection has run.",
    )
    return redirect("policies:settings", namespace)
