"""JSON API (/api/remotes/, /api/replication-rules/, /api/replication-runs/): staff only; passwords write-only."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from images.api.manage.base import ManageAPIMixin
from proxy.api import StaffOnly
from replication import services, triggers
from replication.models import Remote, ReplicationItem, ReplicationRule, ReplicationRun


def _checked(fn, *args):
    try:
        return fn(*args)
    except DjangoValidationError as exc:
        raise ValidationError({"detail": exc.messages}) from None


class RemoteSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, required=False, allow_blank=True)
    has_password = serializers.BooleanField(read_only=True)

    class Meta:
        model = Remote
        fields = ["id", "name", "url", "username", "password", "has_password", "verify_tls"]
        fields += ["last_check", "last_checked_at", "created_at"]
        read_only_fields = ["last_check", "last_checked_at", "created_at"]

    def validate(self, data):
        _checked(
            services.validate_remote,
            data.get("name", getattr(self.instance, "name", "")),
            data.get("url", getattr(self.instance, "url", "")),
        )
        return data

    def save(self, **kwargs):
        password = self.validated_data.pop("password", None)
        remote = self.instance or Remote()
        for key, value in self.validated_data.items():
            setattr(remote, key, value)
        if password is not None:
            remote.set_password(password)
        remote.save()
        self.instance = remote
        return remote


class RuleSerializer(serializers.ModelSerializer):
    remote = serializers.SlugRelatedField(slug_field="name", queryset=Remote.objects.all())

    class Meta:
        model = ReplicationRule
        exclude = []
        read_only_fields = ["last_run_at", "last_status", "last_message", "created_at"]

    def validate(self, data):
        current = {f: getattr(self.instance, f) for f in ("name", "mode", "repositories")} if self.instance else {}
        _checked(services.validate_rule, {**current, **data})
        return data


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReplicationItem
        exclude = ["run"]


class RunSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="rule.name")
    items = ItemSerializer(many=True, read_only=True)

    class Meta:
        model = ReplicationRun
        exclude = []


class RemoteViewSet(ManageAPIMixin, viewsets.ModelViewSet):
    serializer_class = RemoteSerializer
    permission_classes = [StaffOnly]
    queryset = Remote.objects.all()
    lookup_field = "name"

    def perform_destroy(self, instance):
        _checked(services.remove_remote, instance.name)

    @action(detail=True, methods=["post"])
    def test(self, request, name=None):
        return Response({"result": services.test_remote(self.get_object())})


class RuleViewSet(ManageAPIMixin, viewsets.ModelViewSet):
    serializer_class = RuleSerializer
    permission_classes = [StaffOnly]
    queryset = ReplicationRule.objects.select_related("remote")
    lookup_field = "name"

    @action(detail=True, methods=["post"])
    def run(self, request, name=None):
        run, created = triggers.start(self.get_object(), "manual")
        return Response({"run": run.pk, "queued": created}, status=202)


class RunViewSet(ManageAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = RunSerializer
    permission_classes = [StaffOnly]
    queryset = ReplicationRun.objects.select_related("rule").prefetch_related("items")


def register(router):
    router.register("remotes", RemoteViewSet, basename="remote")
    router.register("replication-rules", RuleViewSet, basename="replication-rule")
    router.register("replication-runs", RunViewSet, basename="replication-run")
