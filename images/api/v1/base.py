"""Shared plumbing for v1 views: no body parsing, v1 JSON bodies and headers, {"error": ...} errors."""

import json
import time
from email.utils import formatdate

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from accounts import registry_auth
from activity import context as activity_context
from images import v1_format
from images.api import streams
from images.api.errors import to_registry_error
from images.api.responses import RegistryNegotiation
from images.conf import registry_setting
from images.errors import NameUnknown, PayloadTooLarge
from images.services import notifications

NO_CACHE = {"Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "-1"}
ONE_YEAR = 31536000


def respond(data=True, status=200, headers=None, raw=None):
    """A v1 answer: JSON (`true` when there is nothing to say), not cacheable unless told."""
    body = raw if raw is not None else json.dumps(data, sort_keys=True).encode()
    response = HttpResponse(body, status=status, content_type="application/json")
    headers = {**NO_CACHE, **(headers or {})}
    if headers["Cache-Control"] != "no-cache":
        headers.pop("Pragma")
    for key, value in headers.items():
        response[key] = value
    return response


def error_response(error):
    return respond({"error": error.message}, status=error.status, headers=error.headers)


def exception_handler(exc, context):
    error = to_registry_error(exc)
    return None if error is None else error_response(error)


def cache_headers():
    """Image content never changes once complete: cacheable for a year (as the original)."""
    return {
        "Cache-Control": f"public, max-age={ONE_YEAR}",
        "Expires": formatdate(time.time() + ONE_YEAR, usegmt=True),
        "Last-Modified": "Thu, 01 Jan 1970 00:00:00 GMT",
    }


def not_modified(request):
    return "HTTP_IF_MODIFIED_SINCE" in request.META


def read_small(request):
    """A JSON request body (image JSON, index, tag): read whole, but capped."""
    limit = registry_setting("MAX_MANIFEST_BYTES")
    too_large = PayloadTooLarge("request body too large", detail={"limit": limit})
    if (streams.content_length(request.META) or 0) > limit:
        raise too_large
    return streams.read_limited(request, limit, too_large)


def index_headers(request, repository_name, access, caller=None):
    """What Docker 1.x requires from the index calls: a token and the registry endpoints.

    With registry auth on, the token is signed and names the caller (accounts/tokens.py).
    """
    if caller is not None:
        token = registry_auth.v1_token_for(caller, repository_name, access)
    else:
        token = v1_format.token(repository_name, access)
    host = request.META.get("HTTP_HOST") or f"{request.META.get('SERVER_NAME')}:{request.META.get('SERVER_PORT')}"
    return {"X-Docker-Token": token, "WWW-Authenticate": token, "X-Docker-Endpoints": host}


def standalone():
    return bool(registry_setting("STANDALONE"))


def require_standalone():
    if not standalone():
        raise NameUnknown("Not found: this registry is not standalone (no index)")


def user_agent(request):
    return request.META.get("HTTP_USER_AGENT", "")


class V1View(APIView):
    """Who calls comes from `Authorization`: Basic, Docker's `Token ...` (also `Token Token ...`) or nothing;
    with REGISTRY AUTH=none anything is accepted, as the original's standalone mode."""

    parser_classes = ()
    renderer_classes = (JSONRenderer,)
    content_negotiation_class = RegistryNegotiation

    def get_exception_handler(self):
        return exception_handler

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.caller = registry_auth.authenticate_v1(request)
        notifications.note_actor(self.caller.name)
        activity_context.note_caller(self.caller)

    def unreadable_images(self, image_ids):
        """Of these v1 image ids, the stored ones this caller may not read (a push may not use them)."""
        return registry_auth.v1_unreadable_images(self.caller, image_ids)

    def require(self, repository, action):
        """The registry name of the v1 path once the caller may do `action` there (None: open registry)."""
        from images.services import v1_repositories

        if self.caller.scheme == "open":
            return None  # no lookup: the open registry costs no extra query
        name = v1_repositories.canonical_name(repository)
        registry_auth.require_v1(self.caller, name, action)
        return name


class IndexView(V1View):
    """The index calls (users, repository allocation, image lists) exist only in standalone mode."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        require_standalone()
