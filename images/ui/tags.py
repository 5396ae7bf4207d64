"""Tag page (the image a tag names) and "remove this tag"."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from images import permissions
from images.errors import RegistryError
from images.models import Tag
from images.services import catalog
from images.services import manifests as manifest_service
from images.ui.common import check, repository_or_404
from images.ui.manifests import manifest_context


def tag_or_404(repo, name):
    tag = Tag.objects.filter(repository=repo, name=name).select_related("manifest", "v1_image").first()
    if tag is None:
        raise Http404(f"{repo.name} has no tag “{name}”.")
    return tag


def tag_detail(request, name, tag):
    repo = repository_or_404(request, name)
    tag = tag_or_404(repo, tag)
    context = manifest_context(request, repo, tag.manifest)
    context.update(tag=tag, manifest=tag.manifest)
    return render(request, "berth/image.html", context)


@require_http_methods(["GET", "POST"])
def untag(request, name, tag):
    repo = repository_or_404(request, name)
    tag = tag_or_404(repo, tag)
    if denied := check(request, permissions.can_delete(request.user, repo)):
        return denied
    if request.method == "POST":
        try:
            manifest_service.delete(repo.name, tag.name)
        except RegistryError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Removed tag {tag.name} from {repo.name}; the image stays, by digest.")
        return redirect("ui:repository", name=repo.name)
    shared = catalog.image_tags(repo, tag.manifest, limit=catalog.TAGS_SHOWN + 1)
    names = [t for t in shared.names if t != tag.name][: catalog.TAGS_SHOWN]
    others = catalog.TagNames(names, shared.total - 1, capped=shared.capped)
    return render(request, "berth/confirm_untag.html", {"repo": repo, "tag": tag, "other_tags": others})
