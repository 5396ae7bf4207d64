"""Middleware that only browser pages need, skipped on the registry APIs.

The session user, messages and the Content-Security-Policy serve the catalog, the admin and the
management API. Registry API requests (/v2/..., /v1/...) are authenticated from their Authorization
header (accounts/registry_auth.py) and answer JSON or bytes; running these three for them cost
about 0.2 ms of CPU per request, a fifth of a manifest GET. Each class here subclasses the Django
(or django-csp) one, so the admin's system checks still find it. Sessions, CSRF and X-Frame-Options
stay as they are: cheaper, and `check --deploy` looks for them by name.
"""

from csp.middleware import CSPMiddleware as _CSP
from django.contrib.auth.middleware import AuthenticationMiddleware as _Auth
from django.contrib.messages.middleware import MessageMiddleware as _Messages
from django.http import HttpResponseBadRequest

from images.api.responses import protocol_of

ADMIN_PREFIX = "/admin/"  # registry_site/urls.py


def browser_only(base):
    class BrowserOnly(base):
        def __call__(self, request):
            if protocol_of(request):
                return self.get_response(request)
            return super().__call__(request)

    BrowserOnly.__name__ = BrowserOnly.__qualname__ = base.__name__
    BrowserOnly.__doc__ = f"{base.__module__}.{base.__name__}, for everything but the registry APIs."
    return BrowserOnly


CSPMiddleware = browser_only(_CSP)
AuthenticationMiddleware = browser_only(_Auth)
MessageMiddleware = browser_only(_Messages)


class AdminNulMiddleware:
    """400 for an admin page asked for with a NUL (%00) in its query string.

    The admin turns query parameters into lookups (its search box, list filters, any field named in
    the URL), and PostgreSQL refuses a NUL in a comparison: psycopg2 raised a ValueError, a 500. No
    value Berth stores holds a NUL, so no such query can match anything.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(ADMIN_PREFIX) and "%00" in request.META.get("QUERY_STRING", ""):
            return HttpResponseBadRequest("NUL characters are not allowed in a query", content_type="text/plain")
        return self.get_response(request)
