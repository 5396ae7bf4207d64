"""Manifest pages by digest, the shared image/index rendering, and "delete image"."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from images import manifest_formats, permissions
from images.errors import RegistryError
from images.services import catalog, gc
from images.services import manifests as manifest_service
from images.ui.common import check, public_host, repository_or_404


def manifest_context(request, repo, manifest):
    """Context for berth/image.html: an image, or an index with its platform switcher."""
    context = {
        "repo": repo,
        "host": public_host(request),
        "can_write": permissions.can_write(request.user, repo),
        "can_delete": permissions.can_delete(request.user, repo),
        "index": None,
        "selected": None,
        "image": None,
    }
    if manifest.media_type in manifest_formats.INDEX_TYPES:
        index = catalog.index_detail(repo, manifest)
        selected = catalog.select_child(index, request.GET.get("platform", ""))
        context.update(index=index, selected=selected)
        if selected and selected.present:
            child = catalog.linked_manifest(repo, selected.digest)
            extra = catalog.index_attestations(index, selected.digest)
            context["image"] = catalog.image_detail(repo, child, extra) if child else None
    else:
        context["image"] = catalog.image_detail(repo, manifest)
    # An index may list no image, or only images this repository no longer holds: no `image` then.
    shown = context["index"] or context["image"]
    context["tags"] = shown.tags if shown else catalog.image_tags(repo, manifest)
    return context


def manifest_or_404(repo, digest):
    manifest = catalog.linked_manifest(repo, digest)
    if manifest is None:
        raise Http404(f"{repo.name} holds no manifest {digest}.")
    return manifest


def manifest_detail(request, name, digest):
    repo = repository_or_404(request, name)
    manifest = manifest_or_404(repo, digest)
    context = manifest_context(request, repo, manifest)
    context.update(tag=None, manifest=manifest)
    return render(request, "berth/image.html", context)


@require_http_methods(["GET", "POST"])
def delete_image(request, name, digest):
    repo = repository_or_404(request, name)
    manifest = manifest_or_404(repo, digest)
    if denied := check(request, permissions.can_delete(request.user, repo)):
        return denied
    impact = catalog.deletion_impact(repo, manifest)
    if request.method == "POST":
        try:
            manifest_service.delete(repo.name, manifest.digest)
        except RegistryError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"Deleted image {manifest.digest} from {repo.name}"
                + (f" with its tags {impact['tags']}." if impact["tags"] else ".")
                + " "
                + gc.space_returns_text(),
            )
        return redirect("ui:repository", name=repo.name)
    context = {"repo": repo, "manifest": manifest, "impact": impact}
    return render(request, "berth/confirm_delete_image.html", context)
