from accounts import registry_auth
from images.api.responses import empty
from images.api.v2.base import RegistryView


class RootView(RegistryView):
    """GET /v2/: the version check every client starts with (and `docker login`'s credential check)."""

    def authorize(self, request):
        registry_auth.require_login(request, self.caller)

    def get(self, request):
        response = empty(200, {"Content-Type": "application/json"}, content_length=2)
        response.content = b"{}"
        return response
