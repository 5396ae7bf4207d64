"""Site-wide 404/500 handlers: registry paths get their protocol's JSON, others plain pages."""

from django.http import JsonResponse
from django.views import defaults

from images.api.errors import error_response
from images.api.responses import V1, V2, protocol_of
from images.errors import NameUnknown, RegistryError


def not_found(request, exception=None):
    protocol = protocol_of(request)
    if protocol == V1:
        return JsonResponse({"error": "Not found"}, status=404)
    if protocol == V2:
        return error_response(NameUnknown("no such route"))
    return defaults.page_not_found(request, exception)


def server_error(request):
    protocol = protocol_of(request)
    if protocol == V1:
        return JsonResponse({"error": "Internal server error"}, status=500)
    if protocol == V2:
        return error_response(RegistryError("internal server error"))
    return defaults.server_error(request)
