"""Catalog pages: a repository's and a namespace's Activity tab, and restoring a tag (with a confirmation)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from activity import history, queries
from images import permissions
from images.errors import RegistryError
from images.models import Manifest
from images.ui.common import check, page_prefix, paginate, repository_or_404


def _page(request, events):
    try:
        events = queries.apply_filters(events, request.GET)
    except queries.BadFilter as exc:
        messages.error(request, str(exc))
    return paginate(request, events.order_by("-at", "-id"))


def repository_activity(request, name):
    repo = repository_or_404(request, name)
    events = queries.visible_events(request.user).filter(repository=repo.name)
    context = {
        "repo": repo,
        "page": _page(request, events),
        "base_qs": page_prefix(request),
        "can_push": permissions.can_push(request.user, repo),
        "is_admin": permissions.is_admin(request.user),
    }
    return render(request, "activity/repository.html", context)


def namespace_activity(request, namespace):
    visible = permissions.visible_repositories(request.user).filter(namespace=namespace)
    admin = permissions.is_admin(request.user)
    if not admin and not visible.exists():
        raise Http404(f"No namespace named “{namespace}”.")
    events = queries.visible_events(request.user).filter(namespace=namespace)
    context = {
        "namespace": namespace,
        "page": _page(request, events),
        "base_qs": page_prefix(request),
        "is_admin": admin,
    }
    return render(request, "activity/namespace.html", context)


@require_http_methods(["GET", "POST"])
def restore(request, name, tag):
    repo = repository_or_404(request, name)
    if denied := check(request, permissions.can_push(request.user, repo)):
        return denied
    digest = (request.POST.get("digest") or request.GET.get("digest") or "").replace("\x00", "")
    manifest = Manifest.objects.filter(digest=digest, repository_links__repository=repo).first()
    if manifest is None:
        messages.error(request, f"{repo.name} no longer holds {digest or 'that image'}: it can't be restored.")
        return redirect("activity:repository", name=repo.name)
    current = repo.tags.filter(name=tag).values_list("manifest__digest", flat=True).first()
    if request.method == "POST":
        try:
            history.restore(request.user, repo.name, tag, digest)
        except RegistryError as exc:
            messages.error(request, exc.message)
            return redirect("activity:repository", name=repo.name)
        messages.success(request, f"Restored {repo.name}:{tag} to {digest}.")
        return redirect("ui:tag", name=repo.name, tag=tag)
    context = {"repo": repo, "tag": tag, "manifest": manifest, "current": current}
    return render(request, "activity/confirm_restore.html", context)
