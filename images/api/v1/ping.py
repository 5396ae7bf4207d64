"""GET /_ping, /v1/_ping and GET /: who is answering."""

import json

from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from images.api.v1.base import V1View, respond, standalone
from images.conf import DEFAULTS, registry_setting
from registry_site import __version__

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
    """The configured `issue` (a YAML/JSON value, as the original); by default our name and version."""
    configured = registry_setting("ISSUE")
    if configured == DEFAULTS["ISSUE"]:
        return f"docker-registry server (berth) (v{__version__})"
    try:
        return json.loads(configured)
    except ValueError:
        return configured


def wants_registry_answer(request):
    """JSON for registry clients: Docker's User-Agent, or an Accept asking for JSON and not for HTML."""
    accept = request.META.get("HTTP_ACCEPT", "")
    if request.META.get("HTTP_USER_AGENT", "").startswith("docker/"):
        return True
    return "application/json" in accept and "text/html" not in accept


class RootView(V1View):
    """Registry clients get the name and version (as JSON); anyone else the catalog, when it is mounted."""

    def get(self, request):
        if not wants_registry_answer(request):
            home = _ui_home()
            if home is not None:
                return home(request._request)
        return respond(issue())
