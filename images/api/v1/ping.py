"""GET /_ping, /v1/_ping and GET /: who is answering."""

import json

from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_vary_headers
from django.utils.module_loading import import_string

from images.api.v1.base import V1View, respond, standalone
from images.conf import DEFAULTS, registry_setting
from registry_site import NAME, __version__

UI_HOME = "images.ui.home.home"


class PingView(V1View):
    def get(self, request):
        headers = {"X-Docker-Registry-Standalone": str(standalone()), "X-Docker-Registry-Version": __version__}
        return respond({}, headers=headers)


def _ui_home():
    """The catalog's home view when the UI is mounted, else None."""
    try:
        reverse("ui:home")
        return import_string(UI_HOME)
    except (NoReverseMatch, ImportError):
        return None


def issue():
    """The configured `issue` (a YAML/JSON value, as the original); by default name, version and auth."""
    from accounts.registry_auth import auth_enabled

    configured = registry_setting("ISSUE")
    if configured == DEFAULTS["ISSUE"]:
        return f"docker-registry server ({NAME}) (v{__version__}) (auth {'on' if auth_enabled() else 'off'})"
    try:
        return json.loads(configured)
    except ValueError:
        return configured


def wants_registry_answer(request):
    """The one-line answer for clients that do not ask for HTML (curl's `*/*`, registry clients, JSON).

    Browsers name text/html in Accept and get the catalog; so does a request with no Accept at all
    (HTTP reads that as "anything"). Docker's User-Agent always gets the registry answer.
    """
    if request.META.get("HTTP_USER_AGENT", "").startswith("docker/"):
        return True
    accept = request.META.get("HTTP_ACCEPT")
    if accept is None:
        return False
    return not any(kind in accept for kind in ("text/html", "application/xhtml+xml"))


class RootView(V1View):
    """Registry clients and terminals get the name and version (one JSON line); browsers the catalog."""

    def get(self, request):
        response = None
        if not wants_registry_answer(request):
            home = _ui_home()
            if home is not None:
                response = home(request._request)
        if response is None:
            response = respond(raw=json.dumps(issue()).encode() + b"\n")
        patch_vary_headers(response, ("Accept", "User-Agent"))
        return response
