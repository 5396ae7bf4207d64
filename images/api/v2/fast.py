"""A short way through Django for the hottest registry reads: manifest and blob GET/HEAD, tags list,
catalog, /v2/.

Measured with py-spy under wrk (bench/RESULTS.md, "Round 2"), a manifest GET by tag spent about 16 % of
its CPU resolving the URL (every pattern of every app is tried in order, the v2 routes come after the
accounts' ones), about 15 % in DRF's dispatch (content negotiation, permission and throttle checks
that are all no-ops for the registry: no DRF authentication, AllowAny, no throttles) and about 10 % in
middleware that only browser pages need (sessions, CSRF, static files, CSP, the session user,
messages: each passes a registry request through untouched).

For GET and HEAD on these five routes, `RegistryHandler.get_response` therefore:

- matches the path against the patterns of images/api/v2/urls.py in their order (compiled from them,
  nothing is written twice; a path an earlier route of another view matches, such as
  `/v2/<name>/blobs/uploads`, is that view's) and sets the same `resolver_match` (the metrics' route
  label reads it);
- runs the site's middleware minus BROWSER_ONLY (the request id, metrics and access log, the security
  headers, the activity context, X-Frame-Options and CORS when configured stay, as they are);
- calls the same view class's handler after the same `RegistryView.admit` (name, caller, authorisation:
  Basic, bearer tokens, anonymous rules, organisation and team permissions are one code path), renders
  its errors with the same exception handler and adds the headers DRF adds (`Allow`, the API version).

Everything else (other methods, other paths, a path these patterns do not match) takes Django's
full path unchanged. tests/auth/test_fast_reads.py checks that both paths answer byte for byte alike
(status, headers and body) for anonymous, Basic and bearer callers, allowed and refused.
"""

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.test.client import ClientHandler
from django.urls import ResolverMatch, set_urlconf
from django.utils.log import log_response
from django.utils.module_loading import import_string

from images.api.errors import API_VERSION_HEADER, exception_handler
from images.api.v2 import blobs, manifests, root, tags, urls

FAST_VIEWS = (root.RootView, tags.CatalogView, tags.TagsListView, manifests.ManifestView, blobs.BlobView)
FAST_METHODS = ("GET", "HEAD")
# Middleware that does nothing for a registry GET/HEAD (each returns the answer as it got it).
BROWSER_ONLY = frozenset(
    {
        "images.browser_middleware.CSPMiddleware",
        "images.ui.static.StaticFilesMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "images.browser_middleware.AuthenticationMiddleware",
        "images.browser_middleware.MessageMiddleware",
        "accounts.recheck.DirectorySessionMiddleware",
        "images.browser_middleware.AdminNulMiddleware",
    }
)


class _Route:
    def __init__(self, pattern):
        self.regex = pattern.pattern.regex
        self.callback = pattern.callback
        self.view_class = pattern.callback.view_class
        self.fast = self.view_class in FAST_VIEWS
        self.route = str(pattern.pattern)
        self.allow = None

    def allow_header(self, view):
        if self.allow is None:
            self.allow = ", ".join(view.allowed_methods)
        return self.allow


def _routes():
    """Every v2 route, in the URL configuration's order: the first one a path matches decides."""
    routes = [_Route(p) for p in urls.urlpatterns]
    if sum(route.fast for route in routes) != len(FAST_VIEWS):
        raise RuntimeError("images/api/v2/urls.py no longer routes every view of the fast path")
    return routes


ROUTES = _routes()


def match(path_info):
    """(route, kwargs) of a path the fast path serves, else None."""
    if not path_info.startswith("/v2"):
        return None
    path = path_info[1:]
    for route in ROUTES:
        found = route.regex.search(path)
        if found:
            return (route, found.groupdict()) if route.fast else None
    return None


def serve(request, route, kwargs):
    """The view's answer, as DRF's dispatch would give it for these views (no DRF Request: the views
    read META, path and query_params only)."""
    view = route.view_class()
    view.setup(request, **kwargs)  # as View.as_view() does (HEAD answered by `get` where no `head`)
    request.query_params = request.GET
    try:
        view.admit(request)
        response = getattr(view, request.method.lower())(request, **view.kwargs)
    except Exception as exc:
        response = exception_handler(exc, {"view": view, "args": (), "kwargs": kwargs, "request": request})
        if response is None:
            raise
    response["Allow"] = route.allow_header(view)
    response[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
    return response


class FastReads:
    """The short way for FAST_VIEWS' reads, mixed into a Django handler (gunicorn's and the test client's)."""

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async)
        self._fast_chain = self._chain(self._fast_response)

    def _chain(self, innermost):
        handler = convert_exception_to_response(innermost)
        for path in reversed(settings.MIDDLEWARE):
            if path in BROWSER_ONLY:
                continue
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            handler = convert_exception_to_response(instance)
        return handler

    def _fast_response(self, request):
        route, kwargs = request.berth_fast_route
        return serve(request, route, kwargs)

    def get_response(self, request):
        found = match(request.path_info) if request.method in FAST_METHODS else None
        if found is None:
            return super().get_response(request)
        route, kwargs = found
        request.berth_fast_route = found
        request.resolver_match = ResolverMatch(route.callback, (), kwargs, route=route.route)
        set_urlconf(settings.ROOT_URLCONF)
        response = self._fast_chain(request)
        response._resource_closers.append(request.close)
        if response.status_code >= 400:
            log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        return response


class RegistryHandler(FastReads, WSGIHandler):
    """Django's WSGI handler with the short way (registry_site/wsgi.py)."""


class RegistryClientHandler(FastReads, ClientHandler):
    """The test client's handler with the short way: the suite's registry reads take the production path."""
