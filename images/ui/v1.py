"""v1 image page: the ancestry chain, each layer's size and the command that made it."""

from django.http import Http404
from django.shortcuts import render

from images.services import catalog
from images.ui.common import repository_or_404


def v1_image(request, name, image_id):
    repo = repository_or_404(request, name)
    chain = catalog.v1_ancestry(repo, image_id)
    if chain is None:
        raise Http404(f"{repo.name} holds no v1 image {image_id}.")
    total = sum(step.get("size") or 0 for step in chain)
    context = {"repo": repo, "image_id": image_id, "chain": chain, "total": total}
    return render(request, "berth/v1_image.html", context)
