"""The policies part of the JSON API, /api/policies/<namespace>/, with the rules of the settings page.

    GET    /api/policies/<ns>/                  usage (with quota and warning) and the namespace's policies
    PUT    /api/policies/<ns>/                  {"repository": "" | glob, "quota": "10GiB", "immutable": [...],
                                                 "keep_last": 10, "keep_days": 30, "keep_tags": [...],
                                                 "untagged_days": 7, "warn_percent": 80}  (fields given change)
    DELETE /api/policies/<ns>/?repository=glob  remove a policy (lifts its immutability rules; recorded)
    GET    /api/policies/<ns>/retention/        dry run: the tags and manifests that would go, bytes freed
    POST   /api/policies/<ns>/retention/        {"dry_run": false} runs it now (recorded); returns the run
    GET    /api/policies/<ns>/runs/             the namespace's retention runs, newest first

Reading needs the namespace's owner, a member of its organisation, or staff; changing needs its owner,
an organisation admin or staff (policies/services/rules.py). Anyone else gets 404. Bad input is a 400.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from images.api.manage.base import ManageAPIMixin
from policies.models import Policy, RetentionRun
from policies.services import quotas, retention, rules


class PolicySerializer(serializers.Serializer):
    """What PUT takes (every field optional; "" or null switches a rule off)."""

    repository = serializers.CharField(required=False, allow_blank=True)
    quota = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    warn_percent = serializers.IntegerField(required=False, allow_null=True)
    immutable = serializers.ListField(child=serializers.CharField(), required=False)
    keep_last = serializers.IntegerField(required=False, allow_null=True)
    keep_days = serializers.IntegerField(required=False, allow_null=True)
    keep_tags = serializers.ListField(child=serializers.CharField(), required=False)
    untagged_days = serializers.IntegerField(required=False, allow_null=True)


def _body(request):
    """The request's fields as a dict; anything but an object (a JSON list, a number) is a 400."""
    if not hasattr(request.data, "items"):
        raise ValidationError({"detail": "Send a JSON object."})
    return {k: v for k, v in request.data.items()}


def may_read(user, namespace):
    from accounts.models import Membership

    if rules.may_manage(user, namespace):
        return True
    return Membership.objects.filter(user=user, organisation__name=namespace).exists()


def overview(user, namespace):
    return {
        "namespace": namespace,
        "may_change": rules.may_manage(user, namespace),
        "usage": quotas.status(namespace),
        "policies": [rules.as_dict(p) for p in rules.for_namespace(namespace)],
    }


class PolicyViewSet(ManageAPIMixin, viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = PolicySerializer
    lookup_field = "namespace"
    lookup_value_regex = r"[^/]+"
    queryset = Policy.objects.none()

    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError):
            exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
        if isinstance(exc, DjangoPermissionDenied):
            from rest_framework.exceptions import PermissionDenied

            exc = PermissionDenied(str(exc))
        return super().handle_exception(exc)

    def namespace(self):
        namespace = self.kwargs["namespace"]
        if "\x00" in namespace or not may_read(self.request.user, namespace):
            raise Http404(f"No namespace “{namespace}” you can see.")
        return namespace

    def retrieve(self, request, namespace=None):
        return Response(overview(request.user, self.namespace()))

    @extend_schema(request=PolicySerializer)
    def update(self, request, namespace=None):
        namespace = self.namespace()
        data = _body(request)
        repository = data.pop("repository", "") or ""
        if "quota" in data:
            data["quota_bytes"] = data.pop("quota")
        scope = f"{namespace}/{repository}" if repository else namespace
        policy, notes = rules.set_policy(request.user, scope, data)
        return Response({**rules.as_dict(policy), "notes": notes, "usage": quotas.status(namespace)})

    def destroy(self, request, namespace=None):
        namespace = self.namespace()
        repository = request.query_params.get("repository", "")
        scope = f"{namespace}/{repository}" if repository else namespace
        if not rules.clear_policy(request.user, scope):
            raise Http404(f"{scope} has no policy.")
        return Response(status=204)

    @action(detail=True, methods=["get", "post"])
    def retention(self, request, namespace=None):
        namespace = self.namespace()
        if request.method == "GET":
            return Response(retention.plan(namespace).as_dict())
        rules.require_manage(request.user, namespace)
        dry_run = str(_body(request).get("dry_run", "true")).lower() not in ("false", "0", "no")
        record = retention.run(namespace, dry_run=dry_run, triggered_by=request.user.get_username())
        return Response(retention.run_as_dict(record), status=201)

    @action(detail=True, methods=["get"])
    def runs(self, request, namespace=None):
        namespace = self.namespace()
        page = self.paginate_queryset(RetentionRun.objects.filter(scope=namespace))
        return self.get_paginated_response([retention.run_as_dict(r) for r in page])


def register(router):
    router.register("policies", PolicyViewSet, basename="policy")
