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
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response, response_for_exception
from django.core.handlers.wsgi import WSGIHandler, get_script_name
from django.db import connections
from django.test.client import ClientHandler
from django.urls import ResolverMatch, set_script_prefix, set_urlconf
from django.utils.deprecation import MiddlewareMixin
from django.utils.log import log_response
from django.utils.module_loading import import_string

from images.api.errors import API_VERSION_HEADER, exception_handler
from images.api.v2 import blobs, manifests, root, tags, urls

FAST_VIEWS = (root.RootView, tags.CatalogView, tags.TagsListView, manifests.ManifestView, blobs.BlobView)
FAST_METHODS = ("GET", "HEAD")
FAST_ROUTE = "berth.fast_route"  # environ key: the match registry_site/server/asgi_routing.py already made
# Middleware that does nothing for a registry GET/HEAD (each returns the answer as it got it; the browser's
# and the one that waits after writes).
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
        "images.middleware.ChangesSettledMiddleware",  # only for requests that may change something
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
    read META, path and GET only; GET is parsed only when read, so a manifest GET never parses its query)."""
    view = route.view_class()
    view.setup(request, **kwargs)  # as View.as_view() does (HEAD answered by `get` where no `head`)
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


def _flat_chain(innermost):
    """The fast path's middleware as one loop (`_FlatChain`), or None when one of them can only run nested
    (a call-style middleware without `enter`/`leave`, e.g. django-cors-headers': then Django's nesting)."""
    steps = []
    for path in settings.MIDDLEWARE:
        if path in BROWSER_ONLY:
            continue
        try:
            instance = import_string(path)(_never_called)
        except MiddlewareNotUsed:
            continue
        if hasattr(instance, "enter") and hasattr(instance, "leave"):
            steps.append((instance.enter, instance.leave, True))
        elif isinstance(instance, MiddlewareMixin):
            hooks = (getattr(instance, "process_request", None), getattr(instance, "process_response", None))
            steps.append((*hooks, False))
        else:
            return None
    return _FlatChain(steps, innermost)


def _never_called(request):
    raise RuntimeError("the flat chain calls its middleware's hooks, never their get_response")


class _FlatChain:
    """settings.MIDDLEWARE (minus BROWSER_ONLY) around the fast path's view, run as one loop rather than one
    nested call and exception wrapper per middleware: each middleware's own code in Django's order, the way in
    outer to inner (a MiddlewareMixin's process_request, whose answer ends the way in; Berth's call-style
    middleware's `enter`), the view, then the way out inner to outer (process_response, `leave`), an exception
    turned into its answer where Django's wrappers would (a middleware whose way in failed gets no way out)."""

    def __init__(self, steps, innermost):
        self.steps, self.innermost = steps, innermost

    def __call__(self, request):
        done, response = [], None
        for into, out, stateful in self.steps:
            try:
                state = into(request) if into is not None else None
            except Exception as exc:
                response = response_for_exception(request, exc)
                break
            done.append((out, stateful, state))
            if not stateful and state is not None:  # process_request answered
                response = state
                break
        if response is None:
            try:
                response = self.innermost(request)
            except Exception as exc:
                response = response_for_exception(request, exc)
        for out, stateful, state in reversed(done):
            if out is None:
                continue
            try:
                response = out(request, response, state) if stateful else out(request, response)
            except Exception as exc:
                response = response_for_exception(request, exc)
        return response


class FastReads:
    """The short way for FAST_VIEWS' reads, mixed into a Django handler (gunicorn's and the test client's)."""

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async)
        self._fast_chain = _flat_chain(self._fast_response) or self._chain(self._fast_response)

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
        found = request.META.get(FAST_ROUTE)
        if found is None and request.method in FAST_METHODS:
            found = match(request.path_info)
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

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async)
        # What request_started/request_finished's receivers would do for an in-loop read, decided once.
        self._clear_queries = settings.DEBUG
        self._caches_to_close = [alias for alias in settings.CACHES if type(caches[alias]).close is not BaseCache.close]

    def answer_in_loop(self, environ):
        """(status, headers, body) of a read the asgi worker answers in its event loop's thread
        (registry_site/server/asgi_bridge.py, registry_site/server/asgi_routing.py).

        What `WSGIHandler.__call__` does (the same request, `get_response`, middleware and view), minus the
        request_started and request_finished signals: sent per request they cost about 13 % of an in-loop
        manifest GET's CPU (bench/RESULTS.md, "Round 2, session 10"). Their receivers' work is done here
        directly: every database connection of the loop's context is checked after the answer (closed when
        broken, past CONN_MAX_AGE or left outside autocommit, as close_old_connections does at both ends of
        a request; a connection that aged while idle is closed after its next request), the query log
        cleared under DEBUG, and caches whose backend has a `close` closed (none with the shipped LocMem).
        """
        set_script_prefix(get_script_name(environ))
        request = self.request_class(environ)
        response = self.get_response(request)
        try:
            headers = [*response.items(), *(("Set-Cookie", c.output(header="")) for c in response.cookies.values())]
            body = b"".join(response.streaming_content) if response.streaming else response.content
        finally:
            for closer in response._resource_closers:
                try:
                    closer()
                except Exception:  # as HttpResponseBase.close
                    pass
            response._resource_closers.clear()
            self._check_connections()
            for alias in self._caches_to_close:
                caches[alias].close()
        return response.status_code, headers, body

    def _check_connections(self):
        for alias in connections:
            connection = connections[alias]
            connection.close_if_unusable_or_obsolete()
            if self._clear_queries:
                connection.queries_log.clear()


class RegistryClientHandler(FastReads, ClientHandler):
    """The test client's handler with the short way: the suite's registry reads take the production path."""
