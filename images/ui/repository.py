"""Repository page: description, tags table, pull command; description edit and deletion."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from images import permissions
from images.errors import RegistryError
from images.services import catalog, gc, repositories
from images.services import manifests as manifest_service
from images.ui.common import PAGE_SIZE, check, cursor_params, page_prefix, plural, public_host, repository_or_404

TAG_SORT_LABELS = {"pushed": "Newest", "name": "Name"}


def repository(request, name):
    repo = repository_or_404(request, name)
    sort = request.GET.get("sort") if request.GET.get("sort") in TAG_SORT_LABELS else "pushed"
    show_all = request.GET.get("all") == "1"
    tag_query = request.GET.get("q", "").strip()[:128]
    digest = request.GET.get("digest", "").strip()[:200]
    cursor, notice = cursor_params(request)
    page = catalog.tag_page(repo, sort, show_all, tag_query, cursor, per_page=PAGE_SIZE, digest=digest)
    page.object_list = catalog.decorate_tags(page.object_list)
    pull_tag = catalog.pull_tag(repo) or "latest"
    context = {
        "repo": repo,
        "page": page,
        "sort": sort,
        "show_all": show_all,
        "tag_query": tag_query,
        "digest": digest,
        **_matching(repo, show_all, tag_query, digest),
        "page_notice": notice or ("That page link has expired: showing the first page." if page.invalid else ""),
        "hidden_tags": 0 if show_all else catalog.referrer_tag_count(repo),
        "sort_labels": TAG_SORT_LABELS,
        "base_qs": page_prefix(request),
        "host": public_host(request),
        "pull_command": f"docker pull {public_host(request)}/{repo.name}:{pull_tag}",
        "label_description": "" if repo.description else catalog.image_description(repo),
        "v1_images": catalog.v1_images(repo, limit=50),
        "can_write": permissions.can_write(request.user, repo),
        "can_delete": permissions.can_delete(request.user, repo),
    }
    return render(request, "berth/repository.html", context)


def _matching(repo, show_all, tag_query, digest):
    """How many tags the filter finds ("more than 10000" past the cap), for the line above the list."""
    if not (tag_query or digest):
        return {"matching": None, "matching_capped": False}
    found = catalog.tag_count(repo, show_all, tag_query, digest)
    return {"matching": min(found, catalog.TAG_COUNT_CAP), "matching_capped": found > catalog.TAG_COUNT_CAP}


def add_slash(request, name):
    return redirect("ui:repository", name=name, permanent=True)


@require_POST
def edit(request, name):
    repo = repository_or_404(request, name)
    if denied := check(request, permissions.can_write(request.user, repo)):
        return denied
    try:
        repositories.set_description(repo.name, request.POST.get("description", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("ui:repository", name=repo.name)
    if "visibility" in request.POST:
        repositories.set_visibility(repo.name, request.POST["visibility"] == "public")
    messages.success(request, "Repository details saved.")
    return redirect("ui:repository", name=repo.name)


@require_http_methods(["GET", "POST"])
def delete(request, name):
    repo = repository_or_404(request, name)
    if denied := check(request, permissions.can_delete(request.user, repo)):
        return denied
    images = repo.manifest_links.count()
    if request.method == "POST":
        if request.POST.get("confirm_name", "").strip() != repo.name:
            messages.error(request, "Type the repository name exactly to confirm.")
        else:
            try:
                counts = repositories.delete_repository(repo.name)
            except RegistryError as exc:  # e.g. an immutable tag (policies/)
                messages.error(request, exc.message)
                return redirect("ui:repository", repo.name)
            messages.success(
                request,
                f"Deleted repository {repo.name} with {plural(counts['tags'], 'tag')} and "
                f"{plural(counts['manifests'], 'image')}. {gc.space_returns_text()}",
            )
            return redirect("ui:home")
    return render(request, "berth/confirm_delete_repository.html", {"repo": repo, "images": images})


@require_http_methods(["GET", "POST"])
def untag_many(request, name):
    """Remove several tags at once: GET lists them for confirmation, POST removes them (images stay)."""
    repo = repository_or_404(request, name)
    if denied := check(request, permissions.can_delete(request.user, repo)):
        return denied
    data = request.POST if request.method == "POST" else request.GET
    wanted = list(dict.fromkeys(data.getlist("tag")))
    found = catalog.named_tags(repo, wanted)
    if not found:
        messages.error(request, "Select the tags to remove first.")
        return redirect("ui:repository", name=repo.name)
    if request.method == "POST":
        removed = []
        for tag in found:
            try:
                manifest_service.delete(repo.name, tag.name)
            except RegistryError as exc:
                messages.error(request, f"{tag.name}: {exc.message}")
            else:
                removed.append(tag.name)
        if removed:
            messages.success(
                request,
                f"Removed {plural(len(removed), 'tag')} from {repo.name}: {', '.join(removed)}; "
                "the images stay, by digest.",
            )
        return redirect("ui:repository", name=repo.name)
    missing = [n for n in wanted if n not in {t.name for t in found}]
    return render(request, "berth/confirm_untag_many.html", {"repo": repo, "tags": found, "missing": missing})
