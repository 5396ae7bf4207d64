"""Shared plumbing for v2 views: no body parsing, fixed JSON rendering, the API header."""

from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from accounts import registry_auth
from activity import context as activity_context
from images import permissions, references
from images.api.errors import API_VERSION_HEADER
from images.api.responses import RegistryNegotiation
from images.services import notifications


class RegistryView(APIView):
    parser_classes = ()
    renderer_classes = (JSONRenderer,)
    content_negotiation_class = RegistryNegotiation

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.admit(request)

    def admit(self, request):
        """Name, caller, authorisation: for DRF's dispatch and the fast path alike (images/api/v2/fast.py)."""
        if "name" in self.kwargs:
            # self.kwargs is the dict the handler is called with: `foo` becomes `library/foo`.
            self.kwargs["name"] = references.canonical_name(self.kwargs["name"])
        # Who is calling (accounts/registry_auth.py), then may they: GET/HEAD pull, DELETE delete, others push.
        self.caller = registry_auth.authenticate(request)
        notifications.note_actor(self.caller.name)
        activity_context.note_caller(self.caller)
        self.authorize(request)

    def required_action(self, request):
        if request.method in ("GET", "HEAD"):
            return permissions.PULL
        return permissions.DELETE if request.method == "DELETE" else permissions.PUSH

    def authorize(self, request):
        """Views without a repository name (/v2/, _catalog) override this."""
        registry_auth.require(request, self.caller, self.kwargs["name"], self.required_action(request))

    def allows(self, name, action):
        return self.caller.allows(name, action)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
        return response
