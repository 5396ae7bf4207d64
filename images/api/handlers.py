"""Site-wide 404/500 handlers: registry paths get the protocol's JSON, others plain pages."""

from django.http import JsonResponse
from django.views import defaults

from images.api.errors import API_VERSION_HEADER, envelope
from images.errors import NameUnknown, RegistryError


def _is_api(request):
    return request.path.startswith("/v2/") or request.path == "/v2"


def _is_v1(request):
    return request.path.startswith("/v1/")


def not_found(request, exception=None):
    if _is_v1(request):
        return JsonResponse({"error": "Not found"}, status=404)
    if _is_api(request):
        response = JsonResponse(envelope(NameUnknown("no such route")), status=404)
        response[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
        return response
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_v1(request):
        return JsonResponse({"error": "Internal server error"}, status=500)
    if _is_api(request):
        error = RegistryError("internal server error")
        return JsonResponse(envelope(error), status=500)
    return defaults.server_error(request)
