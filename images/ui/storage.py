"""Storage overview: bytes stored, bytes saved by deduplication, largest repositories."""

from django.shortcuts import render

from images.services import catalog


def storage(request):
    return render(request, "berth/storage.html", {"s": catalog.storage_overview(request.user)})
